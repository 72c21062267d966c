#include "gate/severity.hpp"

#include "io/glob.hpp"

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

bool rule_matches(const SeverityRule& rule, const report::TestCase& test) {
  return field_matches(rule.name, test.name, false) && field_matches(rule.classname, test.classname, false) &&
         field_matches(rule.suite, test.suite, false) && field_matches(rule.file, test.file, true) &&
         (!rule.regex || std::regex_search(test.id(), *rule.regex));
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
