#include "deploy/signoff.hpp"

#include <algorithm>

#include "core/text.hpp"
#include "deploy/layout.hpp"
#include "deploy/run.hpp"

namespace deploy {

using core::ErrorKind;

core::Result<core::StepResult> record_signoff(const SignoffRequest& request, const EngineContext& context) {
  const ConnectionsClosed closed;
  if (!layout::valid_version(request.version))
    return core::make_error(ErrorKind::usage, "--version '" + request.version + "' is not a valid version");
  if (request.decision != "approve" && request.decision != "reject")
    return core::make_error(ErrorKind::usage, "--decision must be approve or reject, got '" + request.decision + "'");
  if (std::find(known_roles().begin(), known_roles().end(), request.role) == known_roles().end()) {
    const std::string guess = core::closest_match(request.role, known_roles());
    return core::make_error(ErrorKind::usage, "--role '" + request.role + "' is not a role of the sign-off chain" +
                                                  (guess.empty() ? "" : "; did you mean '" + guess + "'?") +
                                                  " (roles: " + core::join(known_roles()) + ")");
  }
  if (core::trim(request.by).empty())
    return core::make_error(ErrorKind::usage, "--by names who signs off, e.g. --by \"$GITLAB_USER_LOGIN\"");
  if (request.decision == "reject" && core::trim(request.comment).empty())
    return core::make_error(ErrorKind::usage, "a reject needs --comment TEXT saying why, for whoever fixes it");
  auto plan = load_plan(request.plan_file);
  if (!plan) return plan.error();
  Variables run_values = placeholder_run_values(request.environment, request.version);
  for (const auto& [key, value] : request.vars) run_values[key] = value;
  auto resolved = resolve_plan(*plan, request.environment, base_variables(context), run_values);
  if (!resolved) return resolved.error();
  auto units = make_units(*resolved, context);
  if (!units) return units.error();
  LedgerEntry entry = base_entry(context, make_run_id(context.now), request.environment);
  entry.event = "signoff";
  entry.outcome = request.decision == "approve" ? "approved" : "rejected";
  entry.version = request.version;
  entry.reason = request.role + " " + request.by + (request.comment.empty() ? "" : ": " + request.comment);
  entry.extra["role"] = request.role;
  entry.extra["by"] = request.by;
  entry.extra["decision"] = request.decision;
  entry.extra["comment"] = request.comment;
  entry.finished_at = std::chrono::system_clock::now();
  std::vector<std::string> errors;
  for (auto& unit : *units) {
    // A sign-off usually comes before the first deploy to the environment.
    core::Status written = unit.driver->ensure();
    if (written) written = unit.ledger->append(redacted(entry, context.output));
    if (!written) errors.push_back(unit.name() + ": " + written.error().describe());
  }
  if (!errors.empty())
    return core::make_error(ErrorKind::runtime, "cannot record the sign-off: " + errors.front() +
                                                    "; run the command again once the target can be written");
  const auto& required = resolved->environment->required_signoffs;
  const bool needed = std::find(required.begin(), required.end(), request.role) != required.end();
  core::StepResult result = document("signoff", request.role + " " + request.by + " " +
                                                    (request.decision == "approve" ? "approved " : "rejected ") +
                                                    request.version + " for " + request.environment);
  if (!needed)
    result.warnings.push_back("the plan does not require a " + request.role + " sign-off for " + request.environment +
                              "; recorded anyway");
  result.details["environment"] = request.environment;
  result.details["version"] = request.version;
  result.details["role"] = request.role;
  result.details["by"] = request.by;
  result.details["decision"] = request.decision;
  result.details["comment"] = request.comment;
  result.details["required"] = needed;
  result.outputs = {{"verdict", std::string(core::to_string(result.verdict))},
                    {"decision", request.decision},
                    {"role", request.role},
                    {"version", request.version}};
  return result;
}

SignoffVerdict check_signoffs(const EnvironmentSpec& environment, const History& history, const std::string& version,
                              const std::string& deploying_user) {
  SignoffVerdict verdict;
  for (const auto& role : environment.required_signoffs) {
    const LedgerEntry* latest = nullptr;
    for (const auto& entry : history.entries)
      if (entry.event == "signoff" && entry.version == version && entry.extra.value("role", std::string()) == role &&
          (!latest || entry.finished_at >= latest->finished_at))
        latest = &entry;
    if (!latest) {
      verdict.missing.push_back(role);
      continue;
    }
    const std::string by = latest->extra.value("by", std::string());
    const std::string comment = latest->extra.value("comment", std::string());
    if (latest->extra.value("decision", std::string()) == "reject") {
      verdict.rejected.push_back(role + " (" + by + (comment.empty() ? "" : ": " + comment) + ")");
    } else if (!environment.self_approval && !deploying_user.empty() && by == deploying_user) {
      verdict.not_counted.push_back(role + " (" + by + ")");
      verdict.missing.push_back(role);
    } else {
      verdict.approved.push_back(role + " (" + by + ")");
    }
  }
  return verdict;
}

} // namespace deploy
