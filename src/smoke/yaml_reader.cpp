#include "smoke/yaml_reader.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <system_error>

#include "core/text.hpp"
#include "smoke/regex_search.hpp"

namespace smoke {
namespace {

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
}

std::optional<int> status_code(std::string_view text) {
  if (text.size() != 3 || !all_digits(text)) return std::nullopt;
  const int code = std::atoi(std::string(text).c_str());
  if (code < 100 || code > 599) return std::nullopt;
  return code;
}

std::string describe(const YAML::Node& node) {
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  if (!node || node.IsNull()) return "nothing";
  return "'" + node.Scalar() + "'";
}

// YAML 1.2 core schema, so `json:` bodies and expected values keep their types.
bool is_plain_null(const std::string& text) {
  return text == "~" || text == "null" || text == "Null" || text == "NULL";
}

std::optional<bool> plain_bool(const std::string& text) {
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  return std::nullopt;
}

std::optional<nlohmann::json> plain_number(const std::string& text) {
  static const std::regex k_integer("[-+]?[0-9]+");
  static const std::regex k_float("[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
  if (std::regex_match(text, k_integer)) {
    errno = 0;
    const long long value = std::strtoll(text.c_str(), nullptr, 10);
    if (errno == 0) return nlohmann::json(value);
  }
  if (std::regex_match(text, k_float)) return nlohmann::json(std::strtod(text.c_str(), nullptr));
  return std::nullopt;
}

} // namespace

const Field* Fields::find(std::string_view key) const {
  for (const auto& field : m_fields)
    if (field.key == key) return &field;
  return nullptr;
}

std::optional<StatusRange> parse_status(std::string_view text) {
  const std::string value = core::to_lower(core::trim(text));
  if (value.size() == 3 && value[0] >= '1' && value[0] <= '5' && value.substr(1) == "xx") {
    const int hundreds = (value[0] - '0') * 100;
    return StatusRange{hundreds, hundreds + 99};
  }
  const auto dash = value.find('-');
  if (dash == std::string::npos) {
    const auto code = status_code(value);
    if (!code) return std::nullopt;
    return StatusRange{*code, *code};
  }
  const auto low = status_code(core::trim(value.substr(0, dash)));
  const auto high = status_code(core::trim(value.substr(dash + 1)));
  if (!low || !high || *low > *high) return std::nullopt;
  return StatusRange{*low, *high};
}

YamlReader::YamlReader(std::string origin, const Variables& variables)
    : m_origin(std::move(origin)), m_base_dir(std::filesystem::path(m_origin).parent_path()), m_variables(variables) {}

std::string YamlReader::location(const YAML::Node& node) const {
  const auto mark = node.Mark();
  if (mark.is_null()) return m_origin;
  return m_origin + ":" + std::to_string(mark.line + 1);
}

// An empty value ("timeout:") is marked on the next line by yaml-cpp, so
// the key's line is the honest place to point at.
std::string YamlReader::location(const Field& field) const {
  const bool empty = !field.value || field.value.IsNull() || field.value.Mark().is_null();
  return location(empty ? field.key_node : field.value);
}

void YamlReader::fail(const YAML::Node& node, const std::string& message) const {
  throw ReadError{core::make_error(core::ErrorKind::invalid_input, message, location(node))};
}

void YamlReader::fail(const Field& field, const std::string& message) const {
  throw ReadError{core::make_error(core::ErrorKind::invalid_input, message, location(field))};
}

Fields YamlReader::fields(const YAML::Node& map, const std::vector<std::string>& keys,
                          const std::string& prefix) const {
  std::vector<Field> out;
  std::vector<YAML::Node> merges;
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == "<<")
      merges.push_back(it->second);
    else
      add_field(out, it->first, it->second, keys, prefix, false);
  }
  for (const auto& merge : merges) {
    const std::vector<YAML::Node> sources =
        merge.IsSequence() ? merge.as<std::vector<YAML::Node>>() : std::vector<YAML::Node>{merge};
    for (const auto& source : sources) {
      if (!source.IsMap()) fail(merge, "a merge key (<<) needs a mapping or a list of mappings, such as <<: *defaults");
      for (auto it = source.begin(); it != source.end(); ++it)
        add_field(out, it->first, it->second, keys, prefix, true);
    }
  }
  return Fields(std::move(out));
}

// Explicit keys win over merged ones, as YAML's merge key specifies.
void YamlReader::add_field(std::vector<Field>& out, const YAML::Node& key, const YAML::Node& value,
                           const std::vector<std::string>& keys, const std::string& prefix, bool merged) const {
  if (!key.IsScalar()) fail(key, "a key must be a plain name, found " + describe(key));
  const std::string name = key.Scalar();
  const std::string path = prefix.empty() ? name : prefix + "." + name;
  if (std::find(keys.begin(), keys.end(), name) == keys.end()) {
    const std::string guess = core::closest_match(name, keys);
    fail(key, "unknown key '" + path + "'" + (guess.empty() ? "" : "; did you mean '" + guess + "'?"));
  }
  const auto previous = std::find_if(out.begin(), out.end(), [&](const Field& f) { return f.key == name; });
  if (previous != out.end()) {
    if (merged) return;
    fail(key, "key '" + path + "' is given twice (first at " + location(previous->key_node) + ")");
  }
  out.push_back(Field{name, path, key, value});
}

std::string YamlReader::text(const Field& field) const {
  if (!field.value.IsScalar()) fail(field, field.path + " must be a single value, found " + describe(field.value));
  return field.value.Scalar();
}

std::string YamlReader::interpolated(const Field& field) const {
  text(field);
  return interpolated(field.value, field.path);
}

std::string YamlReader::interpolated(const YAML::Node& node, const std::string& path) const {
  if (!node.IsScalar()) fail(node, path + " must be text, found " + describe(node));
  auto result = interpolate(node.Scalar(), m_variables);
  if (!result) fail(node, path + ": " + result.error().message);
  return *result;
}

std::vector<std::string> YamlReader::texts(const Field& field) const {
  if (field.value.IsScalar()) return {interpolated(field)};
  if (!field.value.IsSequence() || field.value.size() == 0)
    fail(field, field.path + " must be a text or a list of texts, found " + describe(field.value));
  std::vector<std::string> out;
  for (const auto& item : field.value)
    out.push_back(interpolated(item, field.path));
  return out;
}

Duration YamlReader::duration(const Field& field, bool allow_zero) const {
  const std::string written = field.value.IsScalar() ? field.value.Scalar() : std::string();
  const auto value = parse_duration(written);
  if (!value || (!allow_zero && value->count() == 0))
    fail(field, field.path + " must be a duration such as 500ms, 5s, 2m or 1h" +
                    std::string(allow_zero ? "" : " (more than zero)") + ", found " + describe(field.value));
  return *value;
}

long YamlReader::integer(const Field& field, long low, long high) const {
  const std::string written = field.value.IsScalar() ? core::trim(field.value.Scalar()) : std::string();
  const bool negative = !written.empty() && written[0] == '-';
  const bool digits = all_digits(negative ? std::string_view(written).substr(1) : std::string_view(written));
  const long value = digits && written.size() < 12 ? std::strtol(written.c_str(), nullptr, 10) : low - 1;
  if (!digits || value < low || value > high)
    fail(field, field.path + " must be a whole number from " + std::to_string(low) + " to " + std::to_string(high) +
                    ", found " + describe(field.value));
  return value;
}

double YamlReader::number(const Field& field, double low, double high) const {
  const std::string written = field.value.IsScalar() ? core::trim(field.value.Scalar()) : std::string();
  char* end = nullptr;
  const double value = std::strtod(written.c_str(), &end);
  if (written.empty() || *end != '\0' || !std::isfinite(value) || value < low || value > high) {
    char range[64];
    std::snprintf(range, sizeof range, "from %g to %g", low, high);
    fail(field, field.path + " must be a number " + range + ", found " + describe(field.value));
  }
  return value;
}

bool YamlReader::boolean(const Field& field) const {
  const auto value = field.value.IsScalar() ? plain_bool(field.value.Scalar()) : std::nullopt;
  if (!value) fail(field, field.path + " must be true or false, found " + describe(field.value));
  return *value;
}

std::vector<StatusRange> YamlReader::statuses(const Field& field) const {
  std::vector<YAML::Node> items;
  if (field.value.IsSequence())
    items = field.value.as<std::vector<YAML::Node>>();
  else
    items.push_back(field.value);
  if (items.empty()) fail(field, field.path + " needs at least one status, e.g. 200 or \"2xx\"");
  std::vector<StatusRange> out;
  for (const auto& item : items) {
    const auto range = item.IsScalar() ? parse_status(item.Scalar()) : std::nullopt;
    const std::string found = item.IsNull() ? " needs a status" : ": " + describe(item) + " is not an HTTP status";
    if (!range)
      fail(item.IsNull() ? field.key_node : item, field.path + found +
                                                      "; write 200, \"2xx\" or \"200-204\" "
                                                      "(codes 100 to 599), or a list of them");
    out.push_back(*range);
  }
  return out;
}

std::regex YamlReader::regex(const YAML::Node& node, const std::string& path, const std::string& pattern) const {
  if (const std::string problem = regex_problem(pattern); !problem.empty())
    fail(node, path + ": regular expression '" + pattern + "' has " + problem);
  try {
    return std::regex(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& error) {
    fail(node, path + ": invalid regular expression '" + pattern + "' (" + error.what() +
                   "); it is ECMAScript syntax, and a backslash must be doubled inside double quotes");
  }
}

nlohmann::json YamlReader::json(const YAML::Node& node, const std::string& path) const {
  if (!node || node.IsNull()) return nullptr;
  if (node.IsScalar()) return scalar_json(node, path);
  if (node.IsSequence()) {
    nlohmann::json array = nlohmann::json::array();
    for (const auto& item : node)
      array.push_back(json(item, path));
    return array;
  }
  nlohmann::json object = nlohmann::json::object();
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (!it->first.IsScalar()) fail(it->first, path + ": a JSON object key must be text");
    check_utf8(it->first, path, it->first.Scalar());
    object[it->first.Scalar()] = json(it->second, path);
  }
  return object;
}

// JSON text is UTF-8, and nlohmann's dump() throws on anything else; YAML
// passes any byte through, so the checks file is refused here, at its line.
void YamlReader::check_utf8(const YAML::Node& node, const std::string& path, const std::string& text) const {
  try {
    (void)nlohmann::json(text).dump();
  } catch (const nlohmann::json::type_error&) {
    fail(node, path + ": the text is not valid UTF-8; JSON values must be UTF-8 (save the file as UTF-8)");
  }
}

// yaml-cpp tags a quoted or block scalar "!" and a plain one "?".
nlohmann::json YamlReader::scalar_json(const YAML::Node& node, const std::string& path) const {
  const std::string& text = node.Scalar();
  if (node.Tag() != "!") {
    if (is_plain_null(text)) return nullptr;
    if (const auto flag = plain_bool(text)) return *flag;
    if (auto number = plain_number(text)) return *number;
  }
  std::string value = interpolated(node, path);
  check_utf8(node, path, value);
  return value;
}

std::filesystem::path YamlReader::resolve(const std::string& path) const {
  const std::filesystem::path given(path);
  return given.is_absolute() ? given : m_base_dir / given;
}

std::string YamlReader::read_file(const Field& field) const {
  const std::string written = interpolated(field);
  const std::filesystem::path path = resolve(written);
  std::error_code error;
  if (written.empty() || !std::filesystem::is_regular_file(path, error))
    fail(field, field.path + ": cannot read '" + written + "' (looked for " + path.string() +
                    "); a relative path starts at the checks file's directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(field, field.path + ": cannot open '" + written + "' (" + path.string() + ")");
  std::string content(k_max_body_file + 1, '\0'); // one byte more tells "too large" from "exactly 1 MiB"
  in.read(content.data(), static_cast<std::streamsize>(content.size()));
  if (in.bad()) fail(field, field.path + ": cannot read '" + written + "'");
  content.resize(static_cast<std::size_t>(in.gcount()));
  if (content.size() > k_max_body_file)
    fail(field, field.path + ": '" + written + "' is larger than 1 MiB; send a smaller body");
  return content;
}

} // namespace smoke
