#pragma once
// The inside of the deploy engine, shared by its files (engine.cpp runs
// deploy-stage and rollback, reconcile.cpp repairs interrupted runs,
// action_runner.cpp performs actions, records.cpp reads the record). Not
// an interface for other modules: they use deploy/engine.hpp.
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/step_result.hpp"
#include "deploy/driver.hpp"
#include "deploy/engine.hpp"
#include "deploy/history.hpp"
#include "deploy/journal.hpp"
#include "deploy/lease.hpp"
#include "deploy/ledger.hpp"
#include "deploy/plan.hpp"

namespace deploy {

using Milliseconds = std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

constexpr std::size_t k_max_transcript = 16 * 1024;

std::string quote(const std::string& text);
std::string sha256_text(const std::string& text);
double seconds_since(SteadyClock::time_point start);
std::string format_seconds(double seconds);
// The version part of a release id "<stamp>-<version>[-N]" when the ledger
// does not say.
std::string version_of_release(const std::string& release);
std::string version_list(const std::set<std::string>& versions);
// Time spent switching `current`: the switch actions whose id starts with `prefix`.
double switch_seconds(const std::vector<core::Check>& checks, const std::string& prefix);

// ---------------------------------------------------------------- setup

// The ssh connections a command opened are closed when it ends, however
// it ends.
struct ConnectionsClosed {
  ConnectionsClosed() = default;
  ConnectionsClosed(const ConnectionsClosed&) = delete;
  ConnectionsClosed& operator=(const ConnectionsClosed&) = delete;
  ~ConnectionsClosed() { close_ssh_connections(); }
};

struct Unit {
  std::string service;
  int batch = 0;            // which batch of its service (deploy/actions.hpp)
  std::unique_ptr<Driver> driver;
  std::optional<std::string> from;    // live release before this run
  std::optional<std::string> back_to; // where a rollback takes it (from, or the rollback target)
  bool prepared = false;
  bool switched = false;
  bool went_live = false; // switched to the new release at some point (kept for forensics)
  bool stopped = false; // this unit's service was stopped by the run and not started again
  bool touched = false;  // stopped or switched by this run (what a rollback undoes)
  bool dropped = false;  // failed within the strategy's max_failures: rolled back alone, left out of the rest
  bool rollback_failed = false; // its rollback failed (unreachable host…): its journal is kept
  std::unique_ptr<Journal> journal;
  std::unique_ptr<Ledger> ledger;
  std::string name() const { return driver->describe(); }
};

struct Environment {
  std::unique_ptr<Plan> plan;
  ResolvedPlan resolved;
  std::vector<Unit> units;
};


Variables base_variables(const EngineContext& context);
core::Result<std::vector<Unit>> make_units(const ResolvedPlan& resolved, const EngineContext& context);
core::Result<Environment> open_environment(const std::string& plan_file, const std::string& name,
                                           const Variables& vars, Variables run_values,
                                           const EngineContext& context);
// Stand-in run values (plan_validate.hpp) for one environment and version.
Variables placeholder_run_values(const std::string& environment, const std::string& version);
// The run values of docs/plan.md#run-values for a real run.
Variables real_run_values(const EngineContext& context, const std::string& environment, const std::string& version,
                          const std::string& previous_version, const std::string& release, const Unit& first);
// The history of one environment: its targets' ledgers merged.
History read_history(const std::vector<Unit>& units, int jobs = 10);
// Every environment's history, for bad marks and promotion order. An
// environment whose plan values cannot be resolved here is skipped with a
// warning.
std::map<std::string, History> read_all_histories(const Plan& plan, const Variables& vars, const EngineContext& context,
                                                  std::vector<std::string>& warnings);
LedgerEntry base_entry(const EngineContext& context, const std::string& run_id, const std::string& environment);
LeaseOwner lease_owner(const EngineContext& context, const std::string& run_id);

std::vector<Unit*> units_of(Environment& env, const std::string& service);
// The service as one unit sees it: resolved again with the values the
// target brings (HOST, HOST_ADDRESS, COLOUR… from Driver::variables(),
// plus `extra`), or the environment's service when it brings none.
core::Result<ServiceSpec> unit_service(const ResolvedPlan& plan, const Unit& unit, const Variables& extra = {});
const ServiceSpec* service_spec(const ResolvedPlan& plan, const std::string& name);

// ---------------------------------------------------------------- the run

enum class Mode { deploy, rollback, reconcile };
std::string mode_name(Mode mode);

class Run {
public:
  Run(const EngineContext& context, Environment& env, Mode mode, std::string step)
      : m_context(context), m_env(env), m_mode(mode) {
    m_result.step = std::move(step);
    m_result.checks_label = "actions";
    m_run_id = make_run_id(context.now);
    m_started = SteadyClock::now();
  }

  core::StepResult& result() { return m_result; }
  const std::string& run_id() const { return m_run_id; }
  Environment& env() { return m_env; }

  void progress(const std::string& text) {
    std::lock_guard<std::mutex> guard(m_mutex);
    if (!m_context.quiet) m_context.output.err("shipgate: " + text + "\n");
  }
  int jobs() const { return m_jobs; }
  void set_jobs(int jobs) { m_jobs = std::max(1, jobs); }
  // fn(unit) for each unit, `jobs` at a time.
  void for_each(const std::vector<Unit*>& units, const std::function<void(Unit&)>& fn);
  // The same with the unit's position in `units`, for results kept in order.
  void for_each_at(const std::vector<Unit*>& units, const std::function<void(std::size_t, Unit&)>& fn);
  std::vector<Unit*> all_units();

  core::Check& add_check(std::string id, std::string title, core::CheckStatus status, std::string explanation,
                         double seconds = -1) {
    core::Check check;
    check.id = std::move(id);
    check.title = std::move(title);
    check.status = status;
    check.explanation = std::move(explanation);
    check.seconds = seconds;
    m_result.checks.push_back(std::move(check));
    return m_result.checks.back();
  }

  // ---- locks
  core::Status lock(Milliseconds wait, Milliseconds ttl);
  bool lease_lost() const {
    return std::any_of(m_heartbeats.begin(), m_heartbeats.end(), [](const auto& beat) { return beat->lost(); });
  }
  void unlock() {
    for (auto& beat : m_heartbeats) beat->stop();
    m_heartbeats.clear();
    for (auto& lease : m_leases) (void)lease->release();
    m_leases.clear();
  }

  // ---- journal
  void journal(Unit& unit, const std::string& action, const std::string& phase, nlohmann::json data = nlohmann::json::object());
  // Removes the journals of the units that are in a recorded state (not
  // those whose rollback failed: the next run reconciles them).
  void close_journals();
  std::string journal_error() const {
    std::lock_guard<std::mutex> guard(m_mutex);
    return m_journal_error;
  }
  void clear_journal_error() {
    std::lock_guard<std::mutex> guard(m_mutex);
    m_journal_error.clear();
  }

  // ---- deadline and interruption
  void set_deadline(Milliseconds deadline) { m_deadline = m_started + deadline; m_deadline_length = deadline; }
  Milliseconds remaining() const {
    return std::chrono::duration_cast<Milliseconds>(m_deadline - SteadyClock::now());
  }
  // A deliberate pause (canary) does not eat into the deadline.
  void extend_deadline(Milliseconds paused) {
    m_deadline += paused;
    m_paused += paused;
  }
  // Why the run must stop now, or empty.
  std::string stop_reason() const;

  // ---- commands
  std::map<std::string, std::string> command_env(const Unit& unit, const std::string& release) const;

  core::Status run_command(const CommandSpec& command, const Unit& unit, const std::string& release,
                           bool rolling_back, std::string& transcript, const std::string& cwd = {});

  // ---- state shared with the caller
  std::string m_version;       // the version being made live
  std::string m_release;       // its release id
  std::string m_old_version;   // live before
  std::string m_restore_from;  // release whose config snapshot is restored on rollback
  std::string m_backup_dir;    // this run's backup folder (primary target)
  std::map<std::string, std::string> m_config_sha; // per service
  nlohmann::json m_backups = nlohmann::json::array();
  std::string m_completed_rollback; // version an interrupted rollback was completed to (reconcile)
  std::vector<std::string> m_dropped; // hosts that failed within max_failures and went back alone

  const EngineContext& m_context;
  Environment& m_env;
  Mode m_mode;
  core::StepResult m_result;
  std::string m_run_id;
  int m_seq = 0;
  std::string m_journal_error;
  SteadyClock::time_point m_started;
  SteadyClock::time_point m_deadline{};
  Milliseconds m_deadline_length{0};
  std::vector<std::unique_ptr<Lease>> m_leases;
  std::vector<std::unique_ptr<Heartbeat>> m_heartbeats;
  mutable std::mutex m_mutex; // progress lines and the journal sequence, written from worker threads
  int m_jobs = 10;
  Milliseconds m_paused{0};   // time spent in a deliberate pause (not counted against the deadline)
};


// The ledger is an artifact like any other: free text in it (a failing
// command's output in `reason`) goes through the redactor first.
LedgerEntry redacted(const LedgerEntry& entry, const io::Output& output);
void append_ledgers(Run& run, const LedgerEntry& entry, std::vector<std::string>& errors);

// ---------------------------------------------------------------- pre-flight and repair (reconcile.cpp)

// A run killed with -9 left journals: each target is brought back to a
// recorded state (docs/deploy.md#interruption-and-crashes). `done` gets a
// line per repair.
core::Status reconcile(Run& run, const EngineContext& context, const TargetOptions& options,
                       std::vector<std::string>& done);
// The result of a command that shows a document (status, history, db
// status): pass, exit 0, with `headline`.
core::StepResult document(const std::string& step, const std::string& headline);
// The result of a run refused before any change: exit 4 with the reason.
core::StepResult blocked(Run& run, const std::string& reason);
// Pause, layout, lock, reconciliation: common to deploy and rollback. The
// reason to refuse, or nothing.
std::optional<std::string> prepare_targets(Run& run, const EngineContext& context, const TargetOptions& options,
                                           std::vector<std::string>& reconciled);

} // namespace deploy
