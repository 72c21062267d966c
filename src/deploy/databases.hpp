#pragma once
// The databases of one deploy-stage or rollback run (docs/database.md):
// the bridge between the engine's Run (checks, progress, ledger) and one
// db::Session per database of the plan.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "db/session.hpp"
#include "deploy/history.hpp"
#include "deploy/run.hpp"

namespace deploy {

struct DbRefusal {
  std::string reason;
  core::ExitCode code = core::ExitCode::blocked;
};

// Why a deploy must not touch this database (drift and order: exit 2;
// the rest: exit 4), or nothing.
std::optional<DbRefusal> deploy_refusal(const DatabaseSpec& spec, const db::Comparison& comparison);

// `shipgate db status` and `shipgate db plan` (docs/database.md#commands).
core::Result<core::StepResult> show_db_status(const TargetOptions& options, const EngineContext& context);
struct DbPlanRequest {
  bool rollback = false;
  std::optional<std::string> to; // rollback --to VERSION
  bool force_past_irreversible = false;
};
core::Result<core::StepResult> show_db_plan(const TargetOptions& options, const DbPlanRequest& request,
                                            const EngineContext& context);

class RunDatabases {
public:
  RunDatabases(Run& run, const EngineContext& context, const TargetOptions& options, std::string version);
  ~RunDatabases();
  bool empty() const;

  // Deploy pre-flight: connect and lock every database, settle what an
  // interrupted run left, compare registry and plan (drift, order, missing
  // revert scripts, changes the plan does not know).
  std::optional<DbRefusal> preflight_deploy(const ResolvedPlan& plan, const History& history);
  // Backup, then the new changes, of the databases deployed before
  // (`after_apps` false) or after the applications. The failure, or empty;
  // the failing database has reverted its own changes of this run.
  std::string deploy_phase(bool after_apps, const std::string& default_backup_dir);
  // Reverts this run's changes of the databases whose rollback comes
  // before (`db_first` true) or after the applications, last database
  // first. The failures.
  std::vector<std::string> revert_run(bool db_first);
  // The run succeeded: the changes become deployed. Failures as warnings.
  std::vector<std::string> promote();

  // Rollback pre-flight: what returning to `target` reverts, and whether an
  // irreversible change stands in the way.
  std::optional<DbRefusal> preflight_rollback(const ResolvedPlan& plan, const History& history,
                                              const LedgerEntry& target, bool force, std::vector<std::string>& warnings);
  // Reverts, in the databases whose rollback comes before or after the
  // applications, what preflight_rollback planned. The failures.
  std::vector<std::string> rollback_phase(bool db_first);

  // For the ledger entry and the result: per database its head, what this
  // run applied, reverted and left applied, and its backup.
  nlohmann::json record();
  std::vector<std::string> warnings() const { return m_warnings; }
  bool reverted_any() const; // this run reverted a change somewhere

private:
  struct Item;
  std::optional<DbRefusal> open_all(const ResolvedPlan& plan, const History& history);
  db::Reporter reporter();

  Run& m_run;
  const EngineContext& m_context;
  const TargetOptions& m_options;
  std::unique_ptr<db::SessionContext> m_session_context;
  std::vector<std::unique_ptr<Item>> m_items;
  std::vector<std::string> m_warnings;
};

} // namespace deploy
