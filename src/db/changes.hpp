#pragma once
// What the plan's list of changes and the registry's rows mean together
// (docs/database.md): which changes are pending, which applied ones
// drifted, what a rollback to a recorded head reverts. Pure functions; the
// session (db/session.hpp) acts on their answers.
#include <map>
#include <string>
#include <vector>

#include "db/registry.hpp"
#include "deploy/plan.hpp"

namespace db {

struct Comparison {
  std::vector<AppliedChange> applied;                   // in order of application
  std::vector<const deploy::DbChangeSpec*> pending;     // the plan's changes not applied yet, in plan order
  std::vector<std::string> drift;                       // applied changes whose deploy script changed
  std::vector<AppliedChange> unknown;                   // applied changes the plan does not list
  std::vector<AppliedChange> unsettled;                 // rows left by an interrupted run
  std::vector<std::string> foreign;                     // applied changes recorded for another environment
  std::string out_of_order;                             // why the plan's order does not match, or empty
  std::vector<std::string> missing_revert;              // pending changes with neither revert nor irreversible
};

// `checksums`: change id -> sha256 of the plan's deploy script.
Comparison compare(const deploy::DatabaseSpec& spec, const std::vector<AppliedChange>& rows,
                   const std::map<std::string, std::string>& checksums, const std::string& environment);

struct RevertPlan {
  std::vector<AppliedChange> revert;       // newest first
  std::vector<AppliedChange> irreversible; // among the changes to revert, those that cannot be (newest first)
  std::vector<AppliedChange> left_applied; // forced past: these stay applied (newest first)
};

// The changes applied after `head_seq` (0: all), newest first. Without
// `force`, `irreversible` lists what blocks the rollback; with it, the
// revert stops at the newest irreversible change, which stays applied
// with everything before it.
RevertPlan plan_revert(const std::vector<AppliedChange>& applied, long long head_seq, bool force);

// The registry's head: the last applied change (empty id and 0 when none).
struct Head {
  std::string change_id;
  long long seq = 0;
};
Head head_of(const std::vector<AppliedChange>& applied);

} // namespace db
