#include <doctest/doctest.h>

#include <string>

#include "core/time.hpp"
#include "gate/policy.hpp"
#include "../support/temp_dir.hpp"

using gate::Level;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

gate::Policy parse_ok(const std::string& yaml) {
  auto policy = gate::parse_policy(yaml, "policy.yml");
  REQUIRE_MESSAGE(policy.ok(), (policy.ok() ? std::string() : policy.error().describe()));
  return policy.value();
}

core::Error parse_error(const std::string& yaml) {
  auto policy = gate::parse_policy(yaml, "policy.yml");
  REQUIRE_FALSE(policy.ok());
  CHECK(policy.error().kind == core::ErrorKind::invalid_input);
  return policy.error();
}

} // namespace

TEST_CASE("defaults") {
  const gate::Policy policy;
  CHECK(policy.max_failures == std::array<long, 3>{0, 0, 0});
  CHECK(policy.min_tests == 1);
  CHECK_FALSE(policy.min_pass_rate.has_value());
  CHECK_FALSE(policy.max_skipped_ratio.has_value());
  CHECK(policy.flaky == gate::FlakyMode::warn);
  CHECK(policy.default_level == Level::B);
  CHECK(policy.severity_property == "severity");
  CHECK(policy.severity_tags);
  CHECK(parse_ok("").min_tests == 1);
  CHECK(parse_ok("# only a comment\n").flaky == gate::FlakyMode::warn);
}

TEST_CASE("a full policy is parsed into the right fields") {
  const auto policy = parse_ok(R"(version: 1
max_failures:
  A: 0
  B: 2
  C: 10
min_pass_rate: 95%
min_tests: 100
max_skipped_ratio: 0.1
flaky: fail
required_suites:
  - payments
  - "checkout*"
quarantine:
  - test: "com.acme.SlowTest::test_timeout"
    reason: flaky on shared runners
    ticket: ACME-123
    expires: 2026-12-31
  - test: "legacy::*"
    reason: being rewritten
severity:
  default: C
  property: level
  tags: false
  rules:
    - level: A
      classname: "com.acme.payment.*"
    - level: B
      file: "tests/**/api_*.py"
      name: "test_*"
    - level: C
      regex: "^ui\\."
)");
  CHECK(policy.max_failures == std::array<long, 3>{0, 2, 10});
  REQUIRE(policy.min_pass_rate.has_value());
  CHECK(*policy.min_pass_rate == doctest::Approx(95));
  CHECK(policy.min_tests == 100);
  REQUIRE(policy.max_skipped_ratio.has_value());
  CHECK(*policy.max_skipped_ratio == doctest::Approx(10));
  CHECK(policy.flaky == gate::FlakyMode::fail);
  CHECK(policy.required_suites == std::vector<std::string>{"payments", "checkout*"});
  REQUIRE(policy.quarantine.size() == 2);
  const auto& first = policy.quarantine[0];
  CHECK(first.test == "com.acme.SlowTest::test_timeout");
  CHECK(first.reason == "flaky on shared runners");
  CHECK(first.ticket == "ACME-123");
  CHECK(first.expires_text == "2026-12-31");
  REQUIRE(first.expires.has_value());
  CHECK(core::format_rfc3339(*first.expires) == "2026-12-31T23:59:59Z");
  CHECK_FALSE(policy.quarantine[1].expires.has_value());
  CHECK(policy.default_level == Level::C);
  CHECK(policy.severity_property == "level");
  CHECK_FALSE(policy.severity_tags);
  REQUIRE(policy.severity_rules.size() == 3);
  CHECK(policy.severity_rules[0].level == Level::A);
  CHECK(policy.severity_rules[0].classname == "com.acme.payment.*");
  CHECK(policy.severity_rules[1].file == "tests/**/api_*.py");
  CHECK(policy.severity_rules[1].name == "test_*");
  CHECK(policy.severity_rules[2].level == Level::C);
  CHECK(policy.severity_rules[2].regex_text == "^ui\\.");
  CHECK(policy.severity_rules[2].regex.has_value());
}

TEST_CASE("level names") {
  CHECK(gate::parse_level("A") == Level::A);
  CHECK(gate::parse_level("a") == Level::A);
  CHECK(gate::parse_level(" blocker ") == Level::A);
  CHECK(gate::parse_level("P0") == Level::A);
  CHECK(gate::parse_level("critical") == Level::B);
  CHECK(gate::parse_level("P1") == Level::B);
  CHECK(gate::parse_level("minor") == Level::C);
  CHECK(gate::parse_level("trivial") == Level::C);
  CHECK(gate::parse_level("P3") == Level::C);
  CHECK_FALSE(gate::parse_level("D").has_value());
  CHECK_FALSE(gate::parse_level("").has_value());
}

TEST_CASE("an unknown key gets a suggestion and file:line") {
  const auto error = parse_error("min_tests: 3\nmax_failure:\n  A: 0\n");
  CHECK(contains(error.message, "unknown policy key 'max_failure'"));
  CHECK(contains(error.message, "did you mean 'max_failures'"));
  CHECK(error.location == "policy.yml:2");
}

TEST_CASE("unknown keys in nested sections are reported too") {
  const auto error = parse_error("severity:\n  defualt: A\n");
  CHECK(contains(error.message, "did you mean 'default'"));
  CHECK(error.location == "policy.yml:2");
  const auto rule_error = parse_error("severity:\n  rules:\n    - level: A\n      clasname: x\n");
  CHECK(contains(rule_error.message, "did you mean 'classname'"));
  CHECK(rule_error.location == "policy.yml:4");
}

TEST_CASE("a key far from any known one gets no guess") {
  const auto error = parse_error("completely_unrelated_setting: 1\n");
  CHECK(contains(error.message, "unknown policy key"));
  CHECK_FALSE(contains(error.message, "did you mean"));
}

TEST_CASE("a bad level is an error") {
  CHECK(contains(parse_error("max_failures:\n  D: 1\n").message, "unknown severity level 'D'"));
  CHECK(contains(parse_error("severity:\n  default: X\n").message, "default severity"));
  const auto error = parse_error("severity:\n  rules:\n    - level: Z\n      name: x\n");
  CHECK(contains(error.message, "level must be A, B or C"));
  CHECK(error.location == "policy.yml:3");
}

TEST_CASE("bad numbers and percentages are errors") {
  const auto error = parse_error("min_pass_rate: 101%\n");
  CHECK(contains(error.message, "101%"));
  CHECK(error.location == "policy.yml:1");
  CHECK(contains(parse_error("min_pass_rate: lots\n").message, "percentage"));
  CHECK(contains(parse_error("max_skipped_ratio: -5\n").message, "percentage"));
  CHECK(contains(parse_error("min_tests: -1\n").message, "whole number"));
  CHECK(contains(parse_error("min_tests: 2.5\n").message, "whole number"));
  CHECK(contains(parse_error("max_failures:\n  A: many\n").message, "whole number"));
  CHECK(contains(parse_error("max_failures: 3\n").message, "max_failures must map"));
  CHECK(contains(parse_error("flaky: sometimes\n").message, "pass, warn or fail"));
  CHECK(contains(parse_error("version: 2\n").message, "version"));
}

TEST_CASE("quarantine entries need a test and a reason") {
  const auto error = parse_error("quarantine:\n  - test: a::b\n    expires: 2026-01-01\n");
  CHECK(contains(error.message, "reason"));
  CHECK(error.location == "policy.yml:2");
  CHECK(contains(parse_error("quarantine:\n  - reason: slow\n").message, "test"));
  CHECK(contains(parse_error("quarantine:\n  - test: a\n    reason: r\n    expires: next week\n").message,
                 "expires must be a date"));
  CHECK(contains(parse_error("quarantine: a::b\n").message, "quarantine must be a list"));
  CHECK(contains(parse_error("quarantine:\n  - test: a\n    reason: r\n    tiket: X-1\n").message,
                 "did you mean 'ticket'"));
}

TEST_CASE("an invalid regular expression is an error") {
  const auto error = parse_error("severity:\n  rules:\n    - level: A\n      regex: \"([a-z\"\n");
  CHECK(contains(error.message, "invalid regular expression"));
  CHECK(error.location == "policy.yml:4");
}

TEST_CASE("a regex rule with a huge repetition count is refused before std::regex sees it") {
  const auto policy = gate::parse_policy("severity:\n  rules:\n    - {level: A, regex: \"x{3333333333333333333}\"}\n",
                                         "policy.yml");
  REQUIRE_FALSE(policy.ok());
  CHECK(policy.error().location == "policy.yml:3");
  CHECK(policy.error().message.find("repetition count above 1000") != std::string::npos);
}

TEST_CASE("a severity rule needs a level and a matcher") {
  CHECK(contains(parse_error("severity:\n  rules:\n    - name: x\n").message, "needs a level"));
  CHECK(contains(parse_error("severity:\n  rules:\n    - level: A\n").message, "needs a level"));
}

TEST_CASE("invalid YAML and a policy that is not a mapping are errors") {
  const auto yaml_error = parse_error("max_failures: {A: 0\nmin_tests: 3\n");
  CHECK(contains(yaml_error.message, "invalid YAML"));
  CHECK(yaml_error.location.rfind("policy.yml:", 0) == 0);
  CHECK(contains(parse_error("- a\n- b\n").message, "mapping"));
  CHECK(contains(parse_error("just text\n").message, "mapping"));
}

TEST_CASE("parse_percent") {
  CHECK(gate::parse_percent("95").value_or(-1) == doctest::Approx(95));
  CHECK(gate::parse_percent("95%").value_or(-1) == doctest::Approx(95));
  CHECK(gate::parse_percent(" 95% ").value_or(-1) == doctest::Approx(95));
  CHECK(gate::parse_percent("0.95").value_or(-1) == doctest::Approx(95));
  CHECK(gate::parse_percent("1").value_or(-1) == doctest::Approx(100));
  CHECK(gate::parse_percent("0").value_or(-1) == doctest::Approx(0));
  CHECK(gate::parse_percent("100%").value_or(-1) == doctest::Approx(100));
  CHECK(gate::parse_percent("0.5%").value_or(-1) == doctest::Approx(0.5));
  CHECK_FALSE(gate::parse_percent("101").has_value());
  CHECK_FALSE(gate::parse_percent("101%").has_value());
  CHECK_FALSE(gate::parse_percent("-1").has_value());
  CHECK_FALSE(gate::parse_percent("").has_value());
  CHECK_FALSE(gate::parse_percent("%").has_value());
  CHECK_FALSE(gate::parse_percent("ninety").has_value());
  CHECK_FALSE(gate::parse_percent("95%%").has_value());
  // strtod reads these; a limit of NaN made every comparison fail with "<= nan%".
  for (const char* text : {"nan", "NaN%", "-nan", "inf", "infinity%", "1e999"}) {
    CAPTURE(text);
    CHECK_FALSE(gate::parse_percent(text).has_value());
  }
}

TEST_CASE("load_policy reads a file and names it in errors") {
  test_support::TempDir dir;
  const std::string good = dir.write("good.yml", "min_tests: 7\n");
  const auto policy = gate::load_policy(good);
  REQUIRE(policy.ok());
  CHECK(policy->min_tests == 7);
  const std::string bad = dir.write("bad.yml", "min_tests: 7\nflakey: warn\n");
  const auto error = gate::load_policy(bad);
  REQUIRE_FALSE(error.ok());
  CHECK(error.error().location == bad + ":2");
  const auto missing = gate::load_policy(dir.file("missing.yml"));
  REQUIRE_FALSE(missing.ok());
  CHECK(contains(missing.error().describe(), "missing.yml"));
}
