#pragma once
// One target interface for every kind of target. A Driver changes the
// releases of one target (a local root, or whatever a plugin manages);
// the ledger, lock and journal of the target live in its state_dir(),
// which is always a local folder (for a local root: <root>/.shipgate).
//
// The `local` driver is deploy/local_driver.cpp; external targets are
// executables under plugins/ speaking the JSON protocol of
// docs/plugins.md through deploy/plugin_driver.cpp. Remote hosts over ssh
// build on the same interface.
#include <chrono>
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

namespace deploy {

struct TargetStatus {
  std::optional<std::string> current; // the live release id
  std::vector<std::string> releases;  // complete releases, oldest first
  nlohmann::json details = nlohmann::json::object();
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
  virtual std::filesystem::path state_dir() const = 0;
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

} // namespace deploy
