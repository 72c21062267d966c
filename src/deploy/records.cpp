// The commands that read or repair the record: status, history,
// release unblock, lock release (docs/deploy.md).
#include <algorithm>
#include <filesystem>

#include "core/time.hpp"
#include "deploy/engine.hpp"
#include "deploy/layout.hpp"
#include "deploy/parallel.hpp"
#include "deploy/run.hpp"
#include "render/markdown.hpp"

namespace deploy {

namespace fs = std::filesystem;
using core::ErrorKind;

// ---------------------------------------------------------------- status, history

namespace {

std::string time_text(core::SystemTime time) {
  return time == core::SystemTime{} ? std::string("?") : core::format_rfc3339(time);
}

std::string describe_entry(const LedgerEntry& entry) {
  std::string text = entry.version + " (release " + entry.release + ", " + time_text(entry.finished_at);
  if (!entry.user.empty()) text += ", by " + entry.user;
  if (!entry.pipeline_url.empty()) text += ", " + entry.pipeline_url;
  return text + ")";
}

core::Result<Environment> open_for_reading(const TargetOptions& options, const EngineContext& context) {
  return open_environment(options.plan_file, options.environment, options.vars,
                          placeholder_run_values(options.environment, "0.0.0"), context);
}

} // namespace

core::StepResult document(const std::string& step, const std::string& headline) {
  core::StepResult result;
  result.step = step;
  result.verdict = core::Verdict::pass;
  result.exit_code = core::ExitCode::success;
  result.headline = headline;
  return result;
}

core::Result<core::StepResult> show_status(const TargetOptions& options, const EngineContext& context) {
  const ConnectionsClosed closed;
  auto opened = open_for_reading(options, context);
  if (!opened) return opened.error();
  Environment& env = *opened;
  std::vector<std::string> warnings;
  auto histories = read_all_histories(*env.plan, options.vars, context, warnings);
  const History& history = histories[options.environment];
  std::vector<const History*> all;
  for (const auto& [name, item] : histories) all.push_back(&item);
  const auto bad = bad_versions(all);
  const auto lives = history.live_entries();
  const LedgerEntry* live = lives.empty() ? nullptr : lives.front();
  const LedgerEntry* before = nullptr;
  for (const LedgerEntry* entry : lives)
    if (live && entry->release != live->release) {
      before = entry;
      break;
    }
  const LedgerEntry* target = history.rollback_target(
      bad, [&](const std::string& release) {
        for (auto& unit : env.units)
          if (!unit.driver->check_intact(release)) return false;
        return true;
      },
      std::nullopt);

  core::StepResult result = document("status", options.environment + ": " + (live ? live->version + " is live" : "nothing recorded as live"));
  nlohmann::json details;
  details["environment"] = options.environment;
  details["live"] = live ? live->to_json() : nlohmann::json();
  details["previous"] = before ? before->to_json() : nlohmann::json();
  details["rollback_target"] = target ? target->to_json() : nlohmann::json();
  details["bad_versions"] = bad;
  std::string text = "environment " + options.environment + " (plan " + options.plan_file + ")\n";
  text += "  live:            " + (live ? describe_entry(*live) : std::string("nothing recorded")) + "\n";
  text += "  live before:     " + (before ? describe_entry(*before) : std::string("-")) + "\n";
  text += "  rollback target: " + (target ? target->version + " (release " + target->release + ")" : std::string("none")) + "\n";
  text += "  marked bad:      " + (bad.empty() ? std::string("none") : version_list(bad)) + "\n";
  // The database heads recorded with the live release (docs/database.md).
  const nlohmann::json heads = live ? live->extra.value("databases", nlohmann::json::object()) : nlohmann::json::object();
  std::string head_text;
  if (heads.is_object())
    for (const auto& [name, head] : heads.items())
      if (head.is_object())
        head_text += (head_text.empty() ? "" : ", ") + name + " at " +
                     (head.value("head", std::string()).empty() ? std::string("(no change)") : head.value("head", std::string()));
  if (!head_text.empty()) text += "  databases:       " + head_text + " (shipgate db status shows the registry)\n";
  details["database_heads"] = heads.is_object() ? heads : nlohmann::json::object();
  std::string markdown = "## " + render::markdown_escape(options.environment) + ": " + (live ? render::markdown_escape(live->version) + " is live" : "nothing live") + "\n\n";
  markdown += "| | |\n|---|---|\n| Live | " + (live ? render::markdown_escape(describe_entry(*live)) : "-") + " |\n| Live before | " +
              (before ? render::markdown_escape(describe_entry(*before)) : "-") + " |\n| Rollback target | " +
              (target ? render::markdown_escape(target->version + " (" + target->release + ")") : "-") + " |\n| Marked bad | " +
              render::markdown_escape(bad.empty() ? "-" : version_list(bad)) + " |\n\n";
  markdown += "| Target | Current | Releases | Lock | Journal |\n|---|---|---|---|---|\n";
  text += "  targets:\n";
  nlohmann::json targets = nlohmann::json::array();
  struct Seen {
    nlohmann::json item = nlohmann::json::object();
    std::string current = "-", releases = "0", lock = "free", journal = "none";
    bool drift = false;
  };
  std::vector<Seen> seen(env.units.size());
  parallel_for(env.units.size(), options.jobs, [&](std::size_t i) {
    Unit& unit = env.units[i];
    Seen& out = seen[i];
    out.item["target"] = unit.name();
    out.item["service"] = unit.service;
    auto store = unit.driver->state_store();
    auto exists = store->exists();
    if (!exists) {
      out.current = "error: " + exists.error().message;
      out.item["error"] = exists.error().message;
      return;
    }
    if (!*exists) {
      out.current = "not deployed";
      return;
    }
    auto status = unit.driver->status();
    if (status) {
      out.current = status->current.value_or("-");
      out.releases = std::to_string(status->releases.size());
      out.item["current"] = status->current ? nlohmann::json(*status->current) : nlohmann::json();
      out.item["version"] = status->current ? nlohmann::json(version_of_release(*status->current)) : nlohmann::json();
      out.item["releases"] = status->releases;
      out.drift = live && (!status->current || *status->current != live->release);
      out.item["drift"] = out.drift;
      for (const char* key : {"colours", "live_colour"})
        if (status->details.contains(key)) out.item[key] = status->details[key];
      if (status->details.contains("live_colour") && status->details["live_colour"].is_string())
        out.current += " (live colour " + status->details["live_colour"].get<std::string>() + ")";
    } else {
      out.current = "error: " + status.error().message;
      out.item["error"] = status.error().message;
    }
    auto lease = Lease::read(*store);
    if (!lease) out.lock = "unreadable: " + lease.error().message;
    else if (*lease) {
      // Judged by the target's clock where the store reports the lease's
      // age: the holder's expires_at is on the holder's clock.
      out.lock = "held by " + (*lease)->owner.describe() + ", " + (*lease)->describe_expiry();
      out.item["lock"] = (*lease)->to_json();
    }
    auto journal = unit.journal->read();
    if (journal && !journal->records.empty()) {
      out.journal = "an interrupted run left a journal; the next deploy-stage or rollback reconciles it";
      out.item["journal_pending"] = true;
    }
  });
  std::vector<std::string> drifted;
  for (auto& item : seen) {
    const std::string name = item.item["target"].get<std::string>();
    if (item.drift) {
      drifted.push_back(name);
      warnings.push_back(name + ": `current` is " + item.current + " but the ledger records " + live->release +
                         " as live (drift)");
    }
    text += "    " + name + ": current " + item.current + (item.drift ? " [DRIFT]" : "") + ", " + item.releases +
            " releases, lock " + item.lock + (item.journal == "none" ? "" : "; " + item.journal) + "\n";
    markdown += "| " + render::markdown_escape(name) + " | " + render::markdown_escape(item.current) +
                (item.drift ? " **drift**" : "") + " | " + item.releases + " | " + render::markdown_escape(item.lock) +
                " | " + render::markdown_escape(item.journal) + " |\n";
    targets.push_back(item.item);
  }
  details["drift"] = drifted;
  if (!drifted.empty())
    text += "  drift: " + std::to_string(drifted.size()) + " of " + std::to_string(seen.size()) +
            " targets are not on the recorded version\n";
  details["targets"] = targets;
  result.details = details;
  result.text_view = text;
  result.markdown_view = markdown;
  result.warnings = warnings;
  result.outputs = {{"live_version", live ? live->version : ""}};
  return result;
}

core::Result<core::StepResult> show_history(const TargetOptions& options, int limit, const EngineContext& context) {
  const ConnectionsClosed closed;
  auto opened = open_for_reading(options, context);
  if (!opened) return opened.error();
  const History history = read_history(opened->units);
  core::StepResult result = document("history", options.environment + ": " + std::to_string(history.entries.size()) + " ledger entries");
  nlohmann::json entries = nlohmann::json::array();
  std::string text = "ledger of " + options.environment + " (newest first):\n";
  std::string markdown = "## Ledger of " + render::markdown_escape(options.environment) +
                         "\n\n| Finished | Event | Outcome | Version | Release | Previous | By | Reason |\n|---|---|---|---|---|---|---|---|\n";
  int shown = 0;
  for (auto it = history.entries.rbegin(); it != history.entries.rend() && shown < limit; ++it, ++shown) {
    const LedgerEntry& entry = *it;
    entries.push_back(entry.to_json());
    text += "  " + time_text(entry.finished_at) + "  " + entry.event + " " + entry.outcome + "  " + entry.version +
            (entry.release.empty() ? "" : " (" + entry.release + ")") +
            (entry.previous_version.empty() ? "" : " from " + entry.previous_version) +
            (entry.user.empty() ? "" : " by " + entry.user) + (entry.reason.empty() ? "" : ": " + entry.reason) + "\n";
    markdown += "| " + time_text(entry.finished_at) + " | " + render::markdown_escape(entry.event) + " | " + render::markdown_escape(entry.outcome) +
                " | " + render::markdown_escape(entry.version) + " | " + render::markdown_escape(entry.release) + " | " +
                render::markdown_escape(entry.previous_version) + " | " + render::markdown_escape(entry.user) + " | " + render::markdown_escape(entry.reason) + " |\n";
  }
  if (history.entries.empty()) text += "  (empty: nothing was deployed to " + options.environment + " yet)\n";
  result.details["environment"] = options.environment;
  result.details["entries"] = entries;
  result.text_view = text;
  result.markdown_view = markdown;
  result.warnings = history.warnings;
  return result;
}

core::Result<core::StepResult> unblock_release(const std::string& plan_file, const std::string& version,
                                               const std::string& reason, const Variables& vars,
                                               const EngineContext& context) {
  const ConnectionsClosed closed;
  if (reason.empty()) return core::make_error(ErrorKind::usage, "--reason TEXT is required: say why the version is fit again");
  auto plan = load_plan(plan_file);
  if (!plan) return plan.error();
  std::vector<std::string> warnings;
  auto histories = read_all_histories(*plan, vars, context, warnings);
  std::vector<const History*> all;
  for (const auto& [name, item] : histories) all.push_back(&item);
  if (!bad_versions(all).count(version)) {
    core::StepResult result = document("release unblock", version + " is not marked bad; nothing to unblock");
    result.warnings = warnings;
    return result;
  }
  std::vector<std::string> environments, errors;
  const std::string run_id = make_run_id(context.now);
  for (const auto& environment : plan->environments) {
    const History& history = histories[environment.name];
    const bool marked = std::any_of(history.entries.begin(), history.entries.end(), [&](const LedgerEntry& entry) {
      return entry.event == "mark-bad" && entry.version == version;
    });
    if (!marked) continue;
    Variables run_values = placeholder_run_values(environment.name, version);
    for (const auto& [key, value] : vars) run_values[key] = value;
    auto resolved = resolve_plan(*plan, environment.name, base_variables(context), run_values);
    if (!resolved) return resolved.error();
    auto units = make_units(*resolved, context);
    if (!units) return units.error();
    LedgerEntry entry = base_entry(context, run_id, environment.name);
    entry.event = "unblock";
    entry.outcome = "recorded";
    entry.version = version;
    entry.reason = reason;
    entry.finished_at = std::chrono::system_clock::now();
    for (auto& unit : *units)
      if (auto appended = unit.ledger->append(redacted(entry, context.output)); !appended)
        errors.push_back(appended.error().describe());
    environments.push_back(environment.name);
  }
  if (!errors.empty()) return core::make_error(ErrorKind::runtime, "cannot record the unblock: " + errors.front());
  std::string list;
  for (const auto& name : environments) list += (list.empty() ? "" : ", ") + name;
  core::StepResult result = document("release unblock", version + " is unblocked (recorded in the ledger of " + list + ")");
  result.details["version"] = version;
  result.details["environments"] = environments;
  result.details["reason"] = reason;
  result.warnings = warnings;
  return result;
}

core::Result<core::StepResult> force_release_lock(const TargetOptions& options, const std::string& reason,
                                                  const EngineContext& context) {
  const ConnectionsClosed closed;
  if (reason.empty())
    return core::make_error(ErrorKind::usage, "--reason TEXT is required: the forced release is recorded in the ledger");
  auto opened = open_for_reading(options, context);
  if (!opened) return opened.error();
  std::vector<std::string> released, errors;
  const std::string run_id = make_run_id(context.now);
  for (auto& unit : opened->units) {
    auto store = unit.driver->state_store();
    auto exists = store->exists();
    if (!exists) {
      errors.push_back(exists.error().describe());
      continue;
    }
    if (!*exists) continue;
    auto removed = Lease::force_release(*store);
    if (!removed) {
      errors.push_back(removed.error().describe());
      continue;
    }
    if (!*removed) continue;
    LedgerEntry entry = base_entry(context, run_id, options.environment);
    entry.event = "lock-force-release";
    entry.outcome = "recorded";
    entry.reason = reason + " (the lock was held by " + (*removed)->owner.describe() + ")";
    entry.extra["removed_lease"] = (*removed)->to_json();
    entry.finished_at = std::chrono::system_clock::now();
    if (auto appended = unit.ledger->append(redacted(entry, context.output)); !appended)
      errors.push_back(appended.error().describe());
    released.push_back(unit.driver->describe() + ": was held by " + (*removed)->owner.describe());
  }
  if (!errors.empty()) return core::make_error(ErrorKind::runtime, errors.front());
  core::StepResult result = document("lock release", released.empty()
                                                          ? "no lock was held in " + options.environment
                                                          : "released " + std::to_string(released.size()) +
                                                                " lock(s) in " + options.environment + "; recorded in the ledger");
  result.summary_lines = released;
  result.details["released"] = released;
  result.details["reason"] = reason;
  return result;
}

} // namespace deploy

