#pragma once
// `shipgate metrics`: the delivery figures of an environment from its
// ledger (docs/metrics.md).
#include <memory>

#include "steps/registry.hpp"

namespace steps {

std::unique_ptr<Step> make_metrics();

} // namespace steps
