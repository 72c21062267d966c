#pragma once
// Performing the actions of deploy/actions.hpp on the targets of a run:
// each one journalled before and after on every target it touches, timed,
// its output kept as the transcript of its entry in the result. An action
// works on its targets `--jobs` at a time. Internal to the deploy engine.
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "deploy/actions.hpp"
#include "deploy/analysis.hpp"
#include "deploy/run.hpp"

namespace deploy {

class ActionRunner {
public:
  using Prepare = std::function<core::Status(const ServiceSpec& service, std::string& log)>;
  ActionRunner(Run& run, Prepare prepare) : m_run(run), m_prepare(std::move(prepare)) {}

  // Performs one action on its targets; fills `check`. When it fails on
  // some targets only, failed_units() names them.
  core::Status perform(const Action& action, bool rolling_back, const ResolvedPlan& plan, core::Check& check);
  const std::vector<Unit*>& failed_units() const { return m_failed; }

  // Restricts the next actions to `units` (a rollback of single hosts);
  // empty: no restriction.
  void only(std::vector<Unit*> units) { m_only = std::move(units); }
  // The plan with the old version's values, for putting single hosts back
  // during a deploy (their health checks expect the old version).
  void set_rollback_plan(const ResolvedPlan* plan) { m_rollback_plan = plan; }
  const ResolvedPlan* rollback_plan() const { return m_rollback_plan; }

  std::vector<core::Check> m_health; // the smoke checks, appended to the result after the actions
  std::vector<core::Check> m_analysis_checks; // one per query and analysis, appended after those
  std::vector<nlohmann::json> m_analyses;     // details.analysis (docs/analysis.md)

private:
  // `index`: the unit's position in the list given to each().
  using PerUnit = std::function<core::Status(std::size_t index, Unit& unit, std::string& log)>;
  // fn on each unit, `jobs` at a time; per-unit logs joined in unit order.
  core::Status each(const std::vector<Unit*>& units, const PerUnit& fn, std::string& log);
  std::vector<Unit*> units_for(const Action& action, bool rolling_back) const;
  core::Status dispatch(const Action& action, const ServiceSpec& service, bool rolling_back, const ResolvedPlan& plan,
                        std::string& log, core::Check& check);
  std::string target_release(const Unit& unit, bool rolling_back) const;
  const ServiceSpec& spec_for(const ResolvedPlan& plan, const Unit& unit, const std::string& service);
  core::Status command(const Action& action, bool rolling_back, const ResolvedPlan& plan, std::string& log);
  core::Status switch_units(const Action& action, bool rolling_back, const ResolvedPlan& plan, std::string& log);
  core::Status snapshot(const Action& action, const ServiceSpec& service, std::string& log);
  core::Status restore(const Action& action, std::string& log);
  core::Status backup(const ServiceSpec& service, const BackupSpec& spec, std::string& log);
  core::Status verify(const Action& action, const ServiceSpec& service, bool rolling_back, const ResolvedPlan& plan,
                      std::string& log, core::Check& check);
  // The metric analysis of the action's batch (docs/analysis.md).
  core::Status analysis(const Action& action, const ServiceSpec& service, std::string& log, core::Check& check);
  core::Status judge_analysis(const AnalysisSpec& spec, const AnalysisOutcome& outcome, const std::string& service,
                              const std::string& label, std::optional<std::string>& resumed_by);
  core::Status health(const ServiceSpec& spec, const std::string& label, bool rolling_back, std::string& log,
                      std::string& headline);
  void set_colour_hooks(Unit& unit, const ResolvedPlan& plan, bool rolling_back);

  Run& m_run;
  Prepare m_prepare;
  std::vector<Unit*> m_only;
  const ResolvedPlan* m_rollback_plan = nullptr;
  std::vector<Unit*> m_failed;
  std::mutex m_mutex; // m_health, m_specs
  std::map<std::pair<const ResolvedPlan*, std::string>, ServiceSpec> m_specs; // per plan and unit key + service
};


struct Outcome {
  bool failed = false;
  std::string reason;
  core::ErrorKind kind = core::ErrorKind::runtime;
  bool after_switch = false; // a unit had been switched when it failed
};


// Runs `actions` forward; stops at the first failure or stop reason
// (interruption, deadline, lost lock). A failure of some hosts of a batch
// within the service's max_failures rolls those hosts back alone and goes
// on without them.
Outcome run_forward(Run& run, ActionRunner& runner, const std::vector<Action>& actions, const ResolvedPlan& plan,
                    const std::string& prefix);
// Runs rollback `actions` best effort: every action is attempted on every
// target it concerns; returns the failures.
std::vector<std::string> run_backward(Run& run, ActionRunner& runner, const std::vector<Action>& actions,
                                      const ResolvedPlan& plan, const std::string& prefix);
// Services the run stopped or switched: what a rollback must undo.
std::vector<std::string> touched_services(Run& run);
// Appends the health checks and the analyses the runner ran to the run's
// result (its checks, and details.analysis).
void finish_result(Run& run, ActionRunner& runner);

} // namespace deploy
