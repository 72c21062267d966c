#pragma once
// The delivery figures of one environment (deployment frequency, lead time
// for changes, change failure rate, time to restore), computed from its
// ledger. docs/metrics.md defines each figure; this is that definition in
// code. Pure: entries and the clock in, figures out.
#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/time.hpp"
#include "deploy/ledger.hpp"
#include "metrics/exposition.hpp"

namespace metrics {

// The q-quantile (0 <= q <= 1) by linear interpolation between the closest
// ranks (numpy's default): sorted x[0..n-1], r = q*(n-1), x[floor r] plus
// the fraction of r times the step to the next. Empty input: nothing.
std::optional<double> quantile(std::vector<double> values, double q);

// A deploy that changed the environment and turned out bad.
struct FailedChange {
  std::string id, version;
  std::string why;                          // "rolled back by its own run", ...
  core::SystemTime went_bad{};              // when the incident started
  std::optional<core::SystemTime> restored; // the next good state, if any yet
};

struct DoraFigures {
  std::string environment;
  core::SystemTime from{}, to{}; // the window: from < finished_at <= to
  double window_days = 0;
  std::map<std::string, std::size_t> deploys_by_outcome; // every deploy entry of the window
  std::size_t deploys = 0;                               // all of them
  std::size_t successful = 0;                            // outcome succeeded
  std::size_t changes = 0;   // succeeded, rolled-back, rollback-failed: the targets were changed
  std::size_t rollbacks = 0; // `shipgate rollback` runs (rollback entries, any outcome)
  std::vector<FailedChange> failed_changes;
  std::vector<double> lead_times;    // seconds, one per successful deploy with a commit time
  std::size_t lead_time_unknown = 0; // successful deploys without a (usable) commit time
  std::vector<double> restore_times; // seconds, one per restored failed change
  std::size_t unrestored = 0;        // failed changes with no good state after them yet
  std::vector<std::string> warnings;

  double per_day() const { return window_days > 0 ? static_cast<double>(successful) / window_days : 0; }
  std::optional<double> change_failure_rate() const;
};

// `entries`: the environment's history in time order (deploy::History).
DoraFigures compute_dora(const std::vector<deploy::LedgerEntry>& entries, const std::string& environment,
                         core::SystemTime now, std::chrono::seconds window);

// The figures for --json (StepResult details), the terminal and Prometheus.
nlohmann::json to_json(const DoraFigures& figures);
std::string summary_text(const DoraFigures& figures);
std::string headline(const DoraFigures& figures);
std::vector<Family> to_families(const DoraFigures& figures);

// "30d", "12h", "2w", "90m": a window length; nothing when it is not one.
std::optional<std::chrono::seconds> parse_window(const std::string& text);
// 5400 -> "1h 30m", 42 -> "42s", 90061 -> "1d 1h" (minutes left out past a day).
std::string human_duration(double seconds);

} // namespace metrics
