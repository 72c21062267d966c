#include <doctest/doctest.h>

#include <string>

#include "gate/policy.hpp"
#include "gate/severity.hpp"

using gate::Level;

namespace {

report::TestCase make_case(std::string name, std::string classname = "", std::string file = "") {
  report::TestCase test;
  test.name = std::move(name);
  test.classname = std::move(classname);
  test.file = std::move(file);
  test.suite = "suite";
  test.outcome = report::Outcome::failed;
  return test;
}

gate::SeverityRule rule(Level level) {
  gate::SeverityRule r;
  r.level = level;
  return r;
}

gate::Policy policy_from(const std::string& yaml) {
  auto policy = gate::parse_policy(yaml, "policy.yml");
  REQUIRE_MESSAGE(policy.ok(), (policy.ok() ? std::string() : policy.error().describe()));
  return policy.value();
}

} // namespace

TEST_CASE("the default level applies when nothing else does") {
  gate::Policy policy;
  auto result = gate::classify(make_case("plain"), policy);
  CHECK(result.level == Level::B);
  CHECK(result.source == "default");
  policy.default_level = Level::C;
  CHECK(gate::classify(make_case("plain"), policy).level == Level::C);
}

TEST_CASE("tags in the test name") {
  const gate::Policy policy;
  CHECK(gate::classify(make_case("[A] checkout works"), policy).level == Level::A);
  CHECK(gate::classify(make_case("checkout works [P0]"), policy).level == Level::A);
  CHECK(gate::classify(make_case("login [blocker] path"), policy).level == Level::A);
  CHECK(gate::classify(make_case("tooltip colour [minor]"), policy).level == Level::C);
  CHECK(gate::classify(make_case("[C] cosmetic"), policy).level == Level::C);
  CHECK(gate::classify(make_case("[P1] api"), policy).level == Level::B);
  CHECK(gate::classify(make_case("[P0] checkout"), policy).source == "tag [P0]");
  // Brackets that are not a level, e.g. parametrised test ids, do not count.
  CHECK(gate::classify(make_case("test_sum[1-2-3]"), policy).source == "default");
  CHECK(gate::classify(make_case("test_x[param] [A]"), policy).level == Level::A);
}

TEST_CASE("name tags can be switched off") {
  gate::Policy policy;
  policy.severity_tags = false;
  CHECK(gate::classify(make_case("[A] checkout"), policy).source == "default");
}

TEST_CASE("the severity property, and CTRF tags") {
  const gate::Policy policy;
  auto test = make_case("plain");
  test.properties = {{"owner", "team"}, {"severity", "A"}};
  const auto result = gate::classify(test, policy);
  CHECK(result.level == Level::A);
  CHECK(result.source == "property severity=A");

  auto tagged = make_case("plain");
  tagged.tags = {"smoke", "P0"};
  CHECK(gate::classify(tagged, policy).level == Level::A);

  auto custom = make_case("plain");
  custom.properties = {{"level", "C"}};
  gate::Policy renamed;
  renamed.severity_property = "level";
  CHECK(gate::classify(custom, renamed).level == Level::C);
  CHECK(gate::classify(custom, policy).source == "default");
}

TEST_CASE("property beats tag beats rules beats default") {
  gate::Policy policy;
  policy.default_level = Level::C;
  auto by_rule = rule(Level::B);
  by_rule.classname = "com.acme.*";
  policy.severity_rules.push_back(by_rule);

  auto test = make_case("[minor] refund", "com.acme.Pay");
  test.properties = {{"severity", "A"}};
  CHECK(gate::classify(test, policy).level == Level::A); // property
  test.properties.clear();
  CHECK(gate::classify(test, policy).level == Level::C); // tag [minor] over the rule's B
  CHECK(gate::classify(test, policy).source == "tag [minor]");
  test.name = "refund";
  CHECK(gate::classify(test, policy).level == Level::B); // rule
  CHECK(gate::classify(test, policy).source == "rule 1");
  test.classname = "org.other.Pay";
  CHECK(gate::classify(test, policy).level == Level::C); // default
  CHECK(gate::classify(test, policy).source == "default");
}

TEST_CASE("an unparseable property value falls through") {
  const gate::Policy policy;
  auto test = make_case("[A] x");
  test.properties = {{"severity", "urgent!!"}};
  CHECK(gate::classify(test, policy).level == Level::A);
}

TEST_CASE("rule globs on name, classname and file") {
  const auto policy = policy_from(R"(severity:
  default: C
  rules:
    - level: A
      classname: "com.acme.payment.*"
    - level: A
      file: "tests/**/test_checkout*.py"
    - level: B
      name: "test_api_*"
)");
  CHECK(gate::classify(make_case("t", "com.acme.payment.RefundTest"), policy).level == Level::A);
  CHECK(gate::classify(make_case("t", "com.acme.payment.sub.DeepTest"), policy).level == Level::A);
  CHECK(gate::classify(make_case("t", "com.acme.search.Test"), policy).level == Level::C);
  CHECK(gate::classify(make_case("t", "", "tests/test_checkout.py"), policy).level == Level::A);
  CHECK(gate::classify(make_case("t", "", "tests/a/b/test_checkout_flow.py"), policy).level == Level::A);
  CHECK(gate::classify(make_case("t", "", "src/test_checkout.py"), policy).level == Level::C);
  CHECK(gate::classify(make_case("test_api_login"), policy).level == Level::B);
  CHECK(gate::classify(make_case("test_ui_login"), policy).level == Level::C);
}

TEST_CASE("in a rule, every field set must match") {
  auto both = rule(Level::A);
  both.name = "test_*";
  both.classname = "Pay*";
  gate::Policy policy;
  policy.severity_rules.push_back(both);
  CHECK(gate::classify(make_case("test_x", "PayTest"), policy).level == Level::A);
  CHECK(gate::classify(make_case("test_x", "CartTest"), policy).level == Level::B);
  CHECK(gate::classify(make_case("check_x", "PayTest"), policy).level == Level::B);
}

TEST_CASE("the first matching rule wins") {
  const auto policy = policy_from(R"(severity:
  rules:
    - level: C
      name: "*flaky*"
    - level: A
      name: "*"
)");
  CHECK(gate::classify(make_case("some_flaky_test"), policy).level == Level::C);
  CHECK(gate::classify(make_case("other"), policy).level == Level::A);
  CHECK(gate::classify(make_case("other"), policy).source == "rule 2");
}

TEST_CASE("a regex is searched in the test id") {
  const auto policy = policy_from(R"(severity:
  rules:
    - level: A
      regex: "^payments?\\.[A-Z]\\w+::test_refund"
    - level: C
      regex: "slow"
)");
  CHECK(gate::classify(make_case("test_refund_twice", "payment.RefundTest"), policy).level == Level::A);
  CHECK(gate::classify(make_case("test_refund", "payments.Api"), policy).level == Level::A);
  CHECK(gate::classify(make_case("test_refund", "xpayment.RefundTest"), policy).level == Level::B);
  CHECK(gate::classify(make_case("test_is_slow", "Perf"), policy).level == Level::C); // found anywhere
  CHECK(gate::classify(make_case("test_refund", ""), policy).level == Level::B);
}

TEST_CASE("a regex rule on a very long test id neither overflows the stack nor stops matching") {
  // std::regex recurses about once per character: "a.*b" on a 300 KB name
  // from a report crashed the gate before long ids were matched on a large
  // stack (the first 8 KiB of the id).
  const auto policy = policy_from(R"(severity:
  rules:
    - level: C
      regex: "a.*b"
    - level: A
      regex: "^c::x+$"
)");
  const std::string long_name(300000, 'a');
  CHECK(gate::classify(make_case(long_name + "b", "c"), policy).level == Level::B); // the b is past 8 KiB
  CHECK(gate::classify(make_case("a" + long_name.substr(0, 1000) + "b" + long_name, "c"), policy).level == Level::C);
  CHECK(gate::classify(make_case(std::string(3000, 'x'), "c"), policy).level == Level::A);
  CHECK(gate::classify(make_case(std::string(5000, 'x'), "c"), policy).level == Level::A); // on the large stack
  CHECK(gate::classify(make_case(std::string(8000, 'a') + "b", "c"), policy).level == Level::C); // within 8 KiB
  CHECK(gate::classify(make_case(std::string(8200, 'a') + "b", "c"), policy).level == Level::B); // past 8 KiB
}
