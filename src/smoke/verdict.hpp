#pragma once
// Turns a SmokeReport into the shared step result: one Check per smoke
// check (with what was sent and received), the verdict and the exit code:
// 0 all passed; 1 an expectation failed (the service is wrong); 3 a check
// could not reach the service, or the wait phase timed out (it is down).
#include "core/step_result.hpp"
#include "smoke/check.hpp"
#include "smoke/runner.hpp"

namespace smoke {

core::StepResult judge(const Suite& suite, const SmokeReport& report);

} // namespace smoke
