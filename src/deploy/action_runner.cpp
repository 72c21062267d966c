#include "deploy/action_runner.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "core/interrupt.hpp"
#include "core/text.hpp"
#include "deploy/artifact.hpp"
#include "deploy/layout.hpp"
#include "smoke/executor.hpp"
#include "smoke/runner.hpp"
#include "smoke/verdict.hpp"

namespace deploy {
namespace {

namespace fs = std::filesystem;
using core::CheckStatus;
using core::ErrorKind;

// ---------------------------------------------------------------- config snapshots

fs::path config_path(const Unit& unit, const std::string& file) {
  return fs::path(file).is_absolute() ? fs::path(file) : unit.driver->root() / file;
}

std::string snapshot_name(const std::string& file) {
  std::string out;
  for (char c : file) out += c == '/' ? '%' : c;
  return out;
}

fs::path snapshot_dir(const Unit& unit, const std::string& release) {
  return unit.driver->state_dir() / "backups" / release / "config";
}


core::Status copy_file_synced(const fs::path& from, const fs::path& to) {
  std::error_code error;
  fs::create_directories(to.parent_path(), error);
  const fs::path temp = to.string() + ".shipgate-tmp";
  fs::copy_file(from, temp, fs::copy_options::overwrite_existing, error);
  if (error) return core::make_error(ErrorKind::runtime, "cannot copy " + from.string() + " to " + to.string() + ": " + error.message());
  if (auto synced = layout::fsync_path(temp); !synced) return synced;
  fs::rename(temp, to, error);
  if (error) return core::make_error(ErrorKind::runtime, "cannot write " + to.string() + ": " + error.message());
  return layout::fsync_path(to.parent_path());
}

// ---------------------------------------------------------------- verification

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
  return run.add_check(prefix + "/" + number + "-" + std::string(to_string(action.kind)) + "-" + action.service,
                       action.describe(), CheckStatus::pass, "");
}

} // namespace

namespace fs = std::filesystem;
using core::CheckStatus;
using core::ErrorKind;

core::Status ActionRunner::perform(const Action& action, bool rolling_back, const ResolvedPlan& plan, core::Check& check) {
  const ServiceSpec* service = service_spec(plan, action.service);
  if (!service) return core::make_error(ErrorKind::runtime, "service " + action.service + " is not in the plan");
  const auto start = SteadyClock::now();
  std::string log;
  core::Status status = dispatch(action, *service, rolling_back, plan, log, check);
  check.seconds = seconds_since(start);
  check.transcript = log;
  check.status = status ? CheckStatus::pass : CheckStatus::fail;
  if (!status) check.explanation = status.error().describe();
  else if (check.explanation.empty()) check.explanation = "done";
  return status;
}

core::Status ActionRunner::dispatch(const Action& action, const ServiceSpec& service, bool rolling_back, const ResolvedPlan& plan,
                      std::string& log, core::Check& check) {
  switch (action.kind) {
  case Action::Kind::prepare: return m_prepare(service, log);
  case Action::Kind::snapshot_config: return snapshot(service, log);
  case Action::Kind::backup: return backup(service, *action.backup, log);
  case Action::Kind::stop:
  case Action::Kind::start:
  case Action::Kind::reload:
  case Action::Kind::restart: return command(action, rolling_back, log);
  case Action::Kind::switch_current: return switch_units(service, rolling_back, log);
  case Action::Kind::restore_config: return restore(service, log);
  case Action::Kind::verify: return verify(service, rolling_back, plan, log, check);
  }
  return core::ok_status();
}

std::string ActionRunner::target_release(const Unit& unit, bool rolling_back) const {
  return rolling_back ? unit.back_to.value_or("") : m_run.m_release;
}

core::Status ActionRunner::command(const Action& action, bool rolling_back, std::string& log) {
  for (Unit* unit : units_of(m_run.env(), action.service)) {
    const std::string kind(to_string(action.kind));
    if (rolling_back && !unit->back_to && action.kind != Action::Kind::stop) {
      // A first deploy has nothing older to start: the failed release stays stopped.
      log += unit->driver->describe() + ": first deploy, no earlier release to " + kind + "; left stopped\n";
      continue;
    }
    m_run.journal(*unit, kind, "begin");
    if (action.kind == Action::Kind::stop) unit->stopped = true;
    auto done = m_run.run_command(*action.command, *unit, target_release(*unit, rolling_back), rolling_back, log);
    m_run.journal(*unit, kind, done ? "done" : "failed");
    if (!done) return core::make_error(ErrorKind::runtime, unit->driver->describe() + ": " + done.error().describe());
    if (action.kind != Action::Kind::stop) unit->stopped = false;
  }
  return core::ok_status();
}

core::Status ActionRunner::switch_units(const ServiceSpec& service, bool rolling_back, std::string& log) {
  for (Unit* unit : units_of(m_run.env(), service.name)) {
    if (rolling_back && !unit->switched) {
      log += unit->driver->describe() + ": not switched, nothing to undo\n";
      continue;
    }
    const std::string target = target_release(*unit, rolling_back);
    if (target.empty()) {
      log += unit->driver->describe() + ": no earlier release to return to (first deploy); left as is\n";
      continue;
    }
    auto status = unit->driver->status();
    const std::string before = status && status->current ? *status->current : std::string();
    m_run.journal(*unit, "switch", "begin", {{"from", before}, {"to", target}});
    auto switched = unit->driver->activate(target, rolling_back);
    m_run.journal(*unit, "switch", switched ? "done" : "failed", {{"from", before}, {"to", target}});
    if (!switched) return switched;
    unit->switched = !rolling_back;
    if (!rolling_back) unit->went_live = true;
    log += unit->driver->describe() + ": current -> releases/" + target + "\n";
  }
  return core::ok_status();
}

core::Status ActionRunner::snapshot(const ServiceSpec& service, std::string& log) {
  std::string combined;
  for (Unit* unit : units_of(m_run.env(), service.name)) {
    nlohmann::json manifest = nlohmann::json::object();
    const fs::path dir = snapshot_dir(*unit, m_run.m_release);
    m_run.journal(*unit, "snapshot-config", "begin");
    for (const auto& file : service.config_files) {
      const fs::path source = config_path(*unit, file);
      std::error_code ignored;
      if (!fs::exists(source, ignored)) {
        manifest[file] = nullptr;
        log += source.string() + ": absent (nothing to snapshot)\n";
        continue;
      }
      if (auto copied = copy_file_synced(source, dir / snapshot_name(file)); !copied) return copied;
      auto digest = sha256_file(source);
      if (!digest) return digest.error();
      manifest[file] = *digest;
      combined += file + " " + *digest + "\n";
      log += source.string() + ": sha256 " + *digest + "\n";
    }
    std::ofstream(dir / "manifest.json") << manifest.dump(1) << "\n";
    (void)layout::fsync_path(dir / "manifest.json");
    m_run.journal(*unit, "snapshot-config", "done");
  }
  m_run.m_config_sha[service.name] = combined;
  return core::ok_status();
}

core::Status ActionRunner::restore(const ServiceSpec& service, std::string& log) {
  for (Unit* unit : units_of(m_run.env(), service.name)) {
    const fs::path dir = snapshot_dir(*unit, m_run.m_restore_from);
    std::ifstream in(dir / "manifest.json");
    if (!in) {
      log += unit->driver->describe() + ": no configuration snapshot for " + m_run.m_restore_from + "\n";
      continue;
    }
    const nlohmann::json manifest = nlohmann::json::parse(in, nullptr, false);
    if (!manifest.is_object()) return core::make_error(ErrorKind::runtime, "unreadable " + (dir / "manifest.json").string());
    for (const auto& [file, digest] : manifest.items()) {
      if (!digest.is_string()) continue;
      const fs::path target = config_path(*unit, file);
      auto now = sha256_file(target);
      if (now && *now == digest.get<std::string>()) continue;
      if (auto copied = copy_file_synced(dir / snapshot_name(file), target); !copied) return copied;
      log += target.string() + ": restored (sha256 " + digest.get<std::string>() + ")\n";
    }
  }
  return core::ok_status();
}

core::Status ActionRunner::backup(const ServiceSpec& service, const BackupSpec& spec, std::string& log) {
  std::error_code ignored;
  fs::create_directories(m_run.m_backup_dir, ignored);
  auto units = units_of(m_run.env(), service.name);
  Unit& unit = *units.front();
  m_run.journal(unit, "backup", "begin", {{"name", spec.name}});
  auto ran = m_run.run_command(spec.command, unit, m_run.m_release, false, log, m_run.m_backup_dir);
  if (!ran) return ran;
  const fs::path output = spec.output;
  const auto size = fs::file_size(output, ignored);
  if (ignored || !fs::is_regular_file(output))
    return core::make_error(ErrorKind::runtime, "backup " + spec.name + " did not produce " + output.string(),
                            spec.location);
  if (size == 0)
    return core::make_error(ErrorKind::runtime, "backup " + spec.name + " produced an empty " + output.string(),
                            spec.location);
  auto digest = sha256_file(output);
  if (!digest) return digest.error();
  m_run.m_backups.push_back({{"service", service.name}, {"name", spec.name}, {"file", output.string()},
                             {"bytes", size}, {"sha256", *digest}});
  log += output.string() + ": " + std::to_string(size) + " bytes, sha256 " + *digest + "\n";
  m_run.journal(unit, "backup", "done", {{"name", spec.name}});
  return core::ok_status();
}

core::Status ActionRunner::verify(const ServiceSpec& service, bool rolling_back, const ResolvedPlan&, std::string& log,
                    core::Check& check) {
  for (Unit* unit : units_of(m_run.env(), service.name)) {
    const std::string target = target_release(*unit, rolling_back);
    if (target.empty()) continue;
    if (auto verified = unit->driver->verify(target); !verified) return verified;
  }
  if (!service.health) {
    check.explanation = "no health checks in the plan; `current` verified";
    return core::ok_status();
  }
  auto executor = smoke::make_real_executor();
  auto clock = smoke::make_real_clock();
  smoke::Runner runner(*executor, *clock);
  const smoke::Suite suite = rolling_back ? *service.health : capped(*service.health, m_run.remaining());
  const smoke::SmokeReport report = runner.run(suite);
  core::StepResult judged = smoke::judge(suite, report);
  for (auto& sub : judged.checks) {
    log += "[" + std::string(core::to_string(sub.status)) + "] " + sub.id + ": " + sub.explanation + "\n";
    sub.id = "health/" + service.name + "/" + sub.id;
    m_health.push_back(sub);
  }
  if (judged.verdict == core::Verdict::pass) {
    check.explanation = judged.headline;
    return core::ok_status();
  }
  return core::make_error(ErrorKind::runtime, "health checks of " + service.name + " failed: " + judged.headline);
}

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
    auto done = runner.perform(action, false, plan, check);
    if (done && !run.journal_error().empty())
      done = core::make_error(ErrorKind::runtime, "cannot write the journal: " + run.journal_error());
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
    if (!done) failures.push_back(done.error().describe());
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
}


} // namespace deploy
