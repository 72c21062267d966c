#include "deploy/action_runner.hpp"

#include <algorithm>
#include <filesystem>
#include <thread>

#include "deploy/analysis.hpp"
#include "deploy/plan_analysis.hpp"

#include "core/interrupt.hpp"
#include "core/text.hpp"
#include "core/time.hpp"
#include "deploy/artifact.hpp"
#include "deploy/blue_green.hpp"
#include "deploy/parallel.hpp"
#include "smoke/executor.hpp"
#include "smoke/runner.hpp"
#include "smoke/verdict.hpp"

namespace deploy {
namespace {

using core::CheckStatus;
using core::ErrorKind;

constexpr Milliseconds k_pause_poll{250};

smoke::Suite capped(const smoke::Suite& suite, Milliseconds remaining) {
  smoke::Suite out = suite;
  if (remaining.count() > 0 && out.wait) out.wait->deadline = std::min(out.wait->deadline, remaining);
  return out;
}

// The result's entry for one action ("deploy/03-switch-api"), announced
// on stderr as it starts.
core::Check& start_action(Run& run, const std::string& prefix, int index, std::size_t total, const Action& action) {
  char number[16];
  std::snprintf(number, sizeof number, "%02d", index);
  run.progress(prefix + " [" + std::to_string(index) + "/" + std::to_string(total) + "] " + action.describe());
  std::string id = prefix + "/" + number + "-" + std::string(to_string(action.kind)) + "-" + action.service;
  if (action.batch >= 0) id += "-batch" + std::to_string(action.batch + 1);
  return run.add_check(id, action.describe(), CheckStatus::pass, "");
}

const CommandSpec* command_of(const ServiceSpec& spec, Action::Kind kind) {
  switch (kind) {
  case Action::Kind::stop: return &spec.stop;
  case Action::Kind::start: return &spec.start;
  case Action::Kind::reload: return &spec.reload;
  case Action::Kind::restart: return &spec.restart;
  default: return nullptr;
  }
}

std::string names_of(const std::vector<Unit*>& units) {
  std::string out;
  for (const Unit* unit : units) out += (out.empty() ? "" : ", ") + unit->name();
  return out;
}

bool is_deadline(const std::string& stop) {
  return core::starts_with(stop, "the planned deadline");
}

// What `deploy-stage --resume` or `--abort` said to a waiting run.
struct Signal {
  bool resume = false;
  std::string by; // who; "someone" when the CI user is unknown
};

// Waits for `deploy-stage --resume` or `--abort` (a control.json naming
// this run on the service's first target). The wait is journalled as a
// "pause" on every target of the service, which is how those commands find
// the run; it does not count against the deadline. Fails when the run must
// stop for another reason (interrupted, lock lost).
core::Result<Signal> wait_for_signal(Run& run, const std::string& service, const std::string& announcement) {
  const auto start = SteadyClock::now();
  auto units = units_of(run.env(), service);
  run.for_each(units, [&](Unit& unit) { run.journal(unit, "pause", "begin", {{"run", run.run_id()}}); });
  run.progress(announcement + ": run `shipgate deploy-stage --resume` (or --abort) with the same --plan and --env "
               "to go on");
  auto store = units.front()->driver->state_store();
  std::string verdict, by;
  for (;;) {
    const std::string stop = run.stop_reason();
    if (!stop.empty() && !is_deadline(stop)) return core::make_error(ErrorKind::runtime, stop);
    auto control = store->read("control.json");
    if (control && *control) {
      const auto value = nlohmann::json::parse(**control, nullptr, false);
      if (value.is_object() && value.value("run", "") == run.run_id()) {
        verdict = value.value("action", "");
        by = value.value("by", "");
        (void)store->remove("control.json");
        if (verdict == "resume" || verdict == "abort") break;
      }
    }
    std::this_thread::sleep_for(k_pause_poll);
  }
  run.extend_deadline(std::chrono::duration_cast<Milliseconds>(SteadyClock::now() - start));
  run.for_each(units, [&](Unit& unit) { run.journal(unit, "pause", "done", {{"decision", verdict}, {"by", by}}); });
  return Signal{verdict == "resume", by.empty() ? std::string("someone") : by};
}

// The analysis' wait between two samples: stopped by an interruption or a
// lost lock; like a pause, not counted against the deadline.
std::string analysis_wait(Run& run, Milliseconds duration) {
  const auto start = SteadyClock::now();
  const auto until = start + duration;
  std::string stop;
  while (SteadyClock::now() < until) {
    stop = run.stop_reason();
    if (!stop.empty() && !is_deadline(stop)) break;
    stop.clear();
    std::this_thread::sleep_for(std::min<Milliseconds>(
        k_pause_poll, std::chrono::duration_cast<Milliseconds>(until - SteadyClock::now())));
  }
  run.extend_deadline(std::chrono::duration_cast<Milliseconds>(SteadyClock::now() - start));
  return stop;
}

} // namespace

core::Status ActionRunner::perform(const Action& action, bool rolling_back, const ResolvedPlan& plan, core::Check& check) {
  m_failed.clear();
  const ServiceSpec* service = service_spec(plan, action.service);
  if (!service) return core::make_error(ErrorKind::runtime, "service " + action.service + " is not in the plan");
  const auto start = SteadyClock::now();
  std::string log;
  core::Status status = dispatch(action, *service, rolling_back, plan, log, check);
  check.seconds = seconds_since(start);
  check.transcript = core::truncate(log, k_max_transcript);
  check.status = status ? CheckStatus::pass : CheckStatus::fail;
  if (!status) check.explanation = status.error().describe();
  else if (check.explanation.empty()) check.explanation = "done";
  return status;
}

core::Status ActionRunner::each(const std::vector<Unit*>& units, const PerUnit& fn, std::string& log) {
  std::vector<std::string> logs(units.size());
  std::vector<core::Status> results(units.size(), core::ok_status());
  parallel_for(units.size(), m_run.jobs(), [&](std::size_t i) { results[i] = fn(i, *units[i], logs[i]); });
  m_failed.clear();
  std::vector<const core::Error*> errors;
  for (std::size_t i = 0; i < units.size(); ++i) {
    log += logs[i];
    if (!results[i]) {
      m_failed.push_back(units[i]);
      errors.push_back(&results[i].error());
    }
  }
  if (errors.empty()) return core::ok_status();
  core::Error error = *errors.front();
  if (errors.size() > 1)
    error.message += " (" + std::to_string(errors.size()) + " targets failed: " + names_of(m_failed) + ")";
  return error;
}

std::vector<Unit*> ActionRunner::units_for(const Action& action, bool rolling_back) const {
  std::vector<Unit*> out;
  for (Unit* unit : units_of(m_run.env(), action.service)) {
    if (action.batch >= 0 && unit->batch != action.batch) continue;
    const bool chosen = std::find(m_only.begin(), m_only.end(), unit) != m_only.end();
    if (!m_only.empty() && !chosen) continue;
    // A host dropped within max_failures was already put back alone.
    if (unit->dropped && !chosen) continue;
    // A rollback undoes what the run did: the targets it touched.
    if (rolling_back && action.in_batch && !unit->touched) continue;
    out.push_back(unit);
  }
  return out;
}

core::Status ActionRunner::dispatch(const Action& action, const ServiceSpec& service, bool rolling_back,
                                    const ResolvedPlan& plan, std::string& log, core::Check& check) {
  switch (action.kind) {
  case Action::Kind::prepare: return m_prepare(service, log);
  case Action::Kind::snapshot_config: return snapshot(action, service, log);
  case Action::Kind::backup: return backup(service, *action.backup, log);
  case Action::Kind::stop:
  case Action::Kind::start:
  case Action::Kind::reload:
  case Action::Kind::restart: return command(action, rolling_back, plan, log);
  case Action::Kind::switch_current: return switch_units(action, rolling_back, plan, log);
  case Action::Kind::restore_config: return restore(action, log);
  case Action::Kind::verify: return verify(action, service, rolling_back, plan, log, check);
  case Action::Kind::pause: return core::ok_status(); // run_forward waits itself
  case Action::Kind::analysis: return analysis(action, service, log, check);
  }
  return core::ok_status();
}

std::string ActionRunner::target_release(const Unit& unit, bool rolling_back) const {
  return rolling_back ? unit.back_to.value_or("") : m_run.m_release;
}

const ServiceSpec& ActionRunner::spec_for(const ResolvedPlan& plan, const Unit& unit, const std::string& service) {
  const ServiceSpec* shared = service_spec(plan, service);
  if (unit.driver->variables().empty()) return *shared;
  std::lock_guard<std::mutex> guard(m_mutex);
  const auto key = std::make_pair(&plan, unit.driver->key() + "\n" + service);
  auto found = m_specs.find(key);
  if (found != m_specs.end()) return found->second;
  // The environment-wide plan resolved; only the target's own values can
  // fail here, and then its stand-ins are the best available.
  auto own = unit_service(plan, unit);
  return m_specs.emplace(key, own ? *own : *shared).first->second;
}

core::Status ActionRunner::command(const Action& action, bool rolling_back, const ResolvedPlan& plan, std::string& log) {
  const std::string kind(to_string(action.kind));
  return each(units_for(action, rolling_back), [&](std::size_t, Unit& unit, std::string& out) -> core::Status {
    if (rolling_back && !unit.back_to && action.kind != Action::Kind::stop) {
      // A first deploy has nothing older to start: the failed release stays stopped.
      out += unit.name() + ": first deploy, no earlier release to " + kind + "; left stopped\n";
      return core::ok_status();
    }
    const CommandSpec* command = command_of(spec_for(plan, unit, action.service), action.kind);
    if (!command || command->empty()) return core::ok_status();
    m_run.journal(unit, kind, "begin");
    if (action.kind == Action::Kind::stop) {
      unit.stopped = true;
      unit.touched = true;
    }
    auto done = m_run.run_command(*command, unit, target_release(unit, rolling_back), rolling_back, out);
    m_run.journal(unit, kind, done ? "done" : "failed");
    if (!done) return core::make_error(ErrorKind::runtime, unit.name() + ": " + done.error().describe());
    if (action.kind != Action::Kind::stop) unit.stopped = false;
    return core::ok_status();
  }, log);
}

void ActionRunner::set_colour_hooks(Unit& unit, const ResolvedPlan& plan, bool rolling_back) {
  BlueGreenDriver* blue_green = as_blue_green(*unit.driver);
  if (!blue_green) return;
  const ServiceSpec* service = service_spec(plan, unit.service);
  auto colour_spec = [this, &plan, &unit, service](const std::string& colour) -> core::Result<ServiceSpec> {
    Variables values = {{"COLOUR", colour}};
    for (const auto& spec : service->strategy.blue_green.colours)
      if (spec.name == colour)
        for (const auto& [name, value] : spec.variables) values[name] = value;
    return unit_service(plan, unit, values);
  };
  ColourHooks hooks;
  hooks.command = [this, &unit, colour_spec, rolling_back](const std::string& colour, const std::string& what,
                                                           const std::string& release,
                                                           std::string& log) -> core::Status {
    auto spec = colour_spec(colour);
    if (!spec) return spec.error();
    const CommandSpec& command = what == "stop" ? spec->stop : spec->start;
    if (command.empty()) return core::ok_status();
    return m_run.run_command(command, unit, release, rolling_back, log);
  };
  hooks.verify = [this, colour_spec, rolling_back](const std::string& colour, std::string& log) -> core::Status {
    auto spec = colour_spec(colour);
    if (!spec) return spec.error();
    std::string headline;
    auto healthy = health(*spec, colour, rolling_back, log, headline);
    if (healthy) return healthy;
    // The blue-green driver names the colour itself.
    core::Error error = healthy.error();
    if (core::starts_with(error.message, colour + ": ")) error.message.erase(0, colour.size() + 2);
    return error;
  };
  blue_green->set_hooks(std::move(hooks));
}

core::Status ActionRunner::switch_units(const Action& action, bool rolling_back, const ResolvedPlan& plan,
                                        std::string& log) {
  return each(units_for(action, rolling_back), [&](std::size_t, Unit& unit, std::string& out) -> core::Status {
    if (rolling_back && !unit.switched) {
      out += unit.name() + ": not switched, nothing to undo\n";
      return core::ok_status();
    }
    const std::string target = target_release(unit, rolling_back);
    if (target.empty()) {
      out += unit.name() + ": no earlier release to return to (first deploy); left as is\n";
      return core::ok_status();
    }
    const std::string before = rolling_back ? m_run.m_release : unit.from.value_or("");
    set_colour_hooks(unit, plan, rolling_back);
    m_run.journal(unit, "switch", "begin", {{"from", before}, {"to", target}});
    auto switched = unit.driver->activate(target, rolling_back);
    out += unit.driver->take_log();
    m_run.journal(unit, "switch", switched ? "done" : "failed", {{"from", before}, {"to", target}});
    if (!switched) return switched;
    unit.switched = !rolling_back;
    if (!rolling_back) {
      unit.went_live = true;
      unit.touched = true;
    }
    out += unit.name() + ": current -> releases/" + target + "\n";
    return core::ok_status();
  }, log);
}

core::Status ActionRunner::snapshot(const Action& action, const ServiceSpec& service, std::string& log) {
  const auto units = units_for(action, false);
  std::vector<std::string> combined(units.size());
  auto done = each(units, [&](std::size_t index, Unit& unit, std::string& out) -> core::Status {
    m_run.journal(unit, "snapshot-config", "begin");
    auto manifest = unit.driver->snapshot_config(m_run.m_release, service.config_files);
    if (!manifest) return core::make_error(ErrorKind::runtime, unit.name() + ": " + manifest.error().describe());
    for (const auto& file : service.config_files) {
      const auto digest = manifest->find(file);
      if (digest == manifest->end() || !digest->is_string()) {
        out += unit.name() + ": " + file + ": absent (nothing to snapshot)\n";
        continue;
      }
      combined[index] += file + " " + digest->get<std::string>() + "\n";
      out += unit.name() + ": " + file + ": sha256 " + digest->get<std::string>() + "\n";
    }
    m_run.journal(unit, "snapshot-config", "done");
    return core::ok_status();
  }, log);
  std::string all;
  for (const auto& text : combined) all += text;
  m_run.m_config_sha[service.name] = all;
  return done;
}

core::Status ActionRunner::restore(const Action& action, std::string& log) {
  return each(units_for(action, true), [&](std::size_t, Unit& unit, std::string& out) -> core::Status {
    auto restored = unit.driver->restore_config(m_run.m_restore_from);
    if (!restored) return core::make_error(ErrorKind::runtime, unit.name() + ": " + restored.error().describe());
    if (restored->empty()) out += unit.name() + ": configuration unchanged since " + m_run.m_restore_from + "\n";
    for (const auto& line : *restored) out += unit.name() + ": " + line + "\n";
    return core::ok_status();
  }, log);
}

core::Status ActionRunner::backup(const ServiceSpec& service, const BackupSpec& spec, std::string& log) {
  auto units = units_of(m_run.env(), service.name);
  Unit& unit = *units.front();
  m_run.journal(unit, "backup", "begin", {{"name", spec.name}});
  auto ran = m_run.run_command(spec.command, unit, m_run.m_release, false, log, m_run.m_backup_dir);
  if (!ran) return ran;
  auto facts = unit.driver->file_facts(spec.output);
  if (!facts) return facts.error();
  if (!*facts)
    return core::make_error(ErrorKind::runtime, "backup " + spec.name + " did not produce " + spec.output, spec.location);
  if ((*facts)->size == 0)
    return core::make_error(ErrorKind::runtime, "backup " + spec.name + " produced an empty " + spec.output,
                            spec.location);
  m_run.m_backups.push_back({{"service", service.name}, {"name", spec.name}, {"file", spec.output},
                             {"bytes", (*facts)->size}, {"sha256", (*facts)->sha256}, {"target", unit.name()}});
  log += spec.output + ": " + std::to_string((*facts)->size) + " bytes, sha256 " + (*facts)->sha256 + "\n";
  m_run.journal(unit, "backup", "done", {{"name", spec.name}});
  return core::ok_status();
}

core::Status ActionRunner::health(const ServiceSpec& spec, const std::string& label, bool rolling_back,
                                  std::string& log, std::string& headline) {
  if (!spec.health) {
    headline = "no health checks in the plan; `current` verified";
    return core::ok_status();
  }
  auto executor = smoke::make_real_executor();
  auto clock = smoke::make_real_clock();
  smoke::Runner runner(*executor, *clock);
  const smoke::Suite suite = rolling_back ? *spec.health : capped(*spec.health, m_run.remaining());
  const smoke::SmokeReport report = runner.run(suite);
  core::StepResult judged = smoke::judge(suite, report);
  const std::string prefix = label.empty() ? "" : label + ": ";
  {
    std::lock_guard<std::mutex> guard(m_mutex);
    for (auto& sub : judged.checks) {
      log += prefix + "[" + std::string(core::to_string(sub.status)) + "] " + sub.id + ": " + sub.explanation + "\n";
      sub.id = "health/" + spec.name + "/" + (label.empty() ? "" : label + "/") + sub.id;
      m_health.push_back(sub);
    }
  }
  headline = judged.headline;
  if (judged.verdict == core::Verdict::pass) return core::ok_status();
  return core::make_error(ErrorKind::runtime,
                          prefix + "health checks of " + spec.name + " failed: " + judged.headline);
}

core::Status ActionRunner::verify(const Action& action, const ServiceSpec& service, bool rolling_back,
                                  const ResolvedPlan& plan, std::string& log, core::Check& check) {
  const auto units = units_for(action, rolling_back);
  const bool several = units_of(m_run.env(), service.name).size() > 1;
  std::vector<std::string> headlines(units.size());
  auto done = each(units, [&](std::size_t index, Unit& unit, std::string& out) -> core::Status {
    const std::string target = target_release(unit, rolling_back);
    if (target.empty()) return core::ok_status();
    if (auto verified = unit.driver->verify(target); !verified) return verified;
    return health(spec_for(plan, unit, service.name), several ? unit.name() : std::string(), rolling_back, out,
                  headlines[index]);
  }, log);
  if (done) {
    if (units.size() == 1) check.explanation = headlines.front();
    else check.explanation = std::to_string(units.size()) + " targets verified" +
                             (service.health ? ", health checks passed on each" : " (no health checks in the plan)");
  }
  return done;
}

core::Status ActionRunner::analysis(const Action& action, const ServiceSpec& service, std::string& log,
                                    core::Check& check) {
  const AnalysisSpec& spec = action.analysis ? *action.analysis : *service.analysis;
  auto url = prometheus_url(spec, m_run.m_context.env);
  if (!url) return url.error();
  for (const auto& secret : url_secrets(*url)) m_run.m_context.output.add_secret(secret);
  const std::string label = service.name + (action.batch_label.empty() ? "" : ", " + action.batch_label);
  m_run.progress("analysis of " + label + ": " + std::to_string(spec.count) + " round(s) of " +
                 std::to_string(spec.queries.size()) + " query(ies) from Prometheus at " + display_url(*url));
  PrometheusClient client(*url, query_timeout(spec));
  const AnalysisClock clock{[] { return SystemClock::now(); },
                            [this](Milliseconds duration) { return analysis_wait(m_run, duration); }};
  const AnalysisOutcome outcome = run_analysis(spec, client, clock);
  for (const auto& record : outcome.queries) log += record.name + ":\n" + samples_transcript(record);
  std::optional<std::string> resumed_by;
  core::Status status = judge_analysis(spec, outcome, service.name, label, resumed_by);
  const int batch = action.batch < 0 ? 1 : action.batch + 1;
  nlohmann::json entry = analysis_json(service.name, batch, outcome);
  if (resumed_by) entry["resumed_by"] = *resumed_by;
  const std::string prefix = "analysis/" + service.name + (action.batch < 0 ? "" : "/batch" + std::to_string(batch));
  std::lock_guard<std::mutex> guard(m_mutex);
  m_analyses.push_back(std::move(entry));
  for (auto& sub : query_checks(prefix, label, spec, outcome, resumed_by)) m_analysis_checks.push_back(std::move(sub));
  if (status) check.explanation = std::string(resumed_by ? "inconclusive, resumed by " + *resumed_by : "passed") +
                                  ": " + outcome.reason;
  return status;
}

// What the decision means for the deploy: go on, roll back, or (no data,
// `inconclusive: pause`) whatever `deploy-stage --resume` or `--abort` says.
core::Status ActionRunner::judge_analysis(const AnalysisSpec& spec, const AnalysisOutcome& outcome,
                                          const std::string& service, const std::string& label,
                                          std::optional<std::string>& resumed_by) {
  if (!outcome.stopped.empty()) return core::make_error(ErrorKind::runtime, outcome.stopped);
  const std::string what = "the analysis of " + label;
  switch (outcome.decision) {
  case Decision::passed: return core::ok_status();
  case Decision::failed: return core::make_error(ErrorKind::runtime, what + " failed: " + outcome.reason);
  case Decision::inconclusive: break;
  }
  if (!spec.inconclusive_pause)
    return core::make_error(ErrorKind::runtime, what + " was inconclusive (" + outcome.reason +
                                                    "); no data is never a pass (inconclusive: fail)");
  auto signal = wait_for_signal(m_run, service, what + " was inconclusive (" + outcome.reason + "); paused");
  if (!signal) return signal.error();
  if (!signal->resume)
    return core::make_error(ErrorKind::runtime, what + " was inconclusive (" + outcome.reason + ") and " +
                                                    signal->by + " aborted the deploy");
  resumed_by = signal->by;
  return core::ok_status();
}

namespace {

// Whether the hosts that failed an action of their batch stay within the
// strategy's max_failures: then they are rolled back alone and the deploy
// goes on. Never for the canary batch, and never when no host of the
// batch is left.
bool tolerated(Run& run, const Action& action, const std::vector<Unit*>& failed, const ResolvedPlan& plan) {
  const ServiceSpec* service = service_spec(plan, action.service);
  if (!action.in_batch || !service || failed.empty() || service->strategy.max_failures <= 0) return false;
  if (service->strategy.kind == StrategySpec::Kind::canary && action.batch == 0) return false;
  int dropped = 0, batch_size = 0;
  for (Unit* unit : units_of(run.env(), action.service)) {
    if (action.batch >= 0 && unit->batch != action.batch) continue;
    ++batch_size;
    if (unit->dropped) ++dropped;
  }
  const int total = dropped + static_cast<int>(failed.size());
  return total <= service->strategy.max_failures && total < batch_size;
}

// A canary pause: a fixed time, or until `deploy-stage --resume`.
core::Status pause(Run& run, const Action& action, core::Check& check) {
  const auto start = SteadyClock::now();
  if (!action.until_resume) {
    const auto until = start + action.pause;
    while (SteadyClock::now() < until) {
      const std::string stop = run.stop_reason();
      if (!stop.empty()) return core::make_error(ErrorKind::runtime, stop);
      std::this_thread::sleep_for(std::min<Milliseconds>(
          k_pause_poll, std::chrono::duration_cast<Milliseconds>(until - SteadyClock::now())));
    }
    run.extend_deadline(std::chrono::duration_cast<Milliseconds>(SteadyClock::now() - start));
    check.explanation = "paused " + format_seconds(seconds_since(start)) + " after the canary batch";
    return core::ok_status();
  }
  auto signal = wait_for_signal(run, action.service, "paused after the canary batch of " + action.service);
  if (!signal) return signal.error();
  if (!signal->resume)
    return core::make_error(ErrorKind::runtime, "aborted by " + signal->by + " during the canary pause");
  check.explanation = "resumed by " + signal->by + " after " + format_seconds(seconds_since(start));
  return core::ok_status();
}

} // namespace

Outcome run_forward(Run& run, ActionRunner& runner, const std::vector<Action>& actions, const ResolvedPlan& plan,
                    const std::string& prefix) {
  Outcome outcome;
  int index = 0;
  for (const auto& action : actions) {
    ++index;
    const std::string stop = run.stop_reason();
    if (!stop.empty()) {
      outcome = {true, stop, ErrorKind::runtime, false};
      break;
    }
    core::Check& check = start_action(run, prefix, index, actions.size(), action);
    if (action.kind == Action::Kind::pause) {
      const auto start = SteadyClock::now();
      auto paused = pause(run, action, check);
      check.seconds = seconds_since(start);
      if (!paused) {
        check.status = CheckStatus::fail;
        check.explanation = paused.error().describe();
        outcome = {true, paused.error().describe(), ErrorKind::runtime, false};
        break;
      }
      continue;
    }
    const std::size_t check_index = run.result().checks.size() - 1;
    auto done = runner.perform(action, false, plan, check);
    if (done && !run.journal_error().empty())
      done = core::make_error(ErrorKind::runtime, "cannot write the journal: " + run.journal_error());
    if (!done && !core::interrupted() && tolerated(run, action, runner.failed_units(), plan)) {
      // Within max_failures: these hosts go back alone; the rest goes on.
      const std::vector<Unit*> failed = runner.failed_units();
      for (Unit* unit : failed) unit->dropped = true;
      const ResolvedPlan& back = runner.rollback_plan() ? *runner.rollback_plan() : plan;
      const Mode mode = run.m_mode;
      const std::string version = run.m_version;
      run.m_mode = Mode::rollback;
      run.m_version = run.m_old_version;
      runner.only(failed);
      const auto failures = run_backward(run, runner, rollback_actions(back, {action.service}), back,
                                         prefix + "-drop" + std::to_string(index));
      runner.only({});
      run.m_mode = mode;
      run.m_version = version;
      // The rollback's own entries were added after this action's: find it again.
      core::Check& entry = run.result().checks[check_index];
      for (Unit* unit : failed) {
        unit->switched = false;
        unit->stopped = false;
        run.m_dropped.push_back(unit->name());
      }
      entry.status = CheckStatus::warn;
      entry.explanation = done.error().describe() + "; within max_failures (" +
                          std::to_string(service_spec(plan, action.service)->strategy.max_failures) +
                          "): rolled back alone" + (failures.empty() ? "" : " (that rollback failed: " + failures.front() + ")") +
                          ", the deploy goes on without them";
      if (!failures.empty())
        for (Unit* unit : failed) unit->rollback_failed = true;
      run.clear_journal_error();
      continue;
    }
    if (!done) {
      outcome = {true, done.error().describe(), done.error().kind, false};
      break;
    }
  }
  if (outcome.failed) {
    if (core::interrupted()) outcome.reason = "interrupted (SIGINT/SIGTERM) during: " + outcome.reason;
    for (const auto& unit : run.env().units)
      if (unit.switched) outcome.after_switch = true;
  }
  return outcome;
}

std::vector<std::string> run_backward(Run& run, ActionRunner& runner, const std::vector<Action>& actions,
                                      const ResolvedPlan& plan, const std::string& prefix) {
  std::vector<std::string> failures;
  int index = 0;
  for (const auto& action : actions) {
    ++index;
    core::Check& check = start_action(run, prefix, index, actions.size(), action);
    auto done = runner.perform(action, true, plan, check);
    if (!done) {
      failures.push_back(done.error().describe());
      for (Unit* unit : runner.failed_units()) unit->rollback_failed = true;
    }
  }
  return failures;
}

std::vector<std::string> touched_services(Run& run) {
  std::vector<std::string> out;
  for (const auto& unit : run.env().units)
    if ((unit.switched || unit.stopped) && std::find(out.begin(), out.end(), unit.service) == out.end())
      out.push_back(unit.service);
  return out;
}

void finish_result(Run& run, ActionRunner& runner) {
  for (auto& check : runner.m_health) run.result().checks.push_back(check);
  runner.m_health.clear();
  for (auto& check : runner.m_analysis_checks) run.result().checks.push_back(check);
  runner.m_analysis_checks.clear();
  if (runner.m_analyses.empty()) return;
  nlohmann::json& all = run.result().details["analysis"];
  if (!all.is_array()) all = nlohmann::json::array();
  for (auto& analysis : runner.m_analyses) all.push_back(std::move(analysis));
  runner.m_analyses.clear();
}

} // namespace deploy
