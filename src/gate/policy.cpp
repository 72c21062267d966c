#include "gate/policy.hpp"

#include <cmath>
#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "core/text.hpp"
#include "smoke/regex_search.hpp"

namespace gate {

std::string_view to_string(Level level) {
  switch (level) {
  case Level::A: return "A";
  case Level::B: return "B";
  case Level::C: return "C";
  }
  return "B";
}

std::optional<Level> parse_level(std::string_view text) {
  const std::string word = core::to_lower(core::trim(text));
  if (word == "a" || word == "blocker" || word == "p0" || word == "s1") return Level::A;
  if (word == "b" || word == "critical" || word == "major" || word == "p1" || word == "s2") return Level::B;
  if (word == "c" || word == "minor" || word == "trivial" || word == "p2" || word == "p3" || word == "p4" ||
      word == "s3" || word == "s4")
    return Level::C;
  return std::nullopt;
}

std::string_view to_string(FlakyMode mode) {
  switch (mode) {
  case FlakyMode::pass: return "pass";
  case FlakyMode::warn: return "warn";
  case FlakyMode::fail: return "fail";
  }
  return "warn";
}

std::optional<FlakyMode> parse_flaky_mode(std::string_view text) {
  if (text == "pass") return FlakyMode::pass;
  if (text == "warn") return FlakyMode::warn;
  if (text == "fail") return FlakyMode::fail;
  return std::nullopt;
}

std::optional<double> parse_percent(std::string_view text) {
  std::string value = core::trim(text);
  bool explicit_percent = false;
  if (!value.empty() && value.back() == '%') {
    explicit_percent = true;
    value.pop_back();
  }
  char* end = nullptr;
  const double number = std::strtod(value.c_str(), &end);
  // strtod also reads "nan" and "inf", which no limit can be compared with.
  if (value.empty() || *end != '\0' || !std::isfinite(number) || number < 0) return std::nullopt;
  const double percent = (explicit_percent || number > 1) ? number : number * 100;
  if (percent > 100) return std::nullopt;
  return percent;
}

namespace {

using core::ErrorKind;

class PolicyParser {
public:
  explicit PolicyParser(std::string origin) : m_origin(std::move(origin)) {}

  core::Result<Policy> parse(const YAML::Node& root) {
    if (!root || root.IsNull()) return m_policy; // an empty file keeps the defaults
    if (!root.IsMap()) return fail(root, "the policy must be a mapping of settings (see docs/policy.md)");
    static const std::vector<std::string> k_keys = {"version", "max_failures", "min_pass_rate", "min_tests",
                                                    "max_skipped_ratio", "flaky", "required_suites",
                                                    "quarantine", "severity"};
    for (const auto& item : root) {
      const std::string key = item.first.as<std::string>();
      if (!known(item.first, key, k_keys)) return *m_error;
      if (!section(key, item.second)) return *m_error;
    }
    return m_policy;
  }

private:
  core::Error fail(const YAML::Node& node, const std::string& message) {
    const auto mark = node.Mark();
    std::string location = m_origin;
    if (!mark.is_null()) location += ":" + std::to_string(mark.line + 1);
    m_error = core::make_error(ErrorKind::invalid_input, message, location);
    return *m_error;
  }

  bool known(const YAML::Node& node, const std::string& key, const std::vector<std::string>& keys) {
    if (std::find(keys.begin(), keys.end(), key) != keys.end()) return true;
    const std::string guess = core::closest_match(key, keys);
    fail(node, "unknown policy key '" + key + "'" + (guess.empty() ? "" : "; did you mean '" + guess + "'?"));
    return false;
  }

  bool section(const std::string& key, const YAML::Node& value) {
    if (key == "version") return version(value);
    if (key == "max_failures") return max_failures(value);
    if (key == "min_pass_rate") return percent(value, m_policy.min_pass_rate);
    if (key == "max_skipped_ratio") return percent(value, m_policy.max_skipped_ratio);
    if (key == "min_tests") return count(value, m_policy.min_tests);
    if (key == "flaky") return flaky(value);
    if (key == "required_suites") return strings(value, m_policy.required_suites);
    if (key == "quarantine") return quarantine(value);
    return severity(value);
  }

  bool version(const YAML::Node& value) {
    if (scalar(value) == "1") return true;
    fail(value, "unsupported policy version '" + scalar(value) + "'; this shipgate reads version 1");
    return false;
  }

  static std::string scalar(const YAML::Node& value) { return value.IsScalar() ? value.Scalar() : std::string(); }

  bool count(const YAML::Node& value, long& out) {
    const std::string text = scalar(value);
    char* end = nullptr;
    const long number = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || number < 0) {
      fail(value, "expected a whole number >= 0, found '" + text + "'");
      return false;
    }
    out = number;
    return true;
  }

  bool percent(const YAML::Node& value, std::optional<double>& out) {
    out = parse_percent(scalar(value));
    if (out) return true;
    fail(value, "expected a percentage such as 95%, 95 or 0.95, found '" + scalar(value) + "'");
    return false;
  }

  bool max_failures(const YAML::Node& value) {
    if (!value.IsMap()) {
      fail(value, "max_failures must map levels to counts, e.g. {A: 0, B: 0, C: 3}");
      return false;
    }
    for (const auto& item : value) {
      const auto level = parse_level(item.first.as<std::string>());
      if (!level) {
        fail(item.first, "unknown severity level '" + item.first.as<std::string>() + "'; use A, B or C");
        return false;
      }
      if (!count(item.second, m_policy.max_failures[static_cast<int>(*level)])) return false;
    }
    return true;
  }

  bool flaky(const YAML::Node& value) {
    const auto mode = parse_flaky_mode(scalar(value));
    if (!mode) {
      fail(value, "flaky must be pass, warn or fail, found '" + scalar(value) + "'");
      return false;
    }
    m_policy.flaky = *mode;
    return true;
  }

  bool strings(const YAML::Node& value, std::vector<std::string>& out) {
    if (value.IsScalar()) {
      out.push_back(value.Scalar());
      return true;
    }
    if (!value.IsSequence()) {
      fail(value, "expected a list of names");
      return false;
    }
    for (const auto& item : value) out.push_back(scalar(item));
    return true;
  }

  bool quarantine(const YAML::Node& value) {
    if (!value.IsSequence()) {
      fail(value, "quarantine must be a list of entries with test, reason, ticket and expires");
      return false;
    }
    static const std::vector<std::string> k_keys = {"test", "reason", "ticket", "expires"};
    for (const auto& item : value) {
      if (!item.IsMap()) {
        fail(item, "a quarantine entry must be a mapping: {test: ..., reason: ..., ticket: ..., expires: YYYY-MM-DD}");
        return false;
      }
      QuarantineEntry entry;
      for (const auto& field : item) {
        const std::string key = field.first.as<std::string>();
        if (!known(field.first, key, k_keys)) return false;
        const std::string text = scalar(field.second);
        if (key == "test") entry.test = text;
        else if (key == "reason") entry.reason = text;
        else if (key == "ticket") entry.ticket = text;
        else {
          entry.expires_text = text;
          entry.expires = core::parse_date_end(text);
          if (!entry.expires) {
            fail(field.second, "expires must be a date like 2026-12-31, found '" + text + "'");
            return false;
          }
        }
      }
      if (entry.test.empty() || entry.reason.empty()) {
        fail(item, "a quarantine entry needs at least `test` and `reason` (an expiry date is strongly advised)");
        return false;
      }
      m_policy.quarantine.push_back(std::move(entry));
    }
    return true;
  }

  bool severity(const YAML::Node& value) {
    if (!value.IsMap()) {
      fail(value, "severity must be a mapping with default, property, tags and rules");
      return false;
    }
    static const std::vector<std::string> k_keys = {"default", "property", "tags", "rules"};
    for (const auto& item : value) {
      const std::string key = item.first.as<std::string>();
      if (!known(item.first, key, k_keys)) return false;
      if (key == "default") {
        const auto level = parse_level(scalar(item.second));
        if (!level) {
          fail(item.second, "default severity must be A, B or C");
          return false;
        }
        m_policy.default_level = *level;
      } else if (key == "property") {
        m_policy.severity_property = scalar(item.second);
      } else if (key == "tags") {
        const std::string text = core::to_lower(scalar(item.second));
        if (text != "true" && text != "false") {
          fail(item.second, "tags must be true or false");
          return false;
        }
        m_policy.severity_tags = text == "true";
      } else if (!rules(item.second)) {
        return false;
      }
    }
    return true;
  }

  bool rules(const YAML::Node& value) {
    if (!value.IsSequence()) {
      fail(value, "severity.rules must be a list");
      return false;
    }
    static const std::vector<std::string> k_keys = {"level", "name", "classname", "suite", "file", "regex"};
    for (const auto& item : value) {
      if (!item.IsMap()) {
        fail(item, "a severity rule is a mapping, e.g. {level: A, classname: 'com.acme.payment.*'}");
        return false;
      }
      SeverityRule rule;
      bool has_level = false, has_matcher = false;
      for (const auto& field : item) {
        const std::string key = field.first.as<std::string>();
        if (!known(field.first, key, k_keys)) return false;
        const std::string text = scalar(field.second);
        if (key == "level") {
          const auto level = parse_level(text);
          if (!level) {
            fail(field.second, "level must be A, B or C, found '" + text + "'");
            return false;
          }
          rule.level = *level;
          has_level = true;
          continue;
        }
        has_matcher = true;
        if (key == "name") rule.name = text;
        else if (key == "classname") rule.classname = text;
        else if (key == "suite") rule.suite = text;
        else if (key == "file") rule.file = text;
        else if (!compile(field.second, text, rule)) return false;
      }
      if (!has_level || !has_matcher) {
        fail(item, "a severity rule needs a level and at least one of name, classname, suite, file, regex");
        return false;
      }
      m_policy.severity_rules.push_back(std::move(rule));
    }
    return true;
  }

  bool compile(const YAML::Node& node, const std::string& text, SeverityRule& rule) {
    if (const std::string problem = smoke::regex_problem(text); !problem.empty()) {
      fail(node, "invalid regular expression '" + text + "': " + problem);
      return false;
    }
    try {
      rule.regex.emplace(text, std::regex::ECMAScript | std::regex::optimize);
      rule.regex_text = text;
      return true;
    } catch (const std::regex_error& error) {
      fail(node, "invalid regular expression '" + text + "': " + error.what());
      return false;
    }
  }

  std::string m_origin;
  Policy m_policy;
  std::optional<core::Error> m_error;
};

} // namespace

core::Result<Policy> parse_policy(std::string_view yaml_text, const std::string& origin) {
  try {
    const YAML::Node root = YAML::Load(std::string(yaml_text));
    return PolicyParser(origin).parse(root);
  } catch (const YAML::Exception& error) {
    const std::string location =
        error.mark.is_null() ? origin : origin + ":" + std::to_string(error.mark.line + 1);
    return core::make_error(ErrorKind::invalid_input, "invalid YAML: " + error.msg, location);
  }
}

core::Result<Policy> load_policy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return core::make_error(ErrorKind::invalid_input, "cannot read the policy file (check the --policy path)", path);
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().size() > 1024 * 1024)
    return core::make_error(ErrorKind::invalid_input, "the policy file is larger than 1 MiB", path);
  return parse_policy(text.str(), path);
}

} // namespace gate
