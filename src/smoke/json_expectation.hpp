#pragma once
// Judges the JSON-Pointer expectations of an HTTP check against one body.
// The body is parsed once for all of them; a body that is not JSON, a
// pointer that is not valid RFC 6901, or an absent field fails the
// expectation with an actual value saying so; an absent field fails every
// operator, `ne` included (a pointer to nothing is almost always a typo).
// Never throws.
#include <vector>

#include "smoke/check.hpp"
#include "smoke/executor.hpp"
#include "smoke/runner.hpp"

namespace smoke {

std::vector<AssertionResult> evaluate_json(const std::vector<JsonExpectation>& expectations, const Attempt& attempt);

} // namespace smoke
