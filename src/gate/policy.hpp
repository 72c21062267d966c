#pragma once
// The release criterion as typed data: limits per severity level, pass rate,
// minimum tests, skipped ratio, flaky handling, required suites, quarantine,
// and the rules that give each failing test its level. Loaded from YAML
// (docs/policy.md) and adjusted by command-line flags.
#include <array>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/time.hpp"

namespace gate {

enum class Level { A = 0, B = 1, C = 2 };
constexpr std::array<Level, 3> k_levels = {Level::A, Level::B, Level::C};
std::string_view to_string(Level level);
// A/B/C, blocker/critical/major/minor/trivial, P0/P1/P2/P3, S1/S2/S3 (case-insensitive).
std::optional<Level> parse_level(std::string_view text);

enum class FlakyMode { pass, warn, fail };
std::string_view to_string(FlakyMode mode);
std::optional<FlakyMode> parse_flaky_mode(std::string_view text);

// A severity rule matches when every field it sets matches (globs; `regex`
// is searched in the test id).
struct SeverityRule {
  Level level = Level::B;
  std::string name, classname, suite, file;
  std::string regex_text;
  std::optional<std::regex> regex;
};

struct QuarantineEntry {
  std::string test; // test id, or a glob over test ids
  std::string reason;
  std::string ticket;
  std::string expires_text; // as written
  std::optional<core::SystemTime> expires;
};

struct Policy {
  std::array<long, 3> max_failures = {0, 0, 0};
  std::optional<double> min_pass_rate;     // percent, 0..100
  long min_tests = 1;
  std::optional<double> max_skipped_ratio; // percent, 0..100
  FlakyMode flaky = FlakyMode::warn;
  std::vector<std::string> required_suites; // globs over suite paths
  std::vector<QuarantineEntry> quarantine;
  Level default_level = Level::B;
  std::string severity_property = "severity";
  bool severity_tags = true; // [A], [P0], [blocker] in test names
  std::vector<SeverityRule> severity_rules;
};

core::Result<Policy> load_policy(const std::string& path);
core::Result<Policy> parse_policy(std::string_view yaml_text, const std::string& origin);
// "95", "95%", "0.95" -> 95. Numbers up to 1 are fractions, above 1 percent.
std::optional<double> parse_percent(std::string_view text);

} // namespace gate
