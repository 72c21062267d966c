// The launch plan a tech lead reviews (`shipgate plan show`): where the
// environment sits in the promotion order, the services, the pre-flight
// rules, and the numbered deploy and rollback steps exactly as the engine
// will run them (deploy_actions / rollback_actions).
#include <algorithm>
#include <filesystem>

#include "deploy/actions.hpp"
#include "deploy/analysis.hpp"
#include "deploy/plan.hpp"
#include "deploy/plan_analysis.hpp"
#include "render/markdown.hpp"

namespace deploy {
namespace {

// "15m", "1m30s", "2h", "500ms".
std::string format_duration(Duration duration) {
  long long ms = duration.count();
  if (ms % 1000 != 0) return std::to_string(ms) + "ms";
  long long seconds = ms / 1000;
  std::string out;
  if (seconds >= 3600) out += std::to_string(seconds / 3600) + "h";
  if (seconds % 3600 >= 60) out += std::to_string(seconds % 3600 / 60) + "m";
  if (seconds % 60 != 0 || out.empty()) out += std::to_string(seconds % 60) + "s";
  return out;
}

std::string format_size(std::uint64_t bytes) {
  const std::pair<std::uint64_t, const char*> units[] = {
      {1ull << 40, "TiB"},      {1ull << 30, "GiB"},   {1ull << 20, "MiB"}, {1ull << 10, "KiB"},
      {1000000000000ull, "TB"}, {1000000000ull, "GB"}, {1000000ull, "MB"},  {1000ull, "kB"}};
  for (const auto& [size, name] : units)
    if (bytes >= size && bytes % size == 0) return std::to_string(bytes / size) + name;
  return std::to_string(bytes) + " bytes";
}

std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string out;
  for (const auto& item : items)
    out += (out.empty() ? "" : separator) + item;
  return out;
}

std::vector<std::string> environment_names(const Plan& plan) {
  std::vector<std::string> names;
  for (const auto& environment : plan.environments)
    names.push_back(environment.name);
  return names;
}

std::size_t position(const ResolvedPlan& resolved) {
  const auto& all = resolved.plan->environments;
  for (std::size_t i = 0; i < all.size(); ++i)
    if (&all[i] == resolved.environment) return i;
  return 0;
}

// "staging (step 3 of 4, after test)" / "dev (step 1 of 4, the first)"
std::string promotion(const ResolvedPlan& resolved) {
  const std::size_t index = position(resolved);
  const std::string where =
      "step " + std::to_string(index + 1) + " of " + std::to_string(resolved.plan->environments.size());
  const std::string after =
      resolved.previous_environment ? "after " + resolved.previous_environment->name : "the first";
  return resolved.environment->name + " (" + where + ", " + after + ")";
}

std::string describe_hosts(const SshTargetSpec& ssh) {
  std::vector<std::string> names;
  for (const auto& host : effective_hosts(ssh)) names.push_back(host.name);
  if (names.size() > 6) {
    const std::size_t more = names.size() - 5;
    names.resize(5);
    names.push_back("… (" + std::to_string(more) + " more)");
  }
  return join(names, ", ");
}

std::string describe_target(const TargetSpec& target) {
  if (target.kind == TargetSpec::Kind::local) return "local: " + join(target.roots, ", ");
  if (target.kind == TargetSpec::Kind::ssh)
    return "ssh: " + std::to_string(target.ssh.hosts.size()) + " host(s) " + describe_hosts(target.ssh) + ", root " +
           target.ssh.root;
  return "plugin " + target.plugin + (target.state_dir.empty() ? "" : " (state in " + target.state_dir + ")");
}

std::string describe_artifact(const ArtifactSpec& artifact) {
  std::string out = artifact.source.empty() ? "given with --artifact" : artifact.source;
  out += artifact.sha256.empty() ? ", sha256 given at deploy" : ", sha256 " + artifact.sha256.substr(0, 12) + "…";
  return out + ", at most " + format_size(artifact.max_size);
}

std::string describe_health(const ServiceSpec& service) {
  if (!service.health) return "none";
  const std::size_t checks = service.health->checks.size();
  return std::string(service.health->wait ? "wait, then " : "") + std::to_string(checks) +
         (checks == 1 ? " check" : " checks");
}

// Where the values come from; credentials in the URL are never shown.
std::string prometheus_text(const AnalysisSpec& analysis) {
  return analysis.prometheus_env.empty() ? display_url(analysis.prometheus) : "$" + analysis.prometheus_env;
}

std::string describe_analysis(const AnalysisSpec& analysis) {
  return std::to_string(analysis.queries.size()) + (analysis.queries.size() == 1 ? " query" : " queries") + ", " +
         std::to_string(analysis.count) + " samples " + format_duration(analysis.interval) + " apart from " +
         prometheus_text(analysis) + "; failure_limit " + std::to_string(analysis.failure_limit) +
         "; no data -> " + (analysis.inconclusive_pause ? "pause" : "fail");
}

// One line per query: "error-ratio: <PromQL> below 0.01"
std::vector<std::string> analysis_lines(const ResolvedPlan& resolved) {
  std::vector<std::string> out;
  for (const auto& service : resolved.services) {
    if (!service.analysis) continue;
    out.push_back(service.name + ": " + describe_analysis(*service.analysis));
    for (const auto& query : service.analysis->queries) {
      out.push_back("  " + query.name + " " + threshold_text(query) + ": " + query.query);
      if (query.has_baseline)
        out.push_back("    baseline: " + (query.baseline_query.empty() ? std::string("(no previous version: not compared)")
                                                                          : query.baseline_query));
    }
  }
  return out;
}

nlohmann::json analysis_spec_json(const AnalysisSpec& analysis) {
  nlohmann::json queries = nlohmann::json::array();
  for (const auto& query : analysis.queries) {
    nlohmann::json item = {{"name", query.name}, {"query", query.query}, {"threshold", threshold_text(query)}};
    if (query.below) item["below"] = *query.below;
    if (query.above) item["above"] = *query.above;
    if (query.has_baseline) item["baseline"] = {{"query", query.baseline_query}, {"max_ratio", query.max_ratio}};
    queries.push_back(item);
  }
  return {{"prometheus", analysis.prometheus_env.empty() ? display_url(analysis.prometheus) : ""},
          {"prometheus_env", analysis.prometheus_env},
          {"interval_ms", analysis.interval.count()},
          {"count", analysis.count},
          {"failure_limit", analysis.failure_limit},
          {"inconclusive", analysis.inconclusive_pause ? "pause" : "fail"},
          {"queries", queries}};
}

std::vector<std::string> service_names(const ResolvedPlan& resolved) {
  std::vector<std::string> names;
  for (const auto& service : resolved.services)
    names.push_back(service.name);
  return names;
}

std::vector<std::string> preflight_rules(const ResolvedPlan& resolved) {
  std::vector<std::string> rules = {"the plan is valid"};
  if (resolved.previous_environment)
    rules.push_back("the version succeeded in " + resolved.previous_environment->name + " (from the ledger)");
  else
    rules.push_back("no earlier environment is required: " + resolved.environment->name + " comes first");
  rules.push_back("the version is not marked bad");
  rules.push_back(
      resolved.environment->paused
          ? "the environment is not paused — it IS paused now" +
                (resolved.environment->pause_reason.empty() ? std::string() : ": " + resolved.environment->pause_reason)
          : "the environment is not paused");
  rules.push_back("the lock of every target is acquired");
  rules.push_back("a rollback is possible: the live release is intact and the rollback steps below exist");
  return rules;
}

std::vector<std::string> automatic_rules(const ResolvedPlan& resolved) {
  std::vector<std::string> rules = {
      "any step fails, or a service fails its verification -> the services switched so far are rolled back "
      "(the rollback steps, for those services only)",
      "past the deadline (" + format_duration(resolved.deadline) + " from the start until verified) -> roll back",
      "rollback verified -> exit 1; rollback failed -> exit 5",
      "interrupted (SIGINT/SIGTERM) -> roll back, exit 130"};
  const bool analysed = std::any_of(resolved.services.begin(), resolved.services.end(),
                                    [](const ServiceSpec& service) { return service.analysis.has_value(); });
  if (analysed)
    rules.insert(rules.begin() + 1, "a metric analysis fails, or has no data (inconclusive: fail) -> roll back, as for "
                                    "a failed verification; Prometheus unreachable 3 times in a row counts as failed");
  return rules;
}

struct Header {
  std::string label;
  std::string value;
};

std::vector<Header> header(const ResolvedPlan& resolved) {
  const Plan& plan = *resolved.plan;
  std::vector<Header> out = {
      {"Plan", plan.name + " (" + plan.file + ")"},
      {"Environment", promotion(resolved)},
      {"Promotion", join(environment_names(plan), " -> ")},
      {"Deadline", format_duration(resolved.deadline) + " from the start until verified, else roll back"},
      {"Strategy", plan.strategy.display() + " (services may set their own)"},
      {"Keep", std::to_string(plan.keep_releases) + " releases"},
      {"Signing", plan.signing.required ? "required (" + plan.signing.public_key + ")" : "not required"},
  };
  if (resolved.environment->paused)
    out.push_back({"PAUSED", resolved.environment->pause_reason.empty() ? "yes" : resolved.environment->pause_reason});
  return out;
}

std::vector<std::string> numbered_text(const std::vector<Action>& actions) {
  std::vector<std::string> lines;
  for (std::size_t i = 0; i < actions.size(); ++i) {
    std::string number = std::to_string(i + 1) + ".";
    number.insert(0, number.size() < 4 ? 4 - number.size() : 0, ' ');
    lines.push_back(number + " " + actions[i].describe());
  }
  return lines;
}

std::string pad(const std::string& text, std::size_t width) {
  return text.size() >= width ? text : text + std::string(width - text.size(), ' ');
}

std::string services_text(const ResolvedPlan& resolved) {
  std::size_t width = 7;
  for (const auto& service : resolved.services)
    width = std::max(width, service.name.size());
  std::string out;
  for (const auto& service : resolved.services) {
    out += "  " + pad(service.name, width) + "  " + describe_target(service.target) + "\n";
    const std::string indent(width + 4, ' ');
    if (!service.depends_on.empty()) out += indent + "depends on: " + join(service.depends_on, ", ") + "\n";
    if (!service.stop_during_switch.empty())
      out += indent + "stops during its switch: " + join(service.stop_during_switch, ", ") + "\n";
    out += indent + "strategy: " + service.strategy.display() + "\n";
    out += indent + "artifact: " + describe_artifact(service.artifact) + "\n";
    out += indent + "health: " + describe_health(service) + "\n";
    if (service.analysis) out += indent + "analysis: " + describe_analysis(*service.analysis) + "\n";
  }
  return out;
}

std::string bullets_text(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items)
    out += "  - " + item + "\n";
  return out;
}

std::string md(std::string_view text) {
  return render::markdown_escape(text);
}

std::string numbered_markdown(const std::vector<Action>& actions) {
  std::string out;
  for (std::size_t i = 0; i < actions.size(); ++i)
    out += std::to_string(i + 1) + ". " + md(actions[i].describe()) + "\n";
  return out + "\n";
}

std::string bullets_markdown(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items)
    out += "- " + md(item) + "\n";
  return out + "\n";
}

std::string services_markdown(const ResolvedPlan& resolved) {
  std::string out = "| # | service | target | depends on | artifact | health |\n|---|---|---|---|---|---|\n";
  for (std::size_t i = 0; i < resolved.services.size(); ++i) {
    const ServiceSpec& service = resolved.services[i];
    out += "| " + std::to_string(i + 1) + " | " + md(service.name) + " | " + md(describe_target(service.target)) +
           " | " + md(service.depends_on.empty() ? "—" : join(service.depends_on, ", ")) + " | " +
           md(describe_artifact(service.artifact)) + " | " + md(describe_health(service)) + " |\n";
  }
  return out + "\n";
}

nlohmann::json command_json(const CommandSpec& command) {
  if (command.empty()) return nullptr;
  nlohmann::json out = {{"display", command.display()}, {"timeout_ms", command.timeout.count()}};
  if (!command.argv.empty())
    out["argv"] = command.argv;
  else
    out["shell"] = command.shell;
  return out;
}

nlohmann::json target_json(const TargetSpec& target) {
  if (target.kind == TargetSpec::Kind::local) return {{"type", "local"}, {"roots", target.roots}};
  if (target.kind == TargetSpec::Kind::ssh) {
    nlohmann::json hosts = nlohmann::json::array();
    for (const auto& host : effective_hosts(target.ssh))
      hosts.push_back({{"name", host.name}, {"address", host.address}, {"port", host.port}, {"user", host.user}});
    return {{"type", "ssh"},
            {"hosts", hosts},
            {"root", target.ssh.root},
            {"known_hosts", target.ssh.known_hosts},
            {"identity_file", target.ssh.identity_file}};
  }
  // Settings may hold credentials meant for the plugin only: their names are shown, not their values.
  std::vector<std::string> keys;
  for (auto it = target.settings.begin(); it != target.settings.end(); ++it)
    keys.push_back(it.key());
  return {{"type", "plugin"}, {"plugin", target.plugin}, {"state_dir", target.state_dir}, {"settings_keys", keys}};
}

nlohmann::json service_json(const ServiceSpec& service) {
  nlohmann::json backups = nlohmann::json::array();
  for (const auto& backup : service.backups)
    backups.push_back({{"name", backup.name}, {"run", command_json(backup.command)}, {"output", backup.output}});
  return {{"name", service.name},
          {"target", target_json(service.target)},
          {"depends_on", service.depends_on},
          {"stop_during_switch", service.stop_during_switch},
          {"artifact",
           {{"source", service.artifact.source},
            {"sha256", service.artifact.sha256},
            {"max_size", service.artifact.max_size}}},
          {"commands",
           {{"stop", command_json(service.stop)},
            {"start", command_json(service.start)},
            {"reload", command_json(service.reload)},
            {"restart", command_json(service.restart)}}},
          {"health_checks", service.health ? service.health->checks.size() : 0},
          {"health_wait", service.health && service.health->wait.has_value()},
          {"shared", service.shared},
          {"config_files", service.config_files},
          {"backups", backups},
          {"strategy", {{"type", std::string(to_string(service.strategy.kind))},
                        {"text", service.strategy.display()},
                        {"max_failures", service.strategy.max_failures}}},
          {"analysis", service.analysis ? analysis_spec_json(*service.analysis) : nlohmann::json(nullptr)}};
}

nlohmann::json actions_json(const std::vector<Action>& actions) {
  nlohmann::json out = nlohmann::json::array();
  for (std::size_t i = 0; i < actions.size(); ++i) {
    const Action& action = actions[i];
    out.push_back({{"step", i + 1},
                   {"kind", std::string(to_string(action.kind))},
                   {"service", action.service},
                   {"command", action.command ? nlohmann::json(action.command->display()) : nlohmann::json(nullptr)},
                   {"text", action.describe()}});
  }
  return out;
}

} // namespace

namespace {

// The databases section: what the DBA runs, in order, and how it is undone.
std::vector<std::string> database_lines(const ResolvedPlan& resolved) {
  std::vector<std::string> out;
  for (const auto& database : resolved.databases) {
    out.push_back("database " + database.name + " (connection in $" + database.connection_env + "): changes " +
                  (database.after_apps ? "after" : "before") + " the applications; on rollback reverted " +
                  (database.rollback_db_first ? "before" : "after") + " the applications are switched back");
    out.push_back("  backup: " + (database.backup.enabled
                                      ? std::string(database.backup.command.front()) +
                                            (database.backup.verify_restore ? ", restored into a scratch database and verified" : "")
                                      : std::string("none")));
    int number = 0;
    for (const auto& change : database.changes)
      out.push_back("  " + std::to_string(++number) + ". " + change.id + ": deploy " +
                    std::filesystem::path(change.deploy).filename().string() +
                    (change.verify.empty() ? ", no verify" : ", verify " + std::filesystem::path(change.verify).filename().string()) +
                    (!change.irreversible.empty() ? ", IRREVERSIBLE: " + change.irreversible
                     : change.revert.empty()      ? ", NO REVERT (a deploy that applies it is refused)"
                                                  : ", revert " + std::filesystem::path(change.revert).filename().string()));
    if (database.changes.empty()) out.push_back("  no changes");
  }
  return out;
}

nlohmann::json databases_json(const ResolvedPlan& resolved) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& database : resolved.databases) {
    nlohmann::json changes = nlohmann::json::array();
    for (const auto& change : database.changes)
      changes.push_back({{"id", change.id},
                         {"deploy", change.deploy},
                         {"verify", change.verify},
                         {"revert", change.revert},
                         {"irreversible", change.irreversible}});
    out.push_back({{"name", database.name},
                   {"connection_env", database.connection_env},
                   {"order", database.after_apps ? "after-apps" : "before-apps"},
                   {"rollback_order", database.rollback_db_first ? "db-first" : "apps-first"},
                   {"backup", {{"enabled", database.backup.enabled}, {"verify_restore", database.backup.verify_restore}}},
                   {"changes", changes}});
  }
  return out;
}

} // namespace

std::string render_plan_text(const ResolvedPlan& resolved) {
  std::string out = "Launch plan: " + resolved.plan->name + " -> " + resolved.environment->name + "\n\n";
  for (const auto& [label, value] : header(resolved))
    out += "  " + pad(label + ":", 13) + value + "\n";
  out += "\nServices, in deploy order:\n" + services_text(resolved);
  if (!resolved.databases.empty())
    out += "\nDatabases (docs/database.md; `shipgate db plan` shows what a run would apply):\n" +
           join(database_lines(resolved), "\n") + "\n";
  const auto analysis = analysis_lines(resolved);
  if (!analysis.empty())
    out += "\nMetric analysis (docs/analysis.md), after each batch is verified:\n  " + join(analysis, "\n  ") + "\n";
  out += "\nBefore anything changes (else exit 4):\n" + bullets_text(preflight_rules(resolved));
  out += "\nDeploy:\n" + join(numbered_text(deploy_actions(resolved)), "\n") + "\n";
  out += "\nAutomatically:\n" + bullets_text(automatic_rules(resolved));
  out += "\nRollback (all services; a failed run rolls back only those it switched):\n" +
         join(numbered_text(rollback_actions(resolved, service_names(resolved))), "\n") + "\n";
  return out;
}

std::string render_plan_markdown(const ResolvedPlan& resolved) {
  std::string out = "## Launch plan: " + md(resolved.plan->name) + " → " + md(resolved.environment->name) + "\n\n";
  out += "| | |\n|---|---|\n";
  for (const auto& [label, value] : header(resolved))
    out += "| " + md(label) + " | " + md(value) + " |\n";
  out += "\n### Services, in deploy order\n\n" + services_markdown(resolved);
  if (!resolved.databases.empty()) out += "### Databases\n\n```\n" + join(database_lines(resolved), "\n") + "\n```\n\n";
  const auto analysis = analysis_lines(resolved);
  if (!analysis.empty())
    out += "### Metric analysis, after each batch is verified\n\n```\n" + join(analysis, "\n") + "\n```\n\n";
  out += "### Before anything changes (else exit 4)\n\n" + bullets_markdown(preflight_rules(resolved));
  out += "### Deploy\n\n" + numbered_markdown(deploy_actions(resolved));
  out += "### Automatically\n\n" + bullets_markdown(automatic_rules(resolved));
  out += "### Rollback\n\nAll services; a failed run rolls back only those it switched.\n\n" +
         numbered_markdown(rollback_actions(resolved, service_names(resolved)));
  return out;
}

nlohmann::json plan_to_json(const ResolvedPlan& resolved) {
  const Plan& plan = *resolved.plan;
  nlohmann::json services = nlohmann::json::array();
  for (const auto& service : resolved.services)
    services.push_back(service_json(service));
  return {{"plan", plan.name},
          {"file", plan.file},
          {"environment", resolved.environment->name},
          {"previous_environment", resolved.previous_environment ? nlohmann::json(resolved.previous_environment->name)
                                                                 : nlohmann::json(nullptr)},
          {"promotion", environment_names(plan)},
          {"position", position(resolved) + 1},
          {"paused", resolved.environment->paused},
          {"pause_reason", resolved.environment->pause_reason},
          {"strategy", plan.strategy.display()},
          {"deadline", format_duration(resolved.deadline)},
          {"deadline_ms", resolved.deadline.count()},
          {"keep_releases", plan.keep_releases},
          {"lock_ttl", plan.lock_ttl},
          {"signing", {{"required", plan.signing.required}, {"public_key", plan.signing.public_key}}},
          {"services", services},
          {"databases", databases_json(resolved)},
          {"preflight", preflight_rules(resolved)},
          {"deploy", actions_json(deploy_actions(resolved))},
          {"automatic", automatic_rules(resolved)},
          {"rollback", actions_json(rollback_actions(resolved, service_names(resolved)))}};
}

} // namespace deploy
