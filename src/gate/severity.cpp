#include "gate/severity.hpp"

#include "io/glob.hpp"
#include "smoke/regex_search.hpp"

namespace gate {
namespace {

std::optional<Classification> from_property(const report::TestCase& test, const Policy& policy) {
  if (policy.severity_property.empty()) return std::nullopt;
  for (const auto& [name, value] : test.properties)
    if (name == policy.severity_property)
      if (auto level = parse_level(value)) return Classification{*level, "property " + name + "=" + value};
  for (const auto& tag : test.tags)
    if (auto level = parse_level(tag)) return Classification{*level, "tag " + tag};
  return std::nullopt;
}

std::optional<Classification> from_name_tag(const report::TestCase& test) {
  const std::string& name = test.name;
  for (std::size_t open = name.find('['); open != std::string::npos; open = name.find('[', open + 1)) {
    const std::size_t close = name.find(']', open);
    if (close == std::string::npos || close - open > 10) continue;
    const std::string tag = name.substr(open + 1, close - open - 1);
    if (auto level = parse_level(tag)) return Classification{*level, "tag [" + tag + "]"};
  }
  return std::nullopt;
}

bool field_matches(const std::string& pattern, const std::string& value, bool is_path) {
  if (pattern.empty()) return true;
  return is_path ? io::glob_match(pattern, value) : io::name_match(pattern, value);
}

// libstdc++ matches by recursion, about one stack frame chain per
// character, and a report can hold a test name of any length: a long id is
// matched on a large stack, as smoke checks match response bodies, short
// ones directly. Only the first 8 KiB of an id count: a backtracking
// pattern such as "a.*b" costs the square of the length it searches (a
// minute for 64 KiB), and no real test id comes near 8 KiB.
bool id_matches(const std::optional<std::regex>& pattern, const std::string& id) {
  constexpr std::size_t k_direct = 4096;
  constexpr std::size_t k_matched = 8192;
  if (id.size() <= k_direct) return std::regex_search(id, *pattern);
  return smoke::regex_search_bounded(pattern, {}, id.substr(0, k_matched)).matched;
}

bool rule_matches(const SeverityRule& rule, const report::TestCase& test) {
  return field_matches(rule.name, test.name, false) && field_matches(rule.classname, test.classname, false) &&
         field_matches(rule.suite, test.suite, false) && field_matches(rule.file, test.file, true) &&
         (!rule.regex || id_matches(rule.regex, test.id()));
}

} // namespace

Classification classify(const report::TestCase& test, const Policy& policy) {
  if (auto found = from_property(test, policy)) return *found;
  if (policy.severity_tags)
    if (auto found = from_name_tag(test)) return *found;
  for (std::size_t i = 0; i < policy.severity_rules.size(); ++i)
    if (rule_matches(policy.severity_rules[i], test))
      return {policy.severity_rules[i].level, "rule " + std::to_string(i + 1)};
  return {policy.default_level, "default"};
}

} // namespace gate
