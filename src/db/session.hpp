#pragma once
// One database during one run (docs/database.md): connected, locked,
// its registry compared with the plan, then backed up, changed and, when
// something fails, reverted. Every script runs through the plan's client
// with the connection in the standard libpq variables, never on a command
// line; every step reports a check.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ci/context.hpp"
#include "core/step_result.hpp"
#include "db/changes.hpp"
#include "db/postgres.hpp"
#include "db/registry.hpp"
#include "deploy/plan.hpp"
#include "io/output.hpp"

namespace db {

struct SessionContext {
  std::string project;     // the plan's name
  std::string environment;
  std::string version;     // the release the run makes live
  std::string run_id;
  std::string user;
  const ci::Environment& env; // holds the connection strings
  io::Output& output;         // secrets learnt here are masked in it
  std::filesystem::path work_dir; // private folder for scripts kept in the registry
  std::chrono::milliseconds wait_lock{0};
};

// Where a session reports: a check per step, progress lines.
struct Reporter {
  std::function<void(const std::string& id, const std::string& title, core::CheckStatus status,
                     const std::string& explanation, double seconds)>
      check;
  std::function<void(const std::string& line)> progress;
};

struct BackupRecord {
  std::string file;
  std::string sha256;
  std::uintmax_t bytes = 0;
  bool restore_verified = false;
};

class Session {
public:
  // Connects (and with `lock`, takes the database's advisory lock and
  // creates the registry when missing). A connection that fails is
  // ErrorKind::runtime; a lock held by another run ErrorKind::blocked.
  static core::Result<std::unique_ptr<Session>> open(const deploy::DatabaseSpec& spec, const SessionContext& context,
                                                     bool lock);
  ~Session();

  const deploy::DatabaseSpec& spec() const { return m_spec; }
  // The registry (empty when it does not exist yet) against the plan.
  core::Result<Comparison> compare();
  // Rows an interrupted run left behind: those of a run that `succeeded`
  // (per the ledger) become deployed; the others are reverted, newest
  // first. `done` gets a line per repair.
  core::Status settle(const std::function<bool(const std::string& run_id)>& succeeded, Reporter& reporter,
                      std::vector<std::string>& done);
  // The dump in `dir`, checked non-empty with its sha256; with
  // verify-restore, restored into a scratch database where the verify
  // scripts of `applied` must pass.
  core::Result<BackupRecord> backup(const std::filesystem::path& dir, const std::vector<AppliedChange>& applied,
                                    Reporter& reporter);
  // Applies `pending` in order, each verified. On a failure the change
  // (when its deploy script succeeded) and then every change this run
  // applied are reverted, newest first, and the error is returned.
  core::Status apply(const std::vector<const deploy::DbChangeSpec*>& pending, Reporter& reporter);
  // Reverts the changes this run applied, newest first (after a later
  // failure); irreversible ones stay and are listed in left_applied().
  core::Status revert_run(Reporter& reporter);
  // Reverts `changes` (newest first), then runs the verify script of the
  // change that is head again.
  core::Status revert(const std::vector<AppliedChange>& changes, Reporter& reporter, bool rolling_back);
  // The run succeeded: its rows become deployed.
  core::Status promote();
  core::Result<Head> head();

  const std::vector<std::string>& applied_this_run() const { return m_applied_ids; }
  const std::vector<std::string>& reverted() const { return m_reverted; }
  const std::vector<std::string>& left_applied() const { return m_left_applied; }
  // Why the revert that followed a failed change failed (the database is
  // not back where the run found it), or empty.
  const std::string& revert_failure() const { return m_revert_failure; }

private:
  Session(const deploy::DatabaseSpec& spec, const SessionContext& context, Connection connection,
          std::string conninfo, std::map<std::string, std::string> client_env);
  struct Script {
    std::string kind;      // deploy, verify, revert
    std::string change_id;
    std::string path;      // a file of the plan
    std::string text;      // or the text kept in the registry
    std::string suffix;    // of the check's id, when a script runs twice ("@rehearsal")
  };
  core::Status run_script(const Script& script, Reporter& reporter, bool rolling_back,
                          const std::string& database = {});
  core::Status revert_one(const AppliedChange& change, Reporter& reporter, bool rolling_back);
  core::Status rehearse_revert(const deploy::DbChangeSpec& change, Reporter& reporter);
  // Leaves `change` applied for good because of `irreversible` (itself or a newer one).
  void keep(const AppliedChange& change, Reporter& reporter, const AppliedChange& irreversible);
  core::Status verify_head(Reporter& reporter, bool rolling_back);
  void event(const std::string& change_id, const std::string& event, const std::string& detail);
  std::string check_id(const std::string& kind, const std::string& change_id = {}) const;
  std::string script_path_for(const std::string& change_id, const std::string& kind) const;

  deploy::DatabaseSpec m_spec;
  const SessionContext& m_context;
  Connection m_connection;
  std::string m_conninfo;
  std::map<std::string, std::string> m_client_env;
  Registry m_registry;
  bool m_locked = false;
  std::vector<std::string> m_applied_ids; // this run, in order
  std::vector<std::string> m_reverted;
  std::vector<std::string> m_left_applied;
  std::vector<std::string> m_unrevertable; // the rehearsal showed their revert does not undo them
  std::string m_revert_failure;
  void undo_run(Reporter& reporter); // revert_run after a failed change, remembering a failure
  // The server no longer answers: what to say, and the error of a revert
  // that could not run because of it, naming the changes left applied.
  std::string server_lost() const;
  core::Error not_reverted(const core::Error& error);
};

// The sha256 of a file (hex), or empty when it cannot be read.
std::string file_sha256(const std::string& path);

} // namespace db
