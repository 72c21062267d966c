#include "db/changes.hpp"

#include <algorithm>

namespace db {

Comparison compare(const deploy::DatabaseSpec& spec, const std::vector<AppliedChange>& rows,
                   const std::map<std::string, std::string>& checksums, const std::string& environment) {
  Comparison out;
  for (const auto& row : rows) {
    if (row.state != "deployed") {
      out.unsettled.push_back(row);
      continue;
    }
    out.applied.push_back(row);
    if (!row.environment.empty() && row.environment != environment) out.foreign.push_back(row.change_id);
    const auto known = std::find_if(spec.changes.begin(), spec.changes.end(),
                                    [&](const deploy::DbChangeSpec& change) { return change.id == row.change_id; });
    if (known == spec.changes.end()) {
      out.unknown.push_back(row);
      continue;
    }
    const auto sum = checksums.find(row.change_id);
    if (sum != checksums.end() && sum->second != row.deploy_sha256) out.drift.push_back(row.change_id);
  }
  auto applied = [&](const std::string& id) {
    return std::any_of(out.applied.begin(), out.applied.end(), [&](const AppliedChange& row) { return row.change_id == id; });
  };
  // The applied changes must be the first ones of the list: a change added
  // before an applied one would run after it, out of the reviewed order.
  std::string first_pending;
  for (const auto& change : spec.changes) {
    if (!applied(change.id)) {
      if (first_pending.empty()) first_pending = change.id;
      out.pending.push_back(&change);
      continue;
    }
    if (!first_pending.empty() && out.out_of_order.empty())
      out.out_of_order = "change '" + first_pending + "' stands before the applied change '" + change.id +
                         "' in the plan but was never applied; new changes go at the end of the list";
  }
  for (const auto* change : out.pending)
    if (change->revert.empty() && change->irreversible.empty()) out.missing_revert.push_back(change->id);
  return out;
}

RevertPlan plan_revert(const std::vector<AppliedChange>& applied, long long head_seq, bool force) {
  RevertPlan out;
  bool stopped = false;
  for (auto it = applied.rbegin(); it != applied.rend(); ++it) {
    if (it->seq <= head_seq) break;
    if (stopped) {
      out.left_applied.push_back(*it);
      continue;
    }
    if (!it->irreversible.empty()) {
      out.irreversible.push_back(*it);
      if (force) {
        stopped = true;
        out.left_applied.push_back(*it);
        continue;
      }
    }
    out.revert.push_back(*it);
  }
  return out;
}

Head head_of(const std::vector<AppliedChange>& applied) {
  if (applied.empty()) return {};
  return {applied.back().change_id, applied.back().seq};
}

} // namespace db
