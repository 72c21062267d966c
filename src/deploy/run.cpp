#include "deploy/run.hpp"

#include "core/digest.hpp"

#include <algorithm>
#include <filesystem>
#include <thread>

#include <unistd.h>

#include "ci/commit_time.hpp"
#include "core/interrupt.hpp"
#include "core/text.hpp"
#include "core/time.hpp"
#include "deploy/blue_green.hpp"
#include "deploy/layout.hpp"
#include "deploy/parallel.hpp"
#include "deploy/plan_validate.hpp"
#include "io/process.hpp"
#include "io/redactor.hpp"

namespace deploy {
namespace {

namespace fs = std::filesystem;
using core::ErrorKind;

std::vector<std::string> plugin_search_path(const EngineContext& context) {
  std::vector<std::string> out;
  const std::string value = context.env.get_or("SHIPGATE_PLUGIN_PATH");
  std::size_t start = 0;
  while (start <= value.size() && !value.empty()) {
    const auto colon = value.find(':', start);
    const std::string item = value.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (!item.empty()) out.push_back(item);
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return out;
}

} // namespace

namespace fs = std::filesystem;
using core::ErrorKind;

std::string quote(const std::string& text) { return "'" + text + "'"; }

std::string sha256_text(const std::string& text) { return core::sha256_hex(text); }

double seconds_since(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

std::string format_seconds(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f s", seconds);
  return text;
}

// The version part of a release id "<stamp>-<version>[-N]" when the ledger
// does not say.
std::string version_of_release(const std::string& release) {
  const auto dash = release.find('-');
  return dash == std::string::npos ? release : release.substr(dash + 1);
}

Variables base_variables(const EngineContext& context) {
  return Variables(context.env.all().begin(), context.env.all().end());
}


core::Result<std::vector<Unit>> make_units(const ResolvedPlan& resolved, const EngineContext& context) {
  std::vector<Unit> units;
  std::set<std::string> keys;
  const fs::path plan_dir = fs::absolute(resolved.plan->file).parent_path();
  for (const auto& service : resolved.services) {
    const std::size_t first = units.size();
    auto add = [&](std::unique_ptr<Driver> driver) -> core::Status {
      const std::string key = driver->key();
      if (!keys.insert(key).second)
        return core::make_error(ErrorKind::invalid_input,
                                "two targets are the same (" + driver->describe() + ", service " + service.name +
                                    "): give each service and root its own folder",
                                service.target.location);
      if (service.strategy.kind == StrategySpec::Kind::blue_green)
        driver = make_blue_green_driver(std::move(driver), service.strategy.blue_green, service.name);
      Unit unit;
      unit.service = service.name;
      auto store = driver->state_store();
      unit.journal = std::make_unique<Journal>(store);
      unit.ledger = std::make_unique<Ledger>(store);
      unit.driver = std::move(driver);
      units.push_back(std::move(unit));
      return core::ok_status();
    };
    if (service.target.kind == TargetSpec::Kind::local) {
      for (const auto& root : service.target.roots)
        if (auto added = add(make_local_driver(root)); !added) return added.error();
    } else if (service.target.kind == TargetSpec::Kind::ssh) {
      const SshTargetSpec& ssh = service.target.ssh;
      for (const auto& host : effective_hosts(ssh)) {
        SshOptions options;
        options.host = host;
        options.root = ssh.root;
        options.identity_file = ssh.identity_file;
        options.known_hosts = ssh.known_hosts;
        options.connect_timeout = ssh.connect_timeout;
        options.operation_timeout = ssh.timeout;
        const std::string program = context.env.get_or("SHIPGATE_SSH");
        if (!program.empty()) options.ssh_program = program;
        if (auto added = add(make_ssh_driver(options)); !added) return added.error();
      }
    } else {
      PluginOptions options;
      options.plugin = service.target.plugin;
      options.plan_dir = plan_dir;
      options.search_path = plugin_search_path(context);
      options.settings = service.target.settings;
      options.state_dir = fs::absolute(plan_dir / service.target.state_dir);
      options.environment = resolved.environment->name;
      options.service = service.name;
      auto driver = make_plugin_driver(options);
      if (!driver) return driver.error();
      if (auto added = add(std::move(*driver)); !added) return added.error();
    }
    const auto batches = make_batches(service.strategy, static_cast<int>(units.size() - first));
    for (std::size_t b = 0; b < batches.size(); ++b)
      for (int index : batches[b]) units[first + static_cast<std::size_t>(index)].batch = static_cast<int>(b);
  }
  return units;
}

core::Result<ServiceSpec> unit_service(const ResolvedPlan& plan, const Unit& unit, const Variables& extra) {
  Variables own = unit.driver->variables();
  for (const auto& [name, value] : extra) own[name] = value;
  const ServiceSpec* shared = service_spec(plan, unit.service);
  if (own.empty() && shared) return *shared;
  Variables values = plan.values;
  for (const auto& [name, value] : own) values[name] = value;
  auto resolved = resolve_plan(*plan.plan, plan.environment->name, {}, values);
  if (!resolved) return resolved.error();
  for (auto& service : resolved->services)
    if (service.name == unit.service) return std::move(service);
  return core::make_error(ErrorKind::runtime, "service " + unit.service + " is not in the plan");
}

core::Result<Environment> open_environment(const std::string& plan_file, const std::string& name,
                                           const Variables& vars, Variables run_values,
                                           const EngineContext& context) {
  Environment env;
  auto plan = load_plan(plan_file);
  if (!plan) return plan.error();
  env.plan = std::make_unique<Plan>(std::move(*plan));
  for (const auto& secret : plan_secret_values(*env.plan)) context.output.add_secret(secret);
  for (const auto& [key, value] : vars) run_values[key] = value;
  auto resolved = resolve_plan(*env.plan, name, base_variables(context), run_values);
  if (!resolved) return resolved.error();
  env.resolved = std::move(*resolved);
  auto units = make_units(env.resolved, context);
  if (!units) return units.error();
  env.units = std::move(*units);
  return env;
}

Variables placeholder_run_values(const std::string& environment, const std::string& version) {
  Variables values = deploy::placeholder_run_values();
  values["ENV"] = environment;
  values["VERSION"] = version;
  return values;
}

// The run values of docs/plan.md#run-values for a real run.
Variables real_run_values(const EngineContext& context, const std::string& environment, const std::string& version,
                          const std::string& previous_version, const std::string& release, const Unit& first) {
  return {{"ENV", environment},
          {"VERSION", version},
          {"PREVIOUS_VERSION", previous_version},
          {"RELEASE", release},
          {"RELEASE_DIR", layout::release_dir(first.driver->root(), release).string()},
          {"BACKUP_DIR", (first.driver->state_dir() / "backups" / release).string()},
          {"COMMIT", context.ci.commit},
          {"BRANCH", context.ci.branch}};
}

// The history of one environment: its targets' ledgers merged.
History read_history(const std::vector<Unit>& units, int jobs) {
  std::vector<core::Result<LedgerRead>> reads(units.size(), LedgerRead{});
  parallel_for(units.size(), jobs, [&](std::size_t i) { reads[i] = units[i].ledger->read(); });
  History history;
  for (auto& read : reads) {
    if (!read) {
      history.warnings.push_back(read.error().describe());
      continue;
    }
    history.add(read->entries);
    for (const auto& warning : read->warnings) history.warnings.push_back(warning);
  }
  return history;
}

// Every environment's history, for bad marks and promotion order. An
// environment whose plan values cannot be resolved here is skipped with a
// warning.
std::map<std::string, History> read_all_histories(const Plan& plan, const Variables& vars, const EngineContext& context,
                                                  std::vector<std::string>& warnings) {
  std::map<std::string, History> out;
  for (const auto& environment : plan.environments) {
    Variables run_values = placeholder_run_values(environment.name, "0.0.0");
    for (const auto& [key, value] : vars) run_values[key] = value;
    auto resolved = resolve_plan(plan, environment.name, base_variables(context), run_values);
    if (!resolved) {
      warnings.push_back("cannot read the ledger of " + environment.name + ": " + resolved.error().describe());
      continue;
    }
    auto units = make_units(*resolved, context);
    if (!units) {
      warnings.push_back("cannot read the ledger of " + environment.name + ": " + units.error().describe());
      continue;
    }
    out[environment.name] = read_history(*units, 10);
  }
  return out;
}

LedgerEntry base_entry(const EngineContext& context, const std::string& run_id, const std::string& environment) {
  LedgerEntry entry;
  entry.id = run_id;
  entry.environment = environment;
  entry.commit = context.ci.commit;
  entry.branch = context.ci.branch;
  entry.user = context.ci.user;
  entry.provider = std::string(ci::to_string(context.ci.provider));
  entry.pipeline_url = context.ci.pipeline_url;
  entry.job_url = context.ci.job_url;
  entry.started_at = context.now;
  // With the commit, when it was made: the lead time of docs/metrics.md.
  if (const auto made = ci::commit_time(context.env, context.ci).time) entry.commit_time = *made;
  return entry;
}

LeaseOwner lease_owner(const EngineContext& context, const std::string& run_id) {
  LeaseOwner owner;
  owner.run_id = run_id;
  owner.provider = std::string(ci::to_string(context.ci.provider));
  owner.job_url = context.ci.job_url;
  owner.pipeline_url = context.ci.pipeline_url;
  owner.user = context.ci.user;
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  owner.host = host;
  owner.pid = static_cast<long>(::getpid());
  return owner;
}

std::string mode_name(Mode mode) {
  return mode == Mode::deploy ? "deploy" : mode == Mode::rollback ? "rollback" : "reconcile";
}


// Every target's lease, or none: taken together (`jobs` at a time); when
// one is held by someone else, those taken are given back and the run
// waits and tries again, so two runs can never each hold half a fleet.
core::Status Run::lock(Milliseconds wait, Milliseconds ttl) {
  std::map<std::string, Unit*> targets; // one lease per target, in a fixed order
  for (auto& unit : m_env.units) targets.emplace(unit.driver->key(), &unit);
  std::vector<Unit*> units;
  for (const auto& [key, unit] : targets) units.push_back(unit);
  const auto start = SteadyClock::now();
  for (int attempt = 0;; ++attempt) {
    std::vector<std::unique_ptr<Lease>> leases(units.size());
    std::vector<core::Status> results(units.size(), core::ok_status());
    parallel_for(units.size(), m_jobs, [&](std::size_t i) {
      leases[i] = std::make_unique<Lease>(units[i]->driver->state_store(), lease_owner(m_context, m_run_id), ttl);
      results[i] = leases[i]->acquire(Milliseconds(0));
    });
    const core::Status* refused = nullptr;
    for (const auto& result : results)
      if (!result) {
        refused = &result;
        break;
      }
    if (!refused) {
      for (auto& lease : leases) {
        m_heartbeats.push_back(std::make_unique<Heartbeat>(*lease, ttl));
        m_leases.push_back(std::move(lease));
      }
      return core::ok_status();
    }
    core::Error error = refused->error();
    parallel_for(leases.size(), m_jobs, [&](std::size_t i) {
      if (leases[i]->held()) (void)leases[i]->release();
    });
    const auto waited = std::chrono::duration_cast<Milliseconds>(SteadyClock::now() - start);
    if (error.kind != ErrorKind::blocked) return error;
    if (waited >= wait) {
      if (wait.count() > 0) error.message += " (waited " + format_seconds(waited.count() / 1000.0) + ")";
      return error;
    }
    // Jittered, so that two runs waiting for each other do not retry in step.
    const Milliseconds pause(400 + (std::hash<std::string>{}(m_run_id) + static_cast<std::size_t>(attempt) * 7919) % 400);
    const auto until = SteadyClock::now() + std::min(pause, wait - waited);
    while (SteadyClock::now() < until) {
      if (core::interrupted())
        return core::make_error(ErrorKind::interrupted, "interrupted while waiting for the deploy lock");
      std::this_thread::sleep_for(Milliseconds(20));
    }
  }
}

void Run::for_each(const std::vector<Unit*>& units, const std::function<void(Unit&)>& fn) {
  parallel_for(units.size(), m_jobs, [&](std::size_t i) { fn(*units[i]); });
}

void Run::for_each_at(const std::vector<Unit*>& units, const std::function<void(std::size_t, Unit&)>& fn) {
  parallel_for(units.size(), m_jobs, [&](std::size_t i) { fn(i, *units[i]); });
}

std::vector<Unit*> Run::all_units() {
  std::vector<Unit*> out;
  for (auto& unit : m_env.units) out.push_back(&unit);
  return out;
}

void Run::close_journals() {
  std::vector<Unit*> done;
  for (auto& unit : m_env.units)
    if (!unit.rollback_failed) done.push_back(&unit);
  for_each(done, [](Unit& unit) { (void)unit.journal->remove(); });
}

void Run::journal(Unit& unit, const std::string& action, const std::string& phase, nlohmann::json data) {
  JournalRecord record;
  record.run = m_run_id;
  {
    std::lock_guard<std::mutex> guard(m_mutex);
    record.seq = m_seq++;
  }
  record.action = action;
  record.phase = phase;
  record.service = unit.service;
  record.data = std::move(data);
  if (auto written = unit.journal->write(record); !written) {
    std::lock_guard<std::mutex> guard(m_mutex);
    m_journal_error = written.error().describe(); // surfaced by the caller as a failure
  }
}

std::string Run::stop_reason() const {
  if (core::interrupted()) return "interrupted (SIGINT/SIGTERM)";
  if (m_deadline_length.count() > 0 && SteadyClock::now() >= m_deadline)
    return "the planned deadline of " + format_seconds(m_deadline_length.count() / 1000.0) +
           " passed before the release was verified";
  for (const auto& beat : m_heartbeats)
    if (beat->lost()) return beat->lost_reason();
  return {};
}

std::map<std::string, std::string> Run::command_env(const Unit& unit, const std::string& release) const {
  const fs::path root = unit.driver->root();
  return {{"SHIPGATE_ROOT", root.string()},
          {"SHIPGATE_CURRENT", (root / "current").string()},
          {"SHIPGATE_RELEASE", release},
          {"SHIPGATE_RELEASE_DIR", release.empty() ? std::string() : layout::release_dir(root, release).string()},
          {"SHIPGATE_PREVIOUS_RELEASE", unit.from.value_or("")},
          {"SHIPGATE_VERSION", m_version},
          {"SHIPGATE_ENV", m_env.resolved.environment->name},
          {"SHIPGATE_SERVICE", unit.service},
          {"SHIPGATE_MODE", mode_name(m_mode)},
          {"SHIPGATE_RUN_ID", m_run_id}};
}

core::Status Run::run_command(const CommandSpec& command, const Unit& unit, const std::string& release,
                         bool rolling_back, std::string& transcript, const std::string& cwd) {
  io::ProcessSpec spec;
  spec.argv = command.shell.empty() ? command.argv : std::vector<std::string>{"/bin/sh", "-c", command.shell};
  spec.timeout = command.timeout;
  if (!rolling_back && m_deadline_length.count() > 0)
    spec.timeout = std::max(Milliseconds(1), std::min(spec.timeout, remaining()));
  spec.env_add = command_env(unit, release);
  spec.cwd = cwd.empty() ? unit.driver->root().string() : cwd;
  spec.stop_on_interrupt = !rolling_back;
  const io::ProcessResult result = unit.driver->run_command(spec);
  transcript += "$ " + command.display() + "\n" + core::truncate(result.output, k_max_transcript);
  if (result.ok()) return core::ok_status();
  std::string why = result.outcome == io::ProcessResult::Outcome::exited
                        ? "exited with status " + std::to_string(result.exit_code)
                        : result.error;
  std::string tail = core::trim(result.output);
  if (tail.size() > 400) tail = "…" + tail.substr(tail.size() - 400);
  return core::make_error(ErrorKind::runtime, command.display() + " " + why + (tail.empty() ? "" : ": " + tail),
                          command.location);
}

std::vector<Unit*> units_of(Environment& env, const std::string& service) {
  std::vector<Unit*> out;
  for (auto& unit : env.units)
    if (unit.service == service) out.push_back(&unit);
  return out;
}

const ServiceSpec* service_spec(const ResolvedPlan& plan, const std::string& name) {
  for (const auto& service : plan.services)
    if (service.name == name) return &service;
  return nullptr;
}

// The ledger is an artifact like any other: free text in it (a failing
// command's output in `reason`) goes through the redactor first.
LedgerEntry redacted(const LedgerEntry& entry, const io::Output& output) {
  LedgerEntry out = entry;
  out.reason = output.redactor().redact(entry.reason);
  return out;
}

void append_ledgers(Run& run, const LedgerEntry& entry, std::vector<std::string>& errors) {
  const LedgerEntry safe = redacted(entry, run.m_context.output);
  const auto units = run.all_units();
  std::vector<std::string> failures(units.size());
  run.for_each_at(units, [&](std::size_t index, Unit& unit) {
    if (auto appended = unit.ledger->append(safe); !appended) failures[index] = appended.error().describe();
  });
  for (auto& failure : failures)
    if (!failure.empty()) errors.push_back(std::move(failure));
}

std::string version_list(const std::set<std::string>& versions) {
  std::string out;
  for (const auto& version : versions) out += (out.empty() ? "" : ", ") + version;
  return out;
}


double switch_seconds(const std::vector<core::Check>& checks, const std::string& prefix) {
  double total = 0;
  for (const auto& check : checks)
    if (core::starts_with(check.id, prefix) && check.id.find("-switch-") != std::string::npos && check.seconds > 0)
      total += check.seconds;
  return total;
}

} // namespace deploy
