#pragma once
// When the commit being released was made, for the lead time of
// `shipgate metrics` (docs/metrics.md). Read from what the CI already
// knows, never guessed:
//   1. SHIPGATE_COMMIT_TIME, set by the pipeline: RFC 3339
//      (`git log -1 --format=%cI`) or Unix seconds (`--format=%ct`);
//   2. GitLab: CI_COMMIT_TIMESTAMP, when CI_COMMIT_SHA is the commit
//      being released;
//   3. GitHub: the push event's head_commit.timestamp ($GITHUB_EVENT_PATH,
//      read up to 8 MiB), when head_commit.id is the commit being released.
// Anything else (Jenkins without SHIPGATE_COMMIT_TIME, a pull-request
// event, a commit given with --commit that the CI did not build) gives no
// time: the lead time of that deploy is counted as unknown.
#include <optional>
#include <string>

#include "ci/context.hpp"
#include "core/time.hpp"

namespace ci {

struct CommitTime {
  std::optional<core::SystemTime> time;
  std::string source;  // "SHIPGATE_COMMIT_TIME", "CI_COMMIT_TIMESTAMP", "GITHUB_EVENT_PATH", or empty
  std::string problem; // a value that was set but is not a time: what to fix; empty otherwise
};

CommitTime commit_time(const Environment& env, const CiContext& context);

} // namespace ci
