#pragma once
// Turns the tally of the reports into a verdict: every rule of the policy
// becomes a Check with its numbers and explanation. Verdict: inconclusive if
// any rule could not be decided (no reports, unreadable reports, zero
// tests), else fail if any rule failed, else pass.
#include <optional>
#include <string>
#include <vector>

#include "core/step_result.hpp"
#include "gate/baseline.hpp"
#include "gate/policy.hpp"
#include "gate/tally.hpp"
#include "report/test_case.hpp"

namespace gate {

struct ReportFile {
  std::string path;
  std::string format; // junit, tap, ctrf; empty if unknown
  long tests = 0;
  std::string error;  // why it could not be read, empty if it was
};

struct GateInput {
  const Policy* policy = nullptr;
  const Tally* tally = nullptr;
  std::vector<ReportFile> files;
  std::vector<std::string> unmatched_patterns; // --report globs that matched nothing
  std::vector<std::string> stale_files;        // older than --not-before
  std::optional<Baseline> baseline;
  core::SystemTime now{};
  std::size_t max_listed = 50;
};

core::StepResult evaluate(const GateInput& input);

} // namespace gate
