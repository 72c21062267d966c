#include <doctest/doctest.h>

#include "../support/temp_dir.hpp"
#include "metrics/dora.hpp"

using deploy::LedgerEntry;

namespace {

core::SystemTime at(const char* text) {
  return *core::parse_time_millis(text);
}

LedgerEntry entry(const std::string& id, const std::string& event, const std::string& outcome,
                  const std::string& version, const char* started, const char* finished) {
  LedgerEntry e;
  e.id = id;
  e.event = event;
  e.outcome = outcome;
  e.version = version;
  e.environment = "prod";
  if (event != "mark-bad") e.release = "r-" + id + "-" + version;
  e.started_at = at(started);
  e.finished_at = at(finished);
  return e;
}

LedgerEntry with_commit(LedgerEntry e, const char* made) {
  e.commit = "c-" + e.version;
  e.commit_time = at(made);
  return e;
}

// Every case of docs/metrics.md in one November of prod.
std::vector<LedgerEntry> november() {
  return {
      // Before the window: live when it opens, never counted.
      entry("d0", "deploy", "succeeded", "0.9", "2026-10-20T10:00:00Z", "2026-10-20T10:05:00Z"),
      with_commit(entry("d1", "deploy", "succeeded", "1.0", "2026-11-02T10:00:00Z", "2026-11-02T10:05:00Z"),
                  "2026-11-02T08:05:00Z"),
      with_commit(entry("d2", "deploy", "succeeded", "1.1", "2026-11-03T11:55:00Z", "2026-11-03T12:00:00Z"),
                  "2026-11-03T11:00:00Z"),
      // `shipgate rollback` half an hour later: 1.1 is a failed change, restored in 30 min.
      entry("r1", "rollback", "succeeded", "1.0", "2026-11-03T12:29:00Z", "2026-11-03T12:30:00Z"),
      entry("r1", "mark-bad", "recorded", "1.1", "2026-11-03T12:30:00Z", "2026-11-03T12:30:00Z"),
      // Failed after the switch and rolled back by its own run: 10 min.
      entry("d3", "deploy", "rolled-back", "1.2", "2026-11-04T09:00:00Z", "2026-11-04T09:10:00Z"),
      entry("d3", "mark-bad", "recorded", "1.2", "2026-11-04T09:10:00Z", "2026-11-04T09:10:00Z"),
      // Changed nothing: neither a change nor a failure.
      entry("d4", "deploy", "failed", "1.3", "2026-11-05T09:00:00Z", "2026-11-05T09:01:00Z"),
      entry("d4b", "deploy", "blocked", "1.3", "2026-11-05T09:02:00Z", "2026-11-05T09:02:30Z"),
      // No commit time: lead time unknown.
      entry("d5", "deploy", "succeeded", "1.4", "2026-11-06T09:55:00Z", "2026-11-06T10:00:00Z"),
      entry("d6", "deploy", "interrupted", "1.5", "2026-11-07T09:00:00Z", "2026-11-07T09:01:00Z"),
      // Its rollback failed: open until the next good state, 1.7 at 11:00.
      entry("d7", "deploy", "rollback-failed", "1.6", "2026-11-08T10:00:00Z", "2026-11-08T10:20:00Z"),
      with_commit(entry("d8", "deploy", "succeeded", "1.7", "2026-11-08T10:55:00Z", "2026-11-08T11:00:00Z"),
                  "2026-11-08T10:30:00Z"),
      // A commit time after the deploy: clocks disagree, lead time unknown.
      with_commit(entry("d9", "deploy", "succeeded", "1.8", "2026-11-09T09:55:00Z", "2026-11-09T10:00:00Z"),
                  "2026-11-09T11:00:00Z"),
      // Marked bad while live, never restored.
      entry("m9", "mark-bad", "recorded", "1.8", "2026-11-09T12:00:00Z", "2026-11-09T12:00:00Z"),
      // After "now": not seen.
      entry("d10", "deploy", "succeeded", "2.0", "2026-12-01T09:55:00Z", "2026-12-01T10:00:00Z"),
  };
}

} // namespace

TEST_CASE("dora: quantiles interpolate between the closest ranks") {
  CHECK_FALSE(metrics::quantile({}, 0.5));
  CHECK(*metrics::quantile({5}, 0.9) == doctest::Approx(5));
  CHECK(*metrics::quantile({4, 1, 3, 2}, 0.5) == doctest::Approx(2.5));
  CHECK(*metrics::quantile({1800, 3600, 7200}, 0.9) == doctest::Approx(6480));
  CHECK(*metrics::quantile({1, 2, 3}, 1.0) == doctest::Approx(3));
}

TEST_CASE("dora: a month of deploys, rollbacks and marks gives the documented figures") {
  const auto figures =
      metrics::compute_dora(november(), "prod", at("2026-11-30T00:00:00Z"), std::chrono::hours(24 * 30));
  CHECK(figures.deploys == 10);
  CHECK(figures.successful == 5);
  CHECK(figures.changes == 7);
  CHECK(figures.rollbacks == 1);
  CHECK(figures.deploys_by_outcome.at("succeeded") == 5);
  CHECK(figures.deploys_by_outcome.at("blocked") == 1);
  CHECK(figures.deploys_by_outcome.at("interrupted") == 1);
  CHECK(figures.per_day() == doctest::Approx(5.0 / 30));

  REQUIRE(figures.failed_changes.size() == 4);
  CHECK(figures.failed_changes[0].version == "1.1");
  CHECK(figures.failed_changes[1].version == "1.2");
  CHECK(figures.failed_changes[2].version == "1.6");
  CHECK(figures.failed_changes[3].version == "1.8");
  CHECK_FALSE(figures.failed_changes[3].restored);
  REQUIRE(figures.change_failure_rate());
  CHECK(*figures.change_failure_rate() == doctest::Approx(4.0 / 7));

  CHECK(figures.lead_times.size() == 3);
  CHECK(figures.lead_time_unknown == 2);
  CHECK(*metrics::quantile(figures.lead_times, 0.5) == doctest::Approx(3600));
  CHECK(*metrics::quantile(figures.lead_times, 0.9) == doctest::Approx(6480));
  CHECK(figures.warnings.size() == 1);

  CHECK(figures.restore_times.size() == 3);
  CHECK(figures.unrestored == 1);
  CHECK(*metrics::quantile(figures.restore_times, 0.5) == doctest::Approx(1800));
  CHECK(*metrics::quantile(figures.restore_times, 0.9) == doctest::Approx(3240));

  const auto json = metrics::to_json(figures);
  CHECK(json["change_failure_rate"]["failed"] == 4);
  CHECK(json["lead_time_seconds"]["unknown"] == 2);
  CHECK(json["time_to_restore_seconds"]["unrestored"] == 1);
  CHECK(json["deployments"]["changes"] == 7);
}

TEST_CASE("dora: a short window counts only its own deploys, but knows what was live before it") {
  // From Nov 3 06:00 to 18:00: 1.1 went live (d2) and was rolled back (r1).
  const auto figures = metrics::compute_dora(november(), "prod", at("2026-11-03T18:00:00Z"), std::chrono::hours(12));
  CHECK(figures.deploys == 1);
  CHECK(figures.rollbacks == 1);
  REQUIRE(figures.failed_changes.size() == 1);
  CHECK(figures.failed_changes[0].why.find("shipgate rollback") != std::string::npos);
  CHECK(figures.restore_times == std::vector<double>{1800});
}

TEST_CASE("dora: a version deployed again and failing does not fail the earlier deploy of it") {
  const std::vector<LedgerEntry> entries = {
      entry("a", "deploy", "succeeded", "1.0", "2026-11-02T10:00:00Z", "2026-11-02T10:05:00Z"),
      entry("b", "deploy", "rolled-back", "1.0", "2026-11-02T11:00:00Z", "2026-11-02T11:05:00Z"),
      entry("b", "mark-bad", "recorded", "1.0", "2026-11-02T11:05:00Z", "2026-11-02T11:05:00Z"),
  };
  const auto figures = metrics::compute_dora(entries, "prod", at("2026-11-03T00:00:00Z"), std::chrono::hours(48));
  REQUIRE(figures.failed_changes.size() == 1);
  CHECK(figures.failed_changes[0].id == "b");
  CHECK(figures.changes == 2);
}

TEST_CASE("dora: an empty ledger has counts of zero and no rates") {
  const auto figures = metrics::compute_dora({}, "prod", at("2026-11-03T00:00:00Z"), std::chrono::hours(24));
  CHECK(figures.deploys == 0);
  CHECK_FALSE(figures.change_failure_rate());
  const auto json = metrics::to_json(figures);
  CHECK(json["change_failure_rate"]["rate"].is_null());
  CHECK(json["lead_time_seconds"]["median"].is_null());
  const std::string text = metrics::render(metrics::to_families(figures));
  CHECK(text.find("shipgate_dora_change_failure_ratio") == std::string::npos);
  CHECK(text.find("shipgate_dora_lead_time_seconds_count{environment=\"prod\"} 0\n") != std::string::npos);
}

TEST_CASE("dora: windows and durations") {
  CHECK(metrics::parse_window("30d") == std::chrono::seconds(30 * 86400));
  CHECK(metrics::parse_window("2w") == std::chrono::seconds(14 * 86400));
  CHECK(metrics::parse_window("12h") == std::chrono::seconds(12 * 3600));
  CHECK(metrics::parse_window("90m") == std::chrono::seconds(90 * 60));
  for (const char* bad : {"", "d", "30", "0d", "-1d", "30x", "1.5d", "99999999d"})
    CHECK_MESSAGE(!metrics::parse_window(bad), bad);
  CHECK(metrics::human_duration(42) == "42s");
  CHECK(metrics::human_duration(5400) == "1h 30m");
  CHECK(metrics::human_duration(90061) == "1d 1h");
}

TEST_CASE("dora: the ledger keeps the commit time, and an unreadable one drops only the time") {
  test_support::TempDir dir;
  const deploy::Ledger ledger(dir.path() / "ledger.jsonl");
  LedgerEntry written =
      with_commit(entry("a", "deploy", "succeeded", "1.0", "2026-11-02T10:00:00Z", "2026-11-02T10:05:00Z"),
                  "2026-11-02T08:05:00.250Z");
  REQUIRE(ledger.append(written));
  auto read = ledger.read();
  REQUIRE(read);
  REQUIRE(read->entries.size() == 1);
  CHECK(read->entries[0].commit_time == written.commit_time);
  CHECK(written.to_json()["commit_time"] == "2026-11-02T08:05:00.250Z");
  // Without one, the key is left out (older readers see no change).
  CHECK_FALSE(entry("b", "deploy", "succeeded", "1.0", "2026-11-02T10:00:00Z", "2026-11-02T10:05:00Z")
                  .to_json()
                  .contains("commit_time"));
  dir.write("torn.jsonl", R"({"id":"x","event":"deploy","outcome":"succeeded","version":"2.0","commit_time":"soon"})"
                          "\n");
  read = deploy::Ledger(dir.path() / "torn.jsonl").read();
  REQUIRE(read);
  REQUIRE(read->entries.size() == 1);
  CHECK(read->entries[0].version == "2.0");
  CHECK(read->entries[0].commit_time == core::SystemTime{});
}
