#include "smoke/expect_parser.hpp"

#include <algorithm>
#include <regex>

#include "core/text.hpp"

namespace smoke {
namespace {

const std::vector<std::string> k_http_keys = {"status", "headers", "body", "json", "max_time", "cert_valid_days"};
const std::vector<std::string> k_command_keys = {"exit_code", "output_contains"};
const std::vector<std::string> k_header_ops = {"equals", "contains", "regex", "exists"};
const std::vector<std::string> k_body_ops = {"contains", "not_contains", "regex"};
const std::vector<std::string> k_json_ops = {"equals", "not_equals", "exists", "type", "regex", "lt", "le", "gt", "ge"};
const std::vector<std::string> k_json_types = {"string", "number", "integer", "boolean", "array", "object", "null"};

constexpr long k_max_cert_days = 3650;

std::vector<std::string> all_keys() {
  std::vector<std::string> keys = k_http_keys;
  keys.insert(keys.end(), k_command_keys.begin(), k_command_keys.end());
  return keys;
}

bool contains(const std::vector<std::string>& keys, const std::string& key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

void require_exists_true(const YamlReader& reader, const Field& op) {
  if (!reader.boolean(op))
    reader.fail(op, op.path + ": only `exists: true` can be checked; leave the expectation out otherwise");
}

// Each op of a header: equals/contains/regex take a text or a list of texts.
void read_header(const YamlReader& reader, const YAML::Node& name_node, const YAML::Node& spec, const std::string& path,
                 std::vector<HeaderExpectation>& out) {
  const std::string name = core::to_lower(name_node.Scalar());
  if (spec.IsScalar()) {
    out.push_back({name, HeaderExpectation::Op::equals, reader.interpolated(spec, path), std::nullopt});
    return;
  }
  if (!spec.IsMap() || spec.size() == 0)
    reader.fail(spec.IsNull() ? name_node : spec,
                path + " needs a value to equal, or a mapping such as {contains: json}, {regex: \"^nginx\"} or "
                       "{exists: true}");
  for (const auto& op : reader.fields(spec, k_header_ops, path)) {
    if (op.key == "exists") {
      require_exists_true(reader, op);
      out.push_back({name, HeaderExpectation::Op::exists, "", std::nullopt});
      continue;
    }
    for (const auto& value : reader.texts(op)) {
      HeaderExpectation expectation{name, HeaderExpectation::Op::equals, value, std::nullopt};
      if (op.key == "contains") expectation.op = HeaderExpectation::Op::contains;
      if (op.key == "regex") {
        expectation.op = HeaderExpectation::Op::regex;
        expectation.pattern = reader.regex(op.value, op.path, value);
      }
      out.push_back(std::move(expectation));
    }
  }
}

void read_headers(const YamlReader& reader, const Field& field, HttpCheck& http) {
  if (!field.value.IsMap())
    reader.fail(field, field.path + " must map header names to expectations, such as {content-type: {contains: json}}");
  for (auto it = field.value.begin(); it != field.value.end(); ++it) {
    if (!it->first.IsScalar() || it->first.Scalar().empty())
      reader.fail(it->first, field.path + ": a header name must be text");
    read_header(reader, it->first, it->second, field.path + "." + it->first.Scalar(), http.header_expectations);
  }
}

void read_body(const YamlReader& reader, const Field& field, HttpCheck& http) {
  if (!field.value.IsMap())
    reader.fail(field, field.path +
                           " must be a mapping such as {contains: \"ok\", not_contains: error, regex: "
                           "\"v[0-9]+\"}, found " +
                           (field.value.IsScalar() ? "a text" : "something else"));
  for (const auto& op : reader.fields(field.value, k_body_ops, field.path))
    for (const auto& value : reader.texts(op)) {
      BodyExpectation expectation{BodyExpectation::Op::contains, value, std::nullopt};
      if (op.key == "not_contains") expectation.op = BodyExpectation::Op::not_contains;
      if (op.key == "regex") {
        expectation.op = BodyExpectation::Op::regex;
        expectation.pattern = reader.regex(op.value, op.path, value);
      }
      http.body_expectations.push_back(std::move(expectation));
    }
}

// "$.items[0].id" (JSONPath, as in Hurl) -> "/items/0/id", to suggest.
std::string pointer_from_jsonpath(const std::string& path) {
  std::string out;
  for (std::size_t i = path.rfind("$", 0) == 0 ? 1 : 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '.' || c == '[')
      out += '/';
    else if (c != ']' && c != '\'' && c != '"')
      out += c;
  }
  return out.empty() ? "/" : out;
}

void check_pointer(const YamlReader& reader, const YAML::Node& key, const std::string& path) {
  const std::string pointer = key.IsScalar() ? key.Scalar() : std::string();
  try {
    if (key.IsScalar()) {
      (void)nlohmann::json::json_pointer(pointer);
      return;
    }
  } catch (const nlohmann::json::exception&) {
  }
  reader.fail(
      key,
      path + ": '" + pointer + "' is not a JSON Pointer (RFC 6901); write it like /items/0/id" +
          (pointer.empty() || pointer[0] == '/' ? "" : "; did you mean '" + pointer_from_jsonpath(pointer) + "'?"));
}

void read_json_op(const YamlReader& reader, const Field& op, const std::string& pointer,
                  std::vector<JsonExpectation>& out) {
  JsonExpectation expectation{pointer, JsonExpectation::Op::equals, nullptr, std::nullopt};
  static const std::vector<std::pair<std::string, JsonExpectation::Op>> k_ops = {
      {"equals", JsonExpectation::Op::equals}, {"not_equals", JsonExpectation::Op::ne},
      {"exists", JsonExpectation::Op::exists}, {"type", JsonExpectation::Op::type},
      {"regex", JsonExpectation::Op::regex},   {"lt", JsonExpectation::Op::lt},
      {"le", JsonExpectation::Op::le},         {"gt", JsonExpectation::Op::gt},
      {"ge", JsonExpectation::Op::ge}};
  for (const auto& [key, value] : k_ops)
    if (key == op.key) expectation.op = value;
  if (op.key == "exists") {
    require_exists_true(reader, op);
    expectation.value = true;
  } else if (op.key == "type") {
    const std::string type = reader.text(op);
    if (!contains(k_json_types, type)) {
      const std::string guess = core::closest_match(type, k_json_types);
      reader.fail(op, op.path + ": '" + type +
                          "' is not a JSON type; use string, number, boolean, array, object or null" +
                          (guess.empty() ? "" : " (did you mean '" + guess + "'?)"));
    }
    expectation.value = type;
  } else if (op.key == "regex") {
    const std::string pattern = reader.interpolated(op);
    reader.check_utf8(op.value, op.path, pattern); // kept as JSON, for the report
    expectation.pattern = reader.regex(op.value, op.path, pattern);
    expectation.value = pattern;
  } else {
    expectation.value = reader.json(op.value, op.path);
    const bool numeric = op.key == "lt" || op.key == "le" || op.key == "gt" || op.key == "ge";
    if (numeric && !expectation.value.is_number())
      reader.fail(op, op.path + " compares numbers; write a number such as 3 or 0.5");
  }
  out.push_back(std::move(expectation));
}

void read_json_field(const YamlReader& reader, const YAML::Node& key, const YAML::Node& spec, const std::string& path,
                     std::vector<JsonExpectation>& out) {
  check_pointer(reader, key, path);
  const std::string pointer = key.Scalar();
  const std::string field_path = path + "[\"" + pointer + "\"]";
  if (!spec.IsMap()) {
    out.push_back({pointer, JsonExpectation::Op::equals, reader.json(spec, field_path), std::nullopt});
    return;
  }
  const bool has_op = std::any_of(spec.begin(), spec.end(), [](const auto& item) {
    return item.first.IsScalar() && contains(k_json_ops, item.first.Scalar());
  });
  if (!has_op || spec.size() == 0)
    reader.fail(spec.size() == 0 ? key : spec,
                field_path + ": a mapping here lists checks such as {gt: 3} or {type: string}; to compare with an "
                             "object write {equals: {...}}");
  for (const auto& op : reader.fields(spec, k_json_ops, field_path))
    read_json_op(reader, op, pointer, out);
}

void read_json(const YamlReader& reader, const Field& field, HttpCheck& http) {
  if (!field.value.IsMap())
    reader.fail(field,
                field.path + " must map JSON Pointers to expected values, such as {/status: ok, /count: {gt: 3}}");
  for (auto it = field.value.begin(); it != field.value.end(); ++it)
    read_json_field(reader, it->first, it->second, field.path, http.json_expectations);
}

void read_http(const YamlReader& reader, const Field& field, Check& check) {
  HttpCheck& http = check.http;
  if (field.key == "status")
    http.status = reader.statuses(field);
  else if (field.key == "headers")
    read_headers(reader, field, http);
  else if (field.key == "body")
    read_body(reader, field, http);
  else if (field.key == "json")
    read_json(reader, field, http);
  else if (field.key == "max_time")
    http.max_response_time = reader.duration(field);
  else {
    http.cert_valid_days = static_cast<int>(reader.integer(field, 0, k_max_cert_days));
    if (!core::starts_with(core::to_lower(http.url), "https://"))
      reader.fail(field, field.path + " checks the TLS certificate, so the url must start with https://");
  }
}

void read_command(const YamlReader& reader, const Field& field, Check& check) {
  if (field.key == "exit_code")
    check.command.exit_code = static_cast<int>(reader.integer(field, 0, 255));
  else
    check.command.output_contains = reader.texts(field);
}

} // namespace

void parse_expect(const YamlReader& reader, const Field& expect, Check& check) {
  if (check.kind == Check::Kind::tcp)
    reader.fail(expect.key_node, "a tcp check has nothing to expect: it passes when the connection opens within its "
                                 "timeout; remove expect");
  if (!expect.value.IsMap())
    reader.fail(expect, "expect must be a mapping, such as {status: 200, body: {contains: ok}}");
  const bool http = check.kind == Check::Kind::http;
  for (const auto& field : reader.fields(expect.value, all_keys(), "expect")) {
    if (http != contains(k_http_keys, field.key))
      reader.fail(field.key_node, "'" + field.path + "' applies to " + (http ? "command" : "url (HTTP)") +
                                      " checks only; this is a " + (http ? "url (HTTP)" : "command") + " check");
    if (http)
      read_http(reader, field, check);
    else
      read_command(reader, field, check);
  }
}

} // namespace smoke
