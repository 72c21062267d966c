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

// One host of an ssh target: `web01`, `10.0.0.2:2222`, `deploy@web03`, or
// a map {name, address, port, user, variables}.
struct SshHost {
  std::string name;     // for messages and ${HOST}; defaults to the address
  std::string address;  // host name or IP address (${HOST_ADDRESS})
  int port = 0;         // 0: the target's port
  std::string user;     // empty: the target's user
  Variables variables;  // this host's own ${NAME} values
  std::string location;
};

// Splits "user@address:port" ("[v6]:port" for IPv6) into `host`; the
// problem, or empty.
std::string parse_host_text(const std::string& text, SshHost& host);

struct SshTargetSpec {
  std::vector<SshHost> hosts;   // at least one; names unique
  std::string user;             // empty: the ssh configuration decides
  int port = 22;
  std::string root;             // absolute folder on every host
  std::string identity_file;    // optional private key file
  std::string known_hosts;      // optional known_hosts file (relative to the plan); else the user's
  Duration connect_timeout{std::chrono::seconds(10)};
  Duration timeout{std::chrono::minutes(2)}; // each of shipgate's own remote operations
};

struct TargetSpec {
  enum class Kind { local, plugin, ssh };
  Kind kind = Kind::local;
  std::vector<std::string> roots; // local: one or several directories (absolute after resolve)
  SshTargetSpec ssh;              // ssh
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

// A count of hosts: `2` or `25%` (of the service's hosts, rounded up, at
// least 1).
struct HostCount {
  int value = 0;
  bool percent = false;
  int of(int total) const;
  std::string display() const; // "2", "25%"
};

// Blue-green (docs/deploy.md "Blue-green"): two colours, each with its own
// `<root>/<colour>` link and its own values (a port, a socket); traffic goes
// to one colour through nginx (an upstream file switched by a validated
// reload) or through the plan's own command.
struct ColourSpec {
  std::string name;     // "blue", "green"
  Variables variables;  // e.g. PORT: "8081"
  std::string location;
};
struct BlueGreenSpec {
  std::vector<ColourSpec> colours; // exactly two
  // nginx: shipgate writes `upstream_file` as
  //   upstream <upstream> { server <server>; }
  // with ${COLOUR} and the colour's values in `server`, checks it with
  // `test`, then runs `reload`; a failed test puts the old file back.
  std::string upstream_file;
  std::string upstream;
  std::string server;   // e.g. "127.0.0.1:${PORT}"
  CommandSpec test;     // e.g. [nginx, -t]
  CommandSpec reload;   // e.g. [nginx, -s, reload]
  // Or a command of the plan's own that sends traffic to ${COLOUR}.
  CommandSpec switch_command;
  // Resolved per colour by resolve_plan: `server` and `switch_command` with
  // that colour's values (same order as colours).
  std::vector<std::string> servers;
  std::vector<CommandSpec> switch_commands;
  std::string location;
};

struct StrategySpec {
  enum class Kind { all_at_once, rolling, canary, blue_green };
  Kind kind = Kind::all_at_once;
  HostCount batch{25, true};     // rolling, and canary after its first batch
  HostCount canary{1, false};    // canary: the first batch
  std::optional<Duration> pause; // canary: wait this long after the first batch
  bool pause_until_resume = false; // canary: `pause: until-resume`
  int max_failures = 0;          // hosts of one batch that may fail (each rolled back alone)
  BlueGreenSpec blue_green;      // blue-green
  std::string location;
  std::string display() const;   // "canary 1, then batches of 25%, pause 5m"
};
std::string_view to_string(StrategySpec::Kind kind);

// Metric analysis (docs/analysis.md): Prometheus queries sampled after a
// batch is verified; a failed analysis rolls the deploy back like a failed
// health check.
struct AnalysisQuerySpec {
  std::string name;
  std::string query;            // PromQL; ${VAR} replaced by resolve_plan
  std::optional<double> below;  // a sample passes when value < below …
  std::optional<double> above;  // … or value > above (exactly one of the two)
  bool has_baseline = false;
  std::string baseline_query;   // written, or (resolved) the query with ${VERSION} := ${PREVIOUS_VERSION}
  bool baseline_written = false; // the plan wrote baseline.query itself
  double max_ratio = 0;         // the canary's value may be at most max_ratio × the baseline's
  std::string location;
};
struct AnalysisSpec {
  std::string prometheus;       // the server's URL (may carry credentials), or empty …
  std::string prometheus_env;   // … and the variable holding it, read at run time
  Duration interval{std::chrono::minutes(1)};
  int count = 5;                // samples per query
  int failure_limit = 0;        // failed samples a query may have
  bool inconclusive_pause = false; // no data: wait for --resume/--abort instead of rolling back
  std::vector<AnalysisQuerySpec> queries;
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
  StrategySpec strategy;   // the service's own, else the plan's
  bool has_own_strategy = false;
  std::optional<AnalysisSpec> analysis; // the service's own, else the plan's
};

struct EnvironmentSpec {
  std::string name;
  std::string location;
  Variables variables;               // ${NAME} values for this environment
  std::optional<Duration> deadline;  // overrides the plan's
  bool paused = false;               // a freeze: deploy-stage exits 4
  std::string pause_reason;
  bool requires_previous = true;     // false only for the first environment
  // Sign-offs (docs/signoff.md): roles that must approve this very version
  // before deploy-stage runs here, and whether an approval by whoever
  // triggered the deploy counts.
  std::vector<std::string> required_signoffs;
  bool self_approval = true;
};

// The roles of the sign-off chain (docs/signoff.md).
const std::vector<std::string>& known_roles();

// Database changes (docs/database.md): a database, how to reach it, and
// its ordered changes, each with deploy, verify and revert scripts.
struct DbChangeSpec {
  std::string id;
  std::string deploy, verify, revert; // script files (absolute after resolve); verify/revert may be empty
  std::string irreversible;           // the reason; empty when the change can be reverted
  std::string location;
};
struct DbBackupSpec {
  bool enabled = true;
  // ${BACKUP_FILE} is the dump's path; ${SCRATCH_DATABASE} the scratch
  // database the restore check creates.
  std::vector<std::string> command{"pg_dump", "--format=custom", "--no-owner", "--no-password", "--file",
                                   "${BACKUP_FILE}"};
  std::vector<std::string> restore{"pg_restore", "--no-owner", "--exit-on-error", "--no-password",
                                   "--dbname", "${SCRATCH_DATABASE}", "${BACKUP_FILE}"};
  bool verify_restore = false;
  std::string dir; // where dumps go (on the machine running shipgate); default: the local target's backups folder
  std::string location;
};
struct DatabaseSpec {
  std::string name;
  std::string connection_env; // the name of the environment variable holding the connection string
  // ${SCRIPT} is the script's path; without it the script goes on stdin.
  std::vector<std::string> client{"psql",  "--no-psqlrc",           "--quiet", "--set", "ON_ERROR_STOP=1",
                                  "--single-transaction", "--file", "${SCRIPT}"};
  bool after_apps = false;        // order: after-apps
  bool rollback_db_first = false; // rollback_order (default: the reverse of order)
  std::string registry_schema = "shipgate";
  Duration timeout{std::chrono::minutes(10)};
  // Environments where each new change is deployed, verified, reverted,
  // checked gone and deployed again before it counts (a rehearsal of the
  // rollback); resolve_plan sets `rehearse_revert` for them.
  std::vector<std::string> rehearse_revert_in;
  bool rehearse_revert = false;
  DbBackupSpec backup;
  std::vector<DbChangeSpec> changes;
  std::string location;
};

// Notifications (docs/notify.md): channels, who plays which role, and
// which roles hear of which event. Secrets are named, never written: each
// *_env key names an environment variable.
struct NotifyChannelSpec {
  std::string name;
  std::string type;          // smtp | webhook | slack | teams | dingtalk | feishu | wecom
  std::string url;           // smtp(s)://host:port, or a webhook URL without secrets
  std::string url_env;       // or the variable holding the URL (robot tokens live in it)
  std::string secret_env;    // signing secret (webhook, dingtalk, feishu)
  std::string username;      // smtp
  std::string password_env;  // smtp
  std::string oauth_token_env; // smtp XOAUTH2
  std::string auth;          // smtp: PLAIN, LOGIN, XOAUTH2 or empty
  std::string from;          // smtp
  std::string cacert;        // a CA bundle for a private server (absolute after resolve)
  bool required = false;     // a failed delivery fails the step
  std::string location;
};
struct NotifySpec {
  bool present = false;
  std::string language = "en"; // en | zh
  std::string templates;       // the plan's own template folder (absolute after resolve)
  std::string outbox;          // default: .shipgate-outbox next to the plan
  std::vector<NotifyChannelSpec> channels;
  std::map<std::string, std::vector<std::string>> roles; // role -> mail addresses and channel names
  std::map<std::string, std::vector<std::string>> chain; // event -> roles (missing events: the default chain)
  std::map<std::string, std::string> chain_templates;    // event -> the template name used instead of the event's
  std::string location;
};
// The events of the chain, in the order of the release process.
const std::vector<std::string>& notify_events();

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
  std::vector<DatabaseSpec> databases;       // docs/database.md
  StrategySpec strategy;   // default for services that name none
  std::optional<AnalysisSpec> analysis; // default for services that have none
  Duration deadline{std::chrono::minutes(15)}; // "if it is not fixed within the planned time, roll back"
  int keep_releases = 5;
  SigningSpec signing;
  NotifySpec notify;
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
  std::vector<DatabaseSpec> databases; // interpolated, script paths absolute
  NotifySpec notify;                   // interpolated, folders absolute
  Duration deadline{0};
  Variables values; // every value ${NAME} could use (for per-host resolution)
};
core::Result<ResolvedPlan> resolve_plan(const Plan& plan, const std::string& environment, const Variables& extra,
                                        const Variables& run_values);
// Values a target provides for its own commands and checks (${HOST},
// ${HOST_ADDRESS}, ${COLOUR} and the colour's values): stand-ins such as
// "<HOST>" when the plan is resolved for the environment as a whole, the
// real values when resolved for one target (run_values then carries them).
const std::vector<std::string>& target_variable_names();
// The hosts of one ssh target with the target's defaults applied.
std::vector<SshHost> effective_hosts(const SshTargetSpec& target);
// The batches of a service with `unit_count` targets: indexes into its
// units, in order. all-at-once and blue-green: one batch.
std::vector<std::vector<int>> make_batches(const StrategySpec& strategy, int unit_count);
// "unknown environment 'prd'; did you mean 'prod'? The plan defines: dev, test, staging, prod"
core::Error unknown_environment(const Plan& plan, const std::string& name);

// The launch plan a tech lead reviews: ordered deploy steps and rollback
// steps for one environment.
std::string render_plan_text(const ResolvedPlan& plan);
std::string render_plan_markdown(const ResolvedPlan& plan);
nlohmann::json plan_to_json(const ResolvedPlan& plan);

} // namespace deploy
