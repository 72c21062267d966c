// Reading a launch plan (docs/plan.md). The located YAML reader of the
// checks files does the key checking ("did you mean") and the file:line
// messages; ${VAR} is only checked for syntax here, because its values are
// known per environment and per run (resolve_plan, further down).
#include "deploy/plan.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "core/text.hpp"
#include "deploy/plan_analysis.hpp"
#include "deploy/plan_text.hpp"
#include "smoke/checks_file.hpp"
#include "smoke/yaml_reader.hpp"

namespace deploy {
namespace {

using core::ErrorKind;
using smoke::Field;
using smoke::Fields;
using smoke::YamlReader;

const std::vector<std::string> k_top_keys = {"version",  "name",     "variables", "environments", "strategy",
                                             "deadline", "lock_ttl", "signing",   "services",     "keep_releases",
                                             "databases", "notify",   "analysis"};
const std::vector<std::string> k_environment_keys = {"name",   "variables",    "deadline",
                                                     "paused", "pause_reason", "signoffs"};
const std::vector<std::string> k_signoff_keys = {"required", "self_approval"};
const std::vector<std::string> k_service_keys = {"artifact", "target", "depends_on",   "stop_during_switch",
                                                 "stop",     "start",  "reload",       "restart",
                                                 "health",   "shared", "config_files", "backups",
                                                 "strategy", "analysis"};
const std::vector<std::string> k_artifact_keys = {"source", "sha256", "max_size"};
const std::vector<std::string> k_target_keys = {"type",       "roots",         "plugin",      "settings",
                                                "state_dir",  "hosts",         "user",        "port",
                                                "root",       "identity_file", "known_hosts", "connect_timeout",
                                                "timeout"};
const std::vector<std::string> k_ssh_keys = {"type",          "hosts",       "user",            "port",   "root",
                                             "identity_file", "known_hosts", "connect_timeout", "timeout"};
const std::vector<std::string> k_host_keys = {"name", "address", "port", "user", "variables"};
const std::vector<std::string> k_strategy_keys = {"type",   "batch",  "canary", "pause",  "max_failures",
                                                  "colours", "colors", "nginx",  "switch"};
const std::vector<std::string> k_nginx_keys = {"upstream_file", "upstream", "server", "test", "reload"};
const std::vector<std::string> k_command_keys = {"argv", "shell", "timeout"};
const std::vector<std::string> k_backup_keys = {"name", "run", "output"};
const std::vector<std::string> k_signing_keys = {"public_key", "required"};
const std::vector<std::string> k_database_keys = {"name",    "connection_env", "client", "order",
                                                  "rollback_order", "registry_schema", "timeout", "backup",
                                                  "changes", "rehearse_revert_in"};
const std::vector<std::string> k_db_backup_keys = {"enabled", "command", "restore", "verify-restore", "verify_restore",
                                                   "dir"};
const std::vector<std::string> k_change_keys = {"id", "deploy", "verify", "revert", "irreversible"};
const std::vector<std::string> k_notify_keys = {"lang", "templates", "outbox", "channels", "roles", "chain"};
const std::vector<std::string> k_channel_keys = {"type",     "url",  "url_env", "secret_env", "username", "password_env",
                                                 "oauth_token_env", "auth", "from", "cacert", "required"};
const std::vector<std::string> k_channel_types = {"smtp", "webhook", "slack", "teams", "dingtalk", "feishu", "wecom"};
const std::vector<std::string> k_strategies = {"all-at-once", "rolling", "canary", "blue-green"};
const std::vector<std::string> k_target_types = {"local", "plugin", "ssh"};

constexpr std::size_t k_max_plan_file = 4 * 1024 * 1024;
constexpr long k_max_keep_releases = 1000;

// Nothing is interpolated while parsing; the reader never needs a value.
const smoke::Variables k_no_variables;

std::string describe(const YAML::Node& node) {
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  if (!node || node.IsNull()) return "nothing";
  return "'" + node.Scalar() + "'";
}

// A scalar, its ${VAR} placeholders well-formed; not interpolated.
std::string template_text(const YamlReader& reader, const YAML::Node& node, const std::string& path) {
  if (!node.IsScalar()) reader.fail(node, path + " must be text, found " + describe(node));
  const std::string problem = placeholder_problem(node.Scalar());
  if (!problem.empty()) reader.fail(node, path + ": " + problem);
  return node.Scalar();
}

std::string template_text(const YamlReader& reader, const Field& field) {
  if (!field.value || field.value.IsNull()) reader.fail(field, field.path + " needs a value");
  return template_text(reader, field.value, field.path);
}

// A scalar or a list of scalars (possibly empty), each a template.
std::vector<std::string> template_list(const YamlReader& reader, const Field& field) {
  if (field.value.IsScalar()) return {template_text(reader, field)};
  if (!field.value.IsSequence())
    reader.fail(field, field.path + " must be a list such as [a, b], found " + describe(field.value));
  std::vector<std::string> out;
  for (const auto& item : field.value)
    out.push_back(template_text(reader, item, field.path));
  return out;
}

std::string name_of(const YamlReader& reader, const YAML::Node& node, const std::string& path,
                    const std::string& what) {
  const std::string name = node.IsScalar() ? node.Scalar() : std::string();
  if (!valid_name(name))
    reader.fail(node, path + ": " + describe(node) + " is not a valid " + what +
                          " name; use lowercase letters, digits, '-' and '_', starting with a letter or digit");
  return name;
}

std::vector<std::string> names_of(const YamlReader& reader, const Field& field, const std::string& what) {
  std::vector<YAML::Node> items;
  if (field.value.IsSequence())
    items = field.value.as<std::vector<YAML::Node>>();
  else
    items.push_back(field.value);
  std::vector<std::string> out;
  for (const auto& item : items) {
    const std::string name = name_of(reader, item, field.path, what);
    if (std::find(out.begin(), out.end(), name) != out.end())
      reader.fail(item, field.path + " names '" + name + "' twice");
    out.push_back(name);
  }
  return out;
}

// "500MB", "2GiB", "1048576" (bytes): decimal and binary units.
std::uint64_t size_of(const YamlReader& reader, const Field& field) {
  static const std::regex k_size("([0-9]+)\\s*([A-Za-z]*)");
  static const std::map<std::string, std::uint64_t> k_units = {{"", 1},
                                                               {"b", 1},
                                                               {"kb", 1000},
                                                               {"mb", 1000000},
                                                               {"gb", 1000000000},
                                                               {"tb", 1000000000000},
                                                               {"kib", 1ull << 10},
                                                               {"mib", 1ull << 20},
                                                               {"gib", 1ull << 30},
                                                               {"tib", 1ull << 40}};
  const std::string written = field.value.IsScalar() ? core::trim(field.value.Scalar()) : std::string();
  std::smatch match;
  const auto unit =
      std::regex_match(written, match, k_size) ? k_units.find(core::to_lower(match[2].str())) : k_units.end();
  if (unit == k_units.end() || match[1].length() > 15 || std::stoull(match[1].str()) == 0)
    reader.fail(field, field.path +
                           " must be a size such as 500MB, 2GiB or a number of bytes (more than zero), found " +
                           describe(field.value));
  const std::uint64_t amount = std::stoull(match[1].str());
  if (amount > UINT64_MAX / unit->second) reader.fail(field, field.path + " is too large");
  return amount * unit->second;
}

Variables read_variables(const YamlReader& reader, const Field& field) {
  if (!field.value.IsMap())
    reader.fail(field, field.path + " must be a mapping of NAME: value, such as {APP_ROOT: /srv/shop}");
  static const std::regex k_variable("[A-Za-z_][A-Za-z0-9_]*");
  Variables out;
  for (auto it = field.value.begin(); it != field.value.end(); ++it) {
    const std::string name = it->first.IsScalar() ? it->first.Scalar() : std::string();
    if (!std::regex_match(name, k_variable))
      reader.fail(it->first, field.path + ": '" + name + "' is not a variable name (letters, digits and _)");
    if (out.count(name)) reader.fail(it->first, field.path + "." + name + " is given twice");
    out[name] = template_text(reader, it->second, field.path + "." + name);
  }
  return out;
}

// JSON for a plugin's settings, strings left as written (interpolated at
// resolve time). Quoted scalars stay strings; plain ones become numbers,
// booleans or null when they read as such, as in the checks files.
nlohmann::json settings_json(const YamlReader& reader, const YAML::Node& node, const std::string& path) {
  if (!node || node.IsNull()) return nullptr;
  if (node.IsSequence()) {
    nlohmann::json array = nlohmann::json::array();
    for (const auto& item : node)
      array.push_back(settings_json(reader, item, path));
    return array;
  }
  if (node.IsMap()) {
    nlohmann::json object = nlohmann::json::object();
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (!it->first.IsScalar()) reader.fail(it->first, path + ": a key must be text");
      object[it->first.Scalar()] = settings_json(reader, it->second, path + "." + it->first.Scalar());
    }
    return object;
  }
  const std::string& text = node.Scalar();
  if (node.Tag() != "!") {
    static const std::regex k_integer("[-+]?[0-9]{1,18}");
    static const std::regex k_float("[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
    if (text == "~" || text == "null" || text == "Null" || text == "NULL") return nullptr;
    if (text == "true" || text == "True" || text == "TRUE") return true;
    if (text == "false" || text == "False" || text == "FALSE") return false;
    if (std::regex_match(text, k_integer)) return std::stoll(text);
    if (std::regex_match(text, k_float)) return std::strtod(text.c_str(), nullptr);
  }
  return template_text(reader, node, path);
}

void require_map(const YamlReader& reader, const Field& field, const std::string& example) {
  if (!field.value.IsMap())
    reader.fail(field, field.path + " must be a mapping, such as " + example + ", found " + describe(field.value));
}

// [prog, arg...] | {argv: [...], timeout} | {shell: "...", timeout}
CommandSpec read_command(const YamlReader& reader, const Field& field) {
  CommandSpec command;
  command.location = reader.location(field);
  const std::string hint = field.path + " must be an argv list such as [systemctl, restart, api], or "
                                        "{argv: [...], timeout: 30s}, or {shell: \"...\"} for a shell snippet";
  if (field.value.IsSequence()) {
    command.argv = template_list(reader, field);
  } else if (field.value.IsMap()) {
    const Fields fields = reader.fields(field.value, k_command_keys, field.path);
    const Field* argv = fields.find("argv");
    const Field* shell = fields.find("shell");
    if (argv && shell) reader.fail(shell->key_node, field.path + " takes either argv or shell, not both");
    if (!argv && !shell) reader.fail(field, hint);
    if (argv) {
      if (!argv->value.IsSequence())
        reader.fail(*argv, argv->path + " must be a list such as [systemctl, restart, api]");
      command.argv = template_list(reader, *argv);
    }
    if (shell) command.shell = template_text(reader, *shell);
    if (const Field* timeout = fields.find("timeout")) command.timeout = reader.duration(*timeout);
  } else {
    // A bare string is ambiguous (split on spaces? run by a shell?), so
    // the plan must say which.
    reader.fail(field, hint);
  }
  if (command.empty() || (!command.argv.empty() && command.argv.front().empty()) ||
      (command.argv.empty() && core::trim(command.shell).empty()))
    reader.fail(field, field.path + " is empty; " + hint);
  return command;
}

ArtifactSpec read_artifact(const YamlReader& reader, const Field& field) {
  require_map(reader, field, "{source: \"dist/api-${VERSION}.tar.gz\"}");
  ArtifactSpec artifact;
  artifact.location = reader.location(field);
  const Fields fields = reader.fields(field.value, k_artifact_keys, field.path);
  if (const Field* source = fields.find("source")) artifact.source = template_text(reader, *source);
  if (const Field* sha = fields.find("sha256")) {
    artifact.sha256 = template_text(reader, *sha);
    const std::string problem = sha256_problem(artifact.sha256);
    if (!problem.empty()) reader.fail(*sha, sha->path + ": " + problem);
  }
  if (const Field* size = fields.find("max_size")) artifact.max_size = size_of(reader, *size);
  return artifact;
}

// A host written as text: "web01", "10.0.0.2:2222", "deploy@web03",
// "[::1]:22". Templates ("${WEB_HOSTS}") are split at resolve time.
SshHost host_from_text(const YamlReader& reader, const YAML::Node& node, const std::string& path) {
  SshHost host;
  host.location = reader.location(node);
  const std::string text = template_text(reader, node, path);
  if (has_placeholder(text)) {
    host.address = text; // split and checked by resolve_plan
    return host;
  }
  const std::string problem = parse_host_text(text, host);
  if (!problem.empty()) reader.fail(node, path + ": " + problem);
  return host;
}

SshHost host_from_map(const YamlReader& reader, const YAML::Node& node, const std::string& path) {
  SshHost host;
  host.location = reader.location(node);
  const Fields fields = reader.fields(node, k_host_keys, path);
  const Field* address = fields.find("address");
  if (!address) reader.fail(node, path + ": a host needs address: (a host name or an IP address)");
  host.address = template_text(reader, *address);
  if (core::trim(host.address).empty()) reader.fail(*address, address->path + " is empty");
  if (const Field* name = fields.find("name")) host.name = name_of(reader, name->value, name->path, "host");
  if (const Field* port = fields.find("port")) host.port = static_cast<int>(reader.integer(*port, 1, 65535));
  if (const Field* user = fields.find("user")) host.user = template_text(reader, *user);
  if (const Field* variables = fields.find("variables")) host.variables = read_variables(reader, *variables);
  return host;
}

void read_ssh_target(const YamlReader& reader, const Field& field, const Fields& fields, SshTargetSpec& ssh) {
  const Field* hosts = fields.find("hosts");
  if (!hosts)
    reader.fail(field, field.path + " (ssh) needs hosts: a list such as [web01.example.com, 10.0.0.2:2222] or "
                                    "\"${WEB_HOSTS}\"");
  if (hosts->value.IsSequence()) {
    for (const auto& item : hosts->value)
      ssh.hosts.push_back(item.IsMap() ? host_from_map(reader, item, hosts->path)
                                       : host_from_text(reader, item, hosts->path));
  } else {
    ssh.hosts.push_back(host_from_text(reader, hosts->value, hosts->path));
  }
  if (ssh.hosts.empty()) reader.fail(*hosts, hosts->path + " is empty; list one host or more");
  const Field* root = fields.find("root");
  if (!root) reader.fail(field, field.path + " (ssh) needs root: the absolute folder on every host, such as /srv/shop/web");
  ssh.root = template_text(reader, *root);
  if (!has_placeholder(ssh.root) && (ssh.root.empty() || ssh.root.front() != '/'))
    reader.fail(*root, root->path + " must be an absolute folder on the hosts, such as /srv/shop/web");
  if (const Field* user = fields.find("user")) ssh.user = template_text(reader, *user);
  if (const Field* port = fields.find("port")) ssh.port = static_cast<int>(reader.integer(*port, 1, 65535));
  if (const Field* key = fields.find("identity_file")) ssh.identity_file = template_text(reader, *key);
  if (const Field* known = fields.find("known_hosts")) ssh.known_hosts = template_text(reader, *known);
  if (const Field* timeout = fields.find("connect_timeout")) ssh.connect_timeout = reader.duration(*timeout);
  if (const Field* timeout = fields.find("timeout")) ssh.timeout = reader.duration(*timeout);
}

HostCount read_count(const YamlReader& reader, const Field& field) {
  static const std::regex k_count("([0-9]{1,6})\\s*(%?)");
  const std::string written = field.value.IsScalar() ? core::trim(field.value.Scalar()) : std::string();
  std::smatch match;
  HostCount count;
  if (std::regex_match(written, match, k_count)) {
    count.value = std::stoi(match[1].str());
    count.percent = match[2].length() > 0;
  }
  if (count.value < 1 || (count.percent && count.value > 100))
    reader.fail(field, field.path + " must be a number of hosts (1 or more) or a percentage such as 25%, found " +
                           describe(field.value));
  return count;
}

void read_blue_green(const YamlReader& reader, const Field& field, const Fields& fields, BlueGreenSpec& spec) {
  const Field* colours = fields.find("colours");
  if (!colours) colours = fields.find("colors");
  if (!colours || !colours->value.IsMap() || colours->value.size() != 2)
    reader.fail(colours ? *colours : field,
                field.path + " (blue-green) needs colours: exactly two, each with its own values, such as\n"
                             "  colours: {blue: {PORT: \"8081\"}, green: {PORT: \"8082\"}}");
  for (auto it = colours->value.begin(); it != colours->value.end(); ++it) {
    ColourSpec colour;
    colour.name = name_of(reader, it->first, colours->path, "colour");
    colour.location = reader.location(it->first);
    if (it->second && !it->second.IsNull()) {
      const Field values{colour.name, colours->path + "." + colour.name, it->first, it->second};
      colour.variables = read_variables(reader, values);
    }
    if (!spec.colours.empty() && spec.colours.front().name == colour.name)
      reader.fail(it->first, colours->path + " names '" + colour.name + "' twice");
    spec.colours.push_back(std::move(colour));
  }
  const Field* nginx = fields.find("nginx");
  const Field* command = fields.find("switch");
  if (nginx && command) reader.fail(command->key_node, field.path + " takes either nginx: or switch:, not both");
  if (!nginx && !command)
    reader.fail(field, field.path + " (blue-green) needs nginx: {upstream_file, upstream, server, test, reload} or "
                                    "switch: a command that sends traffic to ${COLOUR}");
  if (command) spec.switch_command = read_command(reader, *command);
  if (!nginx) return;
  require_map(reader, *nginx, "{upstream_file: /etc/nginx/conf.d/shop-web.conf, upstream: shop_web, server: "
                              "\"127.0.0.1:${PORT}\", test: [nginx, -t], reload: [nginx, -s, reload]}");
  const Fields settings = reader.fields(nginx->value, k_nginx_keys, nginx->path);
  for (const char* key : {"upstream_file", "upstream", "server", "reload"})
    if (!settings.find(key))
      reader.fail(*nginx, nginx->path + " needs " + key + ": (upstream_file, upstream, server and reload; test "
                                                          "is recommended: [nginx, -t])");
  spec.upstream_file = template_text(reader, *settings.find("upstream_file"));
  spec.upstream = template_text(reader, *settings.find("upstream"));
  spec.server = template_text(reader, *settings.find("server"));
  spec.reload = read_command(reader, *settings.find("reload"));
  if (const Field* test = settings.find("test")) spec.test = read_command(reader, *test);
  static const std::regex k_upstream("[A-Za-z0-9_.-]+");
  if (!has_placeholder(spec.upstream) && !std::regex_match(spec.upstream, k_upstream))
    reader.fail(*settings.find("upstream"),
                nginx->path + ".upstream must be an nginx upstream name (letters, digits, _ . -)");
}

StrategySpec read_strategy(const YamlReader& reader, const Field& field) {
  StrategySpec strategy;
  strategy.location = reader.location(field);
  std::optional<Fields> fields;
  const Field* type = &field;
  if (field.value.IsMap()) {
    fields.emplace(reader.fields(field.value, k_strategy_keys, field.path));
    type = fields->find("type");
    if (!type) reader.fail(field, field.path + " needs type: all-at-once, rolling, canary or blue-green");
  }
  const std::string name = reader.text(*type);
  if (std::find(k_strategies.begin(), k_strategies.end(), name) == k_strategies.end()) {
    const std::string guess = core::closest_match(name, k_strategies);
    reader.fail(*type, "unknown strategy '" + name + "'" + (guess.empty() ? "" : "; did you mean '" + guess + "'?") +
                           " This shipgate knows: all-at-once, rolling, canary, blue-green");
  }
  strategy.kind = name == "rolling"      ? StrategySpec::Kind::rolling
                  : name == "canary"     ? StrategySpec::Kind::canary
                  : name == "blue-green" ? StrategySpec::Kind::blue_green
                                         : StrategySpec::Kind::all_at_once;
  if (!fields) {
    if (strategy.kind == StrategySpec::Kind::blue_green)
      reader.fail(field, field.path + ": blue-green needs its colours and traffic switch; write it as a mapping, "
                                      "such as {type: blue-green, colours: {...}, nginx: {...}} (docs/blue-green.md)");
    return strategy;
  }
  // Which keys go with which strategy.
  const std::map<StrategySpec::Kind, std::vector<std::string>> own = {
      {StrategySpec::Kind::all_at_once, {"type", "max_failures"}},
      {StrategySpec::Kind::rolling, {"type", "batch", "max_failures"}},
      {StrategySpec::Kind::canary, {"type", "canary", "batch", "pause", "max_failures"}},
      {StrategySpec::Kind::blue_green, {"type", "colours", "colors", "nginx", "switch"}}};
  const auto& allowed = own.at(strategy.kind);
  for (const auto& item : *fields)
    if (std::find(allowed.begin(), allowed.end(), item.key) == allowed.end())
      reader.fail(item.key_node, item.path + " does not go with strategy " + name + " (docs/deploy.md#strategies)");
  if (const Field* batch = fields->find("batch")) strategy.batch = read_count(reader, *batch);
  if (const Field* canary = fields->find("canary")) strategy.canary = read_count(reader, *canary);
  if (const Field* failures = fields->find("max_failures"))
    strategy.max_failures = static_cast<int>(reader.integer(*failures, 0, 100000));
  if (const Field* pause = fields->find("pause")) {
    if (pause->value.IsScalar() && core::trim(pause->value.Scalar()) == "until-resume")
      strategy.pause_until_resume = true;
    else
      strategy.pause = reader.duration(*pause);
  }
  if (strategy.kind == StrategySpec::Kind::blue_green) read_blue_green(reader, field, *fields, strategy.blue_green);
  return strategy;
}

TargetSpec read_target(const YamlReader& reader, const Field& field) {
  require_map(reader, field, "{type: local, roots: [/srv/shop/api]}");
  TargetSpec target;
  target.location = reader.location(field);
  const Fields fields = reader.fields(field.value, k_target_keys, field.path);
  const Field* type = fields.find("type");
  const std::string kind = type ? reader.text(*type) : "local";
  if (std::find(k_target_types.begin(), k_target_types.end(), kind) == k_target_types.end()) {
    const std::string guess = core::closest_match(kind, k_target_types);
    reader.fail(*type, type->path + ": unknown target type '" + kind + "'" +
                           (guess.empty() ? "" : "; did you mean '" + guess + "'?") + " (known: local, plugin)");
  }
  target.kind = kind == "plugin" ? TargetSpec::Kind::plugin
                : kind == "ssh"  ? TargetSpec::Kind::ssh
                                 : TargetSpec::Kind::local;
  const std::vector<std::string> own =
      target.kind == TargetSpec::Kind::local  ? std::vector<std::string>{"type", "roots"}
      : target.kind == TargetSpec::Kind::ssh ? k_ssh_keys
                                             : std::vector<std::string>{"type", "plugin", "settings", "state_dir"};
  const char* takes = target.kind == TargetSpec::Kind::local ? "roots"
                      : target.kind == TargetSpec::Kind::ssh
                          ? "hosts, user, port, root, identity_file, known_hosts, connect_timeout and timeout"
                          : "plugin, settings and state_dir";
  for (const auto& item : fields)
    if (std::find(own.begin(), own.end(), item.key) == own.end())
      reader.fail(item.key_node, item.path + " does not go with a " + kind + " target (it takes " + takes + ")");
  if (target.kind == TargetSpec::Kind::ssh) {
    read_ssh_target(reader, field, fields, target.ssh);
    return target;
  }
  if (target.kind == TargetSpec::Kind::local) {
    const Field* roots = fields.find("roots");
    if (roots) target.roots = template_list(reader, *roots);
    if (target.roots.empty())
      reader.fail(roots ? *roots : field,
                  field.path + " (local) needs roots: one folder or more, such as [/srv/shop/api]");
    for (const auto& root : target.roots)
      if (core::trim(root).empty()) reader.fail(*roots, roots->path + " holds an empty folder name");
    return target;
  }
  const Field* plugin = fields.find("plugin");
  if (!plugin)
    reader.fail(field, field.path + " (plugin) needs plugin: a name under plugins/ or a path to an executable");
  target.plugin = template_text(reader, *plugin);
  if (core::trim(target.plugin).empty()) reader.fail(*plugin, plugin->path + " is empty");
  if (const Field* settings = fields.find("settings")) {
    require_map(reader, *settings, "{region: eu-west}");
    target.settings = settings_json(reader, settings->value, settings->path);
  }
  if (const Field* state = fields.find("state_dir")) target.state_dir = template_text(reader, *state);
  return target;
}

BackupSpec read_backup(const YamlReader& reader, const YAML::Node& node, const std::string& path) {
  if (!node.IsMap()) reader.fail(node, path + " items must be mappings with name, run and output");
  BackupSpec backup;
  backup.location = reader.location(node);
  const Fields fields = reader.fields(node, k_backup_keys, path);
  const Field* name = fields.find("name");
  const Field* run = fields.find("run");
  if (!name) reader.fail(node, path + " item needs a name");
  if (!run)
    reader.fail(node,
                path + " item needs run: the backup command, such as [pg_dump, -f, \"${BACKUP_DIR}/db.sql\", shop]");
  backup.name = name_of(reader, name->value, name->path, "backup");
  backup.command = read_command(reader, *run);
  if (const Field* output = fields.find("output")) backup.output = template_text(reader, *output);
  return backup;
}

std::vector<BackupSpec> read_backups(const YamlReader& reader, const Field& field) {
  if (!field.value.IsSequence()) reader.fail(field, field.path + " must be a list of {name, run, output}");
  std::vector<BackupSpec> out;
  for (const auto& item : field.value) {
    BackupSpec backup = read_backup(reader, item, field.path);
    for (const auto& other : out)
      if (other.name == backup.name)
        reader.fail(item, field.path + ": two backups are named '" + backup.name + "' (the other is at " +
                              other.location + ")");
    out.push_back(std::move(backup));
  }
  return out;
}

// Release-relative: they are linked inside the release folder.
std::vector<std::string> read_shared(const YamlReader& reader, const Field& field) {
  std::vector<std::string> out = template_list(reader, field);
  for (const auto& path : out) {
    const std::string problem = shared_path_problem(path);
    if (!problem.empty()) reader.fail(field, field.path + ": '" + path + "' " + problem);
  }
  return out;
}

void read_service_commands(const YamlReader& reader, const Fields& fields, ServiceSpec& service) {
  const std::pair<const char*, CommandSpec*> commands[] = {
      {"stop", &service.stop}, {"start", &service.start}, {"reload", &service.reload}, {"restart", &service.restart}};
  for (const auto& [key, target] : commands)
    if (const Field* field = fields.find(key)) *target = read_command(reader, *field);
}

ServiceSpec read_service(const YamlReader& reader, const YAML::Node& key, const YAML::Node& node) {
  ServiceSpec service;
  service.name = name_of(reader, key, "services", "service");
  service.location = reader.location(key);
  const std::string path = "services." + service.name;
  if (!node.IsMap()) reader.fail(node.IsNull() ? key : node, path + " must be a mapping with at least target:");
  const Fields fields = reader.fields(node, k_service_keys, path);
  const Field* target = fields.find("target");
  if (!target)
    reader.fail(key, path + " needs target:, such as {type: local, roots: [/srv/shop/" + service.name + "]}");
  service.target = read_target(reader, *target);
  if (const Field* artifact = fields.find("artifact")) service.artifact = read_artifact(reader, *artifact);
  if (const Field* field = fields.find("depends_on")) service.depends_on = names_of(reader, *field, "service");
  if (const Field* field = fields.find("stop_during_switch"))
    service.stop_during_switch = names_of(reader, *field, "service");
  read_service_commands(reader, fields, service);
  if (const Field* health = fields.find("health")) {
    require_map(reader, *health, "{checks: [{url: \"http://127.0.0.1:8080/healthz\"}]}");
    service.health_node = health->value;
  }
  if (const Field* field = fields.find("shared")) service.shared = read_shared(reader, *field);
  if (const Field* field = fields.find("config_files")) service.config_files = template_list(reader, *field);
  if (const Field* field = fields.find("backups")) service.backups = read_backups(reader, *field);
  if (const Field* field = fields.find("strategy")) {
    service.strategy = read_strategy(reader, *field);
    service.has_own_strategy = true;
  }
  if (const Field* field = fields.find("analysis")) service.analysis = read_analysis(reader, *field);
  if (service.strategy.kind == StrategySpec::Kind::blue_green && service.target.kind == TargetSpec::Kind::plugin)
    reader.fail(*fields.find("strategy"), path + ": blue-green works on local and ssh targets; a plugin target "
                                                 "switches traffic its own way");
  return service;
}

std::vector<ServiceSpec> read_services(const YamlReader& reader, const Field& field) {
  if (!field.value.IsMap() || field.value.size() == 0)
    reader.fail(field, "services must be a mapping of name -> service, with one service at least, such as\n"
                       "  services:\n    api:\n      target: {type: local, roots: [/srv/shop/api]}");
  std::vector<ServiceSpec> out;
  for (auto it = field.value.begin(); it != field.value.end(); ++it) {
    ServiceSpec service = read_service(reader, it->first, it->second);
    for (const auto& other : out)
      if (other.name == service.name)
        reader.fail(it->first,
                    "two services are named '" + service.name + "' (the other is at " + other.location + ")");
    out.push_back(std::move(service));
  }
  return out;
}

EnvironmentSpec read_environment(const YamlReader& reader, const YAML::Node& node) {
  EnvironmentSpec environment;
  environment.location = reader.location(node);
  if (node.IsScalar()) { // "- dev": a name alone
    environment.name = name_of(reader, node, "environments", "environment");
    return environment;
  }
  if (!node.IsMap()) reader.fail(node, "an environment is a name, or a mapping such as {name: prod, deadline: 10m}");
  const Fields fields = reader.fields(node, k_environment_keys, "environments");
  const Field* name = fields.find("name");
  if (!name) reader.fail(node, "an environment needs a name, such as {name: staging}");
  environment.name = name_of(reader, name->value, name->path, "environment");
  if (const Field* field = fields.find("variables")) environment.variables = read_variables(reader, *field);
  if (const Field* field = fields.find("deadline")) environment.deadline = reader.duration(*field);
  if (const Field* field = fields.find("paused")) environment.paused = reader.boolean(*field);
  if (const Field* field = fields.find("pause_reason")) environment.pause_reason = reader.text(*field);
  if (const Field* field = fields.find("signoffs")) {
    require_map(reader, *field, "{required: [tech-lead, tester], self_approval: false}");
    const Fields signoffs = reader.fields(field->value, k_signoff_keys, field->path);
    if (const Field* required = signoffs.find("required")) {
      environment.required_signoffs = names_of(reader, *required, "role");
      for (const auto& role : environment.required_signoffs)
        if (std::find(known_roles().begin(), known_roles().end(), role) == known_roles().end()) {
          const std::string guess = core::closest_match(role, known_roles());
          reader.fail(*required, required->path + ": unknown role '" + role + "'" +
                                     (guess.empty() ? "" : "; did you mean '" + guess + "'?") + " (roles: " +
                                     core::join(known_roles()) + ")");
        }
    }
    if (const Field* self = signoffs.find("self_approval")) environment.self_approval = reader.boolean(*self);
  }
  return environment;
}

std::vector<EnvironmentSpec> read_environments(const YamlReader& reader, const Field& field) {
  if (!field.value.IsSequence() || field.value.size() == 0)
    reader.fail(field, "environments must be a non-empty list in promotion order, such as\n"
                       "  environments:\n    - name: test\n    - name: prod");
  std::vector<EnvironmentSpec> out;
  for (const auto& item : field.value) {
    EnvironmentSpec environment = read_environment(reader, item);
    for (const auto& other : out)
      if (other.name == environment.name)
        reader.fail(item,
                    "two environments are named '" + environment.name + "' (the other is at " + other.location + ")");
    environment.requires_previous = !out.empty();
    out.push_back(std::move(environment));
  }
  return out;
}

SigningSpec read_signing(const YamlReader& reader, const Field& field) {
  require_map(reader, field, "{public_key: keys/release.pub.pem, required: true}");
  SigningSpec signing;
  signing.location = reader.location(field);
  const Fields fields = reader.fields(field.value, k_signing_keys, "signing");
  if (const Field* key = fields.find("public_key")) {
    const std::string written = reader.text(*key);
    if (core::trim(written).empty()) reader.fail(*key, "signing.public_key is empty");
    signing.public_key = std::filesystem::absolute(reader.resolve(written)).lexically_normal().string();
  }
  if (const Field* required = fields.find("required")) signing.required = reader.boolean(*required);
  if (signing.required && signing.public_key.empty())
    reader.fail(field, "signing.required needs signing.public_key: the PEM file of the trusted ed25519 public key");
  return signing;
}


// ---------------------------------------------------------------- databases

std::vector<std::string> argv_list(const YamlReader& reader, const Field& field, const std::string& example) {
  if (!field.value.IsSequence() || field.value.size() == 0)
    reader.fail(field, field.path + " must be a non-empty argv list such as " + example);
  std::vector<std::string> out = template_list(reader, field);
  if (out.front().empty()) reader.fail(field, field.path + " starts with an empty program name");
  return out;
}

DbBackupSpec read_db_backup(const YamlReader& reader, const Field& field) {
  DbBackupSpec backup;
  backup.location = reader.location(field);
  if (field.value.IsScalar()) {
    backup.enabled = reader.boolean(field);
    return backup;
  }
  require_map(reader, field, "{verify-restore: true}, or false for no dump");
  const Fields fields = reader.fields(field.value, k_db_backup_keys, field.path);
  if (const Field* enabled = fields.find("enabled")) backup.enabled = reader.boolean(*enabled);
  if (const Field* command = fields.find("command"))
    backup.command = argv_list(reader, *command, "[pg_dump, --format=custom, --file, \"${BACKUP_FILE}\"]");
  if (const Field* restore = fields.find("restore"))
    backup.restore = argv_list(reader, *restore, "[pg_restore, --dbname, \"${SCRATCH_DATABASE}\", \"${BACKUP_FILE}\"]");
  const Field* dashed = fields.find("verify-restore");
  const Field* underscored = fields.find("verify_restore");
  if (dashed && underscored) reader.fail(*underscored, field.path + " has both verify-restore and verify_restore");
  if (const Field* verify = dashed ? dashed : underscored) backup.verify_restore = reader.boolean(*verify);
  if (const Field* dir = fields.find("dir")) backup.dir = template_text(reader, *dir);
  return backup;
}

bool valid_change_id(const std::string& id) {
  static const std::regex k_id("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");
  return std::regex_match(id, k_id);
}

DbChangeSpec read_change(const YamlReader& reader, const YAML::Node& node, const std::string& path) {
  if (!node.IsMap())
    reader.fail(node, path + " items must be mappings such as {id: orders-table, deploy: db/orders.sql, verify: "
                             "db/orders.verify.sql, revert: db/orders.revert.sql}");
  DbChangeSpec change;
  change.location = reader.location(node);
  const Fields fields = reader.fields(node, k_change_keys, path);
  const Field* id = fields.find("id");
  if (!id) reader.fail(node, path + " item needs an id: the change's name in the registry, such as orders-table");
  change.id = id->value.IsScalar() ? id->value.Scalar() : std::string();
  if (!valid_change_id(change.id))
    reader.fail(*id, id->path + ": " + describe(id->value) +
                         " is not a valid change id; use letters, digits, '.', '-' and '_' (at most 100), "
                         "starting with a letter or digit");
  const std::string at = path + "." + change.id;
  const Field* deploy = fields.find("deploy");
  if (!deploy) reader.fail(node, at + " needs deploy: the script that applies the change");
  change.deploy = template_text(reader, *deploy);
  if (const Field* verify = fields.find("verify")) change.verify = template_text(reader, *verify);
  if (const Field* revert = fields.find("revert")) change.revert = template_text(reader, *revert);
  if (const Field* irreversible = fields.find("irreversible")) {
    change.irreversible = irreversible->value.IsScalar() ? core::trim(irreversible->value.Scalar()) : std::string();
    if (change.irreversible.empty() || change.irreversible == "true" || change.irreversible == "false")
      reader.fail(*irreversible, at + ".irreversible needs the reason as text, such as \"drops the notes column\"");
    if (!change.revert.empty())
      reader.fail(*irreversible, at + " has both revert and irreversible; a change with a revert script is not "
                                      "irreversible, so remove one of them");
  }
  return change;
}

DatabaseSpec read_database(const YamlReader& reader, const YAML::Node& node, const std::string& path) {
  if (!node.IsMap())
    reader.fail(node, path + " items must be mappings with name, connection_env and changes (docs/database.md)");
  DatabaseSpec database;
  database.location = reader.location(node);
  const Fields fields = reader.fields(node, k_database_keys, path);
  const Field* name = fields.find("name");
  if (!name) reader.fail(node, path + " item needs a name, such as orders");
  database.name = name_of(reader, name->value, name->path, "database");
  const std::string at = path + "." + database.name;
  const Field* connection = fields.find("connection_env");
  if (!connection)
    reader.fail(node, at + " needs connection_env: the name of the environment variable holding the connection "
                           "string, such as ORDERS_DATABASE_URL (the value itself never goes in the plan)");
  database.connection_env = template_text(reader, *connection);
  if (database.connection_env.find("://") != std::string::npos || database.connection_env.find('=') != std::string::npos)
    reader.fail(*connection, at + ".connection_env names an environment variable, such as ORDERS_DATABASE_URL; "
                                  "put the connection string itself in that variable, never in the plan");
  if (const Field* client = fields.find("client"))
    database.client = argv_list(reader, *client, "[psql, --set, ON_ERROR_STOP=1, --file, \"${SCRIPT}\"]");
  auto one_of = [&](const Field& field, const std::vector<std::string>& allowed) {
    const std::string text = field.value.IsScalar() ? core::trim(field.value.Scalar()) : std::string();
    if (std::find(allowed.begin(), allowed.end(), text) == allowed.end())
      reader.fail(field, field.path + " must be " + allowed[0] + " or " + allowed[1] + ", found " + describe(field.value));
    return text;
  };
  if (const Field* order = fields.find("order")) database.after_apps = one_of(*order, {"before-apps", "after-apps"}) == "after-apps";
  database.rollback_db_first = database.after_apps; // the reverse of the deploy order
  if (const Field* order = fields.find("rollback_order"))
    database.rollback_db_first = one_of(*order, {"apps-first", "db-first"}) == "db-first";
  if (const Field* schema = fields.find("registry_schema")) {
    static const std::regex k_schema("[a-z_][a-z0-9_]{0,62}");
    database.registry_schema = schema->value.IsScalar() ? schema->value.Scalar() : std::string();
    if (!std::regex_match(database.registry_schema, k_schema))
      reader.fail(*schema, schema->path + " must be a lowercase SQL name such as shipgate, found " + describe(schema->value));
  }
  if (const Field* timeout = fields.find("timeout")) database.timeout = reader.duration(*timeout);
  if (const Field* backup = fields.find("backup")) database.backup = read_db_backup(reader, *backup);
  if (const Field* rehearse = fields.find("rehearse_revert_in"))
    database.rehearse_revert_in = names_of(reader, *rehearse, "environment");
  const Field* changes = fields.find("changes");
  if (!changes || !changes->value.IsSequence())
    reader.fail(changes ? changes->value : node,
                at + " needs changes: a list of {id, deploy, verify, revert}, in the order they are applied");
  for (const auto& item : changes->value) {
    DbChangeSpec change = read_change(reader, item, at + ".changes");
    for (const auto& other : database.changes)
      if (other.id == change.id)
        reader.fail(item, at + ".changes: two changes have the id '" + change.id + "' (the other is at " +
                              other.location + ")");
    database.changes.push_back(std::move(change));
  }
  return database;
}

std::vector<DatabaseSpec> read_databases(const YamlReader& reader, const Field& field) {
  if (!field.value.IsSequence())
    reader.fail(field, "databases must be a list of {name, connection_env, changes} (docs/database.md)");
  std::vector<DatabaseSpec> out;
  for (const auto& item : field.value) {
    DatabaseSpec database = read_database(reader, item, "databases");
    for (const auto& other : out)
      if (other.name == database.name)
        reader.fail(item, "two databases are named '" + database.name + "' (the other is at " + other.location + ")");
    out.push_back(std::move(database));
  }
  return out;
}

// ---------------------------------------------------------------- notify

std::string one_of_text(const YamlReader& reader, const Field& field, const std::vector<std::string>& allowed,
                        const std::string& what) {
  const std::string text = field.value.IsScalar() ? core::trim(field.value.Scalar()) : std::string();
  if (std::find(allowed.begin(), allowed.end(), text) != allowed.end()) return text;
  const std::string guess = core::closest_match(text, allowed);
  reader.fail(field, field.path + ": unknown " + what + " " + describe(field.value) +
                         (guess.empty() ? "" : "; did you mean '" + guess + "'?") + " (" + core::join(allowed) + ")");
}

bool valid_env_name(const std::string& name) {
  static const std::regex k_env("[A-Za-z_][A-Za-z0-9_]*");
  return std::regex_match(name, k_env);
}

NotifyChannelSpec read_channel(const YamlReader& reader, const YAML::Node& key, const YAML::Node& node) {
  NotifyChannelSpec channel;
  channel.name = name_of(reader, key, "notify.channels", "channel");
  channel.location = reader.location(key);
  const std::string path = "notify.channels." + channel.name;
  if (!node.IsMap()) reader.fail(key, path + " must be a mapping with a type, such as {type: dingtalk, url_env: OPS_ROBOT_URL}");
  const Fields fields = reader.fields(node, k_channel_keys, path);
  const Field* type = fields.find("type");
  if (!type) reader.fail(key, path + " needs a type: " + core::join(k_channel_types));
  channel.type = one_of_text(reader, *type, k_channel_types, "channel type");
  auto text = [&](const char* name, std::string& target) {
    if (const Field* field = fields.find(name)) target = template_text(reader, *field);
  };
  text("url", channel.url);
  text("username", channel.username);
  text("from", channel.from);
  text("cacert", channel.cacert);
  text("auth", channel.auth);
  for (auto [name, target] : {std::pair<const char*, std::string*>{"url_env", &channel.url_env},
                              {"secret_env", &channel.secret_env},
                              {"password_env", &channel.password_env},
                              {"oauth_token_env", &channel.oauth_token_env}})
    if (const Field* field = fields.find(name)) {
      *target = field->value.IsScalar() ? core::trim(field->value.Scalar()) : std::string();
      if (!valid_env_name(*target))
        reader.fail(*field, field->path + " names an environment variable (letters, digits, _), such as SMTP_PASSWORD; "
                                          "the secret itself never goes in the plan");
    }
  if (const Field* required = fields.find("required")) channel.required = reader.boolean(*required);
  if (!channel.url.empty() && !channel.url_env.empty())
    reader.fail(key, path + " has both url and url_env; keep one");
  if (channel.type == "smtp") {
    if (channel.url.rfind("smtp://", 0) != 0 && channel.url.rfind("smtps://", 0) != 0)
      reader.fail(key, path + ".url must be smtp://host:587 (STARTTLS) or smtps://host:465");
    if (channel.from.empty()) reader.fail(key, path + " needs from: the sender, such as \"Release bot <release@example.com>\"");
    if (!channel.auth.empty() && channel.auth != "PLAIN" && channel.auth != "LOGIN" && channel.auth != "XOAUTH2")
      reader.fail(key, path + ".auth must be PLAIN, LOGIN or XOAUTH2");
  } else {
    if (channel.url.empty() && channel.url_env.empty())
      reader.fail(key, path + " needs url_env: the environment variable holding the webhook URL");
    // A robot's URL carries its token: it is a password.
    if (!channel.url.empty() && channel.type != "webhook")
      reader.fail(*fields.find("url"), path + ".url: a " + channel.type + " URL carries the robot's token, which is a "
                                         "secret; put the URL in an environment variable and name it in url_env");
  }
  return channel;
}

NotifySpec read_notify(const YamlReader& reader, const Field& field) {
  require_map(reader, field, "{lang: zh, channels: {...}, roles: {...}}");
  NotifySpec notify;
  notify.present = true;
  notify.location = reader.location(field);
  const Fields fields = reader.fields(field.value, k_notify_keys, "notify");
  if (const Field* lang = fields.find("lang")) notify.language = one_of_text(reader, *lang, {"en", "zh"}, "language");
  if (const Field* templates = fields.find("templates")) notify.templates = template_text(reader, *templates);
  if (const Field* outbox = fields.find("outbox")) notify.outbox = template_text(reader, *outbox);
  if (const Field* channels = fields.find("channels")) {
    require_map(reader, *channels, "{ops-robot: {type: dingtalk, url_env: OPS_ROBOT_URL}}");
    for (auto it = channels->value.begin(); it != channels->value.end(); ++it) {
      NotifyChannelSpec channel = read_channel(reader, it->first, it->second);
      for (const auto& other : notify.channels)
        if (other.name == channel.name) reader.fail(it->first, "two channels are named '" + channel.name + "'");
      notify.channels.push_back(std::move(channel));
    }
  }
  const bool has_mail = std::any_of(notify.channels.begin(), notify.channels.end(),
                                    [](const NotifyChannelSpec& channel) { return channel.type == "smtp"; });
  std::vector<std::string> channel_names;
  for (const auto& channel : notify.channels) channel_names.push_back(channel.name);
  if (const Field* roles = fields.find("roles")) {
    require_map(reader, *roles, "{tech-lead: [lead@example.com, ops-robot]}");
    for (auto it = roles->value.begin(); it != roles->value.end(); ++it) {
      const std::string role = it->first.IsScalar() ? it->first.Scalar() : std::string();
      if (std::find(known_roles().begin(), known_roles().end(), role) == known_roles().end()) {
        const std::string guess = core::closest_match(role, known_roles());
        reader.fail(it->first, "notify.roles: unknown role '" + role + "'" +
                                   (guess.empty() ? "" : "; did you mean '" + guess + "'?") + " (roles: " +
                                   core::join(known_roles()) + ")");
      }
      const Field entry{role, "notify.roles." + role, it->first, it->second};
      std::vector<std::string> recipients = template_list(reader, entry);
      for (const auto& recipient : recipients) {
        if (recipient.find('@') != std::string::npos) {
          if (!has_mail)
            reader.fail(it->second, entry.path + ": '" + recipient + "' is a mail address, but no channel has type smtp");
        } else if (std::find(channel_names.begin(), channel_names.end(), recipient) == channel_names.end()) {
          const std::string guess = core::closest_match(recipient, channel_names);
          reader.fail(it->second, entry.path + ": '" + recipient + "' is neither a mail address nor a channel" +
                                      (guess.empty() ? "" : "; did you mean '" + guess + "'?"));
        }
      }
      notify.roles[role] = std::move(recipients);
    }
  }
  if (const Field* chain = fields.find("chain")) {
    require_map(reader, *chain, "{deploy-failed: [developer, tech-lead, ops]}");
    for (auto it = chain->value.begin(); it != chain->value.end(); ++it) {
      const Field key{"", "notify.chain", it->first, it->first};
      const std::string event = one_of_text(reader, key, notify_events(), "event");
      Field entry{event, "notify.chain." + event, it->first, it->second};
      // [roles...] or {roles: [...], template: NAME}
      if (it->second.IsMap()) {
        const Fields item = reader.fields(it->second, {"roles", "template"}, entry.path);
        const Field* roles = item.find("roles");
        if (!roles) reader.fail(it->first, entry.path + " needs roles: [...]");
        if (const Field* name = item.find("template")) {
          const std::string text = name->value.IsScalar() ? name->value.Scalar() : std::string();
          if (!valid_name(text))
            reader.fail(*name, name->path + " names a template (files <name>.subject.mustache, <name>.txt.mustache… "
                                            "in the templates folder): lowercase letters, digits, '-' and '_'");
          notify.chain_templates[event] = text;
        }
        entry = *roles;
      }
      std::vector<std::string> roles = names_of(reader, entry, "role");
      for (const auto& role : roles)
        if (std::find(known_roles().begin(), known_roles().end(), role) == known_roles().end())
          reader.fail(it->second, entry.path + ": unknown role '" + role + "' (roles: " + core::join(known_roles()) + ")");
      notify.chain[event] = std::move(roles);
    }
  }
  return notify;
}

void read_version(const YamlReader& reader, const Fields& fields, const YAML::Node& root) {
  const Field* version = fields.find("version");
  if (!version) reader.fail(root, "the plan has no version; start it with `version: 1`");
  const std::string written = version->value.IsScalar() ? core::trim(version->value.Scalar()) : std::string();
  if (written != "1")
    reader.fail(*version, "unsupported plan version '" + written + "'; this shipgate reads version 1");
}

void read_settings(const YamlReader& reader, const Fields& fields, Plan& plan) {
  if (const Field* field = fields.find("strategy")) plan.strategy = read_strategy(reader, *field);
  if (const Field* field = fields.find("deadline")) plan.deadline = reader.duration(*field);
  if (const Field* field = fields.find("keep_releases"))
    plan.keep_releases = static_cast<int>(reader.integer(*field, 2, k_max_keep_releases));
  if (const Field* field = fields.find("lock_ttl")) {
    plan.lock_ttl_duration = reader.duration(*field);
    plan.lock_ttl = core::trim(field->value.Scalar());
  }
  if (const Field* field = fields.find("signing")) plan.signing = read_signing(reader, *field);
}

const ServiceSpec* find_service(const std::vector<ServiceSpec>& services, const std::string& name) {
  for (const auto& service : services)
    if (service.name == name) return &service;
  return nullptr;
}

std::vector<std::string> service_names(const std::vector<ServiceSpec>& services) {
  std::vector<std::string> names;
  for (const auto& service : services)
    names.push_back(service.name);
  return names;
}

core::Error plan_error(const ServiceSpec& service, const std::string& message) {
  return core::make_error(ErrorKind::invalid_input, message, service.location);
}

std::optional<core::Error> check_reference(const std::vector<ServiceSpec>& services, const ServiceSpec& service,
                                           const std::string& key, const std::string& name) {
  const std::string path = "services." + service.name + "." + key;
  if (name == service.name) return plan_error(service, path + " names the service itself");
  if (find_service(services, name)) return std::nullopt;
  const std::string guess = core::closest_match(name, service_names(services));
  return plan_error(service, path + ": unknown service '" + name + "'" +
                                 (guess.empty() ? "" : "; did you mean '" + guess + "'?"));
}

std::optional<core::Error> check_references(const std::vector<ServiceSpec>& services) {
  for (const auto& service : services) {
    for (const auto& name : service.depends_on)
      if (auto error = check_reference(services, service, "depends_on", name)) return error;
    for (const auto& name : service.stop_during_switch) {
      if (auto error = check_reference(services, service, "stop_during_switch", name)) return error;
      const ServiceSpec* other = find_service(services, name);
      if (other->stop.empty() || other->start.empty())
        return plan_error(service, "services." + service.name + ".stop_during_switch: '" + name +
                                       "' needs both stop: and start: commands to be stopped during the switch");
    }
  }
  return std::nullopt;
}

// Depth-first; a service met again while still on the path closes a cycle.
bool find_cycle(const std::vector<ServiceSpec>& services, const ServiceSpec& service, std::vector<std::string>& path,
                std::set<std::string>& done) {
  if (done.count(service.name)) return false;
  const auto on_path = static_cast<std::size_t>(std::find(path.begin(), path.end(), service.name) - path.begin());
  const bool cycle = on_path != path.size();
  path.push_back(service.name);
  if (cycle) {
    path.erase(path.begin(), path.begin() + static_cast<std::ptrdiff_t>(on_path));
    return true;
  }
  for (const auto& name : service.depends_on)
    if (find_cycle(services, *find_service(services, name), path, done)) return true;
  path.pop_back();
  done.insert(service.name);
  return false;
}

std::optional<core::Error> check_cycles(const std::vector<ServiceSpec>& services) {
  std::set<std::string> done;
  for (const auto& service : services) {
    std::vector<std::string> path;
    if (!find_cycle(services, service, path, done)) continue;
    std::string text;
    for (const auto& name : path)
      text += (text.empty() ? "" : " -> ") + name;
    return plan_error(*find_service(services, path.front()),
                      "depends_on forms a cycle: " + text +
                          "; no service can be deployed first, so remove one of these dependencies");
  }
  return std::nullopt;
}

Plan read_plan(const YamlReader& reader, const YAML::Node& root, const std::string& origin) {
  if (!root || root.IsNull()) reader.fail(root, "the plan is empty; see docs/plan.md for a complete example");
  if (!root.IsMap())
    reader.fail(root, "a plan is a mapping with version, name, environments and services (docs/plan.md)");
  const Fields fields = reader.fields(root, k_top_keys, "");
  read_version(reader, fields, root);
  Plan plan;
  plan.file = origin;
  plan.document = root;
  const Field* name = fields.find("name");
  if (!name) reader.fail(root, "the plan has no name; add `name: <application>`, such as name: shop");
  plan.name = name_of(reader, name->value, "name", "plan");
  if (const Field* field = fields.find("variables")) plan.variables = read_variables(reader, *field);
  const Field* environments = fields.find("environments");
  if (!environments)
    reader.fail(root, "the plan has no environments: list (in promotion order, such as dev, test, staging, prod)");
  plan.environments = read_environments(reader, *environments);
  read_settings(reader, fields, plan);
  const Field* services = fields.find("services");
  if (!services) reader.fail(root, "the plan has no services: mapping; add at least one service");
  plan.services = read_services(reader, *services);
  if (const Field* databases = fields.find("databases")) plan.databases = read_databases(reader, *databases);
  if (const Field* notify = fields.find("notify")) plan.notify = read_notify(reader, *notify);
  if (const Field* analysis = fields.find("analysis")) plan.analysis = read_analysis(reader, *analysis);
  for (auto& service : plan.services)
    if (!service.analysis) service.analysis = plan.analysis;
  for (auto& service : plan.services)
    if (!service.has_own_strategy) {
      if (plan.strategy.kind == StrategySpec::Kind::blue_green && service.target.kind == TargetSpec::Kind::plugin)
        reader.fail(*fields.find("strategy"), "strategy: blue-green cannot apply to services." + service.name +
                                                  ", whose target is a plugin; give that service its own strategy");
      service.strategy = plan.strategy;
    }
  return plan;
}

} // namespace

const std::vector<std::string>& notify_events() {
  static const std::vector<std::string> k_events = {
      "plan-submitted",   "plan-approved", "test-report",  "staging-ready",   "deploy-meeting",
      "handoff-to-ops",   "db-done",       "deploy-started", "deploy-succeeded", "deploy-failed",
      "rolled-back",      "rollback-failed", "smoke-passed", "smoke-failed",    "released"};
  return k_events;
}

const std::vector<std::string>& known_roles() {
  static const std::vector<std::string> k_roles = {"developer", "tech-lead", "tester", "business",
                                                   "product",   "ops",       "dba"};
  return k_roles;
}

bool valid_name(std::string_view name) {
  static const std::regex k_name("[a-z0-9][a-z0-9_-]*");
  return name.size() <= 64 && std::regex_match(name.begin(), name.end(), k_name);
}

namespace {

bool is_name_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

} // namespace

// The ${NAME} placeholders of `text`, in order; `problem` set (and the
// list cut short) when one is malformed. Same rules as smoke::interpolate:
// "$${" is a literal "${".
std::vector<std::string> placeholders(std::string_view text, std::string& problem) {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 3, "$${") == 0) {
      i += 2;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) continue;
    const std::size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      problem = "'${' is not closed by '}'; write $${ for a literal ${";
      return names;
    }
    const std::string name(text.substr(i + 2, close - i - 2));
    if (name.empty() || !is_name_start(name[0]) || !std::all_of(name.begin(), name.end(), is_name_char)) {
      problem = "'${" + name + "}' is not a variable: a name is letters, digits and _; write $${ for a literal ${";
      return names;
    }
    names.push_back(name);
    i = close;
  }
  return names;
}

std::string placeholder_problem(std::string_view text) {
  std::string problem;
  placeholders(text, problem);
  return problem;
}

bool has_placeholder(std::string_view text) {
  std::string problem;
  return !placeholders(text, problem).empty();
}

// Empty when fine; checked again after interpolation.
std::string sha256_problem(const std::string& digest) {
  if (digest.empty() || has_placeholder(digest)) return {};
  const bool hex = digest.size() == 64 &&
                   std::all_of(digest.begin(), digest.end(), [](unsigned char c) { return std::isxdigit(c) != 0; });
  return hex ? std::string() : "'" + digest + "' is not a sha256 digest (64 hexadecimal digits)";
}

std::string shared_path_problem(const std::string& path) {
  if (has_placeholder(path)) return {};
  const std::filesystem::path given(path);
  if (core::trim(path).empty()) return "is empty";
  if (given.is_absolute()) return "must be relative to the release folder, such as config/app.env";
  for (const auto& part : given)
    if (part == "..") return "must stay inside the release folder (no '..')";
  return {};
}

core::Result<Plan> parse_plan(std::string_view yaml_text, const std::string& origin) {
  Plan plan;
  try {
    const YamlReader reader(origin, k_no_variables);
    plan = read_plan(reader, YAML::Load(std::string(yaml_text)), origin);
  } catch (const smoke::ReadError& error) {
    return error.error;
  } catch (const YAML::Exception& error) {
    const std::string location = error.mark.is_null() ? origin : origin + ":" + std::to_string(error.mark.line + 1);
    return core::make_error(ErrorKind::invalid_input, "invalid YAML: " + error.msg, location);
  }
  if (auto error = check_references(plan.services)) return *error;
  if (auto error = check_cycles(plan.services)) return *error;
  return plan;
}

core::Result<Plan> load_plan(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::make_error(ErrorKind::invalid_input, "cannot read the plan file (check the --plan path)", path);
  std::string text(k_max_plan_file + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return core::make_error(ErrorKind::invalid_input, "cannot read the plan file", path);
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > k_max_plan_file)
    return core::make_error(ErrorKind::invalid_input, "the plan file is larger than 4 MiB", path);
  return parse_plan(text, path);
}

core::Error unknown_environment(const Plan& plan, const std::string& name) {
  std::vector<std::string> names;
  std::string list;
  for (const auto& environment : plan.environments) {
    names.push_back(environment.name);
    list += (list.empty() ? "" : ", ") + environment.name;
  }
  const std::string guess = core::closest_match(name, names);
  return core::make_error(ErrorKind::invalid_input,
                          "unknown environment '" + name + "'" +
                              (guess.empty() ? "" : "; did you mean '" + guess + "'?") + " The plan defines: " + list,
                          plan.file);
}

} // namespace deploy
