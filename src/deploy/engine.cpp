// The deploy engine (docs/deploy.md): deploy-stage and rollback. One Run
// drives every target of an environment through the actions of
// deploy/actions.hpp, journalling each on the targets it touches, and rolls
// back what it changed when an action fails, the deadline passes or the job
// is interrupted.
#include "deploy/engine.hpp"

#include <algorithm>
#include <filesystem>
#include <thread>

#include "core/interrupt.hpp"
#include "core/text.hpp"
#include "core/time.hpp"
#include "deploy/action_runner.hpp"
#include "deploy/analysis.hpp"
#include "deploy/artifact_choice.hpp"
#include "deploy/databases.hpp"
#include "deploy/layout.hpp"
#include "deploy/plan_analysis.hpp"
#include "deploy/run.hpp"
#include "deploy/signoff.hpp"
#include "notify/step_events.hpp"

namespace deploy {

namespace fs = std::filesystem;
using core::CheckStatus;
using core::ErrorKind;

// ---------------------------------------------------------------- deploy-stage

namespace {

// One deploy-stage run, phase by phase: pre-flight (nothing changes), the
// release and its plan, the actions, then success or rollback, each recorded.
class DeployRun {
public:
  DeployRun(const DeployRequest& request, const EngineContext& context, Environment& env)
      : m_request(request), m_options(request.target), m_context(context), m_env(env),
        m_run(context, env, Mode::deploy, "deploy-stage"), m_result(m_run.result()) {
    m_run.set_jobs(request.target.jobs);
    m_run.m_version = request.version;
    m_result.details["environment"] = m_options.environment;
    m_result.details["version"] = request.version;
    m_result.details["run_id"] = m_run.run_id();
  }

  core::Result<core::StepResult> run();

private:
  std::optional<std::string> preflight(); // the reason to refuse, or nothing
  std::optional<std::string> check_record();
  std::optional<std::string> check_signoffs_of(const History& history);
  std::optional<std::string> check_artifacts(std::optional<core::Error>& usage);
  std::optional<std::string> check_live_releases();
  std::optional<std::string> check_databases();
  std::optional<std::string> check_analysis();
  Outcome run_changes(ActionRunner& runner);
  core::Status plan_release();
  core::Status prepare(const ServiceSpec& service, std::string& log);
  LedgerEntry ledger_entry() const;
  void succeed(LedgerEntry entry, double elapsed);
  void roll_back(const Outcome& outcome, ActionRunner& runner, LedgerEntry entry);
  core::StepResult finish(double elapsed);
  void notify_started();
  void notify_outcome(core::StepResult& result);

  const DeployRequest& m_request;
  const TargetOptions& m_options;
  const EngineContext& m_context;
  Environment& m_env;
  Run m_run;
  core::StepResult& m_result;
  std::vector<std::string> m_warnings;
  std::vector<std::string> m_ledger_errors;
  std::map<std::string, ArtifactChoice> m_choices;
  std::set<std::string> m_existing; // release ids on the targets
  std::optional<LedgerEntry> m_live;  // what the ledger says is live
  std::string m_release;
  std::optional<ResolvedPlan> m_old_plan; // the plan with the old version's values (rollback health checks)
  std::map<std::string, std::string> m_digests;
  std::optional<core::Error> m_usage; // a command-line mistake found in pre-flight: exit 2, not 4
  core::ExitCode m_refusal = core::ExitCode::blocked; // exit code of a pre-flight refusal
  History m_history; // this environment's
  std::unique_ptr<RunDatabases> m_databases; // docs/database.md; null when the plan has none
};

std::optional<std::string> DeployRun::preflight() {
  m_run.add_check("preflight/plan", "the launch plan is valid", CheckStatus::pass,
                  m_options.plan_file + ": " + std::to_string(m_env.resolved.services.size()) + " services");
  std::vector<std::string> reconciled;
  if (auto why = prepare_targets(m_run, m_context, m_options, reconciled)) return why;
  m_result.details["reconciled"] = reconciled;
  if (auto why = check_record()) return why;
  if (auto why = check_artifacts(m_usage)) return why;
  if (auto why = check_live_releases()) return why;
  if (auto why = check_analysis()) return why;
  return check_databases();
}

// Every metric analysis knows its Prometheus server (docs/analysis.md);
// credentials in its URL are masked from here on.
std::optional<std::string> DeployRun::check_analysis() {
  std::vector<std::string> servers;
  for (const auto& service : m_env.resolved.services) {
    if (!service.analysis) continue;
    auto url = prometheus_url(*service.analysis, m_context.env);
    if (!url) {
      const std::string why = "services." + service.name + ": " + url.error().message;
      m_run.add_check("preflight/analysis", "every metric analysis has its Prometheus server", CheckStatus::fail, why);
      return why;
    }
    for (const auto& secret : url_secrets(*url)) m_context.output.add_secret(secret);
    const std::string shown = service.name + " -> " + display_url(*url);
    if (std::find(servers.begin(), servers.end(), shown) == servers.end()) servers.push_back(shown);
  }
  if (!servers.empty())
    m_run.add_check("preflight/analysis", "every metric analysis has its Prometheus server", CheckStatus::pass,
                    core::join(servers));
  return std::nullopt;
}

// Every database reachable, locked and in step with the plan.
std::optional<std::string> DeployRun::check_databases() {
  if (m_env.resolved.databases.empty()) return std::nullopt;
  m_databases = std::make_unique<RunDatabases>(m_run, m_context, m_options, m_request.version);
  auto refusal = m_databases->preflight_deploy(m_env.resolved, m_history);
  for (const auto& warning : m_databases->warnings()) m_warnings.push_back(warning);
  if (!refusal) return std::nullopt;
  m_refusal = refusal->code;
  return refusal->reason;
}

// The databases' changes (before the applications unless the plan says
// after), then the applications.
Outcome DeployRun::run_changes(ActionRunner& runner) {
  auto database_failure = [](const std::string& reason, bool after_switch) {
    Outcome outcome;
    outcome.failed = true;
    outcome.reason = reason;
    outcome.kind = core::interrupted() ? ErrorKind::interrupted : ErrorKind::runtime;
    if (core::interrupted()) outcome.reason = "interrupted: " + reason;
    outcome.after_switch = after_switch;
    return outcome;
  };
  if (m_databases) {
    const std::string failed = m_databases->deploy_phase(false, m_run.m_backup_dir);
    if (!failed.empty()) return database_failure(failed, false);
  }
  Outcome outcome = run_forward(m_run, runner, deploy_actions(m_env.resolved), m_env.resolved, "deploy");
  if (outcome.failed || !m_databases) return outcome;
  const std::string failed = m_databases->deploy_phase(true, m_run.m_backup_dir);
  if (!failed.empty()) return database_failure(failed, true);
  return outcome;
}

// Bad marks in any environment, then the promotion order.
std::optional<std::string> DeployRun::check_record() {
  const std::string& version = m_request.version;
  auto histories = read_all_histories(*m_env.plan, m_options.vars, m_context, m_warnings);
  const History& history = histories[m_options.environment];
  m_warnings.insert(m_warnings.end(), history.warnings.begin(), history.warnings.end());
  if (const LedgerEntry* live = history.live()) m_live = *live;
  m_history = history;
  std::vector<const History*> all;
  for (const auto& [name, item] : histories) all.push_back(&item);
  const auto bad = bad_versions(all);
  if (bad.count(version)) {
    const std::string why = version + " is marked bad (rolled back); run `shipgate release unblock --plan " +
                            m_options.plan_file + " --version " + version + " --reason TEXT` once it is fixed";
    m_run.add_check("preflight/not-bad", "the version is not marked bad", CheckStatus::fail, why);
    return why;
  }
  m_run.add_check("preflight/not-bad", "the version is not marked bad", CheckStatus::pass,
                  bad.empty() ? "no version is marked bad" : "marked bad: " + version_list(bad));
  const EnvironmentSpec* previous = m_env.resolved.previous_environment;
  if (previous && m_env.resolved.environment->requires_previous && !histories[previous->name].succeeded(version)) {
    const std::string why = version + " has not been deployed and verified in " + previous->name +
                            ", which comes before " + m_options.environment +
                            " in the plan's promotion order; deploy it there first";
    m_run.add_check("preflight/promotion-order", "the version passed the previous environment", CheckStatus::fail, why);
    return why;
  }
  m_run.add_check("preflight/promotion-order", "the version passed the previous environment", CheckStatus::pass,
                  previous ? version + " succeeded in " + previous->name
                           : m_options.environment + " is the first environment");
  return check_signoffs_of(history);
}

// The sign-offs the plan requires for this environment (docs/signoff.md).
std::optional<std::string> DeployRun::check_signoffs_of(const History& history) {
  const EnvironmentSpec& environment = *m_env.resolved.environment;
  if (environment.required_signoffs.empty()) return std::nullopt;
  const std::string& version = m_request.version;
  const SignoffVerdict verdict = check_signoffs(environment, history, version, m_context.ci.user);
  const char* title = "the required sign-offs approve this version";
  if (verdict.ok()) {
    m_run.add_check("preflight/signoffs", title, CheckStatus::pass, "approved by " + core::join(verdict.approved));
    return std::nullopt;
  }
  std::string why = version + " may not go to " + m_options.environment + ": ";
  if (!verdict.rejected.empty()) why += "rejected by " + core::join(verdict.rejected) + "; ";
  if (!verdict.missing.empty()) why += "no approval from " + core::join(verdict.missing) + "; ";
  if (!verdict.not_counted.empty())
    why += "an approval by the person who triggered this deploy does not count (signoffs.self_approval: false): " +
           core::join(verdict.not_counted) + "; ";
  why += "record one with `shipgate signoff --plan " + m_options.plan_file + " --env " + m_options.environment +
         " --version " + version + " --role ROLE --by NAME --decision approve`";
  m_run.add_check("preflight/signoffs", title, CheckStatus::fail, why);
  return why;
}

// A source and a way to verify it, for every service. A usage mistake
// (no --artifact at all) is returned through `usage` instead.
std::optional<std::string> DeployRun::check_artifacts(std::optional<core::Error>& usage) {
  ArtifactResolver artifacts(m_request, m_env.resolved);
  for (const auto& service : m_env.resolved.services) {
    auto choice = artifacts.choose(service);
    if (!choice) {
      if (choice.error().kind == ErrorKind::usage) {
        usage = choice.error();
        return choice.error().message;
      }
      m_run.add_check("preflight/artifacts", "every artifact can be verified", CheckStatus::fail,
                      choice.error().message);
      return choice.error().message;
    }
    m_choices[service.name] = *choice;
  }
  m_run.add_check("preflight/artifacts", "every artifact can be verified", CheckStatus::pass,
                  std::to_string(m_choices.size()) + " artifacts, each with a sha256 to check" +
                      (m_env.plan->signing.required ? " and an ed25519 signature" : ""));
  if (usage) return usage->message;
  return std::nullopt;
}

// What is live on each target, and that a rollback to it would be exact.
std::optional<std::string> DeployRun::check_live_releases() {
  const char* title = "the live release is intact";
  const auto units = m_run.all_units();
  std::vector<core::Result<TargetStatus>> statuses(units.size(), TargetStatus{});
  std::vector<std::string> problems(units.size());
  m_run.for_each_at(units, [&](std::size_t index, Unit& unit) {
    statuses[index] = unit.driver->status();
    if (!statuses[index] || !statuses[index]->current) return;
    if (auto intact = unit.driver->check_intact(*statuses[index]->current); !intact)
      problems[index] = "a rollback would not be exact: " + intact.error().message;
  });
  for (std::size_t i = 0; i < units.size(); ++i) {
    Unit& unit = *units[i];
    const auto& status = statuses[i];
    if (!status) {
      m_run.add_check("preflight/rollback-possible", title, CheckStatus::fail, status.error().describe());
      return status.error().describe();
    }
    m_existing.insert(status->releases.begin(), status->releases.end());
    unit.from = status->current;
    unit.back_to = status->current;
    if (!unit.from) continue;
    if (!problems[i].empty()) {
      m_run.add_check("preflight/rollback-possible", title, CheckStatus::fail, problems[i]);
      return problems[i];
    }
    if (m_live && m_live->release != *unit.from)
      m_warnings.push_back(unit.driver->describe() + ": `current` is " + *unit.from + " but the ledger records " +
                           m_live->release + " as live; someone changed the target by hand");
    if (m_run.m_old_version.empty())
      m_run.m_old_version = m_live && m_live->release == *unit.from ? m_live->version : version_of_release(*unit.from);
  }
  const bool first = m_run.m_old_version.empty();
  m_run.add_check("preflight/rollback-possible", title, CheckStatus::pass,
                  first ? "first deploy to these targets: a failure stops the new release, there is nothing older "
                          "to return to"
                        : "every target's live release matches its manifest");
  return std::nullopt;
}

// The release id, then the plan with the run's real values, and with the
// old version's values for the health checks of a rollback.
core::Status DeployRun::plan_release() {
  const std::string& version = m_request.version;
  m_release = layout::make_release_id(version, m_context.now);
  for (int suffix = 2; m_existing.count(m_release); ++suffix)
    m_release = layout::make_release_id(version, m_context.now) + "-" + std::to_string(suffix);
  m_run.m_release = m_release;
  m_run.m_restore_from = m_release;
  m_run.m_backup_dir = (m_env.units.front().driver->state_dir() / "backups" / m_release).string();
  Variables values =
      real_run_values(m_context, m_options.environment, version, m_run.m_old_version, m_release, m_env.units.front());
  for (const auto& [key, value] : m_options.vars) values[key] = value;
  auto resolved = resolve_plan(*m_env.plan, m_options.environment, base_variables(m_context), values);
  if (!resolved) return resolved.error();
  m_env.resolved = std::move(*resolved);
  values["VERSION"] = m_run.m_old_version.empty() ? version : m_run.m_old_version;
  values["PREVIOUS_VERSION"] = "";
  auto old_plan = resolve_plan(*m_env.plan, m_options.environment, base_variables(m_context), values);
  if (!old_plan) return old_plan.error();
  m_old_plan = std::move(*old_plan);
  const Milliseconds deadline = m_request.deadline.value_or(m_env.resolved.deadline);
  m_run.set_deadline(deadline);
  m_result.details["release"] = m_release;
  m_result.details["previous_version"] = m_run.m_old_version;
  m_result.details["deadline_seconds"] = std::chrono::duration<double>(deadline).count();
  std::vector<std::string> targets;
  for (const auto& unit : m_env.units) targets.push_back(unit.driver->describe());
  m_result.details["targets"] = targets;
  return core::ok_status();
}

// The prepare action: the verified artifact unpacked on every target of the service.
core::Status DeployRun::prepare(const ServiceSpec& service, std::string& log) {
  const fs::path incoming = units_of(m_env, service.name).front()->driver->local_work_dir();
  // The staging files are named after this run's release: no later run
  // resumes from them, and on a full disk they hold what is missing.
  const auto remove_staged = [&] {
    std::error_code ignored;
    for (const char* suffix : {".artifact", ".sha256", ".sig"})
      fs::remove(incoming / (m_release + "-" + service.name + suffix), ignored);
  };
  auto artifact =
      obtain_artifact(m_choices[service.name], service, incoming, m_release, *m_env.plan, m_request.cacert, log);
  if (!artifact) {
    remove_staged();
    return artifact.error();
  }
  if (auto digest = sha256_hex(*artifact)) m_digests[service.name] = *digest;
  const auto units = units_of(m_env, service.name);
  std::vector<core::Status> results(units.size(), core::ok_status());
  m_run.for_each_at(units, [&](std::size_t index, Unit& unit) {
    m_run.journal(unit, "prepare", "begin", {{"release", m_release}});
    // Each target reads the verified file through its own descriptor.
    core::Status prepared = core::ok_status();
    std::optional<OpenedArtifact> own;
    if (units.size() > 1) {
      auto reopened = artifact->reopen();
      if (reopened) own.emplace(std::move(*reopened));
      else prepared = reopened.error();
    }
    if (prepared) {
      PrepareRequest request{m_release, m_request.version, own ? &*own : &*artifact, service.shared, {}};
      prepared = unit.driver->prepare(request);
    }
    m_run.journal(unit, "prepare", prepared ? "done" : "failed", {{"release", m_release}});
    if (prepared) unit.prepared = true;
    results[index] = prepared;
  });
  for (std::size_t i = 0; i < units.size(); ++i) {
    if (!results[i]) {
      remove_staged();
      return results[i];
    }
    log += units[i]->name() + ": unpacked into releases/" + m_release + "\n";
  }
  std::error_code ignored;
  fs::remove(artifact->path(), ignored);
  for (const char* suffix : {".sha256", ".sig"})
    fs::remove(incoming / (m_release + "-" + service.name + suffix), ignored);
  return core::ok_status();
}

LedgerEntry DeployRun::ledger_entry() const {
  LedgerEntry entry = base_entry(m_context, m_run.run_id(), m_options.environment);
  entry.event = "deploy";
  entry.version = m_request.version;
  entry.release = m_release;
  entry.previous_version = m_run.m_old_version;
  for (const auto& unit : m_env.units)
    if (unit.from) entry.previous_release = *unit.from;
  std::string all_digests, all_config;
  for (const auto& [service, digest] : m_digests)
    all_digests += (all_digests.empty() ? "" : " ") + service + ":" + digest;
  entry.artifact_sha256 = m_digests.size() == 1 ? m_digests.begin()->second : all_digests;
  for (const auto& [service, text] : m_run.m_config_sha) all_config += service + "\n" + text;
  // A hash of the snapshotted files' hashes: equal when the configuration is.
  if (!all_config.empty()) entry.config_sha256 = sha256_text(all_config);
  entry.backup_dir = m_run.m_backup_dir;
  entry.extra["backups"] = m_run.m_backups;
  if (m_databases) entry.extra["databases"] = m_databases->record();
  if (!m_run.m_dropped.empty()) entry.extra["hosts_failed"] = m_run.m_dropped;
  return entry;
}

void DeployRun::succeed(LedgerEntry entry, double elapsed) {
  entry.outcome = "succeeded";
  entry.finished_at = std::chrono::system_clock::now();
  const nlohmann::json journalled = redacted(entry, m_context.output).to_json();
  m_run.for_each(m_run.all_units(), [&](Unit& unit) { m_run.journal(unit, "ledger", "begin", journalled); });
  // Once the ledger's entry is journalled the run counts as succeeded: its
  // database changes become deployed (a crash here is settled from the ledger).
  if (m_databases)
    for (const auto& failure : m_databases->promote()) m_warnings.push_back(failure);
  const std::size_t ledger_errors_before = m_ledger_errors.size();
  append_ledgers(m_run, entry, m_ledger_errors);
  const bool recorded = m_ledger_errors.size() == ledger_errors_before;
  // Retention: never the live release nor the one a rollback would use.
  std::set<std::string> protect = {m_release};
  for (const auto& unit : m_env.units)
    if (unit.from) protect.insert(*unit.from);
  const auto units = m_run.all_units();
  std::vector<core::Result<std::vector<std::string>>> removed(units.size(), std::vector<std::string>{});
  m_run.for_each_at(units, [&](std::size_t index, Unit& unit) {
    removed[index] = unit.driver->prune(m_env.plan->keep_releases, protect);
  });
  std::set<std::string> pruned;
  for (std::size_t i = 0; i < units.size(); ++i) {
    if (removed[i]) pruned.insert(removed[i]->begin(), removed[i]->end());
    else m_warnings.push_back("pruning " + units[i]->name() + ": " + removed[i].error().describe());
  }
  // Without its ledger entry the journal stays: it holds the entry, and the
  // next run writes it (docs/deploy.md, "Interruption and crashes").
  if (recorded) m_run.close_journals();
  m_run.unlock();
  m_result.verdict = recorded ? core::Verdict::pass : core::Verdict::fail;
  m_result.exit_code = recorded ? core::ExitCode::success : core::ExitCode::runtime;
  m_result.headline = recorded ? "PASS: " + m_request.version + " is live in " + m_options.environment + " (release " +
                                     m_release + "), verified in " + format_seconds(elapsed)
                               : "FAIL: " + m_request.version + " is live in " + m_options.environment + " (release " +
                                     m_release + ") and verified, but its ledger entry could not be written (" +
                                     m_ledger_errors.back() +
                                     "); the next deploy-stage or rollback writes it from the journal";
  m_result.details["outcome"] = "succeeded";
  m_result.details["rolled_back"] = false;
  m_result.details["pruned"] = std::vector<std::string>(pruned.begin(), pruned.end());
  if (!m_run.m_dropped.empty()) {
    m_result.warnings.push_back("left on " + (m_run.m_old_version.empty() ? std::string("the previous state")
                                                                         : m_run.m_old_version) +
                                " after failing within max_failures: " + core::join(m_run.m_dropped));
    m_result.headline += "; " + std::to_string(m_run.m_dropped.size()) + " host(s) failed and were rolled back alone";
  }
}

void DeployRun::roll_back(const Outcome& outcome, ActionRunner& runner, LedgerEntry entry) {
  const bool interrupted = core::interrupted() || outcome.reason.rfind("interrupted", 0) == 0;
  core::clear_interrupt();
  m_run.progress("deploy failed: " + outcome.reason + "; rolling back");
  // The rollback's commands see the version they are returning to.
  m_run.m_mode = Mode::rollback;
  m_run.m_version = m_run.m_old_version;
  const auto touched = touched_services(m_run);
  // Databases whose rollback comes first, the applications, then the others.
  std::vector<std::string> failures;
  if (m_databases) failures = m_databases->revert_run(true);
  if (failures.empty()) {
    failures = run_backward(m_run, runner, rollback_actions(*m_old_plan, touched), *m_old_plan, "rollback");
    if (failures.empty() && m_databases) failures = m_databases->revert_run(false);
  }
  finish_result(m_run, runner);
  if (m_databases) {
    entry.extra["databases"] = m_databases->record();
    for (const auto& warning : m_databases->warnings())
      if (std::find(m_warnings.begin(), m_warnings.end(), warning) == m_warnings.end()) m_warnings.push_back(warning);
  }
  std::vector<Unit*> unused;
  for (auto& unit : m_env.units)
    if (unit.prepared && !unit.went_live) unused.push_back(&unit);
  m_run.for_each(unused, [&](Unit& unit) {
    auto status = unit.driver->status();
    if (status && (!status->current || *status->current != m_release)) (void)unit.driver->discard(m_release);
  });
  const bool rollback_ok = failures.empty();
  // A refused artifact (digest, signature, unsafe archive) changed nothing: blocked, as in pre-flight.
  const bool refused = outcome.kind == ErrorKind::blocked && touched.empty() && rollback_ok && !interrupted;
  entry.outcome = !rollback_ok ? "rollback-failed"
                  : interrupted ? "interrupted"
                  : refused     ? "blocked"
                  : touched.empty() ? "failed"
                                    : "rolled-back";
  entry.reason = outcome.reason + (rollback_ok ? "" : "; rollback failed: " + failures.front());
  std::vector<std::string> stranded; // not rolled back: named in the ledger, never skipped silently
  for (const auto& unit : m_env.units)
    if (unit.rollback_failed) stranded.push_back(unit.name());
  if (!stranded.empty()) {
    entry.extra["hosts_not_rolled_back"] = stranded;
    m_result.details["hosts_not_rolled_back"] = stranded;
  }
  entry.finished_at = std::chrono::system_clock::now();
  append_ledgers(m_run, entry, m_ledger_errors);
  // The new version ran and was found wrong: no environment may take it again.
  const bool mark_bad = outcome.after_switch && !interrupted && !m_run.lease_lost();
  if (mark_bad) {
    LedgerEntry mark = base_entry(m_context, m_run.run_id(), m_options.environment);
    mark.event = "mark-bad";
    mark.outcome = "recorded";
    mark.version = m_request.version;
    mark.release = m_release;
    mark.reason = outcome.reason;
    mark.finished_at = std::chrono::system_clock::now();
    append_ledgers(m_run, mark, m_ledger_errors);
  }
  // A failed rollback keeps the journals: the next run reconciles.
  // Targets whose rollback failed keep their journal, for the next run to
  // reconcile; when the failure cannot be pinned on targets, all keep it.
  if (rollback_ok || !stranded.empty()) m_run.close_journals();
  m_run.unlock();
  m_result.verdict = core::Verdict::fail;
  m_result.details["outcome"] = entry.outcome;
  m_result.details["rolled_back"] = rollback_ok && !touched.empty();
  m_result.details["marked_bad"] = mark_bad;
  m_result.details["reason"] = outcome.reason;
  const std::string& version = m_request.version;
  if (!rollback_ok) {
    m_result.exit_code = core::ExitCode::rollback_failed;
    m_result.headline = "FAIL: " + version + " failed in " + m_options.environment + " (" + outcome.reason +
                        ") and the ROLLBACK FAILED: " + failures.front() + "; the environment needs a person now";
    return;
  }
  m_result.exit_code = interrupted ? core::ExitCode::interrupted
                       : refused   ? core::ExitCode::blocked
                                   : core::ExitCode::negative_verdict;
  const std::string back = m_run.m_old_version.empty() ? "the previous state" : m_run.m_old_version;
  m_result.headline = "FAIL: " + version + " was not released to " + m_options.environment + ": " + outcome.reason +
                      "; " + (!touched.empty()                             ? "rolled back to " + back + " and verified"
                              : m_databases && m_databases->reverted_any() ? "its database changes were reverted and "
                                                                             "no application was touched"
                                                                           : "nothing live had changed");
}

core::StepResult DeployRun::finish(double elapsed) {
  m_result.details["switch_seconds"] = switch_seconds(m_result.checks, "deploy/");
  m_result.details["backups"] = m_run.m_backups;
  m_result.details["artifact_sha256"] = m_digests;
  m_result.details["elapsed_seconds"] = elapsed;
  m_result.details["jobs"] = m_run.jobs();
  m_result.details["hosts_failed"] = m_run.m_dropped;
  if (m_databases) m_result.details["databases"] = m_databases->record();
  nlohmann::json targets = nlohmann::json::array();
  for (const auto& unit : m_env.units) {
    const std::string state = unit.rollback_failed ? "not-rolled-back"
                              : unit.dropped       ? "failed-rolled-back"
                              : unit.switched      ? "live"
                              : unit.touched       ? "rolled-back"
                                                   : "untouched";
    targets.push_back({{"target", unit.name()}, {"service", unit.service}, {"batch", unit.batch + 1},
                       {"state", state}});
  }
  m_result.details["target_states"] = targets;
  for (const auto& error : m_ledger_errors) m_warnings.push_back("ledger: " + error);
  m_result.warnings.insert(m_result.warnings.end(), m_warnings.begin(), m_warnings.end());
  m_result.outputs = {{"verdict", std::string(core::to_string(m_result.verdict))},
                      {"outcome", m_result.details["outcome"].get<std::string>()},
                      {"version", m_request.version},
                      {"release", m_release},
                      {"previous_version", m_run.m_old_version}};
  m_result.summary_lines.push_back("environment " + m_options.environment + ", version " + m_request.version +
                                   ", release " + m_release);
  if (!m_run.m_old_version.empty()) m_result.summary_lines.push_back("previously live: " + m_run.m_old_version);
  return m_result;
}

core::Result<core::StepResult> DeployRun::run() {
  if (auto why = preflight()) {
    if (m_usage) {
      m_run.unlock();
      return *m_usage;
    }
    core::StepResult refused = blocked(m_run, *why);
    if (refused.exit_code == core::ExitCode::blocked) refused.exit_code = m_refusal;
    return refused;
  }
  if (auto planned = plan_release(); !planned) return planned.error();
  m_run.for_each(m_run.all_units(), [&](Unit& unit) {
    m_run.journal(unit, "run", "begin",
                  {{"mode", "deploy"}, {"version", m_request.version}, {"release", m_release},
                   {"from", unit.from.value_or("")}, {"old_version", m_run.m_old_version},
                   {"user", m_context.ci.user}});
  });
  notify_started();
  ActionRunner runner(m_run, [this](const ServiceSpec& service, std::string& log) { return prepare(service, log); });
  runner.set_rollback_plan(&*m_old_plan);
  const auto started = SteadyClock::now();
  const Outcome outcome = run_changes(runner);
  finish_result(m_run, runner);
  const double elapsed = seconds_since(started);
  if (!outcome.failed) succeed(ledger_entry(), elapsed);
  else roll_back(outcome, runner, ledger_entry());
  core::StepResult result = finish(elapsed);
  notify_outcome(result);
  return result;
}

// docs/notify.md: ops hear that the deploy starts once pre-flight passed.
void DeployRun::notify_started() {
  if (!m_env.resolved.notify.present) return;
  nlohmann::json data = notify::step_data(m_result, m_env.plan->name, m_options.environment, m_context.ci);
  data["headline"] = "";
  notify::notify_step(m_env.resolved.notify, "deploy-started", m_env.plan->name + "-" + m_request.version, data,
                      m_result, m_context.env, m_context.output, m_request.level);
}

// The outcome's event; db-done too when the run applied database changes.
void DeployRun::notify_outcome(core::StepResult& result) {
  if (!m_env.resolved.notify.present) return;
  const std::string outcome = result.details.value("outcome", std::string());
  const std::string thread = m_env.plan->name + "-" + m_request.version;
  nlohmann::json data = notify::step_data(result, m_env.plan->name, m_options.environment, m_context.ci);
  // Every metric analysis of the run: each query, its samples, the decision (docs/analysis.md).
  data["analysis"] = notification_analysis(result.details.value("analysis", nlohmann::json::array()));
  data["has_analysis"] = !data["analysis"].empty();
  bool applied = false;
  // The databases' records must outlive the loop: items() of a temporary
  // would iterate freed memory.
  const nlohmann::json databases = result.details.value("databases", nlohmann::json::object());
  for (const auto& [name, record] : databases.items())
    applied = applied || (record.is_object() && !record.value("applied", nlohmann::json::array()).empty());
  if (outcome == "succeeded") {
    if (applied) {
      nlohmann::json db = data;
      db["headline"] = "";
      notify::notify_step(m_env.resolved.notify, "db-done", thread, db, result, m_context.env, m_context.output,
                          m_request.level);
    }
    notify::notify_step(m_env.resolved.notify, "deploy-succeeded", thread, data, result, m_context.env,
                        m_context.output, m_request.level);
  } else if (outcome == "rollback-failed") {
    notify::notify_step(m_env.resolved.notify, "rollback-failed", thread, data, result, m_context.env, m_context.output,
                        m_request.level);
  } else if (outcome == "rolled-back" || outcome == "failed" || outcome == "interrupted") {
    notify::notify_step(m_env.resolved.notify, "deploy-failed", thread, data, result, m_context.env, m_context.output,
                        m_request.level);
  }
}

} // namespace

core::Result<core::StepResult> run_deploy(const DeployRequest& request, const EngineContext& context) {
  const ConnectionsClosed closed;
  if (!layout::valid_version(request.version))
    return core::make_error(ErrorKind::usage, "--version " + quote(request.version) +
                                                  " is not a valid version: use letters, digits and . _ + - "
                                                  "(at most 100, starting with a letter or digit)");
  auto env = open_environment(request.target.plan_file, request.target.environment, request.target.vars,
                              placeholder_run_values(request.target.environment, request.version), context);
  if (!env) return env.error();
  return DeployRun(request, context, *env).run();
}

// ---------------------------------------------------------------- rollback

// The database reverts an interrupted rollback did not get to: back to the
// heads recorded with the release it returned to. The failures.
static std::vector<std::string> finish_database_rollback(Run& run, const EngineContext& context,
                                                         const TargetOptions& options, const RollbackRequest& request,
                                                         Environment& env) {
  std::vector<std::string> warnings;
  auto histories = read_all_histories(*env.plan, options.vars, context, warnings);
  const History& history = histories[options.environment];
  const LedgerEntry* target = nullptr;
  for (const auto& entry : history.entries)
    if (entry.event == "deploy" && entry.outcome == "succeeded" && entry.version == run.m_completed_rollback)
      target = &entry;
  if (!target) return {"no deploy of " + run.m_completed_rollback + " is recorded, so its database heads are unknown"};
  RunDatabases databases(run, context, options, target->version);
  if (auto refusal =
          databases.preflight_rollback(env.resolved, history, *target, request.force_past_irreversible, warnings))
    return {refusal->reason};
  auto failures = databases.rollback_phase(true);
  if (failures.empty()) failures = databases.rollback_phase(false);
  return failures;
}

core::Result<core::StepResult> run_rollback(const RollbackRequest& request, const EngineContext& context) {
  const ConnectionsClosed closed;
  const TargetOptions& options = request.target;
  if (request.to && !layout::valid_version(*request.to))
    return core::make_error(ErrorKind::usage, "--to " + quote(*request.to) + " is not a valid version");
  auto opened = open_environment(options.plan_file, options.environment, options.vars,
                                 placeholder_run_values(options.environment, "0.0.0"), context);
  if (!opened) return opened.error();
  Environment& env = *opened;
  Run run(context, env, Mode::rollback, "rollback");
  run.set_jobs(options.jobs);
  auto& result = run.result();
  result.details["environment"] = options.environment;
  result.details["run_id"] = run.run_id();
  run.add_check("preflight/plan", "the launch plan is valid", CheckStatus::pass,
                options.plan_file + ": " + std::to_string(env.resolved.services.size()) + " services");
  std::vector<std::string> reconciled;
  if (auto why = prepare_targets(run, context, options, reconciled)) return blocked(run, *why);
  result.details["reconciled"] = reconciled;
  if (!run.m_completed_rollback.empty()) {
    // An interrupted rollback was just completed: that was the rollback asked for.
    // Its applications are back; its databases may still hold changes it did not revert.
    if (!env.resolved.databases.empty()) {
      std::vector<std::string> failures = finish_database_rollback(run, context, options, request, env);
      if (!failures.empty()) {
        run.unlock();
        result.verdict = core::Verdict::fail;
        result.exit_code = core::ExitCode::rollback_failed;
        result.headline = "FAIL: an interrupted rollback of " + options.environment + " to " +
                          run.m_completed_rollback +
                          " was completed but its database changes were not reverted: " + failures.front() +
                          "; the environment needs a person now";
        result.details["outcome"] = "rollback-failed";
        return result;
      }
    }
    run.unlock();
    result.verdict = core::Verdict::pass;
    result.exit_code = core::ExitCode::success;
    result.headline = "PASS: an interrupted rollback was completed: " + options.environment + " is back on " +
                      run.m_completed_rollback + " and verified";
    result.details["outcome"] = "succeeded";
    result.details["version"] = run.m_completed_rollback;
    result.details["marked_bad"] = true;
    result.outputs = {{"verdict", "pass"}, {"outcome", "succeeded"}, {"version", run.m_completed_rollback}};
    return result;
  }

  std::vector<std::string> warnings;
  auto histories = read_all_histories(*env.plan, options.vars, context, warnings);
  History& history = histories[options.environment];
  for (const auto& warning : history.warnings) warnings.push_back(warning);
  std::vector<const History*> all;
  for (const auto& [name, item] : histories) all.push_back(&item);
  const auto bad = bad_versions(all);
  const LedgerEntry* live = history.live();
  if (!live) {
    const std::string why = "the ledger of " + options.environment +
                            " records no live release, so there is no recorded version to return to";
    run.add_check("preflight/rollback-target", "a recorded release to return to", CheckStatus::fail, why);
    return blocked(run, why);
  }
  run.for_each(run.all_units(), [&](Unit& unit) {
    auto status = unit.driver->status();
    if (status && status->current) unit.from = status->current;
  });
  for (auto& unit : env.units)
    if (unit.from && *unit.from != live->release)
      warnings.push_back(unit.name() + ": `current` is " + *unit.from + " but the ledger records " + live->release +
                         " as live");
  std::string problems;
  auto intact_everywhere = [&](const std::string& release) {
    std::vector<std::string> found(env.units.size());
    run.for_each_at(run.all_units(), [&](std::size_t index, Unit& unit) {
      if (auto intact = unit.driver->check_intact(release); !intact) found[index] = intact.error().message;
    });
    for (const auto& problem : found)
      if (!problem.empty()) {
        problems += (problems.empty() ? "" : "; ") + problem;
        return false;
      }
    return true;
  };
  const LedgerEntry* target = history.rollback_target(bad, intact_everywhere, request.to);
  if (!target) {
    const std::string why =
        request.to ? "no intact release of " + *request.to + " was ever live in " + options.environment +
                         (problems.empty() ? "" : " (" + problems + ")")
                   : "no earlier release of another version that is intact and not marked bad is recorded in " +
                         options.environment + (problems.empty() ? "" : " (" + problems + ")") +
                         "; see `shipgate history`";
    run.add_check("preflight/rollback-target", "a recorded release to return to", CheckStatus::fail, why);
    return blocked(run, why);
  }
  run.add_check("preflight/rollback-target", "a recorded release to return to", CheckStatus::pass,
                target->version + " (release " + target->release + "), live before " + live->version +
                    " according to the ledger; intact on every target");
  std::unique_ptr<RunDatabases> databases;
  if (!env.resolved.databases.empty()) {
    databases = std::make_unique<RunDatabases>(run, context, options, target->version);
    auto refusal =
        databases->preflight_rollback(env.resolved, history, *target, request.force_past_irreversible, warnings);
    for (const auto& warning : databases->warnings()) warnings.push_back(warning);
    if (refusal) {
      core::StepResult refused = blocked(run, refusal->reason);
      if (refused.exit_code == core::ExitCode::blocked) refused.exit_code = refusal->code;
      refused.warnings.insert(refused.warnings.end(), warnings.begin(), warnings.end());
      return refused;
    }
  }
  run.m_version = target->version;
  run.m_release = target->release;
  run.m_old_version = live->version;
  run.m_restore_from = live->release;
  for (auto& unit : env.units) {
    unit.back_to = target->release;
    unit.switched = true;
    unit.touched = true;
  }
  Variables run_values = real_run_values(context, options.environment, target->version, live->version,
                                         target->release, env.units.front());
  for (const auto& [key, value] : options.vars) run_values[key] = value;
  auto plan = resolve_plan(*env.plan, options.environment, base_variables(context), run_values);
  if (!plan) return plan.error();
  env.resolved = std::move(*plan);
  run.for_each(run.all_units(), [&](Unit& unit) {
    run.journal(unit, "run", "begin",
                {{"mode", "rollback"}, {"version", live->version}, {"release", live->release},
                 {"from", unit.from.value_or("")}, {"to", target->release}, {"to_version", target->version},
                 {"user", context.ci.user}});
  });
  std::vector<std::string> names;
  for (const auto& service : env.resolved.services) names.push_back(service.name);
  ActionRunner runner(run, [](const ServiceSpec&, std::string&) { return core::ok_status(); });
  const auto started = SteadyClock::now();
  // The databases whose rollback comes first, the applications, then the
  // others; after a failure nothing more is changed: a person looks first.
  std::vector<std::string> failures;
  if (databases) failures = databases->rollback_phase(true);
  if (failures.empty()) {
    failures = run_backward(run, runner, rollback_actions(env.resolved, names), env.resolved, "rollback");
    if (failures.empty() && databases) failures = databases->rollback_phase(false);
  }
  finish_result(run, runner);
  const double elapsed = seconds_since(started);
  const bool ok = failures.empty();
  std::vector<std::string> ledger_errors;
  LedgerEntry entry = base_entry(context, run.run_id(), options.environment);
  entry.event = "rollback";
  entry.outcome = ok ? "succeeded" : "rollback-failed";
  entry.version = target->version;
  entry.release = target->release;
  entry.previous_version = live->version;
  entry.previous_release = live->release;
  entry.artifact_sha256 = target->artifact_sha256;
  entry.config_sha256 = target->config_sha256;
  if (databases) {
    entry.extra["databases"] = databases->record();
    result.details["databases"] = entry.extra["databases"];
  }
  entry.reason = request.reason.empty() ? "rolled back by " + (context.ci.user.empty() ? std::string("shipgate rollback") : context.ci.user)
                                        : request.reason;
  if (!ok) entry.reason += "; failed: " + failures.front();
  entry.finished_at = std::chrono::system_clock::now();
  std::vector<std::string> stranded;
  for (const auto& unit : env.units)
    if (unit.rollback_failed) stranded.push_back(unit.name());
  if (!stranded.empty()) {
    entry.extra["hosts_not_rolled_back"] = stranded;
    result.details["hosts_not_rolled_back"] = stranded;
  }
  if (ok) {
    const nlohmann::json journalled = redacted(entry, context.output).to_json();
    run.for_each(run.all_units(), [&](Unit& unit) { run.journal(unit, "ledger", "begin", journalled); });
  }
  append_ledgers(run, entry, ledger_errors);
  LedgerEntry mark = base_entry(context, run.run_id(), options.environment);
  mark.event = "mark-bad";
  mark.outcome = "recorded";
  mark.version = live->version;
  mark.release = live->release;
  mark.reason = entry.reason;
  mark.finished_at = std::chrono::system_clock::now();
  append_ledgers(run, mark, ledger_errors);
  // Without its entry or its bad mark the journal stays: it holds the
  // entry, and the next run writes both (the bad mark keeps the version it
  // left from being deployed again).
  const bool recorded = ledger_errors.empty();
  if ((ok && recorded) || (!ok && !stranded.empty())) run.close_journals();
  run.unlock();
  result.details["version"] = target->version;
  result.details["release"] = target->release;
  result.details["previous_version"] = live->version;
  result.details["previous_release"] = live->release;
  result.details["marked_bad"] = true;
  result.details["bad_version"] = live->version;
  result.details["elapsed_seconds"] = elapsed;
  result.details["switch_seconds"] = switch_seconds(result.checks, "");
  result.details["outcome"] = entry.outcome;
  if (ok && recorded) {
    result.verdict = core::Verdict::pass;
    result.exit_code = core::ExitCode::success;
    result.headline = "PASS: " + options.environment + " is back on " + target->version + " (release " +
                      target->release + "), verified in " + format_seconds(elapsed) + "; " + live->version +
                      " is marked bad until `shipgate release unblock`";
  } else if (ok) {
    result.verdict = core::Verdict::fail;
    result.exit_code = core::ExitCode::runtime;
    result.headline = "FAIL: " + options.environment + " is back on " + target->version + " (release " +
                      target->release + ") and verified, but the ledger could not record it (" + ledger_errors.front() +
                      "); the next deploy-stage or rollback writes the entry and marks " + live->version +
                      " bad from the journal";
  } else {
    result.verdict = core::Verdict::fail;
    result.exit_code = core::ExitCode::rollback_failed;
    result.headline = "FAIL: the ROLLBACK of " + options.environment + " to " + target->version +
                      " FAILED: " + failures.front() + "; the environment needs a person now";
  }
  for (const auto& error : ledger_errors) warnings.push_back("ledger: " + error);
  result.warnings.insert(result.warnings.end(), warnings.begin(), warnings.end());
  result.outputs = {{"verdict", std::string(core::to_string(result.verdict))},
                    {"outcome", entry.outcome},
                    {"version", target->version},
                    {"release", target->release},
                    {"previous_version", live->version}};
  if (env.resolved.notify.present) {
    nlohmann::json data = notify::step_data(result, env.plan->name, options.environment, context.ci);
    data["reason"] = entry.reason;
    notify::notify_step(env.resolved.notify, ok ? "rolled-back" : "rollback-failed", env.plan->name + "-" + live->version,
                        data, result, context.env, context.output, request.level);
  }
  return result;
}

} // namespace deploy

namespace deploy {

// ---------------------------------------------------------------- deploy-stage --resume / --abort

namespace {

// The run paused on this target (its journal's last "pause" is a "begin"),
// or empty.
std::string paused_run(const JournalRead& read) {
  std::string run;
  for (const auto& record : read.records)
    if (record.action == "pause") run = record.phase == "begin" ? record.data.value("run", record.run) : "";
  return run;
}

} // namespace

core::Result<core::StepResult> signal_paused_deploy(const TargetOptions& options, bool resume,
                                                    const EngineContext& context) {
  const ConnectionsClosed closed;
  auto opened = open_environment(options.plan_file, options.environment, options.vars,
                                 placeholder_run_values(options.environment, "0.0.0"), context);
  if (!opened) return opened.error();
  Environment& env = *opened;
  const std::string flag = resume ? "--resume" : "--abort";
  core::StepResult result;
  result.step = "deploy-stage";
  result.details["environment"] = options.environment;
  // The paused run writes its pause on every target of the service and
  // waits on the first one's control file.
  for (const auto& service : env.resolved.services) {
    Unit* first = units_of(env, service.name).front();
    auto read = first->journal->read();
    if (!read) return core::make_error(ErrorKind::runtime, "cannot read the journal of " + first->name() + ": " +
                                                               read.error().describe());
    const std::string run = paused_run(*read);
    if (run.empty()) continue;
    auto store = first->driver->state_store();
    auto lease = Lease::read(*store);
    if (lease && (!*lease || (*lease)->owner.run_id != run || (*lease)->expired(std::chrono::system_clock::now())))
      return core::make_error(ErrorKind::blocked,
                              "the deploy paused as run " + run + " no longer holds the lock of " + first->name() +
                                  " (it was killed or timed out); run deploy-stage again: it first undoes the half-done "
                                  "deploy, then deploys");
    const nlohmann::json control = {{"action", resume ? "resume" : "abort"},
                                    {"run", run},
                                    {"by", context.ci.user},
                                    {"at", core::format_rfc3339(std::chrono::system_clock::now())}};
    auto written = store->update("control.json", [&](const StateStore::Current&) -> core::Result<StateStore::Change> {
      return StateStore::Change{StateStore::Change::Kind::write, control.dump() + "\n"};
    });
    if (!written) return written.error();
    // Wait for the paused run to take it.
    const auto until = SteadyClock::now() + std::chrono::seconds(60);
    bool taken = false;
    while (SteadyClock::now() < until && !core::interrupted()) {
      auto now = first->journal->read();
      if (now && paused_run(*now).empty()) {
        taken = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    if (!taken)
      return core::make_error(ErrorKind::runtime, "run " + run + " did not take the " + flag +
                                                      " signal within 60 s; is its deploy-stage still running? "
                                                      "(shipgate status --plan " + options.plan_file + " --env " +
                                                      options.environment + " shows the lock)");
    result.verdict = core::Verdict::pass;
    result.exit_code = core::ExitCode::success;
    result.headline = std::string("PASS: the deploy paused in ") + options.environment + " (run " + run + ") was told to " +
                      (resume ? "go on" : "roll back") + "; its own job reports the outcome";
    result.details["run_id"] = run;
    result.details["signal"] = resume ? "resume" : "abort";
    result.outputs = {{"verdict", "pass"}, {"run_id", run}};
    return result;
  }
  return core::make_error(ErrorKind::blocked, "no deploy is paused in " + options.environment +
                                                  " (no journal shows a canary pause waiting for " + flag + ")");
}

} // namespace deploy
