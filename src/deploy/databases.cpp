#include "deploy/databases.hpp"

#include <stdlib.h>

#include <filesystem>

#include "core/interrupt.hpp"
#include "core/text.hpp"

namespace deploy {

using core::CheckStatus;

struct RunDatabases::Item {
  std::unique_ptr<db::Session> session;
  db::Comparison comparison;
  std::optional<db::BackupRecord> backup;
  std::vector<db::AppliedChange> to_revert; // rollback: newest first
  std::vector<std::string> kept;            // rollback forced past these
  bool skipped = false;                     // rollback: the target records no head
  bool revert_failure_reported = false;
};

RunDatabases::RunDatabases(Run& run, const EngineContext& context, const TargetOptions& options, std::string version)
    : m_run(run), m_context(context), m_options(options) {
  // A private folder (mkdtemp: 0700, never one someone else made) for the
  // scripts a rollback takes from the registry.
  std::string work = (std::filesystem::temp_directory_path() / "shipgate-db-XXXXXX").string();
  if (!::mkdtemp(work.data())) work.clear();
  m_session_context.reset(new db::SessionContext{run.env().plan->name, options.environment, std::move(version),
                                                 run.run_id(), context.ci.user, context.env, context.output, work,
                                                 options.wait_lock});
}

RunDatabases::~RunDatabases() {
  std::error_code ignored;
  if (!m_session_context->work_dir.empty()) std::filesystem::remove_all(m_session_context->work_dir, ignored);
}

bool RunDatabases::empty() const { return m_run.env().resolved.databases.empty(); }

db::Reporter RunDatabases::reporter() {
  return {[this](const std::string& id, const std::string& title, CheckStatus status, const std::string& explanation,
                 double seconds) { m_run.add_check(id, title, status, explanation, seconds); },
          [this](const std::string& line) { m_run.progress(line); }};
}

std::optional<DbRefusal> RunDatabases::open_all(const ResolvedPlan& plan, const History& history) {
  auto succeeded = [&](const std::string& run_id) {
    for (const auto& entry : history.entries)
      if (entry.id == run_id && entry.event == "deploy" && entry.outcome == "succeeded") return true;
    return false;
  };
  db::Reporter report = reporter();
  for (const auto& spec : plan.databases) {
    auto session = db::Session::open(spec, *m_session_context, true);
    if (!session) {
      const auto code = session.error().kind == core::ErrorKind::usage ? core::ExitCode::usage : core::ExitCode::blocked;
      m_run.add_check("preflight/db-" + spec.name, "database " + spec.name + " can be reached and locked",
                      CheckStatus::fail, session.error().message);
      return DbRefusal{session.error().message, code};
    }
    std::vector<std::string> settled;
    if (auto status = (*session)->settle(succeeded, report, settled); !status) {
      const std::string why = "database " + spec.name + ": settling what an interrupted run left failed: " +
                              status.error().message;
      m_run.add_check("preflight/db-" + spec.name, "database " + spec.name + " is in a recorded state",
                      CheckStatus::fail, why);
      return DbRefusal{why, core::ExitCode::rollback_failed};
    }
    for (const auto& line : settled) m_warnings.push_back(line);
    auto item = std::make_unique<Item>();
    item->session = std::move(*session);
    auto comparison = item->session->compare();
    if (!comparison) {
      m_run.add_check("preflight/db-" + spec.name, "the registry of database " + spec.name + " can be read",
                      CheckStatus::fail, comparison.error().message);
      return DbRefusal{comparison.error().message, comparison.error().kind == core::ErrorKind::invalid_input
                                                       ? core::ExitCode::usage
                                                       : core::ExitCode::blocked};
    }
    item->comparison = std::move(*comparison);
    m_items.push_back(std::move(item));
  }
  return std::nullopt;
}

std::optional<DbRefusal> deploy_refusal(const DatabaseSpec& spec, const db::Comparison& c) {
  if (!c.drift.empty())
    return DbRefusal{"database " + spec.name + ": the deploy script of applied change " + core::join(c.drift) +
                         " has changed since it was applied (its sha256 differs from the registry's); an applied "
                         "change is never edited: put the script back and add a new change for the difference",
                     core::ExitCode::usage};
  if (!c.out_of_order.empty()) return DbRefusal{"database " + spec.name + ": " + c.out_of_order, core::ExitCode::usage};
  if (!c.foreign.empty())
    return DbRefusal{"database " + spec.name + " holds changes recorded for another environment (" + core::join(c.foreign) +
                     "); each environment needs its own database: check " + spec.connection_env};
  if (!c.unknown.empty()) {
    std::vector<std::string> names;
    for (const auto& row : c.unknown) names.push_back(row.change_id + " (applied by " + row.release_version + ")");
    return DbRefusal{"database " + spec.name + " holds changes this plan does not list: " + core::join(names) +
                     "; the database is ahead of this plan: return it with `shipgate rollback`, or deploy a plan "
                     "that lists them"};
  }
  if (!c.missing_revert.empty())
    return DbRefusal{"database " + spec.name + ": new change " + core::join(c.missing_revert) +
                     " has no revert script; add revert: with a script undoing it, or mark it irreversible: "
                     "\"<reason>\" so that a rollback past it is refused"};
  return std::nullopt;
}

std::optional<DbRefusal> RunDatabases::preflight_deploy(const ResolvedPlan& plan, const History& history) {
  if (auto refused = open_all(plan, history)) return refused;
  for (const auto& item : m_items) {
    const auto& spec = item->session->spec();
    const auto& c = item->comparison;
    const std::string id = "preflight/db-" + spec.name;
    const std::string title = "database " + spec.name + " matches the plan";
    std::optional<DbRefusal> refusal = deploy_refusal(spec, c);
    if (refusal) {
      m_run.add_check(id, title, CheckStatus::fail, refusal->reason);
      return refusal;
    }
    std::vector<std::string> pending;
    for (const auto* change : c.pending) pending.push_back(change->id);
    m_run.add_check(id, title, CheckStatus::pass,
                    std::to_string(c.applied.size()) + " change(s) applied, " +
                        (pending.empty() ? std::string("none pending") : std::to_string(pending.size()) + " to apply: " + core::join(pending)));
  }
  return std::nullopt;
}

std::string RunDatabases::deploy_phase(bool after_apps, const std::string& default_backup_dir) {
  db::Reporter report = reporter();
  for (auto& item : m_items) {
    const auto& spec = item->session->spec();
    if (spec.after_apps != after_apps || item->comparison.pending.empty()) continue;
    if (core::interrupted()) return "interrupted before the changes of database " + spec.name;
    if (spec.backup.enabled) {
      const std::string dir = spec.backup.dir.empty() ? default_backup_dir : spec.backup.dir + "/" + m_run.m_release;
      auto backup = item->session->backup(dir, item->comparison.applied, report);
      if (!backup) return backup.error().message;
      item->backup = *backup;
      m_run.m_backups.push_back({{"service", "db:" + spec.name},
                                 {"name", "dump"},
                                 {"file", backup->file},
                                 {"bytes", backup->bytes},
                                 {"sha256", backup->sha256},
                                 {"restore_verified", backup->restore_verified}});
    }
    if (auto applied = item->session->apply(item->comparison.pending, report); !applied) return applied.error().message;
  }
  return {};
}

std::vector<std::string> RunDatabases::revert_run(bool db_first) {
  std::vector<std::string> failures;
  db::Reporter report = reporter();
  for (auto it = m_items.rbegin(); it != m_items.rend(); ++it) {
    auto& session = *(*it)->session;
    // A revert that already failed when the change failed: the database is
    // not back where the run found it.
    if (!session.revert_failure().empty() && !(*it)->revert_failure_reported) {
      (*it)->revert_failure_reported = true;
      failures.push_back(session.revert_failure());
    }
    if (session.spec().rollback_db_first != db_first) continue;
    if (auto reverted = session.revert_run(report); !reverted) failures.push_back(reverted.error().message);
    for (const auto& kept : session.left_applied())
      m_warnings.push_back("database " + session.spec().name + ": irreversible change " + kept +
                           " was applied by this run and stays applied");
  }
  return failures;
}

std::vector<std::string> RunDatabases::promote() {
  std::vector<std::string> failures;
  for (auto& item : m_items)
    if (auto promoted = item->session->promote(); !promoted)
      failures.push_back("database " + item->session->spec().name + ": " + promoted.error().message +
                         " (the next run marks the changes deployed from the ledger)");
  return failures;
}

std::optional<DbRefusal> RunDatabases::preflight_rollback(const ResolvedPlan& plan, const History& history,
                                                          const LedgerEntry& target, bool force,
                                                          std::vector<std::string>& warnings) {
  if (auto refused = open_all(plan, history)) return refused;
  const nlohmann::json recorded = target.extra.value("databases", nlohmann::json::object());
  for (auto& item : m_items) {
    const auto& spec = item->session->spec();
    const std::string id = "preflight/db-" + spec.name;
    const std::string title = "database " + spec.name + " can return to " + target.version;
    const nlohmann::json head = recorded.is_object() ? recorded.value(spec.name, nlohmann::json()) : nlohmann::json();
    if (!head.is_object() || !head.contains("head_seq")) {
      item->skipped = true;
      const std::string why = "the ledger entry of " + target.version + " records no head for database " + spec.name +
                              ", so it is left as it is";
      warnings.push_back(why);
      m_run.add_check(id, title, CheckStatus::warn, why);
      continue;
    }
    const long long head_seq = head.value("head_seq", 0LL);
    const db::RevertPlan plan_revert = db::plan_revert(item->comparison.applied, head_seq, force);
    if (!plan_revert.irreversible.empty() && !force) {
      std::string names;
      for (const auto& change : plan_revert.irreversible)
        names += (names.empty() ? "" : "; ") + change.change_id + " (irreversible: " + change.irreversible + ")";
      const std::string why = "returning database " + spec.name + " to " + target.version + " would revert " + names +
                              "; pass --force-past-irreversible --reason TEXT to roll back the applications and the "
                              "changes after it, leaving it applied";
      m_run.add_check(id, title, CheckStatus::fail, why);
      return DbRefusal{why, core::ExitCode::blocked};
    }
    item->to_revert = plan_revert.revert;
    for (const auto& change : plan_revert.left_applied) item->kept.push_back(change.change_id);
    std::vector<std::string> names;
    for (const auto& change : item->to_revert) names.push_back(change.change_id);
    std::string explanation = names.empty() ? "nothing to revert: the head is " + head.value("head", std::string("(none)"))
                                            : "reverts, newest first: " + core::join(names);
    if (!item->kept.empty()) {
      explanation += "; forced past irreversible changes, these stay applied: " + core::join(item->kept);
      warnings.push_back("database " + spec.name + ": stays ahead of " + target.version + " with " + core::join(item->kept));
    }
    m_run.add_check(id, title, CheckStatus::pass, explanation);
  }
  return std::nullopt;
}

std::vector<std::string> RunDatabases::rollback_phase(bool db_first) {
  std::vector<std::string> failures;
  db::Reporter report = reporter();
  for (auto it = m_items.rbegin(); it != m_items.rend(); ++it) {
    auto& item = **it;
    if (item.skipped || item.session->spec().rollback_db_first != db_first) continue;
    if (auto reverted = item.session->revert(item.to_revert, report, true); !reverted)
      failures.push_back(reverted.error().message);
  }
  return failures;
}

bool RunDatabases::reverted_any() const {
  for (const auto& item : m_items)
    if (!item->session->reverted().empty()) return true;
  return false;
}

nlohmann::json RunDatabases::record() {
  nlohmann::json out = nlohmann::json::object();
  for (auto& item : m_items) {
    auto& session = *item->session;
    nlohmann::json entry;
    auto head = session.head();
    if (head) {
      entry["head"] = head->change_id;
      entry["head_seq"] = head->seq;
    } else {
      entry["error"] = head.error().message;
    }
    entry["applied"] = session.applied_this_run();
    entry["reverted"] = session.reverted();
    std::vector<std::string> left = session.left_applied();
    left.insert(left.end(), item->kept.begin(), item->kept.end());
    entry["left_applied"] = left;
    if (item->backup)
      entry["backup"] = {{"file", item->backup->file},
                         {"sha256", item->backup->sha256},
                         {"bytes", item->backup->bytes},
                         {"restore_verified", item->backup->restore_verified}};
    out[session.spec().name] = entry;
  }
  return out;
}

} // namespace deploy
