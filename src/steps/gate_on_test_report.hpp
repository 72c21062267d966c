#pragma once
// `shipgate gate-on-test-report`: reads test reports, classifies failures
// A/B/C and applies the release criterion (docs/gate-on-test-report.md).
#include <memory>
#include <string>
#include <vector>

#include "gate/policy.hpp"
#include "steps/registry.hpp"

namespace steps {

struct GateOptions {
  std::vector<std::string> reports;
  std::string policy_path;
  std::string baseline_path;
  std::string not_before;
  std::vector<std::string> max_failures; // "A=0"
  std::string min_pass_rate, max_skipped_ratio, min_tests, flaky;
  std::vector<std::string> required_suites;
  std::string default_severity, severity_property;
  std::string merged_junit, merged_max_cases, merged_max_bytes;
  std::string max_listed;
};

// Builds the effective policy: the file (if any), then the flags on top.
core::Result<gate::Policy> build_policy(const GateOptions& options);

std::unique_ptr<Step> make_gate_on_test_report();

} // namespace steps
