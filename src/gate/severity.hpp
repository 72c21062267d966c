#pragma once
// Gives a failing test its severity level. Sources, first match wins:
// 1. the test's property named by the policy (default "severity"),
// 2. a tag in the test name: [A] [B] [C], [P0]..[P3], [blocker] [critical] [minor],
// 3. the policy's rules, in order,
// 4. the policy's default level.
#include <string>

#include "gate/policy.hpp"
#include "report/test_case.hpp"

namespace gate {

struct Classification {
  Level level = Level::B;
  std::string source; // "property severity=A", "tag [P0]", "rule 2", "default"
};

Classification classify(const report::TestCase& test, const Policy& policy);

} // namespace gate
