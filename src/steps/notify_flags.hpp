#pragma once
// The notification flags of the steps that take no launch plan of their
// own (gate-on-test-report, smoke-test): --plan names the plan whose
// notify: section hears the step's result, for the environment given with
// --environment (docs/notify.md).
#include <string>
#include <vector>

#include "steps/registry.hpp"

namespace steps {

class NotifyFlags {
public:
  void register_options(OptionSink& sink);
  // Sends `event` with the step's result when --plan was given; a problem
  // with the plan is an error only in usage terms (exit 2), a delivery
  // problem goes into the result (docs/notify.md).
  core::Status send(const RunContext& context, const std::string& event, core::StepResult& result) const;
  bool wanted() const { return !m_plan.empty(); }

private:
  std::string m_plan, m_version, m_level;
  std::vector<std::string> m_vars;
};

} // namespace steps
