#include <doctest/doctest.h>

#include "deploy/history.hpp"

using deploy::History;
using deploy::LedgerEntry;

namespace {

LedgerEntry entry(const std::string& id, const std::string& event, const std::string& outcome,
                  const std::string& version, int minute) {
  LedgerEntry e;
  e.id = id;
  e.event = event;
  e.outcome = outcome;
  e.version = version;
  if (event != "mark-bad" && event != "unblock") e.release = "2026112" + std::to_string(minute) + "-" + version;
  e.finished_at = core::SystemTime{} + std::chrono::minutes(minute);
  return e;
}

const auto everything_exists = [](const std::string&) { return true; };

} // namespace

TEST_CASE("history: the rollback target is the release live before, from the record, not the newest older folder") {
  History history;
  history.add({entry("a", "deploy", "succeeded", "1.0", 1), entry("b", "deploy", "succeeded", "1.1", 2),
               entry("c", "deploy", "rolled-back", "1.2", 3)});
  REQUIRE(history.live());
  CHECK(history.live()->version == "1.1");
  const LedgerEntry* target = history.rollback_target({}, everything_exists, std::nullopt);
  REQUIRE(target);
  CHECK(target->version == "1.0");
}

TEST_CASE("history: a failed deploy never becomes the live or rollback release") {
  History history;
  history.add({entry("a", "deploy", "succeeded", "1.0", 1), entry("b", "deploy", "rollback-failed", "2.0", 2)});
  CHECK(history.live()->version == "1.0");
  CHECK(history.rollback_target({}, everything_exists, std::nullopt) == nullptr);
  CHECK_FALSE(history.succeeded("2.0"));
  CHECK(history.succeeded("1.0"));
}

TEST_CASE("history: after a rollback the next rollback skips versions marked bad") {
  History history;
  history.add({entry("a", "deploy", "succeeded", "1.0", 1), entry("b", "deploy", "succeeded", "1.1", 2),
               entry("c", "rollback", "succeeded", "1.0", 3), entry("c", "mark-bad", "recorded", "1.1", 3),
               entry("d", "deploy", "succeeded", "1.2", 4)});
  const auto bad = deploy::bad_versions({&history});
  CHECK(bad == std::set<std::string>{"1.1"});
  const LedgerEntry* target = history.rollback_target(bad, everything_exists, std::nullopt);
  REQUIRE(target);
  CHECK(target->version == "1.0");
  CHECK(target->event == "rollback");
}

TEST_CASE("history: --to picks the newest live release of that version, and a missing release is skipped") {
  History history;
  history.add({entry("a", "deploy", "succeeded", "1.0", 1), entry("b", "deploy", "succeeded", "1.1", 2),
               entry("c", "deploy", "succeeded", "1.0", 3), entry("d", "deploy", "succeeded", "1.2", 4)});
  const LedgerEntry* target = history.rollback_target({}, everything_exists, std::string("1.0"));
  REQUIRE(target);
  CHECK(target->id == "c");
  const std::string gone = target->release;
  target = history.rollback_target({}, [&](const std::string& release) { return release != gone; }, std::string("1.0"));
  REQUIRE(target);
  CHECK(target->id == "a");
  CHECK(history.rollback_target({}, everything_exists, std::string("9.9")) == nullptr);
}

TEST_CASE("history: entries written to several targets count once, and an unblock lifts a bad mark") {
  History one, two;
  one.add({entry("a", "deploy", "succeeded", "1.0", 1), entry("m", "mark-bad", "recorded", "1.1", 2)});
  two.add({entry("a", "deploy", "succeeded", "1.0", 1)});
  one.add(two.entries);
  CHECK(one.entries.size() == 2);
  History other;
  other.add({entry("u", "unblock", "recorded", "1.1", 5)});
  CHECK(deploy::bad_versions({&one}) == std::set<std::string>{"1.1"});
  CHECK(deploy::bad_versions({&one, &other}).empty());
}

TEST_CASE("history: run ids are time-ordered and unique") {
  const auto now = std::chrono::system_clock::now();
  const std::string a = deploy::make_run_id(now);
  const std::string b = deploy::make_run_id(now);
  CHECK(a != b);
  CHECK(a.size() == std::string("20261121T215000Z-0123abcd").size());
}
