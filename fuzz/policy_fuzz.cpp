// The gate's policy file (src/gate/policy.cpp, docs/policy.md): YAML with
// limits per severity level, percentages, quarantine dates and severity
// rules with regular expressions. A policy that reads is then used to
// classify a few test cases, as the gate would.
#include "fuzz_support.hpp"
#include "gate/policy.hpp"
#include "gate/severity.hpp"

namespace {

// Regex rules are compiled by the reader but not matched here: a policy's
// own pattern such as "(a*)*b" backtracks exponentially in std::regex, which
// is its author's to avoid, not a fault of the reader. (Long test ids from
// reports are covered by tests/unit/gate/severity_test.cpp.)
void classify_samples(gate::Policy policy) {
  for (auto& rule : policy.severity_rules) rule.regex.reset();
  report::TestCase test;
  test.suite = "checkout";
  test.classname = "com.acme.payment.CardTest";
  test.name = "[P0] declines an expired card";
  test.file = "src/test/CardTest.java";
  test.outcome = report::Outcome::failed;
  test.properties = {{"severity", "critical"}};
  for (int variant = 0; variant < 3; ++variant) {
    const gate::Classification result = gate::classify(test, policy);
    const int level = static_cast<int>(result.level);
    FUZZ_CHECK(level >= 0 && level <= 2);
    test.name = variant == 0 ? "plain name" : "test_[blocker]_refund";
    test.properties.clear();
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > fuzz::k_max_input) return 0;
  const auto policy = gate::parse_policy(fuzz::text(data, size), "policy.yml");
  if (!policy) {
    FUZZ_CHECK(!policy.error().message.empty());
    FUZZ_CHECK(policy.error().location.rfind("policy.yml", 0) == 0);
    return 0;
  }
  for (const long limit : policy->max_failures) FUZZ_CHECK(limit >= 0);
  FUZZ_CHECK(policy->min_tests >= 0);
  if (policy->min_pass_rate) FUZZ_CHECK(*policy->min_pass_rate >= 0 && *policy->min_pass_rate <= 100);
  if (policy->max_skipped_ratio) FUZZ_CHECK(*policy->max_skipped_ratio >= 0 && *policy->max_skipped_ratio <= 100);
  for (const auto& entry : policy->quarantine) FUZZ_CHECK(!entry.test.empty() && !entry.reason.empty());
  for (const auto& rule : policy->severity_rules) FUZZ_CHECK(rule.regex_text.empty() || rule.regex);
  classify_samples(*policy);
  return 0;
}
