// Repairing what an interrupted run left (a journal), and the pre-flight
// steps every run that changes targets goes through first.
#include <algorithm>
#include <filesystem>

#include "core/interrupt.hpp"
#include "deploy/action_runner.hpp"
#include "deploy/run.hpp"

namespace deploy {

namespace fs = std::filesystem;
using core::CheckStatus;
using core::ErrorKind;


// A run killed with -9 left journals. Each target is brought back to a
// recorded state: a deploy is undone (its `from` release made live again),
// a rollback is completed (its target made live); a run that had already
// recorded its success is completed. Returns what was done, for the result.
core::Status reconcile(Run& run, const EngineContext& context, const TargetOptions& options,
                       std::vector<std::string>& done) {
  struct Pending {
    Unit* unit;
    JournalRecord begin;
    std::vector<JournalRecord> records;
  };
  std::vector<Pending> pending;
  const auto units = run.all_units();
  std::vector<core::Result<JournalRead>> reads(units.size(), JournalRead{});
  run.for_each_at(units, [&](std::size_t index, Unit& unit) { reads[index] = unit.journal->read(); });
  for (std::size_t i = 0; i < units.size(); ++i) {
    Unit& unit = *units[i];
    auto& read = reads[i];
    if (!read) return read.error();
    if (read->records.empty()) continue;
    Pending item{&unit, read->records.front(), read->records};
    for (const auto& record : read->records)
      if (record.action == "run" && record.phase == "begin") item.begin = record;
    pending.push_back(std::move(item));
  }
  if (pending.empty()) return core::ok_status();
  const JournalRecord& begin = pending.front().begin;
  const std::string old_run = begin.run;
  const std::string mode = begin.data.value("mode", "deploy");
  run.progress("reconcile: run " + old_run + " (" + mode + ") did not finish; bringing its targets back to a recorded state");

  // Completed runs: the ledger entry was about to be written or was written.
  bool recorded = false;
  nlohmann::json entry_json;
  for (const auto& item : pending)
    for (const auto& record : item.records)
      if (record.action == "ledger" && record.phase == "begin") {
        recorded = true;
        entry_json = record.data;
      }
  if (recorded) {
    const LedgerEntry entry = LedgerEntry::from_json(entry_json);
    History history = read_history(run.env().units);
    const bool present = std::any_of(history.entries.begin(), history.entries.end(),
                                     [&](const LedgerEntry& seen) { return seen.id == entry.id && seen.event == entry.event; });
    std::vector<std::string> errors;
    if (!present) append_ledgers(run, entry, errors);
    if (!errors.empty()) return core::make_error(ErrorKind::runtime, errors.front());
    if (mode == "rollback" && entry.event == "rollback" && entry.outcome == "succeeded") {
      // A rollback writes the bad mark right after its own entry: a kill in
      // between must not leave the version it left unmarked (the next
      // rollback would return to it).
      const std::string left = begin.data.value("version", "");
      const bool marked = std::any_of(history.entries.begin(), history.entries.end(), [&](const LedgerEntry& seen) {
        return seen.event == "mark-bad" && seen.id == entry.id;
      });
      if (!marked && !left.empty()) {
        LedgerEntry mark = base_entry(context, entry.id, options.environment);
        mark.event = "mark-bad";
        mark.outcome = "recorded";
        mark.version = left;
        mark.release = begin.data.value("release", "");
        mark.reason = entry.reason;
        mark.finished_at = std::chrono::system_clock::now();
        append_ledgers(run, mark, errors);
        if (!errors.empty()) return core::make_error(ErrorKind::runtime, errors.front());
      }
      run.m_completed_rollback = entry.version;
    }
    std::vector<Unit*> finished;
    for (auto& item : pending) finished.push_back(item.unit);
    run.for_each(finished, [](Unit& unit) { (void)unit.journal->remove(); });
    done.push_back("run " + old_run + " had finished; its ledger entry was completed");
    run.add_check("reconcile/complete", "complete the interrupted run " + old_run, CheckStatus::pass, done.back());
    return core::ok_status();
  }

  // Otherwise: each touched target goes to the recorded release.
  const std::string target_field = mode == "rollback" ? "to" : "from";
  std::string target_version = begin.data.value(mode == "rollback" ? "to_version" : "old_version", "");
  for (auto& item : pending) {
    Unit& unit = *item.unit;
    unit.back_to = item.begin.data.value(target_field, "");
    if (unit.back_to && unit.back_to->empty()) unit.back_to.reset();
    for (const auto& record : item.records) {
      if (record.action == "switch" && record.phase == "begin") unit.switched = unit.touched = true;
      if (record.action == "stop" && record.phase == "begin") unit.stopped = unit.touched = true;
      if ((record.action == "start" || record.action == "restart") && record.phase == "done") unit.stopped = false;
    }
  }
  std::vector<Unit*> without_journal; // targets without a journal keep what they have
  for (auto& unit : run.env().units)
    if (!unit.back_to) without_journal.push_back(&unit);
  run.for_each(without_journal, [](Unit& unit) {
    auto status = unit.driver->status();
    if (status && status->current) unit.back_to = *status->current;
  });
  // Completing a rollback means every target on the release it returns to,
  // not only the targets the killed run had reached: a run killed before its
  // first switch changed nothing, and claiming it done would leave the bad
  // version live while the ledger says otherwise. Every target is switched
  // (again) to it and restarted and verified, as the rollback would have.
  const std::string rollback_to = mode == "rollback" ? begin.data.value("to", "") : "";
  if (!rollback_to.empty())
    for (auto& unit : run.env().units) {
      unit.back_to = rollback_to;
      unit.switched = unit.touched = true;
    }
  if (target_version.empty())
    for (const auto& item : pending)
      if (item.unit->back_to) target_version = version_of_release(*item.unit->back_to);
  Variables run_values = placeholder_run_values(options.environment, target_version);
  for (const auto& unit : run.env().units)
    if (unit.back_to) {
      run_values = real_run_values(context, options.environment, target_version, begin.data.value("version", ""),
                                   *unit.back_to, run.env().units.front());
      break;
    }
  for (const auto& [key, value] : options.vars) run_values[key] = value;
  auto plan = resolve_plan(*run.env().plan, options.environment, base_variables(context), run_values);
  if (!plan) return plan.error();
  const auto touched = touched_services(run);
  ActionRunner runner(run, [](const ServiceSpec&, std::string&) { return core::ok_status(); });
  run.m_restore_from = begin.data.value("release", "");
  const Mode saved_mode = run.m_mode;
  const std::string saved_version = run.m_version;
  run.m_mode = Mode::reconcile;
  run.m_version = target_version;
  const auto failures = run_backward(run, runner, rollback_actions(*plan, touched), *plan, "reconcile");
  finish_result(run, runner);
  // The never-live release of an undone deploy is removed.
  if (mode == "deploy") {
    std::vector<Unit*> undone;
    for (auto& item : pending) undone.push_back(item.unit);
    const std::string release = begin.data.value("release", "");
    if (!release.empty())
      run.for_each(undone, [&](Unit& unit) {
        auto status = unit.driver->status();
        if (status && (!status->current || *status->current != release)) (void)unit.driver->discard(release);
      });
  }
  LedgerEntry entry = base_entry(context, run.run_id(), options.environment);
  entry.event = "reconcile";
  entry.version = target_version;
  for (const auto& unit : run.env().units)
    if (unit.back_to) entry.release = *unit.back_to;
  entry.previous_release = begin.data.value("release", "");
  entry.previous_version = begin.data.value("version", "");
  entry.outcome = failures.empty() ? (touched.empty() ? "recorded" : "succeeded") : "failed";
  std::string repaired_names;
  for (const auto& unit : run.env().units)
    if (unit.touched) repaired_names += (repaired_names.empty() ? "" : ", ") + unit.name();
  entry.reason = "run " + old_run + " (" + mode + " of " + begin.data.value("version", "?") +
                 ") stopped before it finished (killed, crashed or a target was unreachable); " +
                 (touched.empty() ? "nothing live had changed"
                                  : "targets returned to " + target_version + ": " + repaired_names);
  entry.finished_at = std::chrono::system_clock::now();
  std::vector<std::string> errors;
  append_ledgers(run, entry, errors);
  if (mode == "rollback" && failures.empty()) {
    // The rollback that was cut short, recorded as it would have recorded
    // itself: the version returned to is live, the one left is bad.
    LedgerEntry rollback = entry;
    rollback.event = "rollback";
    rollback.outcome = "succeeded";
    rollback.reason = "completed after run " + old_run + " was interrupted";
    append_ledgers(run, rollback, errors);
    LedgerEntry mark = base_entry(context, run.run_id(), options.environment);
    mark.event = "mark-bad";
    mark.outcome = "recorded";
    mark.version = begin.data.value("version", "");
    mark.release = begin.data.value("release", "");
    mark.reason = "rolled back (run " + old_run + ", completed after an interruption)";
    mark.finished_at = std::chrono::system_clock::now();
    if (!mark.version.empty()) append_ledgers(run, mark, errors);
    run.m_completed_rollback = target_version;
  }
  run.m_mode = saved_mode;
  run.m_version = saved_version;
  for (auto& unit : run.env().units) {
    unit.switched = false;
    unit.stopped = false;
    unit.touched = false;
    unit.back_to.reset();
  }
  if (!failures.empty())
    return core::make_error(ErrorKind::runtime, "could not reconcile the interrupted run " + old_run + ": " +
                                                    failures.front() + "; fix the target by hand, then run again");
  std::vector<Unit*> repaired;
  for (auto& item : pending) repaired.push_back(item.unit);
  run.for_each(repaired, [](Unit& unit) { (void)unit.journal->remove(); });
  done.push_back(entry.reason);
  return core::ok_status();
}


core::StepResult blocked(Run& run, const std::string& reason) {
  run.unlock();
  auto& result = run.result();
  // A job cancelled while waiting for the lock is interrupted, not refused.
  const bool interrupted = core::interrupted();
  const std::string outcome = interrupted ? "interrupted" : "blocked";
  result.verdict = core::Verdict::fail;
  result.exit_code = interrupted ? core::ExitCode::interrupted : core::ExitCode::blocked;
  result.headline = interrupted ? "FAIL: interrupted before any change: " + reason
                                : "FAIL: blocked before any change: " + reason;
  result.details["outcome"] = outcome;
  result.details["reason"] = reason;
  result.outputs = {{"verdict", "fail"}, {"outcome", outcome}};
  return result;
}

// Lock, layout, reconciliation: common to deploy and rollback.
std::optional<std::string> prepare_targets(Run& run, const EngineContext& context, const TargetOptions& options,
                                           std::vector<std::string>& reconciled) {
  const Plan& plan = *run.env().plan;
  const EnvironmentSpec& environment = *run.env().resolved.environment;
  if (environment.paused) {
    const std::string why = environment.name + " is paused in the plan" +
                            (environment.pause_reason.empty() ? "" : ": " + environment.pause_reason);
    run.add_check("preflight/not-paused", "the environment is not paused", CheckStatus::fail,
                  why + "; remove `paused` from the plan to deploy");
    return why;
  }
  run.add_check("preflight/not-paused", "the environment is not paused", CheckStatus::pass, environment.name + " is open");
  const auto units = run.all_units();
  std::vector<std::string> problems(units.size());
  run.for_each_at(units, [&](std::size_t index, Unit& unit) {
    if (auto ensured = unit.driver->ensure(); !ensured) problems[index] = ensured.error().describe();
  });
  std::vector<std::string> failed;
  for (const auto& problem : problems)
    if (!problem.empty()) failed.push_back(problem);
  if (!failed.empty()) {
    std::string why = failed.front();
    if (failed.size() > 1) why += " (and " + std::to_string(failed.size() - 1) + " more targets)";
    run.add_check("preflight/targets", "every target is usable", CheckStatus::fail, why);
    return why;
  }
  const auto ttl = options.lock_ttl.value_or(plan.lock_ttl_duration);
  if (auto locked = run.lock(options.wait_lock, ttl); !locked) {
    run.add_check("preflight/lock", "the deploy lock is free", CheckStatus::fail, locked.error().describe());
    if (locked.error().kind == ErrorKind::interrupted) return std::string("interrupted while waiting for the lock");
    return locked.error().message;
  }
  run.add_check("preflight/lock", "the deploy lock is free", CheckStatus::pass,
                "held by this run (" + run.run_id() + ") for " + std::to_string(ttl.count() / 1000) +
                    " s, renewed while it runs");
  if (auto reconciled_ok = reconcile(run, context, options, reconciled); !reconciled_ok) {
    run.add_check("preflight/reconcile", "no interrupted run is left half-done", CheckStatus::fail,
                  reconciled_ok.error().describe());
    return reconciled_ok.error().message;
  }
  run.add_check("preflight/reconcile", "no interrupted run is left half-done", CheckStatus::pass,
                reconciled.empty() ? "no journal left by an earlier run" : reconciled.front());
  return std::nullopt;
}

} // namespace deploy
