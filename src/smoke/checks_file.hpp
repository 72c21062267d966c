#pragma once
// Loading a Suite: from a checks file (YAML, docs/smoke-test.md) or from
// the quick-mode flags (--url ...). ${VAR} in URLs, headers, bodies and
// command arguments is replaced from the variables given (environment
// first, --var K=V on top); an unknown variable is an error.
#include <map>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "core/error.hpp"
#include "smoke/check.hpp"

namespace smoke {

using Variables = std::map<std::string, std::string>;

core::Result<Suite> load_checks_file(const std::string& path, const Variables& variables);
core::Result<Suite> parse_checks(std::string_view yaml_text, const std::string& origin, const Variables& variables);
// The same from an already parsed YAML node (a launch plan's `health:`),
// so errors point at the line in `origin`, the file the node came from;
// relative file names start at that file's directory.
core::Result<Suite> parse_checks_node(const YAML::Node& root, const std::string& origin, const Variables& variables);

struct QuickOptions {
  std::vector<std::string> urls;
  std::vector<std::string> expect_status; // "200", "2xx", "200-204"
  std::vector<std::string> expect_body;
  std::string timeout; // "5s", "500ms", "2m"
};
core::Result<Suite> quick_suite(const QuickOptions& options, const Variables& variables);

// "500ms", "5s", "2m", "1h" or a bare number of seconds.
std::optional<Duration> parse_duration(std::string_view text);
// "${NAME}" replaced; "$${" is a literal "${".
core::Result<std::string> interpolate(std::string_view text, const Variables& variables);

} // namespace smoke
