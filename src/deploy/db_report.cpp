// `shipgate db status` and `shipgate db plan`: what the registry holds,
// and exactly what a deploy or a rollback would run. Read-only: no lock
// is taken and nothing is written, not even the registry schema.
#include <filesystem>

#include "core/text.hpp"
#include "deploy/databases.hpp"
#include "deploy/plan_validate.hpp"

namespace deploy {

using core::ErrorKind;

namespace {



// The client's argv for one script, as a command line to read.
std::string client_line(const DatabaseSpec& spec, const std::string& script) {
  CommandSpec command;
  bool on_argv = false;
  for (const auto& word : spec.client) {
    on_argv = on_argv || word.find("${SCRIPT}") != std::string::npos;
    command.argv.push_back(core::replace_all(word, "${SCRIPT}", script));
  }
  return command.display() + (on_argv ? "" : " < " + script);
}

std::string argv_line(const std::vector<std::string>& argv) {
  CommandSpec command;
  command.argv = argv;
  return command.display();
}

struct Opened {
  std::unique_ptr<db::Session> session;
  db::Comparison comparison;
};

core::Result<std::vector<Opened>> open_databases(const ResolvedPlan& plan, db::SessionContext& context) {
  std::vector<Opened> out;
  for (const auto& spec : plan.databases) {
    auto session = db::Session::open(spec, context, false);
    if (!session) return session.error();
    auto comparison = (*session)->compare();
    if (!comparison) return comparison.error();
    out.push_back({std::move(*session), std::move(*comparison)});
  }
  return out;
}


nlohmann::json row_json(const db::AppliedChange& row) {
  return {{"id", row.change_id},       {"seq", row.seq},           {"state", row.state},
          {"version", row.release_version}, {"by", row.applied_by}, {"at", row.applied_at},
          {"irreversible", row.irreversible}};
}

} // namespace

core::Result<core::StepResult> show_db_status(const TargetOptions& options, const EngineContext& context) {
  auto plan = load_plan(options.plan_file);
  if (!plan) return plan.error();
  Variables values = placeholder_run_values();
  for (const auto& [key, value] : options.vars) values[key] = value;
  auto resolved = resolve_plan(*plan, options.environment, base_variables(context), values);
  if (!resolved) return resolved.error();
  if (resolved->databases.empty())
    return core::make_error(ErrorKind::usage, options.plan_file + " has no databases: section (docs/database.md)");
  db::SessionContext session_context{plan->name, options.environment, "", "", context.ci.user, context.env,
                                     context.output, {}, {}};
  auto opened = open_databases(*resolved, session_context);
  if (!opened) return opened.error();
  int pending_total = 0, problems = 0;
  nlohmann::json databases = nlohmann::json::array();
  std::string text = "environment " + options.environment + " (plan " + options.plan_file + ")\n";
  for (const auto& item : *opened) {
    const auto& spec = item.session->spec();
    const auto& c = item.comparison;
    nlohmann::json applied = nlohmann::json::array(), pending = nlohmann::json::array(), unsettled = nlohmann::json::array();
    text += "  database " + spec.name + " (" + spec.connection_env + ")\n";
    for (const auto& row : c.applied) {
      nlohmann::json json = row_json(row);
      const bool drift = std::find(c.drift.begin(), c.drift.end(), row.change_id) != c.drift.end();
      const bool unknown = std::any_of(c.unknown.begin(), c.unknown.end(),
                                       [&](const db::AppliedChange& other) { return other.change_id == row.change_id; });
      json["drift"] = drift;
      json["in_plan"] = !unknown;
      applied.push_back(json);
      problems += drift || unknown;
      text += "    applied  " + row.change_id + "  " + row.release_version + "  " + row.applied_at + "  by " +
              row.applied_by + (drift ? "  [DRIFT] its deploy script changed since it was applied" : "") +
              (unknown ? "  [UNKNOWN] not in this plan" : "") +
              (row.irreversible.empty() ? "" : "  (irreversible: " + row.irreversible + ")") + "\n";
    }
    for (const auto& row : c.unsettled) {
      unsettled.push_back(row_json(row));
      text += "    " + row.state + "  " + row.change_id + "  run " + row.run_id +
              "  [INTERRUPTED] the next deploy-stage or rollback settles it\n";
    }
    for (const auto* change : c.pending) {
      pending.push_back({{"id", change->id}, {"deploy", change->deploy}, {"irreversible", change->irreversible},
                         {"has_revert", !change->revert.empty()}});
      text += "    pending  " + change->id +
              (change->revert.empty() && change->irreversible.empty() ? "  [NO REVERT] a deploy is refused until it has one" : "") +
              (change->irreversible.empty() ? "" : "  (irreversible: " + change->irreversible + ")") + "\n";
    }
    if (c.applied.empty() && c.pending.empty()) text += "    no changes\n";
    if (!c.out_of_order.empty()) {
      text += "    [ORDER] " + c.out_of_order + "\n";
      ++problems;
    }
    pending_total += static_cast<int>(c.pending.size());
    const db::Head head = db::head_of(c.applied);
    databases.push_back({{"name", spec.name},
                         {"head", head.change_id},
                         {"head_seq", head.seq},
                         {"applied", applied},
                         {"pending", pending},
                         {"unsettled", unsettled},
                         {"drift", c.drift},
                         {"out_of_order", c.out_of_order}});
  }
  core::StepResult result = document("db status", options.environment + ": " + std::to_string(pending_total) +
                                                      " database change(s) pending" +
                                                      (problems ? ", " + std::to_string(problems) + " problem(s)" : ""));
  result.details["environment"] = options.environment;
  result.details["databases"] = databases;
  result.text_view = text;
  result.markdown_view = "```\n" + text + "```\n";
  result.outputs = {{"pending", std::to_string(pending_total)}};
  return result;
}

core::Result<core::StepResult> show_db_plan(const TargetOptions& options, const DbPlanRequest& request,
                                            const EngineContext& context) {
  auto opened_env = open_environment(options.plan_file, options.environment, options.vars,
                                     placeholder_run_values(options.environment, "0.0.0"), context);
  if (!opened_env) return opened_env.error();
  Environment& env = *opened_env;
  if (env.resolved.databases.empty())
    return core::make_error(ErrorKind::usage, options.plan_file + " has no databases: section (docs/database.md)");
  std::vector<std::string> warnings;
  const LedgerEntry* target = nullptr;
  std::map<std::string, History> histories;
  if (request.rollback) {
    histories = read_all_histories(*env.plan, options.vars, context, warnings);
    const History& history = histories[options.environment];
    std::vector<const History*> all;
    for (const auto& [name, item] : histories) all.push_back(&item);
    target = history.rollback_target(bad_versions(all), [](const std::string&) { return true; }, request.to);
    if (!target)
      return core::make_error(ErrorKind::blocked, "no release to roll back to is recorded in " + options.environment +
                                                      (request.to ? " for " + *request.to : std::string()) +
                                                      "; see `shipgate history`");
  }
  db::SessionContext session_context{env.plan->name, options.environment, "", "", context.ci.user, context.env,
                                     context.output, {}, {}};
  auto opened = open_databases(env.resolved, session_context);
  if (!opened) return opened.error();

  core::ExitCode code = core::ExitCode::success;
  std::vector<std::string> refusals;
  nlohmann::json databases = nlohmann::json::array();
  std::string text = (request.rollback ? "rollback of " + options.environment + " to " + target->version
                                       : "deploy-stage to " + options.environment) +
                     " would run (plan " + options.plan_file + "):\n";
  for (const auto& item : *opened) {
    const auto& spec = item.session->spec();
    const auto& c = item.comparison;
    nlohmann::json steps = nlohmann::json::array();
    auto step = [&](const std::string& kind, const std::string& change, const std::string& command) {
      steps.push_back({{"kind", kind}, {"change", change}, {"command", command}});
      text += "    " + std::to_string(steps.size()) + ". " + kind + (change.empty() ? "" : " " + change) + ": " +
              command + "\n";
    };
    auto refuse = [&](const DbRefusal& refusal) {
      refusals.push_back(refusal.reason);
      if (code == core::ExitCode::success || refusal.code == core::ExitCode::usage) code = refusal.code;
      text += "    REFUSED: " + refusal.reason + "\n";
    };
    text += "  database " + spec.name + " (" + spec.connection_env + "), " +
            (request.rollback ? (spec.rollback_db_first ? "before" : "after") + std::string(" the applications are switched back")
                              : (spec.after_apps ? "after" : "before") + std::string(" the applications")) +
            ":\n";
    if (!request.rollback) {
      if (auto refusal = deploy_refusal(spec, c)) refuse(*refusal);
      if (c.pending.empty()) text += "    nothing to apply: every change of the plan is applied\n";
      if (!c.pending.empty() && spec.backup.enabled) {
        const std::string file = (spec.backup.dir.empty() ? std::string("<backups>/<release>") : spec.backup.dir + "/<release>") +
                                 "/db-" + spec.name + ".dump";
        std::vector<std::string> dump;
        for (const auto& word : spec.backup.command) dump.push_back(core::replace_all(word, "${BACKUP_FILE}", file));
        step("backup", "", argv_line(dump));
        if (spec.backup.verify_restore) {
          std::vector<std::string> restore;
          for (const auto& word : spec.backup.restore)
            restore.push_back(core::replace_all(core::replace_all(word, "${BACKUP_FILE}", file), "${SCRATCH_DATABASE}",
                                          "shipgate_restore_<run>"));
          step("restore-check", "", argv_line(restore) + "; then the verify scripts of " +
                                        std::to_string(c.applied.size()) + " applied change(s) in that database");
        }
      }
      std::vector<std::string> reverts;
      for (const auto* change : c.pending) {
        step("deploy", change->id, client_line(spec, change->deploy));
        if (!change->verify.empty()) step("verify", change->id, client_line(spec, change->verify));
        if (spec.rehearse_revert && !change->revert.empty())
          step("rehearse", change->id,
               client_line(spec, change->revert) +
                   (change->verify.empty() ? "" : "; the verify script must then fail") +
                   "; then deploy" + (change->verify.empty() ? "" : " and verify") + " again");
        reverts.insert(reverts.begin(), change->irreversible.empty()
                                            ? change->id
                                            : change->id + " (irreversible: stays applied)");
      }
      if (!c.pending.empty())
        text += "    on a failure, this run's changes are reverted, newest first: " + core::join(reverts) + "\n";
    } else {
      const nlohmann::json recorded = target->extra.value("databases", nlohmann::json::object());
      const nlohmann::json head = recorded.is_object() ? recorded.value(spec.name, nlohmann::json()) : nlohmann::json();
      if (!head.is_object() || !head.contains("head_seq")) {
        text += "    left as it is: the ledger entry of " + target->version + " records no head for it\n";
      } else {
        const db::RevertPlan plan = db::plan_revert(c.applied, head.value("head_seq", 0LL), request.force_past_irreversible);
        if (!plan.irreversible.empty() && !request.force_past_irreversible) {
          std::vector<std::string> names;
          for (const auto& change : plan.irreversible) names.push_back(change.change_id + " (irreversible: " + change.irreversible + ")");
          refuse({"returning database " + spec.name + " to " + target->version + " would revert " + core::join(names, "; ") +
                      "; rollback refuses unless given --force-past-irreversible --reason TEXT",
                  core::ExitCode::blocked});
        }
        for (const auto& change : plan.revert) {
          std::string script;
          for (const auto& spec_change : spec.changes)
            if (spec_change.id == change.change_id) script = spec_change.revert;
          step("revert", change.change_id,
               script.empty() ? client_line(spec, "<the revert script kept in the registry>") : client_line(spec, script));
        }
        if (plan.revert.empty()) text += "    nothing to revert: the head is " + head.value("head", std::string("(none)")) + "\n";
        else text += "    then the verify script of the new head, " +
                     (head.value("head", std::string()).empty() ? std::string("(none)") : head.value("head", std::string())) + "\n";
        for (const auto& change : plan.left_applied) text += "    stays applied: " + change.change_id + "\n";
      }
    }
    databases.push_back({{"name", spec.name}, {"steps", steps}});
  }
  core::StepResult result = document("db plan", refusals.empty() ? "the database steps of " + options.environment +
                                                                     " (nothing was run)"
                                                                 : "REFUSED: " + refusals.front());
  result.exit_code = code;
  result.verdict = code == core::ExitCode::success ? core::Verdict::pass : core::Verdict::fail;
  result.details["environment"] = options.environment;
  result.details["mode"] = request.rollback ? "rollback" : "deploy";
  if (target) result.details["rollback_to"] = target->version;
  result.details["databases"] = databases;
  result.details["refusals"] = refusals;
  result.warnings = warnings;
  result.text_view = text;
  result.markdown_view = "```\n" + text + "```\n";
  return result;
}

} // namespace deploy
