// A target managed by an external plugin: an executable run once per
// operation, one JSON request on its stdin, one JSON response on its
// stdout, its stderr kept as its log. The protocol is docs/plugins.md.
#include <algorithm>
#include <string_view>
#include <system_error>

#include <unistd.h>

#include "core/interrupt.hpp"
#include "core/text.hpp"
#include "deploy/driver.hpp"
#include "io/process.hpp"

namespace deploy {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int k_protocol = 1;
// A status answer lists every release; generous, but still bounded.
constexpr std::size_t k_max_response = 1024 * 1024;
constexpr std::size_t k_log_tail_bytes = 2000;
constexpr std::size_t k_log_tail_lines = 20;
// What a target must be able to do; discard and prune are optional.
const std::vector<std::string> k_required_operations = {"status", "prepare", "switch", "rollback", "verify"};

// ---- finding the executable ----------------------------------------------

std::optional<fs::path> shipgate_exe_dir() {
  std::error_code error;
  const fs::path exe = fs::read_symlink("/proc/self/exe", error);
  if (error) return std::nullopt;
  return exe.parent_path();
}

// Where a plugin given by name may be, in the order they are tried.
std::vector<fs::path> candidate_paths(const PluginOptions& options) {
  if (options.plugin.find('/') != std::string::npos) return {options.plan_dir / options.plugin};
  std::vector<fs::path> candidates{options.plan_dir / "plugins" / options.plugin};
  for (const auto& folder : options.search_path)
    if (!folder.empty()) candidates.push_back(fs::path(folder) / options.plugin);
  if (const auto exe_dir = shipgate_exe_dir()) {
    // An installed shipgate (<prefix>/bin) and a build tree (<repo>/build).
    candidates.push_back(*exe_dir / ".." / "share" / "shipgate" / "plugins" / options.plugin);
    candidates.push_back(*exe_dir / ".." / "plugins" / options.plugin);
  }
  return candidates;
}

core::Error not_found(const PluginOptions& options, const std::vector<fs::path>& looked) {
  std::string message = "target plugin \"" + options.plugin + "\" not found; looked for:";
  for (const auto& path : looked)
    message += "\n  " + path.lexically_normal().string();
  message += "\nPut an executable named \"" + options.plugin +
             "\" in plugins/ next to the plan, add its folder to SHIPGATE_PLUGIN_PATH, or give its path "
             "(docs/plugins.md).";
  return core::make_error(core::ErrorKind::invalid_input, message);
}

bool plausible_name(const std::string& name) {
  return !name.empty() && name != "." && name != "..";
}

core::Result<fs::path> find_plugin(const PluginOptions& options) {
  const std::vector<fs::path> candidates = candidate_paths(options);
  if (!plausible_name(options.plugin)) return not_found(options, {});
  for (const auto& candidate : candidates) {
    std::error_code error;
    if (!fs::is_regular_file(candidate, error)) continue;
    const fs::path path = fs::absolute(candidate, error).lexically_normal();
    if (::access(path.c_str(), X_OK) != 0)
      return core::make_error(core::ErrorKind::invalid_input,
                              "target plugin \"" + options.plugin + "\" found at " + path.string() +
                                  " but it is not executable: run chmod +x " + path.string());
    return path;
  }
  return not_found(options, candidates);
}

// ---- reading what the plugin said ------------------------------------------

// The last lines of the plugin's log, for error messages.
std::string log_tail(const std::string& log) {
  std::string_view text = log;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
    text.remove_suffix(1);
  if (text.size() > k_log_tail_bytes) text = text.substr(text.size() - k_log_tail_bytes);
  std::size_t start = text.size();
  for (std::size_t lines = 0; start > 0; --start)
    if (text[start - 1] == '\n' && ++lines == k_log_tail_lines) break;
  return core::sanitize_utf8(text.substr(start));
}

std::string format_timeout(std::chrono::milliseconds timeout) {
  const auto ms = timeout.count();
  if (ms % 60000 == 0) return std::to_string(ms / 60000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string string_field(const json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// A list of strings, or an error message naming the field.
std::optional<std::vector<std::string>> string_list(const json& object, const char* key, std::string& problem) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::vector<std::string>{};
  std::vector<std::string> values;
  if (it->is_array()) {
    for (const auto& item : *it) {
      if (!item.is_string()) break;
      values.push_back(item.get<std::string>());
    }
    if (values.size() == it->size()) return values;
  }
  problem = std::string("the response field \"") + key + "\" must be a list of strings";
  return std::nullopt;
}

std::string join(const std::vector<std::string>& items) {
  std::string text;
  for (const auto& item : items)
    text += (text.empty() ? "" : ", ") + item;
  return text;
}

// `who` ("target plugin "x" (/path)"), the operation, what went wrong and
// the end of the plugin's log.
core::Error plugin_failure(const std::string& who, const std::string& operation, const std::string& what,
                           const std::string& log = {}, core::ErrorKind kind = core::ErrorKind::runtime) {
  std::string message = who + ", operation " + operation + ": " + core::sanitize_utf8(what);
  const std::string tail = log_tail(log);
  if (!tail.empty()) message += "\nplugin log (last lines of its stderr):\n" + tail;
  return core::make_error(kind, message);
}

std::string protocol_problem(const json& response) {
  const auto protocol = response.find("protocol");
  if (protocol == response.end() || !protocol->is_number_integer())
    return "its answer has no \"protocol\" number; shipgate speaks protocol " + std::to_string(k_protocol);
  if (protocol->get<long long>() != k_protocol)
    return "it speaks protocol " + protocol->dump() + " but this shipgate speaks protocol " +
           std::to_string(k_protocol) + ": use a version of the plugin for protocol " + std::to_string(k_protocol) +
           ", or a shipgate that speaks its protocol";
  const auto ok = response.find("ok");
  if (ok == response.end() || !ok->is_boolean()) return "its answer has no \"ok\": true or false";
  return {};
}

} // namespace

core::Result<json> read_plugin_answer(const std::string& who, const std::string& operation,
                                      const PluginAnswer& answer) {
  const json response = json::parse(answer.output, nullptr, false);
  const bool parsed = !response.is_discarded() && response.is_object();
  if (answer.exit_code != 0) {
    const std::string said = parsed ? string_field(response, "message") : std::string();
    return plugin_failure(who, operation,
                          "it exited with code " + std::to_string(answer.exit_code) + (said.empty() ? "" : ": " + said),
                          answer.log);
  }
  if (!parsed) {
    const std::string shown = answer.output.empty() ? "nothing" : "\"" + core::first_line(answer.output, 200) + "\"";
    return plugin_failure(who, operation, "its answer is not a JSON object (it printed " + shown + ")", answer.log);
  }
  if (auto problem = protocol_problem(response); !problem.empty())
    return plugin_failure(who, operation, problem, answer.log);
  if (!response.at("ok").get<bool>()) {
    const std::string said = string_field(response, "message");
    return plugin_failure(who, operation, said.empty() ? "it answered ok: false without a message" : said, answer.log);
  }
  return response;
}

core::Result<TargetStatus> read_plugin_status(const std::string& who, const json& answer) {
  TargetStatus status;
  std::string problem;
  auto releases = string_list(answer, "releases", problem);
  if (!releases) return plugin_failure(who, "status", problem);
  status.releases = std::move(*releases);
  const auto current = answer.find("current");
  if (current != answer.end() && current->is_string() && !current->get<std::string>().empty())
    status.current = current->get<std::string>();
  else if (current != answer.end() && !current->is_null() && !current->is_string())
    return plugin_failure(who, "status", "the response field \"current\" must be a release id or null");
  const auto details = answer.find("details");
  if (details != answer.end() && details->is_object()) status.details = *details;
  return status;
}

namespace {

// ---- the driver -----------------------------------------------------------

class PluginDriver final : public Driver {
public:
  PluginDriver(PluginOptions options, fs::path executable)
      : m_options(std::move(options)), m_executable(std::move(executable)) {}

  std::string describe() const override { return "plugin:" + m_options.plugin; }
  fs::path root() const override { return m_options.state_dir; }
  fs::path state_dir() const override { return m_options.state_dir; }

  core::Status ensure() override {
    m_operations.reset();
    return handshake();
  }

  core::Result<TargetStatus> status() override {
    auto response = call("status", json::object());
    if (!response) return response.error();
    return read_plugin_status(who(), *response);
  }

  core::Status prepare(const PrepareRequest& request) override {
    if (!request.artifact)
      return core::make_error(core::ErrorKind::runtime, describe() + ": prepare needs a verified artifact");
    std::error_code error;
    const fs::path artifact = fs::absolute(request.artifact->path(), error); // the plugin runs in state_dir
    json fields = {
        {"release", request.release},
        {"version", request.version},
        {"artifact", artifact.string()},
        {"artifact_size", request.artifact->size()},
        {"shared", request.shared},
        {"limits", {{"max_total_bytes", request.limits.max_total_bytes}, {"max_entries", request.limits.max_entries}}}};
    return without_value(call("prepare", std::move(fields)));
  }

  core::Status activate(const std::string& release, bool rolling_back) override {
    json fields = {{"release", release}, {"rolling_back", rolling_back}};
    return without_value(call(rolling_back ? "rollback" : "switch", std::move(fields)));
  }

  core::Status verify(const std::string& release) override {
    return without_value(call("verify", {{"release", release}}));
  }

  core::Status discard(const std::string& release) override {
    if (auto known = handshake(); !known) return known;
    if (!supports("discard")) return core::ok_status(); // the plugin keeps nothing to clean up
    return without_value(call("discard", {{"release", release}}));
  }

  core::Result<std::vector<std::string>> prune(int keep, const std::set<std::string>& protect) override {
    if (auto known = handshake(); !known) return known.error();
    if (!supports("prune")) return std::vector<std::string>{};
    auto response =
        call("prune", {{"keep", keep}, {"protect", std::vector<std::string>(protect.begin(), protect.end())}});
    if (!response) return response.error();
    std::string problem;
    auto removed = string_list(*response, "removed", problem);
    if (!removed) return failure("prune", problem);
    return std::move(*removed);
  }

private:
  static core::Status without_value(const core::Result<json>& response) {
    if (!response) return response.error();
    return core::ok_status();
  }

  bool supports(const std::string& operation) const { return m_operations && m_operations->count(operation) > 0; }

  // "describe", once: the plugin speaks our protocol and offers what a target needs.
  core::Status handshake() {
    if (m_operations) return core::ok_status();
    if (auto created = create_state_dir(); !created) return created;
    auto response = run("describe", json::object());
    if (!response) return response.error();
    std::string problem;
    auto operations = string_list(*response, "operations", problem);
    if (!operations || !response->contains("operations"))
      return failure("describe", problem.empty() ? "the response must list its \"operations\"" : problem);
    std::vector<std::string> missing;
    for (const auto& required : k_required_operations)
      if (std::find(operations->begin(), operations->end(), required) == operations->end()) missing.push_back(required);
    if (!missing.empty())
      return failure("describe", "it does not offer " + join(missing) + "; a target plugin must offer " +
                                     join(k_required_operations) + " (docs/plugins.md)");
    m_operations = std::set<std::string>(operations->begin(), operations->end());
    return core::ok_status();
  }

  // The plugin runs in it, and may keep its own files there.
  core::Status create_state_dir() const {
    std::error_code error;
    fs::create_directories(m_options.state_dir, error);
    if (!error) return core::ok_status();
    return core::make_error(core::ErrorKind::runtime, "cannot create the state folder " + m_options.state_dir.string() +
                                                          " of " + describe() + ": " + error.message() +
                                                          "; create it or fix state_dir");
  }

  // Every operation but describe is preceded by the handshake.
  core::Result<json> call(const std::string& operation, json fields) {
    if (auto known = handshake(); !known) return known.error();
    return run(operation, std::move(fields));
  }

  json request(const std::string& operation, json fields) const {
    json request = {
        {"protocol", k_protocol},       {"operation", operation},         {"environment", m_options.environment},
        {"service", m_options.service}, {"settings", m_options.settings}, {"state_dir", m_options.state_dir.string()}};
    request.update(fields);
    return request;
  }

  io::ProcessSpec process_spec(const std::string& operation, json fields) const {
    io::ProcessSpec spec;
    spec.argv = {m_executable.string()};
    spec.input = request(operation, std::move(fields)).dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    spec.timeout = m_options.timeout;
    spec.separate_streams = true;
    spec.max_output = k_max_response;
    spec.env_add = {{"SHIPGATE_PLUGIN_PROTOCOL", std::to_string(k_protocol)}};
    std::error_code error;
    if (fs::is_directory(m_options.state_dir, error)) spec.cwd = m_options.state_dir.string();
    // An operation started after an interruption belongs to the clean-up
    // (the rollback): it runs to its end or its timeout.
    spec.stop_on_interrupt = !core::interrupted();
    return spec;
  }

  core::Result<json> run(const std::string& operation, json fields) const {
    const io::ProcessResult result = io::run_process(process_spec(operation, std::move(fields)));
    switch (result.outcome) {
    case io::ProcessResult::Outcome::timed_out:
      return failure(operation, "it did not answer within " + format_timeout(m_options.timeout) + " and was stopped",
                     result.error_output);
    case io::ProcessResult::Outcome::interrupted:
      return failure(operation, "stopped because shipgate was interrupted", result.error_output,
                     core::ErrorKind::interrupted);
    case io::ProcessResult::Outcome::failed_to_start:
      return failure(operation, "it could not be started: " + result.error, result.error_output);
    case io::ProcessResult::Outcome::exited:
      break;
    }
    return read_plugin_answer(who(), operation, {result.output, result.exit_code, result.error_output});
  }

  std::string who() const { return "target plugin \"" + m_options.plugin + "\" (" + m_executable.string() + ")"; }

  core::Error failure(const std::string& operation, const std::string& what, const std::string& log = {},
                      core::ErrorKind kind = core::ErrorKind::runtime) const {
    return plugin_failure(who(), operation, what, log, kind);
  }

  PluginOptions m_options;
  fs::path m_executable;
  std::optional<std::set<std::string>> m_operations; // known after the handshake
};

} // namespace

core::Result<std::unique_ptr<Driver>> make_plugin_driver(const PluginOptions& options) {
  if (options.state_dir.empty())
    return core::make_error(
        core::ErrorKind::invalid_input,
        "target plugin \"" + options.plugin +
            "\" needs a state_dir: the local folder where shipgate keeps its ledger, lock and journal");
  auto executable = find_plugin(options);
  if (!executable) return executable.error();
  return std::unique_ptr<Driver>(std::make_unique<PluginDriver>(options, std::move(*executable)));
}

} // namespace deploy
