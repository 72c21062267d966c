#pragma once
// One entry of `checks:` (or `wait.check:`) of a checks file turned into a
// smoke::Check: its kind (url, tcp or command), the request, timeout,
// retries and name; the `expect:` block is read by expect_parser. Like
// YamlReader, these throw ReadError with file:line and a hint.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "smoke/check.hpp"
#include "smoke/yaml_reader.hpp"

namespace smoke {

// What `defaults:` gives every check; the check's own keys win (headers
// key by key, case-insensitively).
struct CheckDefaults {
  Duration timeout{10000};
  RetryPolicy retry;
  std::vector<std::pair<std::string, std::string>> headers;
  bool follow_redirects = false;
  int max_redirects = 5;
};

CheckDefaults parse_defaults(const YamlReader& reader, const Field& field);

// A wait probe is polled by the wait phase, so it takes no retries.
enum class CheckRole { check, wait_probe };
Check parse_check(const YamlReader& reader, const YAML::Node& node, const CheckDefaults& defaults, CheckRole role);

// The `wait: {url: …}` shorthand: a GET of `url` with the defaults' headers
// and timeout, expecting `status` (2xx when null).
Check parse_url_probe(const YamlReader& reader, const Field& url, const Field* status, const CheckDefaults& defaults);

// Why `url` cannot be requested, or "" when it can: http(s) scheme, a host,
// no spaces or control characters.
std::string url_problem(std::string_view url);

} // namespace smoke
