#include "smoke/check_parser.hpp"

#include <algorithm>
#include <cctype>

#include "core/text.hpp"
#include "smoke/expect_parser.hpp"

namespace smoke {
namespace {

const std::vector<std::string> k_http_keys = {"url",       "method", "headers",          "body",
                                              "body_file", "json",   "follow_redirects", "max_redirects"};
const std::vector<std::string> k_check_keys = {"name", "timeout",   "retries", "retry_delay",      "expect",
                                               "tcp",  "command",   "url",     "method",           "headers",
                                               "body", "body_file", "json",    "follow_redirects", "max_redirects"};
const std::vector<std::string> k_default_keys = {"timeout", "retries",          "retry_delay",
                                                 "headers", "follow_redirects", "max_redirects"};

constexpr int k_max_retries = 10;
constexpr int k_max_redirects = 50;

std::string_view kind_name(Check::Kind kind) {
  switch (kind) {
  case Check::Kind::http:
    return "url (HTTP)";
  case Check::Kind::tcp:
    return "tcp";
  case Check::Kind::command:
    return "command";
  }
  return "url";
}

// RFC 9110 token characters: what a header name or method may contain.
bool is_token(std::string_view text) {
  static const std::string_view k_extra = "!#$%&'*+-.^_`|~";
  return !text.empty() && std::all_of(text.begin(), text.end(), [](unsigned char c) {
    return std::isalnum(c) || k_extra.find(static_cast<char>(c)) != std::string_view::npos;
  });
}

void set_header(std::vector<std::pair<std::string, std::string>>& headers, const std::string& name,
                const std::string& value) {
  const auto lower = core::to_lower(name);
  for (auto& header : headers)
    if (core::to_lower(header.first) == lower) {
      header = {name, value};
      return;
    }
  headers.emplace_back(name, value);
}

bool has_header(const std::vector<std::pair<std::string, std::string>>& headers, std::string_view name) {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const auto& header) { return core::to_lower(header.first) == name; });
}

// Values are not echoed: they may hold a secret from ${API_TOKEN}.
void read_headers(const YamlReader& reader, const Field& field,
                  std::vector<std::pair<std::string, std::string>>& headers) {
  if (!field.value.IsMap())
    reader.fail(field, field.path + " must be a mapping of header names to values, such as {Accept: application/json}");
  for (auto it = field.value.begin(); it != field.value.end(); ++it) {
    const std::string name = it->first.IsScalar() ? it->first.Scalar() : std::string();
    if (!is_token(name)) reader.fail(it->first, field.path + ": '" + name + "' is not a valid header name");
    if (!it->second.IsScalar()) reader.fail(it->first, field.path + "." + name + " needs a single text value");
    const std::string value = reader.interpolated(it->second, field.path + "." + name);
    if (value.find_first_of("\r\n") != std::string::npos)
      reader.fail(it->second,
                  field.path + "." + name + ": the value contains a line break (check the variable it uses)");
    set_header(headers, name, value);
  }
}

Check::Kind read_kind(const YamlReader& reader, const YAML::Node& node, const Fields& fields) {
  std::vector<const Field*> found;
  for (const char* key : {"url", "tcp", "command"})
    if (const Field* field = fields.find(key)) found.push_back(field);
  if (found.empty())
    reader.fail(node, "a check needs one of url (HTTP), tcp (host:port) or command (a list of arguments)");
  if (found.size() > 1)
    reader.fail(*found[1], "a check has one of url, tcp or command, but this one has both '" + found[0]->key +
                               "' and '" + found[1]->key + "'; split it into two checks");
  if (found[0]->key == "tcp") return Check::Kind::tcp;
  return found[0]->key == "command" ? Check::Kind::command : Check::Kind::http;
}

void reject_http_keys(const YamlReader& reader, const Fields& fields, Check::Kind kind) {
  if (kind == Check::Kind::http) return;
  for (const auto& field : fields)
    if (field.key != "url" && std::find(k_http_keys.begin(), k_http_keys.end(), field.key) != k_http_keys.end())
      reader.fail(field.key_node, "'" + field.key + "' applies to url (HTTP) checks only; this is a " +
                                      std::string(kind_name(kind)) + " check");
}

void read_common(const YamlReader& reader, const Fields& fields, CheckRole role, Check& check) {
  if (const Field* name = fields.find("name")) {
    check.name = core::trim(reader.text(*name));
    if (check.name.empty()) reader.fail(*name, "name must not be empty; leave it out to name the check after its URL");
  }
  if (const Field* timeout = fields.find("timeout")) check.timeout = reader.duration(*timeout);
  for (const char* key : {"retries", "retry_delay"}) {
    const Field* field = fields.find(key);
    if (field && role == CheckRole::wait_probe)
      reader.fail(field->key_node, std::string(key) + " has no effect in wait.check: the wait phase polls it until "
                                                      "wait.deadline; remove it");
  }
  if (const Field* retries = fields.find("retries"))
    check.retry.attempts = static_cast<int>(reader.integer(*retries, 0, k_max_retries)) + 1;
  if (const Field* delay = fields.find("retry_delay")) check.retry.delay = reader.duration(*delay, true);
}

void read_url(const YamlReader& reader, const Field& field, HttpCheck& http) {
  http.url = reader.interpolated(field);
  const std::string problem = url_problem(http.url);
  if (problem.empty()) return;
  const std::string written = reader.text(field);
  reader.fail(field, "url '" + written + "' " + problem +
                         (written == http.url ? std::string() : " (after substitution: '" + http.url + "')"));
}

void read_body(const YamlReader& reader, const Fields& fields, HttpCheck& http) {
  std::vector<const Field*> found;
  for (const char* key : {"body", "body_file", "json"})
    if (const Field* field = fields.find(key)) found.push_back(field);
  if (found.empty()) return;
  if (found.size() > 1)
    reader.fail(found[1]->key_node, "give only one of body, body_file and json; this check has both '" + found[0]->key +
                                        "' and '" + found[1]->key + "'");
  const Field& field = *found[0];
  if (field.key == "body" && !field.value.IsScalar())
    reader.fail(field, "body is the text to send; to send JSON, write json: instead of body:");
  if (field.key == "body")
    http.body = reader.interpolated(field);
  else if (field.key == "body_file")
    http.body = reader.read_file(field);
  else {
    http.body = reader.json(field.value, field.path).dump();
    if (!has_header(http.headers, "content-type")) http.headers.emplace_back("Content-Type", "application/json");
  }
}

void read_http(const YamlReader& reader, const Fields& fields, const CheckDefaults& defaults, HttpCheck& http) {
  read_url(reader, *fields.find("url"), http);
  if (const Field* method = fields.find("method")) {
    http.method = core::trim(reader.text(*method));
    std::transform(http.method.begin(), http.method.end(), http.method.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (!is_token(http.method))
      reader.fail(*method, "method must be an HTTP method such as GET, HEAD, POST, PUT, PATCH or DELETE");
  }
  http.headers = defaults.headers;
  if (const Field* headers = fields.find("headers")) read_headers(reader, *headers, http.headers);
  http.follow_redirects = defaults.follow_redirects;
  if (const Field* follow = fields.find("follow_redirects")) http.follow_redirects = reader.boolean(*follow);
  http.max_redirects = defaults.max_redirects;
  if (const Field* max = fields.find("max_redirects"))
    http.max_redirects = static_cast<int>(reader.integer(*max, 0, k_max_redirects));
  read_body(reader, fields, http);
}

void read_tcp(const YamlReader& reader, const Field& field, TcpCheck& tcp) {
  const std::string target = core::trim(reader.interpolated(field));
  const auto scheme = target.find("://");
  if (scheme != std::string::npos)
    reader.fail(field, "tcp takes host:port without a scheme; write tcp: " + target.substr(scheme + 3));
  const bool bracketed = !target.empty() && target[0] == '[';
  const auto colon = bracketed ? target.find("]:") : target.rfind(':');
  if (colon == std::string::npos || colon == 0)
    reader.fail(field, "tcp needs host:port, such as db.internal:5432 or [::1]:5432; found '" + target + "'");
  tcp.host = bracketed ? target.substr(1, colon - 1) : target.substr(0, colon);
  const std::string port = target.substr(colon + (bracketed ? 2 : 1));
  const bool digits = !port.empty() && port.size() <= 5 &&
                      std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); });
  tcp.port = digits ? std::stoi(port) : 0;
  if (tcp.port < 1 || tcp.port > 65535 || tcp.host.empty() || tcp.host.find('/') != std::string::npos)
    reader.fail(field,
                "tcp needs host:port with a port from 1 to 65535, such as db.internal:5432; found '" + target + "'");
}

// The words of a would-be shell line, honouring quotes, to suggest the list
// the user probably meant. Only for the error message: nothing is run.
std::vector<std::string> split_words(const std::string& line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (const char c : line) {
    if (quote) {
      if (c == quote)
        quote = 0;
      else
        word += c;
    } else if (c == '"' || c == '\'') {
      quote = c;
      in_word = true;
    } else if (c == ' ' || c == '\t') {
      if (in_word) words.push_back(word);
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_word) words.push_back(word);
  return words;
}

std::string as_list(const std::string& line) {
  std::string out;
  for (const auto& word : split_words(line)) {
    std::string item = word;
    if (word.empty() || word.find_first_of(" ,:[]{}#&*!|>%@`'\"\\") != std::string::npos) {
      item = "\"";
      for (const char c : word)
        item += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
      item += "\"";
    }
    out += (out.empty() ? "" : ", ") + item;
  }
  return "[" + out + "]";
}

void read_command(const YamlReader& reader, const Field& field, CommandCheck& command) {
  if (field.value.IsScalar())
    reader.fail(field, "command must be a list of arguments, because it never runs through a shell; write command: " +
                           as_list(field.value.Scalar()));
  if (!field.value.IsSequence() || field.value.size() == 0)
    reader.fail(field, "command must be a non-empty list of arguments, such as [psql, -c, \"select 1\"]");
  for (const auto& item : field.value)
    command.argv.push_back(reader.interpolated(item, field.path));
  if (command.argv.front().empty()) reader.fail(field, "the program name (the first item of command) is empty");
}

// As written, before ${VAR} substitution, so a name is the same in every
// environment (and never holds a secret).
std::string default_name(const YamlReader& reader, const Fields& fields, const Check& check) {
  if (check.kind == Check::Kind::http) return check.http.method + " " + reader.text(*fields.find("url"));
  if (check.kind == Check::Kind::tcp) return "tcp " + reader.text(*fields.find("tcp"));
  std::string name;
  for (const auto& item : fields.find("command")->value)
    name += (name.empty() ? "" : " ") + item.Scalar();
  return name;
}

} // namespace

std::string url_problem(std::string_view url) {
  const std::string lower = core::to_lower(url);
  const std::size_t scheme = core::starts_with(lower, "https://") ? 8 : core::starts_with(lower, "http://") ? 7 : 0;
  if (scheme == 0) return "must start with http:// or https://";
  if (scheme >= url.size() || url[scheme] == '/' || url[scheme] == '?' || url[scheme] == '#') return "has no host";
  const bool unsafe = std::any_of(url.begin(), url.end(), [](unsigned char c) { return c <= ' ' || c == 0x7F; });
  return unsafe ? "contains a space or control character; encode a space as %20" : "";
}

CheckDefaults parse_defaults(const YamlReader& reader, const Field& field) {
  if (!field.value.IsMap()) reader.fail(field, "defaults must be a mapping, such as {timeout: 5s, retries: 2}");
  const Fields fields = reader.fields(field.value, k_default_keys, "defaults");
  CheckDefaults defaults;
  Check settings; // reuses the check's readers for timeout and retries
  settings.timeout = defaults.timeout;
  read_common(reader, fields, CheckRole::check, settings);
  defaults.timeout = settings.timeout;
  defaults.retry = settings.retry;
  if (const Field* headers = fields.find("headers")) read_headers(reader, *headers, defaults.headers);
  if (const Field* follow = fields.find("follow_redirects")) defaults.follow_redirects = reader.boolean(*follow);
  if (const Field* max = fields.find("max_redirects"))
    defaults.max_redirects = static_cast<int>(reader.integer(*max, 0, k_max_redirects));
  return defaults;
}

Check parse_check(const YamlReader& reader, const YAML::Node& node, const CheckDefaults& defaults, CheckRole role) {
  if (!node.IsMap())
    reader.fail(node, "a check is a mapping with url, tcp or command, such as `- url: https://example.com/`");
  const Fields fields = reader.fields(node, k_check_keys, "");
  Check check;
  check.location = reader.location(node);
  check.kind = read_kind(reader, node, fields);
  reject_http_keys(reader, fields, check.kind);
  check.timeout = defaults.timeout;
  check.retry = role == CheckRole::wait_probe ? RetryPolicy{1, defaults.retry.delay} : defaults.retry;
  read_common(reader, fields, role, check);
  if (check.kind == Check::Kind::http)
    read_http(reader, fields, defaults, check.http);
  else if (check.kind == Check::Kind::tcp)
    read_tcp(reader, *fields.find("tcp"), check.tcp);
  else
    read_command(reader, *fields.find("command"), check.command);
  if (const Field* expect = fields.find("expect")) parse_expect(reader, *expect, check);
  if (check.name.empty()) check.name = default_name(reader, fields, check);
  return check;
}

Check parse_url_probe(const YamlReader& reader, const Field& url, const Field* status, const CheckDefaults& defaults) {
  Check check;
  check.location = reader.location(url);
  check.timeout = defaults.timeout;
  check.retry = RetryPolicy{1, defaults.retry.delay};
  read_url(reader, url, check.http);
  check.http.headers = defaults.headers;
  check.http.follow_redirects = defaults.follow_redirects;
  check.http.max_redirects = defaults.max_redirects;
  if (status) check.http.status = reader.statuses(*status);
  check.name = "GET " + reader.text(url);
  return check;
}

} // namespace smoke
