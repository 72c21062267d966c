#include "steps/registry.hpp"

#include "io/redactor.hpp"

#include "steps/deploy_stage.hpp"
#include "steps/gate_on_test_report.hpp"
#include "steps/metrics_command.hpp"
#include "steps/plan_commands.hpp"
#include "steps/smoke_test.hpp"

namespace steps {

std::vector<std::unique_ptr<Step>> make_steps() {
  std::vector<std::unique_ptr<Step>> all;
  all.push_back(make_gate_on_test_report());
  all.push_back(make_deploy_stage());
  all.push_back(make_smoke_test());
  all.push_back(make_rollback());
  all.push_back(make_status());
  all.push_back(make_history());
  all.push_back(make_metrics());
  all.push_back(make_plan_validate());
  all.push_back(make_plan_show());
  all.push_back(make_release_unblock());
  all.push_back(make_signoff());
  all.push_back(make_notify());
  all.push_back(make_lock_release());
  all.push_back(make_db_status());
  all.push_back(make_db_plan());
  return all;
}

core::Result<std::map<std::string, std::string>> parse_var_flags(const std::vector<std::string>& items,
                                                                 io::Output& output) {
  std::map<std::string, std::string> vars;
  for (const auto& item : items) {
    const auto equals = item.find('=');
    if (equals == std::string::npos || equals == 0)
      return core::make_error(core::ErrorKind::usage, "--var expects NAME=VALUE, got '" + item + "'");
    const std::string name = item.substr(0, equals);
    vars[name] = item.substr(equals + 1);
    if (io::is_secret_name(name)) output.add_secret(vars[name]);
  }
  return vars;
}

} // namespace steps
