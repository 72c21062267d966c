#pragma once
// `shipgate smoke-test`: verifies a freshly deployed service with HTTP, TCP
// and command checks (docs/smoke-test.md).
#include <memory>

#include "steps/registry.hpp"

namespace steps {

std::unique_ptr<Step> make_smoke_test();

} // namespace steps
