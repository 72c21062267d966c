#include "metrics/dora.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <set>

namespace metrics {
namespace {

using core::SystemTime;
using deploy::LedgerEntry;

constexpr double k_day = 86400;

bool is_change(const std::string& outcome) {
  return outcome == "succeeded" || outcome == "rolled-back" || outcome == "rollback-failed";
}

bool is_set(SystemTime time) {
  return time.time_since_epoch().count() != 0;
}

double seconds_between(SystemTime from, SystemTime to) {
  return std::chrono::duration<double>(to - from).count();
}

// The ledger does not record the moment of the switch: a run that went
// wrong is taken to have gone wrong when it started (an upper bound).
SystemTime start_of(const LedgerEntry& entry) {
  return is_set(entry.started_at) ? entry.started_at : entry.finished_at;
}

struct Tracked {
  const LedgerEntry* entry = nullptr;
  bool failed = false;
  FailedChange failure;
};

// Walks the record in time order and decides which deploys were failed
// changes and when each incident ended (docs/metrics.md#change-failure-rate).
class Walk {
public:
  void feed(const LedgerEntry& entry) {
    if (entry.event == "deploy")
      deploy(entry);
    else if (entry.event == "rollback")
      rollback(entry);
    else if (entry.event == "mark-bad")
      mark_bad(entry);
    else if (entry.event == "reconcile" && entry.outcome == "succeeded" && !entry.release.empty() && m_live &&
             m_deploys[*m_live].entry->release != entry.release)
      m_live.reset(); // a repair put another release live: that deploy's time is over
  }
  const std::vector<Tracked>& deploys() const { return m_deploys; }

private:
  void deploy(const LedgerEntry& entry) {
    m_deploys.push_back({&entry, false, {}});
    const std::size_t index = m_deploys.size() - 1;
    if (entry.outcome == "succeeded") {
      restore(entry.finished_at);
      m_live = index;
    } else if (entry.outcome == "rolled-back") {
      fail(index, "failed after changing the targets; its own run rolled it back", start_of(entry));
      m_deploys[index].failure.restored = entry.finished_at;
      restore(entry.finished_at); // the previous release is back and verified
    } else if (entry.outcome == "rollback-failed") {
      fail(index, "failed, and its own rollback failed", start_of(entry));
      m_open.push_back(index);
      m_live.reset();
    }
    if (entry.outcome != "succeeded") m_failed_runs.insert(entry.id);
  }
  void rollback(const LedgerEntry& entry) {
    if (m_live && !m_deploys[*m_live].failed) {
      fail(*m_live, "rolled back by `shipgate rollback`" + (entry.reason.empty() ? "" : ": " + entry.reason),
           m_deploys[*m_live].entry->finished_at);
      m_open.push_back(*m_live);
    }
    m_live.reset();
    if (entry.outcome == "succeeded") restore(entry.finished_at);
  }
  void mark_bad(const LedgerEntry& entry) {
    // A failed deploy marks its own version; that run is counted already.
    if (m_failed_runs.count(entry.id) || !m_live) return;
    Tracked& live = m_deploys[*m_live];
    if (live.failed || live.entry->version != entry.version) return;
    fail(*m_live, "marked bad while live" + (entry.reason.empty() ? "" : ": " + entry.reason), live.entry->finished_at);
    m_open.push_back(*m_live);
  }
  void fail(std::size_t index, std::string why, SystemTime went_bad) {
    Tracked& tracked = m_deploys[index];
    tracked.failed = true;
    tracked.failure.id = tracked.entry->id;
    tracked.failure.version = tracked.entry->version;
    tracked.failure.why = std::move(why);
    tracked.failure.went_bad = went_bad;
  }
  // A run ended with a verified release live: every open incident ends here.
  void restore(SystemTime at) {
    for (std::size_t index : m_open)
      m_deploys[index].failure.restored = at;
    m_open.clear();
  }

  std::vector<Tracked> m_deploys;
  std::optional<std::size_t> m_live; // the succeeded deploy whose release is live
  std::vector<std::size_t> m_open;   // failed changes waiting for a good state
  std::set<std::string> m_failed_runs;
};

void count_deploy(const Tracked& tracked, DoraFigures& figures) {
  const LedgerEntry& entry = *tracked.entry;
  ++figures.deploys;
  ++figures.deploys_by_outcome[entry.outcome.empty() ? "unknown" : entry.outcome];
  if (is_change(entry.outcome)) ++figures.changes;
  if (entry.outcome == "succeeded") {
    ++figures.successful;
    const double lead = seconds_between(entry.commit_time, entry.finished_at);
    if (!is_set(entry.commit_time))
      ++figures.lead_time_unknown;
    else if (lead < 0) {
      ++figures.lead_time_unknown;
      figures.warnings.push_back("deploy " + entry.id + " of " + entry.version +
                                 ": its commit time is after the deploy finished (do the clocks disagree?); "
                                 "its lead time is counted as unknown");
    } else
      figures.lead_times.push_back(lead);
  }
  if (!tracked.failed) return;
  figures.failed_changes.push_back(tracked.failure);
  if (tracked.failure.restored)
    figures.restore_times.push_back(
        std::max(0.0, seconds_between(tracked.failure.went_bad, *tracked.failure.restored)));
  else
    ++figures.unrestored;
}

std::string fixed(double value, int digits) {
  char text[48];
  std::snprintf(text, sizeof text, "%.*f", digits, value);
  return text;
}

std::string time_text(SystemTime time) {
  return is_set(time) ? core::format_rfc3339(time) : std::string("?");
}

nlohmann::json optional_number(const std::optional<double>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json();
}

nlohmann::json distribution(const std::vector<double>& values) {
  return {{"median", optional_number(quantile(values, 0.5))},
          {"p90", optional_number(quantile(values, 0.9))},
          {"count", values.size()}};
}

std::string distribution_text(const std::vector<double>& values) {
  if (values.empty()) return "none";
  return "median " + human_duration(*quantile(values, 0.5)) + ", p90 " + human_duration(*quantile(values, 0.9));
}

double sum(const std::vector<double>& values) {
  double total = 0;
  for (double value : values)
    total += value;
  return total;
}

Family gauge(std::string name, std::string help, const Labels& labels, double value) {
  return {std::move(name), std::move(help), "gauge", {{"", labels, value}}};
}

Family summary(std::string name, std::string help, const Labels& labels, const std::vector<double>& values) {
  Family family{std::move(name), std::move(help), "summary", {}};
  for (const auto& [q, text] : {std::pair{0.5, "0.5"}, std::pair{0.9, "0.9"}})
    if (const auto value = quantile(values, q)) {
      Labels with = labels;
      with.emplace_back("quantile", text);
      family.samples.push_back({"", with, *value});
    }
  family.samples.push_back({"_sum", labels, sum(values)});
  family.samples.push_back({"_count", labels, static_cast<double>(values.size())});
  return family;
}

} // namespace

std::optional<double> quantile(std::vector<double> values, double q) {
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  const double rank = std::clamp(q, 0.0, 1.0) * static_cast<double>(values.size() - 1);
  const auto low = static_cast<std::size_t>(std::floor(rank));
  const std::size_t high = std::min(low + 1, values.size() - 1);
  return values[low] + (rank - static_cast<double>(low)) * (values[high] - values[low]);
}

std::optional<double> DoraFigures::change_failure_rate() const {
  if (changes == 0) return std::nullopt;
  return static_cast<double>(failed_changes.size()) / static_cast<double>(changes);
}

DoraFigures compute_dora(const std::vector<LedgerEntry>& entries, const std::string& environment, SystemTime now,
                         std::chrono::seconds window) {
  DoraFigures figures;
  figures.environment = environment;
  figures.to = now;
  figures.from = now - window;
  figures.window_days = static_cast<double>(window.count()) / k_day;
  Walk walk;
  // Entries after `now` (another machine's clock ahead) wait for a later run.
  for (const auto& entry : entries)
    if (entry.finished_at <= now) walk.feed(entry);
  const auto in_window = [&](const LedgerEntry& entry) {
    return entry.finished_at > figures.from && entry.finished_at <= figures.to;
  };
  for (const auto& tracked : walk.deploys())
    if (in_window(*tracked.entry)) count_deploy(tracked, figures);
  for (const auto& entry : entries)
    if (entry.event == "rollback" && in_window(entry)) ++figures.rollbacks;
  return figures;
}

nlohmann::json to_json(const DoraFigures& figures) {
  nlohmann::json failed = nlohmann::json::array();
  for (const auto& change : figures.failed_changes)
    failed.push_back(
        {{"id", change.id},
         {"version", change.version},
         {"why", change.why},
         {"went_bad_at", time_text(change.went_bad)},
         {"restored_at", change.restored ? nlohmann::json(time_text(*change.restored)) : nlohmann::json()}});
  nlohmann::json lead = distribution(figures.lead_times);
  lead["unknown"] = figures.lead_time_unknown;
  nlohmann::json restore = distribution(figures.restore_times);
  restore["unrestored"] = figures.unrestored;
  return {{"environment", figures.environment},
          {"window", {{"from", time_text(figures.from)}, {"to", time_text(figures.to)}, {"days", figures.window_days}}},
          {"deployments",
           {{"total", figures.deploys},
            {"successful", figures.successful},
            {"changes", figures.changes},
            {"by_outcome", figures.deploys_by_outcome}}},
          {"rollbacks", figures.rollbacks},
          {"deployment_frequency", {{"per_day", figures.per_day()}, {"per_week", figures.per_day() * 7}}},
          {"lead_time_seconds", lead},
          {"change_failure_rate",
           {{"rate", optional_number(figures.change_failure_rate())},
            {"failed", figures.failed_changes.size()},
            {"changes", figures.changes}}},
          {"time_to_restore_seconds", restore},
          {"failed_changes", failed}};
}

std::string headline(const DoraFigures& figures) {
  const auto rate = figures.change_failure_rate();
  return figures.environment + ": " + std::to_string(figures.successful) + " successful deploys in " +
         fixed(figures.window_days, figures.window_days == std::floor(figures.window_days) ? 0 : 2) + " days (" +
         fixed(figures.per_day(), 2) + " a day), change failure rate " +
         (rate ? fixed(*rate * 100, 0) + "%" : std::string("n/a")) + ", lead time " +
         (figures.lead_times.empty() ? std::string("unknown")
                                     : "median " + human_duration(*quantile(figures.lead_times, 0.5))) +
         ", time to restore " +
         (figures.restore_times.empty() ? std::string("n/a")
                                        : "median " + human_duration(*quantile(figures.restore_times, 0.5)));
}

std::string summary_text(const DoraFigures& figures) {
  std::string outcomes;
  for (const auto& [outcome, count] : figures.deploys_by_outcome)
    outcomes += (outcomes.empty() ? "" : ", ") + std::to_string(count) + " " + outcome;
  const auto rate = figures.change_failure_rate();
  std::string text = "delivery figures of " + figures.environment + ", from " + time_text(figures.from) + " to " +
                     time_text(figures.to) + "\n";
  text += "  deployments:         " + std::to_string(figures.deploys) +
          (outcomes.empty() ? "" : " (" + outcomes + ")") + "; " + fixed(figures.per_day(), 2) + " successful a day, " +
          fixed(figures.per_day() * 7, 2) + " a week\n";
  text += "  lead time:           " + distribution_text(figures.lead_times) + " (" +
          std::to_string(figures.lead_times.size()) + " known, " + std::to_string(figures.lead_time_unknown) +
          " without a commit time)\n";
  text += "  change failure rate: " + (rate ? fixed(*rate * 100, 1) + "%" : std::string("n/a")) + " (" +
          std::to_string(figures.failed_changes.size()) + " failed of " + std::to_string(figures.changes) +
          " changes; " + std::to_string(figures.rollbacks) + " rollback runs)\n";
  text += "  time to restore:     " + distribution_text(figures.restore_times) + " (" +
          std::to_string(figures.restore_times.size()) + " restored, " + std::to_string(figures.unrestored) +
          " not yet)\n";
  for (const auto& change : figures.failed_changes)
    text += "  failed: " + change.version + " (run " + change.id + "), " + change.why + "; " +
            (change.restored
                 ? "restored after " + human_duration(std::max(0.0, seconds_between(change.went_bad, *change.restored)))
                 : std::string("not restored yet")) +
            "\n";
  return text;
}

std::vector<Family> to_families(const DoraFigures& figures) {
  const Labels env = {{"environment", figures.environment}};
  std::vector<Family> out;
  out.push_back(gauge("shipgate_dora_window_seconds", "Length of the window the figures cover", env,
                      figures.window_days * k_day));
  Family deploys{"shipgate_dora_deployments", "Deploy runs in the window, by outcome", "gauge", {}};
  for (const auto& [outcome, count] : figures.deploys_by_outcome)
    deploys.samples.push_back(
        {"", {{"environment", figures.environment}, {"outcome", outcome}}, static_cast<double>(count)});
  out.push_back(deploys);
  out.push_back(gauge("shipgate_dora_deployment_frequency_per_day", "Successful deploys a day over the window", env,
                      figures.per_day()));
  out.push_back(gauge("shipgate_dora_changes",
                      "Deploys that changed the targets (succeeded, rolled-back, rollback-failed)", env,
                      static_cast<double>(figures.changes)));
  out.push_back(gauge("shipgate_dora_failed_changes",
                      "Changes that failed, were rolled back or were marked bad while live", env,
                      static_cast<double>(figures.failed_changes.size())));
  if (const auto rate = figures.change_failure_rate())
    out.push_back(gauge("shipgate_dora_change_failure_ratio", "Failed changes over changes (0 to 1)", env, *rate));
  out.push_back(gauge("shipgate_dora_rollbacks", "shipgate rollback runs in the window", env,
                      static_cast<double>(figures.rollbacks)));
  out.push_back(summary("shipgate_dora_lead_time_seconds", "Commit time to the successful deploy's end", env,
                        figures.lead_times));
  out.push_back(gauge("shipgate_dora_lead_time_unknown", "Successful deploys without a usable commit time", env,
                      static_cast<double>(figures.lead_time_unknown)));
  out.push_back(summary("shipgate_dora_time_to_restore_seconds", "Failed change going bad to the next good state", env,
                        figures.restore_times));
  out.push_back(gauge("shipgate_dora_unrestored_failures", "Failed changes with no good state after them yet", env,
                      static_cast<double>(figures.unrestored)));
  return out;
}

std::optional<std::chrono::seconds> parse_window(const std::string& text) {
  if (text.size() < 2 || text.size() > 8) return std::nullopt;
  const std::string number = text.substr(0, text.size() - 1);
  if (!std::all_of(number.begin(), number.end(), [](unsigned char c) { return std::isdigit(c) != 0; }))
    return std::nullopt;
  const long long amount = std::stoll(number);
  const char unit = text.back();
  const long long scale = unit == 'm' ? 60 : unit == 'h' ? 3600 : unit == 'd' ? 86400 : unit == 'w' ? 604800 : 0;
  if (scale == 0 || amount <= 0 || amount > 3660LL * 86400 / scale) return std::nullopt; // up to ten years
  return std::chrono::seconds(amount * scale);
}

std::string human_duration(double seconds) {
  if (seconds < 60) return fixed(seconds, seconds < 10 && seconds != std::floor(seconds) ? 1 : 0) + "s";
  auto whole = static_cast<long long>(std::llround(seconds));
  const long long days = whole / 86400, hours = whole % 86400 / 3600, minutes = whole % 3600 / 60;
  std::string out;
  if (days) out += std::to_string(days) + "d";
  if (hours) out += (out.empty() ? "" : " ") + std::to_string(hours) + "h";
  if (minutes && !days) out += (out.empty() ? "" : " ") + std::to_string(minutes) + "m";
  if (out.empty()) out = std::to_string(whole % 60) + "s";
  return out;
}

} // namespace metrics
