#pragma once
// The events the pipeline steps send themselves (docs/notify.md): the
// step's result becomes the template data, the plan's notify section says
// who hears it, and the deliveries go back into the result.
#include <string>

#include <nlohmann/json.hpp>

#include "ci/context.hpp"
#include "core/step_result.hpp"
#include "deploy/plan.hpp"
#include "io/output.hpp"

namespace notify {

// The template values of a step's result: headline, verdict, reason, the
// failed checks (at most 10), the versions, the CI run.
nlohmann::json step_data(const core::StepResult& result, const std::string& app, const std::string& environment,
                         const ci::CiContext& ci);

// Sends `event` when the plan has a notify section. The deliveries are
// added to result.details["notifications"], failures to the warnings; a
// `required` channel not delivered turns a passing step's exit 0 into 3.
// `level`: the fault level the user gave (P0..P3), or empty.
void notify_step(const deploy::NotifySpec& notify, const std::string& event, const std::string& thread,
                 const nlohmann::json& data, core::StepResult& result, const ci::Environment& env,
                 io::Output& output, const std::string& level = {});

} // namespace notify
