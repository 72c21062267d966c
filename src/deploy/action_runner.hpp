#pragma once
// Performing the actions of deploy/actions.hpp on the targets of a run:
// each one journalled before and after, timed, its output kept as the
// transcript of its entry in the result. Internal to the deploy engine.
#include <functional>
#include <string>
#include <vector>

#include "deploy/actions.hpp"
#include "deploy/run.hpp"

namespace deploy {

class ActionRunner {
public:
  using Prepare = std::function<core::Status(const ServiceSpec& service, std::string& log)>;
  ActionRunner(Run& run, Prepare prepare) : m_run(run), m_prepare(std::move(prepare)) {}

  // Performs one action on every unit of its service; fills `check`.
  core::Status perform(const Action& action, bool rolling_back, const ResolvedPlan& plan, core::Check& check);

private:
  core::Status dispatch(const Action& action, const ServiceSpec& service, bool rolling_back, const ResolvedPlan& plan,
                        std::string& log, core::Check& check);

  std::string target_release(const Unit& unit, bool rolling_back) const;

  core::Status command(const Action& action, bool rolling_back, std::string& log);

  core::Status switch_units(const ServiceSpec& service, bool rolling_back, std::string& log);

  core::Status snapshot(const ServiceSpec& service, std::string& log);

  core::Status restore(const ServiceSpec& service, std::string& log);

  core::Status backup(const ServiceSpec& service, const BackupSpec& spec, std::string& log);

  core::Status verify(const ServiceSpec& service, bool rolling_back, const ResolvedPlan&, std::string& log,
                      core::Check& check);

public:
  std::vector<core::Check> m_health; // the smoke checks, appended to the result after the actions

private:
  Run& m_run;
  Prepare m_prepare;
};


struct Outcome {
  bool failed = false;
  std::string reason;
  core::ErrorKind kind = core::ErrorKind::runtime;
  bool after_switch = false; // a unit had been switched when it failed
};


// Runs `actions` forward; stops at the first failure or stop reason
// (interruption, deadline, lost lock).
Outcome run_forward(Run& run, ActionRunner& runner, const std::vector<Action>& actions, const ResolvedPlan& plan,
                    const std::string& prefix);
// Runs rollback `actions` best effort: every action is attempted; returns
// the failures.
std::vector<std::string> run_backward(Run& run, ActionRunner& runner, const std::vector<Action>& actions,
                                      const ResolvedPlan& plan, const std::string& prefix);
// Services the run stopped or switched: what a rollback must undo.
std::vector<std::string> touched_services(Run& run);
// Appends the health checks the runner ran to the run's result.
void finish_result(Run& run, ActionRunner& runner);

} // namespace deploy
