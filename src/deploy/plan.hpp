#pragma once
// The launch plan (docs/plan.md): a YAML file describing how a release is
// deployed and rolled back. parse_plan reads and checks it (errors carry
// "file:line" and "did you mean"); resolve_plan picks one environment and
// replaces ${VAR} everywhere, giving the concrete plan a run executes and
// `plan show` prints.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "core/error.hpp"
#include "smoke/check.hpp"

namespace deploy {

using Duration = std::chrono::milliseconds;
using Variables = std::map<std::string, std::string>;

// A command of the plan: an argv vector, or a shell snippet when the plan
// writes `shell:` (then run as /bin/sh -c SNIPPET).
struct CommandSpec {
  std::vector<std::string> argv;
  std::string shell;
  Duration timeout{std::chrono::minutes(5)};
  std::string location; // "plan.yml:12"
  bool empty() const { return argv.empty() && shell.empty(); }
  std::string display() const; // one line for plan show: argv quoted when needed, or "sh -c '…'"
};

struct BackupSpec {
  std::string name;
  CommandSpec command;  // ${BACKUP_DIR} is the release's backup folder
  std::string output;   // file the command must produce (non-empty); its sha256 is recorded
  std::string location;
};

struct TargetSpec {
  enum class Kind { local, plugin };
  Kind kind = Kind::local;
  std::vector<std::string> roots; // local: one or several directories (absolute after resolve)
  std::string plugin;             // plugin: a name under plugins/ or a path to an executable
  nlohmann::json settings = nlohmann::json::object(); // plugin: passed as "settings"
  std::string state_dir;          // plugin: where shipgate keeps the ledger, lock and journal
  std::string location;
};

struct ArtifactSpec {
  std::string source;   // path or URL; --artifact overrides; may be empty in the plan
  std::string sha256;   // expected digest (hex); --sha256 or a "<artifact>.sha256" file otherwise
  std::uint64_t max_size = 2ull * 1024 * 1024 * 1024; // bytes
  std::string location;
};

struct ServiceSpec {
  std::string name;
  std::string location;
  ArtifactSpec artifact;
  TargetSpec target;
  std::vector<std::string> depends_on;         // deployed after these, rolled back before them
  std::vector<std::string> stop_during_switch; // other services stopped while this one switches
  CommandSpec stop, start, reload, restart;    // each may be empty
  // Health checks in the checks-file syntax (docs/smoke-test.md); parsed
  // into `health` by resolve_plan, with the run's variables.
  YAML::Node health_node;
  std::optional<smoke::Suite> health;
  std::vector<std::string> shared;       // release-relative paths linked to <root>/shared/
  std::vector<std::string> config_files; // files snapshotted before the switch (absolute or root-relative)
  std::vector<BackupSpec> backups;
};

struct EnvironmentSpec {
  std::string name;
  std::string location;
  Variables variables;               // ${NAME} values for this environment
  std::optional<Duration> deadline;  // overrides the plan's
  bool paused = false;               // a freeze: deploy-stage exits 4
  std::string pause_reason;
  bool requires_previous = true;     // false only for the first environment
};

struct SigningSpec {
  std::string public_key; // PEM file with an ed25519 public key
  bool required = false;  // every artifact must carry a valid signature
  std::string location;
};

struct Plan {
  std::string file;        // as given
  int schema_version = 1;  // `version: 1`
  std::string name;        // the application
  Variables variables;     // plan-wide ${NAME} values
  std::vector<EnvironmentSpec> environments; // in promotion order
  std::vector<ServiceSpec> services;         // in file order
  std::string strategy = "all-at-once";
  Duration deadline{std::chrono::minutes(15)}; // "if it is not fixed within the planned time, roll back"
  int keep_releases = 5;
  SigningSpec signing;
  std::string lock_ttl = "5m"; // as written; resolved to lock_ttl_duration
  Duration lock_ttl_duration{std::chrono::minutes(5)};
  YAML::Node document; // keeps the parsed nodes alive
};

// Reads and checks a plan: YAML well-formed, known keys only (else "did you
// mean"), types and ranges, unique names, depends_on and
// stop_during_switch naming known services, no dependency cycle, at least
// one environment and one service. Errors are ErrorKind::invalid_input
// with location "file:line".
core::Result<Plan> load_plan(const std::string& path);
core::Result<Plan> parse_plan(std::string_view yaml_text, const std::string& origin);

// The plan for one environment, with every ${VAR} replaced (from, in
// increasing priority: `extra` (the process environment), the plan's
// variables, the environment's variables, then ENV, VERSION and the
// other run values in `run_values`), health checks parsed, roots made
// absolute (relative to the plan file's folder), and services in deploy
// order (dependencies first; ties in file order).
struct ResolvedPlan {
  const Plan* plan = nullptr;
  const EnvironmentSpec* environment = nullptr;
  const EnvironmentSpec* previous_environment = nullptr; // nullptr for the first
  std::vector<ServiceSpec> services; // deploy order, interpolated
  Duration deadline{0};
};
core::Result<ResolvedPlan> resolve_plan(const Plan& plan, const std::string& environment, const Variables& extra,
                                        const Variables& run_values);
// "unknown environment 'prd'; did you mean 'prod'? The plan defines: dev, test, staging, prod"
core::Error unknown_environment(const Plan& plan, const std::string& name);

// The launch plan a tech lead reviews: ordered deploy steps and rollback
// steps for one environment.
std::string render_plan_text(const ResolvedPlan& plan);
std::string render_plan_markdown(const ResolvedPlan& plan);
nlohmann::json plan_to_json(const ResolvedPlan& plan);

} // namespace deploy
