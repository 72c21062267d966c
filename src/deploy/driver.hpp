#pragma once
// One target interface for every kind of target. A Driver changes the
// releases of one target (a local root, one ssh host, or whatever a plugin
// manages); the ledger, lock and journal of the target live in its
// state_store() (for a local root or an ssh host: <root>/.shipgate on that
// machine; for a plugin: its state_dir on this machine).
//
// The `local` driver is deploy/local_driver.cpp, the `ssh` driver
// deploy/ssh_driver.cpp; external targets are executables under plugins/
// speaking the JSON protocol of docs/plugins.md through
// deploy/plugin_driver.cpp. Blue-green (deploy/blue_green.hpp) wraps a
// local or ssh driver.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "deploy/artifact.hpp"
#include "deploy/plan.hpp"
#include "deploy/state_store.hpp"
#include "io/process.hpp"

namespace deploy {

struct TargetStatus {
  std::optional<std::string> current; // the live release id
  std::vector<std::string> releases;  // complete releases, oldest first
  nlohmann::json details = nlohmann::json::object();
};

// A file on the target, as a backup left it.
struct FileFacts {
  std::uint64_t size = 0;
  std::string sha256;
};

struct PrepareRequest {
  std::string release;              // release id to create
  std::string version;
  const OpenedArtifact* artifact = nullptr; // verified bytes
  std::vector<std::string> shared;  // release-relative paths to link to shared/
  UnpackLimits limits;
};

class Driver {
public:
  virtual ~Driver() = default;
  virtual std::string describe() const = 0;          // "local:/srv/shop/api", "plugin:example"
  virtual std::filesystem::path root() const = 0;    // commands run with SHIPGATE_ROOT set to this
  // <root>/.shipgate as the target's own commands see it (a path on the
  // remote host for ssh): ${BACKUP_DIR} and config snapshots live below.
  virtual std::filesystem::path state_dir() const = 0;
  // Tells targets apart: two units with the same key are the same target
  // ("local:/srv/a", "ssh:deploy@10.0.0.2:22:/srv/a").
  virtual std::string key() const { return describe(); }
  // A folder on this machine for downloads (artifacts fetched before they
  // are handed to prepare()).
  virtual std::filesystem::path local_work_dir() const { return state_dir() / "incoming"; }
  // Where the ledger, journal and lease are kept (default: a local store
  // on state_dir()).
  virtual std::shared_ptr<StateStore> state_store();
  // Values this target adds to the plan's variables for its own commands
  // and health checks: HOST and HOST_ADDRESS for an ssh host, COLOUR and
  // the colour's values for blue-green. Empty for a local root.
  virtual Variables variables() const { return {}; }
  virtual core::Status ensure() = 0;                 // create the layout / check the plugin answers
  virtual core::Result<TargetStatus> status() = 0;
  // Unpacks (or hands over) the verified artifact as release `request.release`;
  // nothing live changes.
  virtual core::Status prepare(const PrepareRequest& request) = 0;
  // Makes `release` live. `rolling_back` tells a plugin this is a rollback.
  virtual core::Status activate(const std::string& release, bool rolling_back) = 0;
  // The target's own check that `release` is live and intact.
  virtual core::Status verify(const std::string& release) = 0;
  // That a kept release is still as it was prepared (a rollback target
  // must be): the local driver compares every file with the manifest it
  // wrote at prepare time. Targets that cannot tell answer ok.
  virtual core::Status check_intact(const std::string& release) {
    (void)release;
    return core::ok_status();
  }
  // Removes a prepared release that never went live (and partial leftovers).
  virtual core::Status discard(const std::string& release) = 0;
  virtual core::Result<std::vector<std::string>> prune(int keep, const std::set<std::string>& protect) = 0;

  // ---- commands and files on the target. The defaults act on this
  // machine (local roots, plugins); the ssh driver acts on its host.

  // Runs one command of the plan (argv in spec.argv; env_add, cwd,
  // timeout, input as for io::run_process). A cwd below state_dir() is
  // created when missing.
  virtual io::ProcessResult run_command(const io::ProcessSpec& spec);
  // Copies `files` (absolute, or relative to root()) into
  // <state_dir>/backups/<release>/config/ with a manifest; returns
  // {file: sha256 or null when absent}.
  virtual core::Result<nlohmann::json> snapshot_config(const std::string& release,
                                                       const std::vector<std::string>& files);
  // Puts back the files snapshotted for `release` whose content differs;
  // returns one line per restored file (nothing when there is no snapshot).
  virtual core::Result<std::vector<std::string>> restore_config(const std::string& release);
  // Size and sha256 of a file (nullopt when it is missing or not a regular file).
  virtual core::Result<std::optional<FileFacts>> file_facts(const std::string& path);
  // Writes a small file atomically (temporary file, fsync, rename).
  virtual core::Status write_file(const std::string& path, const std::string& content);
  // A small file's content; nullopt when missing.
  virtual core::Result<std::optional<std::string>> read_file(const std::string& path);
  // Points <root>/<name> at releases/<release> atomically (blue-green
  // colour links), and reads such a link (nullopt when there is none).
  virtual core::Status point_link(const std::string& name, const std::string& release);
  virtual core::Result<std::optional<std::string>> link_target(const std::string& name);
  // Lines the last operation wants in the action's transcript (blue-green
  // explains its steps this way).
  virtual std::string take_log() { return {}; }
  // The end of a run: close connections (ssh).
  virtual void close() {}
};

std::unique_ptr<Driver> make_local_driver(const std::filesystem::path& root);

// `plugin` is a name (looked up as plugins/<name> next to the plan file,
// then in $SHIPGATE_PLUGIN_PATH folders) or a path to an executable.
struct PluginOptions {
  std::string plugin;
  std::filesystem::path plan_dir;
  std::vector<std::string> search_path; // from $SHIPGATE_PLUGIN_PATH
  nlohmann::json settings = nlohmann::json::object();
  std::filesystem::path state_dir;
  std::string environment;
  std::string service;
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
};
core::Result<std::unique_ptr<Driver>> make_plugin_driver(const PluginOptions& options);

// Reading a plugin's answer, apart from running it. `who` starts every
// message: "target plugin \"example\" (/srv/plugins/example)".
struct PluginAnswer {
  std::string output; // its stdout: one JSON object
  int exit_code = 0;
  std::string log;    // its stderr
};
// The answer as a JSON object that speaks protocol 1 and says "ok": true;
// otherwise an error naming `who` and `operation`, saying what is wrong
// (a non-zero exit, not JSON, another protocol, ok: false and its message)
// and ending with the last lines of the log.
core::Result<nlohmann::json> read_plugin_answer(const std::string& who, const std::string& operation,
                                                const PluginAnswer& answer);
// The releases (a list of strings), live release (a string or null) and
// details of an answer to "status"; an error naming the field otherwise.
core::Result<TargetStatus> read_plugin_status(const std::string& who, const nlohmann::json& answer);

// One host of an ssh target (docs/plan.md "ssh targets"). Connections go
// through the system OpenSSH client with host-key checking on, BatchMode,
// and one ControlMaster connection per host for the whole process.
struct SshOptions {
  SshHost host;                        // address, port, user (resolved: the target's defaults applied)
  std::string root;                    // absolute path on the host
  std::string identity_file;           // empty: the user's ssh configuration decides
  std::string known_hosts;             // absolute path; empty: the user's known_hosts
  Duration connect_timeout{std::chrono::seconds(10)};
  Duration operation_timeout{std::chrono::minutes(2)}; // one of shipgate's own remote operations
  std::string ssh_program = "ssh";     // $SHIPGATE_SSH overrides (tests, wrappers)
};
std::unique_ptr<Driver> make_ssh_driver(const SshOptions& options);
// Closes every ControlMaster connection this process opened (end of a run).
void close_ssh_connections();

} // namespace deploy
