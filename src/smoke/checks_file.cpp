#include "smoke/checks_file.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "core/text.hpp"
#include "smoke/check_parser.hpp"
#include "smoke/yaml_reader.hpp"

namespace smoke {
namespace {

using core::ErrorKind;

const std::vector<std::string> k_top_keys = {"version", "parallel", "tls", "defaults", "wait", "checks"};
const std::vector<std::string> k_tls_keys = {"insecure", "cacert"};
const std::vector<std::string> k_wait_keys = {"url",     "expect_status", "check",    "interval", "max_interval",
                                              "backoff", "jitter",        "deadline", "successes"};

constexpr int k_max_parallel = 1024; // as --parallel
constexpr std::size_t k_max_checks_file = 8 * 1024 * 1024;
constexpr double k_max_duration_ms = 1e10; // about 115 days: beyond any sane timeout, far below overflow

void read_version(const YamlReader& reader, const Field& field) {
  const std::string version = field.value.IsScalar() ? core::trim(field.value.Scalar()) : std::string();
  if (version != "1")
    reader.fail(field, "unsupported checks file version '" + version + "'; this shipgate reads version 1");
}

TlsOptions read_tls(const YamlReader& reader, const Field& field) {
  if (!field.value.IsMap()) reader.fail(field, "tls must be a mapping, such as {cacert: ca.pem}");
  const Fields fields = reader.fields(field.value, k_tls_keys, "tls");
  TlsOptions tls;
  if (const Field* insecure = fields.find("insecure")) tls.insecure = reader.boolean(*insecure);
  if (const Field* cacert = fields.find("cacert")) {
    const std::string written = reader.interpolated(*cacert);
    const std::filesystem::path path = reader.resolve(written);
    std::error_code error;
    if (written.empty() || !std::filesystem::is_regular_file(path, error))
      reader.fail(*cacert, "tls.cacert: no CA file at '" + written + "' (looked for " + path.string() +
                               "); a relative path starts at the checks file's directory");
    tls.cacert = path.string();
  }
  return tls;
}

// An explicit max_interval below interval is a contradiction; the default
// one simply rises to meet a long interval.
void read_wait_timing(const YamlReader& reader, const Fields& fields, WaitSpec& spec) {
  if (const Field* field = fields.find("interval")) spec.interval = reader.duration(*field);
  const Field* max_interval = fields.find("max_interval");
  if (max_interval) spec.max_interval = reader.duration(*max_interval);
  if (spec.max_interval < spec.interval) {
    if (max_interval)
      reader.fail(*max_interval, "wait.max_interval must not be shorter than wait.interval (" +
                                     std::to_string(spec.interval.count()) + "ms)");
    spec.max_interval = spec.interval;
  }
  if (const Field* field = fields.find("backoff")) spec.backoff = reader.number(*field, 1, 10);
  if (const Field* field = fields.find("jitter")) spec.jitter = reader.number(*field, 0, 1);
  if (const Field* field = fields.find("deadline")) spec.deadline = reader.duration(*field);
  if (const Field* field = fields.find("successes")) spec.successes = static_cast<int>(reader.integer(*field, 1, 100));
}

WaitSpec read_wait(const YamlReader& reader, const Field& field, const CheckDefaults& defaults) {
  if (!field.value.IsMap())
    reader.fail(field, "wait must be a mapping, such as {url: \"${BASE_URL}/healthz\", deadline: 2m}");
  const Fields fields = reader.fields(field.value, k_wait_keys, "wait");
  const Field* url = fields.find("url");
  const Field* check = fields.find("check");
  const Field* status = fields.find("expect_status");
  if (url && check) reader.fail(check->key_node, "wait takes either url or check, not both");
  if (!url && !check)
    reader.fail(field.key_node, "wait needs url (polled with GET until it answers 2xx) or check (any check)");
  if (status && !url)
    reader.fail(status->key_node,
                "wait.expect_status goes with wait.url; under wait.check write expect: {status: ...}");
  WaitSpec spec;
  spec.probe = url ? parse_url_probe(reader, *url, status, defaults)
                   : parse_check(reader, check->value, defaults, CheckRole::wait_probe);
  read_wait_timing(reader, fields, spec);
  return spec;
}

YAML::Node name_node(const YAML::Node& item) {
  for (auto it = item.begin(); it != item.end(); ++it)
    if (it->first.IsScalar() && it->first.Scalar() == "name") return it->second;
  return item;
}

std::vector<Check> read_checks(const YamlReader& reader, const Field& field, const CheckDefaults& defaults) {
  if (!field.value.IsSequence() || field.value.size() == 0)
    reader.fail(field,
                "checks must be a non-empty list of checks, such as\n  checks:\n    - url: https://example.com/");
  std::vector<Check> checks;
  std::map<std::string, std::string> seen; // name -> location
  for (const auto& item : field.value) {
    Check check = parse_check(reader, item, defaults, CheckRole::check);
    const auto [it, inserted] = seen.emplace(check.name, check.location);
    if (!inserted)
      reader.fail(name_node(item), "two checks are named '" + check.name + "' (the other is at " + it->second +
                                       "); each name becomes a JUnit test case, so give this one its own name");
    checks.push_back(std::move(check));
  }
  return checks;
}

Suite read_suite(const YamlReader& reader, const YAML::Node& root) {
  if (!root || root.IsNull())
    reader.fail(root, "the checks file is empty; it needs a checks: list (docs/smoke-test.md)");
  if (!root.IsMap())
    reader.fail(root, "a checks file is a mapping with version, checks and optionally parallel, tls, "
                      "defaults and wait (docs/smoke-test.md)");
  const Fields fields = reader.fields(root, k_top_keys, "");
  if (const Field* version = fields.find("version")) read_version(reader, *version);
  Suite suite;
  if (const Field* parallel = fields.find("parallel"))
    suite.parallel = static_cast<int>(reader.integer(*parallel, 1, k_max_parallel));
  if (const Field* tls = fields.find("tls")) suite.tls = read_tls(reader, *tls);
  const Field* defaults_field = fields.find("defaults");
  const CheckDefaults defaults = defaults_field ? parse_defaults(reader, *defaults_field) : CheckDefaults{};
  if (const Field* wait = fields.find("wait")) suite.wait = read_wait(reader, *wait, defaults);
  const Field* checks = fields.find("checks");
  if (!checks) reader.fail(root, "the checks file has no checks: list; add at least one check (docs/smoke-test.md)");
  suite.checks = read_checks(reader, *checks, defaults);
  return suite;
}

core::Error usage(std::string message) {
  return core::make_error(ErrorKind::usage, std::move(message));
}

std::vector<std::string> split_commas(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const auto& value : values) {
    std::size_t start = 0;
    for (std::size_t comma; (comma = value.find(',', start)) != std::string::npos; start = comma + 1)
      out.push_back(core::trim(value.substr(start, comma - start)));
    out.push_back(core::trim(value.substr(start)));
  }
  return out;
}

core::Result<Check> quick_check(const std::string& url, const QuickOptions& options, const Variables& variables) {
  auto resolved = interpolate(url, variables);
  if (!resolved) return usage("--url '" + url + "': " + resolved.error().message);
  const std::string problem = url_problem(*resolved);
  if (!problem.empty()) return usage("--url '" + url + "' " + problem);
  Check check;
  check.name = url;
  check.location = "--url " + url;
  check.http.url = *resolved;
  for (const auto& text : options.expect_body) {
    auto body = interpolate(text, variables);
    if (!body) return usage("--expect-body '" + text + "': " + body.error().message);
    check.http.body_expectations.push_back({BodyExpectation::Op::contains, *body, std::nullopt});
  }
  return check;
}

// The flags every --url shares: statuses and timeout.
core::Status apply_quick_flags(const QuickOptions& options, Suite& suite) {
  std::vector<StatusRange> statuses;
  for (const auto& text : split_commas(options.expect_status)) {
    const auto range = parse_status(text);
    if (!range) return usage("--expect-status '" + text + "' is not an HTTP status; write 200, 2xx or 200-204");
    statuses.push_back(*range);
  }
  std::optional<Duration> timeout;
  if (!options.timeout.empty()) {
    timeout = parse_duration(options.timeout);
    if (!timeout || timeout->count() == 0)
      return usage("--timeout '" + options.timeout + "' is not a duration; write 500ms, 5s, 2m or 1h");
  }
  for (auto& check : suite.checks) {
    if (!statuses.empty()) check.http.status = statuses;
    if (timeout) check.timeout = *timeout;
  }
  return core::ok_status();
}

bool is_name_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

core::Error unknown_variable(const std::string& name, const Variables& variables) {
  std::vector<std::string> names;
  for (const auto& entry : variables)
    names.push_back(entry.first);
  const std::string guess = core::closest_match(name, names);
  return core::make_error(ErrorKind::invalid_input,
                          "unknown variable '" + name + "'; set it in the environment or pass --var " + name +
                              "=VALUE" + (guess.empty() ? "" : " (did you mean '" + guess + "'?)"));
}

} // namespace

core::Result<Suite> parse_checks_node(const YAML::Node& root, const std::string& origin, const Variables& variables) {
  try {
    const YamlReader reader(origin, variables);
    return read_suite(reader, root);
  } catch (const ReadError& error) {
    return error.error;
  } catch (const YAML::Exception& error) {
    const std::string location = error.mark.is_null() ? origin : origin + ":" + std::to_string(error.mark.line + 1);
    return core::make_error(ErrorKind::invalid_input, "invalid YAML: " + error.msg, location);
  }
}

core::Result<Suite> parse_checks(std::string_view yaml_text, const std::string& origin, const Variables& variables) {
  try {
    return parse_checks_node(YAML::Load(std::string(yaml_text)), origin, variables);
  } catch (const YAML::Exception& error) {
    const std::string location = error.mark.is_null() ? origin : origin + ":" + std::to_string(error.mark.line + 1);
    return core::make_error(ErrorKind::invalid_input, "invalid YAML: " + error.msg, location);
  }
}

core::Result<Suite> load_checks_file(const std::string& path, const Variables& variables) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return core::make_error(ErrorKind::invalid_input, "cannot read the checks file (check the --checks path)", path);
  std::string text(k_max_checks_file + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return core::make_error(ErrorKind::invalid_input, "cannot read the checks file", path);
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > k_max_checks_file)
    return core::make_error(ErrorKind::invalid_input, "the checks file is larger than 8 MiB", path);
  return parse_checks(text, path, variables);
}

core::Result<Suite> quick_suite(const QuickOptions& options, const Variables& variables) {
  if (options.urls.empty()) return usage("give --url URL at least once, or a checks file with --checks FILE");
  Suite suite;
  std::set<std::string> seen;
  for (const auto& url : options.urls) {
    if (!seen.insert(url).second) return usage("--url '" + url + "' is given twice");
    auto check = quick_check(url, options, variables);
    if (!check) return check.error();
    suite.checks.push_back(std::move(*check));
  }
  auto flags = apply_quick_flags(options, suite);
  if (!flags) return flags.error();
  return suite;
}

// Go-style: one or more <number><unit> parts ("1m30s"), or a bare number of seconds.
std::optional<Duration> parse_duration(std::string_view text) {
  const std::string value = core::trim(text);
  if (value.empty()) return std::nullopt;
  double total_ms = 0;
  std::size_t i = 0;
  while (i < value.size()) {
    const std::size_t start = i;
    while (i < value.size() && (std::isdigit(static_cast<unsigned char>(value[i])) || value[i] == '.'))
      ++i;
    const std::string number = value.substr(start, i - start);
    char* end = nullptr;
    const double amount = std::strtod(number.c_str(), &end);
    if (number.empty() || *end != '\0') return std::nullopt;
    const std::size_t unit_start = i;
    while (i < value.size() && std::isalpha(static_cast<unsigned char>(value[i])))
      ++i;
    const std::string unit = value.substr(unit_start, i - unit_start);
    if (unit.empty() && (start != 0 || i != value.size())) return std::nullopt; // "5" alone, not "1m5"
    const double scale = unit == "ms"                  ? 1
                         : unit.empty() || unit == "s" ? 1000
                         : unit == "m"                 ? 60000
                         : unit == "h"                 ? 3600000
                                                       : -1;
    if (scale < 0) return std::nullopt;
    total_ms += amount * scale;
  }
  if (total_ms > k_max_duration_ms) return std::nullopt;
  return Duration(static_cast<Duration::rep>(std::llround(total_ms)));
}

core::Result<std::string> interpolate(std::string_view text, const Variables& variables) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 3, "$${") == 0) {
      out += "${";
      i += 2;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) {
      out += text[i];
      continue;
    }
    const std::size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos)
      return core::make_error(ErrorKind::invalid_input, "'${' is not closed by '}'; write $${ for a literal ${");
    const std::string name(text.substr(i + 2, close - i - 2));
    if (name.empty() || !is_name_start(name[0]) || !std::all_of(name.begin(), name.end(), is_name_char))
      return core::make_error(ErrorKind::invalid_input, "'${" + name +
                                                            "}' is not a variable: a name is letters, "
                                                            "digits and _; write $${ for a literal ${");
    const auto found = variables.find(name);
    if (found == variables.end()) return unknown_variable(name, variables);
    out += found->second;
    i = close;
  }
  return out;
}

} // namespace smoke
