#pragma once
// The step result as a JUnit XML file (Surefire/Ant flavour, valid against
// the junit-10 XSD) so GitLab, Jenkins and test-report viewers show each
// check as a test case: fail -> <failure>, inconclusive -> <error>,
// skip -> <skipped>, warn -> passed with a WARNING line in <system-out>.
#include <string>

#include "core/step_result.hpp"

namespace render {

std::string render_junit(const core::StepResult& result);

// Seconds with millisecond precision, "0.012": the XSD's SUREFIRE_TIME.
std::string junit_seconds(std::chrono::milliseconds duration);

} // namespace render
