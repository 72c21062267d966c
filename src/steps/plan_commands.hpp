#pragma once
// `shipgate plan validate FILE` and `shipgate plan show --plan FILE --env
// NAME` (docs/plan.md): check a launch plan, and print the deploy and
// rollback steps of one environment for review.
#include <memory>

#include "steps/registry.hpp"

namespace steps {

std::unique_ptr<Step> make_plan_validate(); // named "plan validate"
std::unique_ptr<Step> make_plan_show();     // named "plan show"

} // namespace steps
