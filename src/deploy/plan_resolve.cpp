// From a plan to the concrete plan of one environment and one run: ${VAR}
// replaced, health checks parsed, roots made absolute, services in deploy
// order. Errors name the line of the plan the text came from.
#include <algorithm>
#include <filesystem>
#include <regex>
#include <set>

#include "core/text.hpp"
#include "deploy/plan.hpp"
#include "deploy/plan_analysis.hpp"
#include "deploy/plan_text.hpp"
#include "deploy/plan_validate.hpp"
#include "io/redactor.hpp"
#include "smoke/checks_file.hpp"

namespace deploy {
namespace {

using core::ErrorKind;

// Thrown inside this file only; resolve_plan turns it into its Error.
struct ResolveError {
  core::Error error;
};

[[noreturn]] void fail(const std::string& location, const std::string& message) {
  throw ResolveError{core::make_error(ErrorKind::invalid_input, message, location)};
}

// yaml-cpp's operator[] may insert into a node; this only looks.
YAML::Node child(const YAML::Node& node, const std::string& key) {
  if (!node || !node.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  for (auto it = node.begin(); it != node.end(); ++it)
    if (it->first.IsScalar() && it->first.Scalar() == key) return it->second;
  return YAML::Node(YAML::NodeType::Undefined);
}

// "plan.yml:12" for a node of the plan's document, `fallback` when the
// node is not there (a plan built in code, or written with merge keys).
std::string located(const Plan& plan, const YAML::Node& node, const std::string& fallback) {
  if (!node || !node.IsDefined() || node.Mark().is_null()) return fallback.empty() ? plan.file : fallback;
  return plan.file + ":" + std::to_string(node.Mark().line + 1);
}

// The line of item `index` of a list under the service's `key`.
std::string item_location(const Plan& plan, const ServiceSpec& service, const std::string& key, std::size_t index) {
  const YAML::Node list = child(child(child(plan.document, "services"), service.name), key);
  if (list && list.IsSequence() && index < list.size()) return located(plan, list[index], service.location);
  return located(plan, list, service.location);
}

class Interpolator {
public:
  Interpolator(const Variables& values, std::vector<std::string> suggestions, std::string environment)
      : m_values(values), m_suggestions(std::move(suggestions)), m_environment(std::move(environment)) {}

  std::string operator()(const std::string& text, const std::string& location, const std::string& path) const {
    std::string problem;
    for (const auto& name : placeholders(text, problem))
      if (!m_values.count(name)) fail(location, path + ": " + unknown(name));
    if (!problem.empty()) fail(location, path + ": " + problem);
    auto result = smoke::interpolate(text, m_values);
    if (!result) fail(location, path + ": " + result.error().message);
    return *result;
  }

  nlohmann::json json(const nlohmann::json& value, const std::string& location, const std::string& path) const {
    if (value.is_string()) return (*this)(value.get<std::string>(), location, path);
    nlohmann::json out = value;
    if (value.is_array() || value.is_object())
      for (auto it = out.begin(); it != out.end(); ++it)
        *it = json(*it, location, path);
    return out;
  }

  const Variables& values() const { return m_values; }
  const std::vector<std::string>& suggestions() const { return m_suggestions; }

private:
  std::string unknown(const std::string& name) const {
    const std::string guess = core::closest_match(name, m_suggestions);
    return "unknown variable '" + name + "'" + (guess.empty() ? "" : " (did you mean '" + guess + "'?)") +
           "; define it under `variables:` of the plan or of environment '" + m_environment +
           "', or in the environment of the shipgate process";
  }

  const Variables& m_values;
  std::vector<std::string> m_suggestions;
  std::string m_environment;
};

void add_names(std::vector<std::string>& names, const Variables& variables) {
  for (const auto& entry : variables)
    names.push_back(entry.first);
}

// Plan variables may use the process environment and the run values;
// environment variables may use those and the plan's variables.
Variables all_variables(const Plan& plan, const EnvironmentSpec& environment, const Variables& extra,
                        const Variables& run_values) {
  Variables run = run_values;
  run.emplace("ENV", environment.name);
  std::vector<std::string> names;
  add_names(names, plan.variables);
  add_names(names, environment.variables);
  add_names(names, run);
  Variables scope = extra;
  for (const auto& [name, value] : run)
    scope[name] = value;
  Variables resolved = extra;
  const Interpolator plan_level(scope, names, environment.name);
  const YAML::Node plan_variables = child(plan.document, "variables");
  for (const auto& [name, value] : plan.variables)
    resolved[name] = plan_level(value, located(plan, child(plan_variables, name), plan.file), "variables." + name);
  for (const auto& [name, value] : plan.variables)
    scope[name] = resolved[name];
  const Interpolator environment_level(scope, names, environment.name);
  for (const auto& [name, value] : environment.variables)
    resolved[name] =
        environment_level(value, environment.location, "environments." + environment.name + ".variables." + name);
  for (const auto& [name, value] : run)
    resolved[name] = value;
  return resolved;
}

void resolve_command(const Interpolator& interpolate, CommandSpec& command, const std::string& path) {
  if (command.empty()) return;
  for (auto& arg : command.argv)
    arg = interpolate(arg, command.location, path);
  command.shell = interpolate(command.shell, command.location, path);
  if (!command.argv.empty() && command.argv.front().empty())
    fail(command.location, path + ": the program name is empty once the variables are replaced");
  if (command.argv.empty() && core::trim(command.shell).empty())
    fail(command.location, path + ": the shell snippet is empty once the variables are replaced");
}

std::string absolute_from(const std::filesystem::path& base, const std::string& path) {
  return std::filesystem::absolute(base / path).lexically_normal().string();
}

// Hosts written as one template ("${WEB_HOSTS}") may hold several,
// separated by spaces, commas or newlines.
std::vector<std::string> split_hosts(const std::string& text) {
  std::vector<std::string> out;
  std::string word;
  for (char c : text + " ") {
    if (c == ' ' || c == ',' || c == '\n' || c == '\t' || c == '\r') {
      if (!word.empty()) out.push_back(word);
      word.clear();
    } else {
      word += c;
    }
  }
  return out;
}

void resolve_ssh(const Plan& plan, const Interpolator& interpolate, ServiceSpec& service) {
  SshTargetSpec& ssh = service.target.ssh;
  const std::string path = "services." + service.name + ".target";
  const std::filesystem::path base = std::filesystem::path(plan.file).parent_path();
  std::vector<SshHost> hosts;
  for (const auto& written : ssh.hosts) {
    if (written.name.empty() && written.port == 0 && written.user.empty() && has_placeholder(written.address)) {
      const std::string text = interpolate(written.address, written.location, path + ".hosts");
      const auto words = split_hosts(text);
      if (words.empty()) fail(written.location, path + ".hosts: '" + written.address + "' names no host once the "
                                                       "variables are replaced");
      for (const auto& word : words) {
        SshHost host;
        host.location = written.location;
        const std::string problem = parse_host_text(word, host);
        if (!problem.empty()) fail(written.location, path + ".hosts: " + problem);
        hosts.push_back(std::move(host));
      }
      continue;
    }
    SshHost host = written;
    host.address = interpolate(host.address, host.location, path + ".hosts.address");
    host.user = interpolate(host.user, host.location, path + ".hosts.user");
    if (host.address.empty()) fail(host.location, path + ".hosts: an address is empty once the variables are replaced");
    if (host.address.front() == '-' || host.address.find_first_of(" \t\n'\"\\;$`") != std::string::npos)
      fail(host.location, path + ".hosts: '" + host.address + "' is not a host name or IP address");
    for (auto& [name, value] : host.variables)
      value = interpolate(value, host.location, path + ".hosts.variables." + name);
    hosts.push_back(std::move(host));
  }
  ssh.hosts = std::move(hosts);
  ssh.user = interpolate(ssh.user, service.target.location, path + ".user");
  if (!ssh.user.empty() && (ssh.user.front() == '-' || ssh.user.find_first_of(" \t\n'\"@:") != std::string::npos))
    fail(service.target.location, path + ".user: '" + ssh.user + "' is not a user name");
  ssh.root = interpolate(ssh.root, service.target.location, path + ".root");
  if (ssh.root.empty() || ssh.root.front() != '/')
    fail(service.target.location, path + ".root must be an absolute folder on the hosts, found '" + ssh.root + "'");
  ssh.root = std::filesystem::path(ssh.root).lexically_normal().string();
  if (ssh.root.size() > 1 && ssh.root.back() == '/') ssh.root.pop_back();
  if (ssh.root == "/") fail(service.target.location, path + ".root cannot be / itself; use a folder such as /srv/shop/web");
  ssh.identity_file = interpolate(ssh.identity_file, service.target.location, path + ".identity_file");
  if (!ssh.identity_file.empty()) ssh.identity_file = absolute_from(base, ssh.identity_file);
  ssh.known_hosts = interpolate(ssh.known_hosts, service.target.location, path + ".known_hosts");
  if (!ssh.known_hosts.empty()) ssh.known_hosts = absolute_from(base, ssh.known_hosts);
  std::set<std::string> names;
  for (const auto& host : effective_hosts(ssh))
    if (!names.insert(host.name).second)
      fail(host.location, path + ".hosts lists '" + host.name + "' twice; give each host once (or its own name:)");
}

void resolve_target(const Plan& plan, const Interpolator& interpolate, ServiceSpec& service) {
  TargetSpec& target = service.target;
  const std::string path = "services." + service.name + ".target";
  const std::filesystem::path base = std::filesystem::path(plan.file).parent_path();
  for (auto& root : target.roots) {
    root = interpolate(root, target.location, path + ".roots");
    if (core::trim(root).empty())
      fail(target.location, path + ".roots: a root is empty once the variables are replaced");
    root = absolute_from(base, root);
  }
  if (target.kind == TargetSpec::Kind::ssh) resolve_ssh(plan, interpolate, service);
  target.plugin = interpolate(target.plugin, target.location, path + ".plugin");
  target.settings = interpolate.json(target.settings, target.location, path + ".settings");
  target.state_dir = interpolate(target.state_dir, target.location, path + ".state_dir");
  if (!target.state_dir.empty()) target.state_dir = absolute_from(base, target.state_dir);
}

void resolve_artifact(const Interpolator& interpolate, ServiceSpec& service) {
  ArtifactSpec& artifact = service.artifact;
  const std::string path = "services." + service.name + ".artifact";
  artifact.source = interpolate(artifact.source, artifact.location, path + ".source");
  artifact.sha256 = core::to_lower(interpolate(artifact.sha256, artifact.location, path + ".sha256"));
  const std::string problem = sha256_problem(artifact.sha256);
  if (!problem.empty()) fail(artifact.location, path + ".sha256: " + problem);
}

void resolve_files(const Plan& plan, const Interpolator& interpolate, ServiceSpec& service) {
  const std::string path = "services." + service.name;
  for (std::size_t i = 0; i < service.shared.size(); ++i) {
    const std::string at = item_location(plan, service, "shared", i);
    std::string& item = service.shared[i];
    item = interpolate(item, at, path + ".shared");
    const std::string problem = shared_path_problem(item);
    if (!problem.empty()) fail(at, path + ".shared: '" + item + "' " + problem);
  }
  for (std::size_t i = 0; i < service.config_files.size(); ++i)
    service.config_files[i] =
        interpolate(service.config_files[i], item_location(plan, service, "config_files", i), path + ".config_files");
  for (auto& backup : service.backups) {
    const std::string backup_path = path + ".backups." + backup.name;
    resolve_command(interpolate, backup.command, backup_path + ".run");
    backup.output = interpolate(backup.output, backup.location, backup_path + ".output");
  }
}

void resolve_health(const Plan& plan, const Variables& variables, ServiceSpec& service) {
  if (!service.health_node || !service.health_node.IsDefined() || service.health_node.IsNull()) return;
  auto suite = smoke::parse_checks_node(service.health_node, plan.file, variables);
  if (!suite) {
    core::Error error = suite.error();
    error.message = "services." + service.name + ".health: " + error.message;
    throw ResolveError{error};
  }
  service.health = std::move(*suite);
}

// Blue-green: the traffic settings once per colour, with that colour's
// values (and ${COLOUR}) on top of the run's.
void resolve_blue_green(const Interpolator& interpolate, ServiceSpec& service, const Variables& values,
                        const std::vector<std::string>& names) {
  BlueGreenSpec& spec = service.strategy.blue_green;
  const std::string path = "services." + service.name + ".strategy";
  const std::string at = service.strategy.location;
  spec.upstream_file = interpolate(spec.upstream_file, at, path + ".nginx.upstream_file");
  spec.upstream = interpolate(spec.upstream, at, path + ".nginx.upstream");
  resolve_command(interpolate, spec.test, path + ".nginx.test");
  resolve_command(interpolate, spec.reload, path + ".nginx.reload");
  spec.servers.clear();
  spec.switch_commands.clear();
  for (auto& colour : spec.colours) {
    for (auto& [name, value] : colour.variables)
      value = interpolate(value, colour.location, path + ".colours." + colour.name + "." + name);
    Variables scope = values;
    for (const auto& [name, value] : colour.variables) scope[name] = value;
    scope["COLOUR"] = colour.name;
    const Interpolator for_colour(scope, names, "");
    spec.servers.push_back(for_colour(spec.server, at, path + ".nginx.server"));
    CommandSpec command = spec.switch_command;
    resolve_command(for_colour, command, path + ".switch");
    spec.switch_commands.push_back(command);
  }
}

// The queries with the run's values. A baseline without its own query is
// the canary's query asked about the previous version: ${VERSION} stands
// for ${PREVIOUS_VERSION} there; without a previous version (a first
// deploy) it stays empty and the baseline is not compared.
void resolve_analysis(const Interpolator& interpolate, ServiceSpec& service) {
  AnalysisSpec& spec = *service.analysis;
  const std::string path = "services." + service.name + ".analysis";
  spec.prometheus = interpolate(spec.prometheus, spec.location, path + ".prometheus");
  if (!spec.prometheus.empty()) {
    const std::string problem = prometheus_url_problem(spec.prometheus);
    if (!problem.empty()) fail(spec.location, path + ".prometheus: " + problem);
  }
  const auto previous = interpolate.values().find("PREVIOUS_VERSION");
  const std::string previous_version = previous == interpolate.values().end() ? "" : previous->second;
  Variables before = interpolate.values();
  before["VERSION"] = previous_version;
  const Interpolator for_baseline(before, interpolate.suggestions(), "");
  for (auto& query : spec.queries) {
    const std::string at = path + ".queries." + query.name;
    const std::string written = query.query;
    query.query = interpolate(written, query.location, at + ".query");
    if (core::trim(query.query).empty()) fail(query.location, at + ".query is empty once the variables are replaced");
    if (!query.has_baseline) continue;
    query.baseline_query = query.baseline_written
                               ? interpolate(query.baseline_query, query.location, at + ".baseline.query")
                               : for_baseline(written, query.location, at + ".query");
    if (previous_version.empty()) query.baseline_query.clear();
  }
}

ServiceSpec resolve_service(const Plan& plan, const Interpolator& interpolate, const ServiceSpec& spec) {
  ServiceSpec service = spec;
  const std::string path = "services." + service.name;
  resolve_artifact(interpolate, service);
  resolve_target(plan, interpolate, service);
  resolve_command(interpolate, service.stop, path + ".stop");
  resolve_command(interpolate, service.start, path + ".start");
  resolve_command(interpolate, service.reload, path + ".reload");
  resolve_command(interpolate, service.restart, path + ".restart");
  resolve_files(plan, interpolate, service);
  resolve_health(plan, interpolate.values(), service);
  if (service.strategy.kind == StrategySpec::Kind::blue_green)
    resolve_blue_green(interpolate, service, interpolate.values(), interpolate.suggestions());
  if (service.analysis) resolve_analysis(interpolate, service);
  return service;
}

// The values a database command gets at run time stay placeholders here.
const std::vector<std::string>& database_run_names() {
  static const std::vector<std::string> k_names = {"SCRIPT", "BACKUP_FILE", "SCRATCH_DATABASE"};
  return k_names;
}

bool is_psql(const std::string& program) {
  return std::filesystem::path(program).filename() == "psql";
}

DatabaseSpec resolve_database(const Plan& plan, const Interpolator& interpolate, const DatabaseSpec& spec) {
  DatabaseSpec database = spec;
  const std::string path = "databases." + database.name;
  const std::filesystem::path base = std::filesystem::path(plan.file).parent_path();
  database.connection_env = interpolate(database.connection_env, database.location, path + ".connection_env");
  static const std::regex k_env_name("[A-Za-z_][A-Za-z0-9_]*");
  if (!std::regex_match(database.connection_env, k_env_name))
    fail(database.location, path + ".connection_env must name an environment variable (letters, digits, _), found '" +
                                database.connection_env + "'");
  auto argv = [&](std::vector<std::string>& words, const std::string& key) {
    for (auto& word : words) word = interpolate(word, database.location, path + "." + key);
  };
  argv(database.client, "client");
  argv(database.backup.command, "backup.command");
  argv(database.backup.restore, "backup.restore");
  if (!database.backup.dir.empty())
    database.backup.dir = absolute_from(base, interpolate(database.backup.dir, database.location, path + ".backup.dir"));
  const bool local = std::all_of(plan.services.begin(), plan.services.end(), [](const ServiceSpec& service) {
    return service.target.kind == TargetSpec::Kind::local;
  });
  if (database.backup.enabled && database.backup.dir.empty() && !local)
    fail(database.location, path + ".backup.dir is needed: the services are not all on local targets, and the dump "
                                   "is written on the machine running shipgate; name a folder there, or write "
                                   "backup: false");
  // psql carries on after a failed statement and exits 0 unless told to stop.
  if (is_psql(database.client.front()) &&
      std::none_of(database.client.begin(), database.client.end(),
                   [](const std::string& word) { return word.find("ON_ERROR_STOP=1") != std::string::npos; }))
    fail(database.location, path + ".client runs psql without ON_ERROR_STOP=1, so a failed statement would still "
                                   "exit 0; add --set ON_ERROR_STOP=1 to the argv");
  for (const auto& name : database.rehearse_revert_in) {
    const bool known = std::any_of(plan.environments.begin(), plan.environments.end(),
                                   [&](const EnvironmentSpec& environment) { return environment.name == name; });
    if (!known) {
      std::vector<std::string> names;
      for (const auto& environment : plan.environments) names.push_back(environment.name);
      const std::string guess = core::closest_match(name, names);
      fail(database.location, path + ".rehearse_revert_in: unknown environment '" + name + "'" +
                                  (guess.empty() ? "" : "; did you mean '" + guess + "'?"));
    }
  }
  for (auto& change : database.changes) {
    const std::string at = path + ".changes." + change.id;
    for (auto [key, file] : {std::pair<const char*, std::string*>{"deploy", &change.deploy},
                             {"verify", &change.verify},
                             {"revert", &change.revert}}) {
      if (file->empty()) continue;
      *file = absolute_from(base, interpolate(*file, change.location, at + "." + key));
      std::error_code error;
      if (!std::filesystem::is_regular_file(*file, error))
        fail(change.location, at + "." + key + ": no such script file: " + *file);
    }
    change.irreversible = interpolate(change.irreversible, change.location, at + ".irreversible");
  }
  return database;
}

NotifySpec resolve_notify(const Plan& plan, const Interpolator& interpolate) {
  NotifySpec notify = plan.notify;
  const std::filesystem::path base = std::filesystem::path(plan.file).parent_path();
  notify.templates = interpolate(notify.templates, notify.location, "notify.templates");
  if (!notify.templates.empty()) notify.templates = absolute_from(base, notify.templates);
  notify.outbox = interpolate(notify.outbox.empty() ? ".shipgate-outbox" : notify.outbox, notify.location, "notify.outbox");
  notify.outbox = absolute_from(base, notify.outbox);
  for (auto& channel : notify.channels) {
    const std::string path = "notify.channels." + channel.name;
    channel.url = interpolate(channel.url, channel.location, path + ".url");
    channel.username = interpolate(channel.username, channel.location, path + ".username");
    channel.from = interpolate(channel.from, channel.location, path + ".from");
    channel.cacert = interpolate(channel.cacert, channel.location, path + ".cacert");
    if (!channel.cacert.empty()) channel.cacert = absolute_from(base, channel.cacert);
  }
  for (auto& [role, recipients] : notify.roles)
    for (auto& recipient : recipients) recipient = interpolate(recipient, notify.location, "notify.roles." + role);
  return notify;
}

// Dependencies first; among the services ready to go, the file's order.
std::vector<const ServiceSpec*> deploy_order(const Plan& plan) {
  std::vector<const ServiceSpec*> order;
  std::vector<std::string> placed;
  while (order.size() < plan.services.size()) {
    const ServiceSpec* next = nullptr;
    for (const auto& service : plan.services) {
      if (std::find(placed.begin(), placed.end(), service.name) != placed.end()) continue;
      const bool ready =
          std::all_of(service.depends_on.begin(), service.depends_on.end(), [&](const std::string& name) {
            return std::find(placed.begin(), placed.end(), name) != placed.end();
          });
      if (ready) {
        next = &service;
        break;
      }
    }
    if (!next)
      fail(plan.file, "the services' depends_on form a cycle or name an unknown service; run `shipgate plan validate`");
    order.push_back(next);
    placed.push_back(next->name);
  }
  return order;
}

std::size_t environment_index(const Plan& plan, const std::string& name) {
  for (std::size_t i = 0; i < plan.environments.size(); ++i)
    if (plan.environments[i].name == name) return i;
  return plan.environments.size();
}

bool safe_in_shell(unsigned char c) {
  return std::isalnum(c) || std::string_view("_@%+=:,./-").find(static_cast<char>(c)) != std::string_view::npos;
}

// Single quotes unless every character is safe; a newline is shown as \n
// so that the command stays on one line.
std::string quote_word(const std::string& word) {
  if (!word.empty() && std::all_of(word.begin(), word.end(), safe_in_shell)) return word;
  std::string out = "'";
  for (const char c : word) {
    if (c == '\'')
      out += "'\\''";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out + "'";
}

} // namespace

core::Result<ResolvedPlan> resolve_plan(const Plan& plan, const std::string& environment, const Variables& extra,
                                        const Variables& run_values) {
  const std::size_t index = environment_index(plan, environment);
  if (index == plan.environments.size()) return unknown_environment(plan, environment);
  ResolvedPlan resolved;
  resolved.plan = &plan;
  resolved.environment = &plan.environments[index];
  resolved.previous_environment = index == 0 ? nullptr : &plan.environments[index - 1];
  resolved.deadline = resolved.environment->deadline.value_or(plan.deadline);
  try {
    const Variables variables = all_variables(plan, *resolved.environment, extra, run_values);
    std::vector<std::string> names;
    add_names(names, plan.variables);
    add_names(names, resolved.environment->variables);
    add_names(names, run_values);
    names.push_back("ENV");
    for (const auto& name : target_variable_names()) names.push_back(name);
    for (const ServiceSpec* service : deploy_order(plan)) {
      // Values a target brings itself (docs/plan.md#target-values): the
      // real ones come in run_values when one target is resolved; for the
      // environment as a whole they are stand-ins such as "<HOST>".
      Variables scope = variables;
      std::vector<std::string> scope_names = names;
      auto stand_in = [&](const std::string& name) {
        if (!scope.count(name)) scope[name] = "<" + name + ">";
        scope_names.push_back(name);
      };
      if (service->target.kind == TargetSpec::Kind::local) stand_in("TARGET_ROOT");
      if (service->target.kind == TargetSpec::Kind::ssh) {
        stand_in("TARGET_ROOT");
        stand_in("HOST");
        stand_in("HOST_ADDRESS");
        for (const auto& host : service->target.ssh.hosts)
          for (const auto& [name, value] : host.variables) stand_in(name);
      }
      if (service->strategy.kind == StrategySpec::Kind::blue_green) {
        stand_in("COLOUR");
        for (const auto& colour : service->strategy.blue_green.colours)
          for (const auto& [name, value] : colour.variables) stand_in(name);
      }
      const Interpolator interpolate(scope, scope_names, environment);
      resolved.services.push_back(resolve_service(plan, interpolate, *service));
    }
    if (!plan.databases.empty()) {
      Variables scope = variables;
      std::vector<std::string> scope_names = names;
      for (const auto& name : database_run_names()) {
        scope[name] = "${" + name + "}";
        scope_names.push_back(name);
      }
      const Interpolator interpolate(scope, scope_names, environment);
      for (const auto& database : plan.databases) {
        resolved.databases.push_back(resolve_database(plan, interpolate, database));
        const auto& rehearse = resolved.databases.back().rehearse_revert_in;
        resolved.databases.back().rehearse_revert =
            std::find(rehearse.begin(), rehearse.end(), environment) != rehearse.end();
      }
    }
    if (plan.notify.present) {
      const Interpolator interpolate(variables, names, environment);
      resolved.notify = resolve_notify(plan, interpolate);
    }
    resolved.values = variables;
  } catch (const ResolveError& error) {
    return error.error;
  }
  return resolved;
}

const std::vector<std::string>& run_value_names() {
  static const std::vector<std::string> k_names = {"VERSION", "PREVIOUS_VERSION", "RELEASE", "RELEASE_DIR",
                                                   "BACKUP_DIR", "COMMIT", "BRANCH"};
  return k_names;
}

Variables placeholder_run_values() {
  return {{"VERSION", "0.0.0"},
          {"PREVIOUS_VERSION", "0.0.0"},
          {"RELEASE", "20000101T000000Z-0.0.0"},
          {"RELEASE_DIR", "/nonexistent/releases/20000101T000000Z-0.0.0"},
          {"BACKUP_DIR", "/nonexistent/backups/20000101T000000Z-0.0.0"},
          {"COMMIT", "0000000000000000000000000000000000000000"},
          {"BRANCH", "main"}};
}

Variables symbolic_run_values() {
  Variables out;
  for (const auto& name : run_value_names())
    out[name] = "${" + name + "}";
  return out;
}

std::vector<std::string> plan_secret_values(const Plan& plan) {
  std::vector<std::string> out;
  auto collect = [&](const Variables& variables) {
    for (const auto& [name, value] : variables)
      if (io::is_secret_name(name) && !value.empty() && value.find("${") == std::string::npos) out.push_back(value);
  };
  collect(plan.variables);
  for (const auto& environment : plan.environments) collect(environment.variables);
  return out;
}

core::Status validate_environments(const Plan& plan, const Variables& extra, const Variables& overrides) {
  Variables run_values = placeholder_run_values();
  for (const auto& [name, value] : overrides) run_values[name] = value;
  for (const auto& environment : plan.environments) {
    auto resolved = resolve_plan(plan, environment.name, extra, run_values);
    if (!resolved) {
      core::Error error = resolved.error();
      error.message = "in environment '" + environment.name + "': " + error.message;
      return error;
    }
  }
  return core::ok_status();
}

std::string CommandSpec::display() const {
  if (!argv.empty()) {
    std::string out;
    for (const auto& arg : argv)
      out += (out.empty() ? "" : " ") + quote_word(arg);
    return out;
  }
  if (!shell.empty()) return "sh -c " + quote_word(shell);
  return "(none)";
}

} // namespace deploy
