#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <vector>

#include "deploy/ledger.hpp"
#include "../support/temp_dir.hpp"

namespace {

using deploy::Ledger;
using deploy::LedgerEntry;

LedgerEntry entry(const std::string& version, const std::string& outcome = "succeeded") {
  LedgerEntry value;
  value.id = "run-" + version;
  value.event = "deploy";
  value.outcome = outcome;
  value.environment = "staging";
  value.version = version;
  value.release = "20261121T215000Z-" + version;
  value.previous_version = "1.0.0";
  value.commit = "0123abcd";
  value.user = "alice";
  value.started_at = *core::parse_time("2026-11-21T21:50:00Z");
  value.finished_at = *core::parse_time("2026-11-21T21:51:30Z");
  return value;
}

std::string contents(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void append_raw(const std::string& file, const std::string& bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::app);
  out << bytes;
}

std::vector<std::string> versions(const deploy::LedgerRead& read) {
  std::vector<std::string> result;
  for (const auto& value : read.entries) result.push_back(value.version);
  return result;
}

} // namespace

TEST_CASE("ledger: entries read back in order with their fields and RFC 3339 times") {
  test_support::TempDir dir;
  const Ledger ledger(dir.file("ledger.jsonl"));
  REQUIRE(ledger.append(entry("1.4.1")).ok());
  REQUIRE(ledger.append(entry("1.4.2", "rolled-back")).ok());

  auto read = ledger.read();
  REQUIRE(read.ok());
  CHECK(read->warnings.empty());
  REQUIRE(versions(*read) == std::vector<std::string>{"1.4.1", "1.4.2"});
  const LedgerEntry& second = read->entries[1];
  CHECK(second.outcome == "rolled-back");
  CHECK(second.environment == "staging");
  CHECK(second.release == "20261121T215000Z-1.4.2");
  CHECK(second.previous_version == "1.0.0");
  CHECK(second.user == "alice");
  CHECK(second.started_at == *core::parse_time("2026-11-21T21:50:00Z"));
  CHECK(second.finished_at == *core::parse_time("2026-11-21T21:51:30Z"));
  CHECK(second.extra.empty());

  const std::string text = contents(ledger.file());
  // Milliseconds, so entries of one second keep their order across targets.
  CHECK(text.find("\"started_at\":\"2026-11-21T21:50:00.000Z\"") != std::string::npos);
  CHECK(text.back() == '\n');
}

TEST_CASE("ledger: times keep their milliseconds through a write and a read") {
  test_support::TempDir dir;
  const deploy::Ledger ledger(dir.path() / "ledger.jsonl");
  deploy::LedgerEntry entry;
  entry.id = "run";
  entry.finished_at = *core::parse_time("2026-11-21T21:50:00Z") + std::chrono::milliseconds(250);
  REQUIRE(ledger.append(entry));
  auto read = ledger.read();
  REQUIRE(read);
  REQUIRE(read->entries.size() == 1);
  CHECK(read->entries[0].finished_at == entry.finished_at);
}

TEST_CASE("ledger: a missing file is an empty ledger; a new file is private") {
  test_support::TempDir dir;
  const Ledger ledger(dir.file("ledger.jsonl"));
  auto empty = ledger.read();
  REQUIRE(empty.ok());
  CHECK(empty->entries.empty());
  CHECK(empty->warnings.empty());

  REQUIRE(ledger.append(entry("1.0.0")).ok());
  struct stat info {};
  REQUIRE(::stat(ledger.file().c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
}

TEST_CASE("ledger: a torn last line does not swallow the next entry") {
  test_support::TempDir dir;
  const Ledger ledger(dir.file("ledger.jsonl"));
  REQUIRE(ledger.append(entry("1.0.0")).ok());
  REQUIRE(ledger.append(entry("1.1.0")).ok());
  // What a crash in the middle of write(2) leaves: half a line, no newline.
  const std::string half = entry("1.2.0").to_json().dump();
  append_raw(ledger.file(), half.substr(0, half.size() / 2));

  auto torn = ledger.read();
  REQUIRE(torn.ok());
  CHECK(versions(*torn) == std::vector<std::string>{"1.0.0", "1.1.0"});
  REQUIRE(torn->warnings.size() == 1);

  REQUIRE(ledger.append(entry("1.3.0")).ok());
  auto read = ledger.read();
  REQUIRE(read.ok());
  CHECK(versions(*read) == std::vector<std::string>{"1.0.0", "1.1.0", "1.3.0"});
  REQUIRE(read->warnings.size() == 1);
  CHECK(read->warnings[0].find(ledger.file() + ":3: ") == 0);
  CHECK(read->warnings[0].find("torn") != std::string::npos);
  const std::string text = contents(ledger.file());
  CHECK(text.find(half.substr(0, half.size() / 2) + "\n{") != std::string::npos);
}

TEST_CASE("ledger: unknown fields are kept and written back") {
  test_support::TempDir dir;
  const std::string file = dir.write(
      "old/ledger.jsonl",
      R"({"schema":2,"event":"deploy","version":"2.0.0","approved_by":"bob","db":{"head":"0042"},"tags":[1,2]})"
      "\n");
  auto read = Ledger(file).read();
  REQUIRE(read.ok());
  REQUIRE(read->entries.size() == 1);
  const LedgerEntry& old = read->entries[0];
  CHECK(old.schema == 2);
  CHECK(old.version == "2.0.0");
  CHECK(old.extra["approved_by"] == "bob");
  CHECK(old.extra["db"]["head"] == "0042");
  CHECK_FALSE(old.extra.contains("version"));

  const Ledger copy(dir.file("ledger.jsonl"));
  REQUIRE(copy.append(old).ok());
  auto again = copy.read();
  REQUIRE(again.ok());
  REQUIRE(again->entries.size() == 1);
  CHECK(again->entries[0].extra == old.extra);
  CHECK(again->entries[0].to_json()["tags"] == nlohmann::json::array({1, 2}));
  CHECK(again->entries[0].schema == 2);
}

TEST_CASE("ledger: unreadable lines are skipped with file:line warnings") {
  test_support::TempDir dir;
  const std::string good = entry("1.0.0").to_json().dump();
  const std::string file = dir.write("ledger.jsonl", good + "\n" +             // 1
                                                         "[1,2,3]\n" +         // 2: not an object
                                                         "\n" +                // 3: blank, ignored
                                                         R"({"version":5})" "\n" + // 4: wrong type
                                                         R"({"version":"1.1.0","started_at":"yesterday"})" "\n" + // 5
                                                         "not json\n" +        // 6
                                                         good + "\n");         // 7
  auto read = Ledger(file).read();
  REQUIRE(read.ok());
  CHECK(read->entries.size() == 2);
  REQUIRE(read->warnings.size() == 4);
  CHECK(read->warnings[0].find(file + ":2: ") == 0);
  CHECK(read->warnings[1].find(file + ":4: ") == 0);
  CHECK(read->warnings[1].find("\"version\" is not a string") != std::string::npos);
  CHECK(read->warnings[2].find(file + ":5: ") == 0);
  CHECK(read->warnings[2].find("started_at") != std::string::npos);
  CHECK(read->warnings[3].find(file + ":6: ") == 0);
}

TEST_CASE("ledger: lines longer than 1 MiB are skipped") {
  test_support::TempDir dir;
  LedgerEntry huge = entry("9.9.9");
  huge.reason = std::string(1024 * 1024 + 10, 'x');
  const Ledger ledger(dir.file("ledger.jsonl"));
  REQUIRE(ledger.append(huge).ok());
  REQUIRE(ledger.append(entry("1.0.0")).ok());
  auto read = ledger.read();
  REQUIRE(read.ok());
  CHECK(versions(*read) == std::vector<std::string>{"1.0.0"});
  REQUIRE(read->warnings.size() == 1);
  CHECK(read->warnings[0].find("1 MiB") != std::string::npos);
}

TEST_CASE("ledger: appending into a missing folder fails naming the file") {
  test_support::TempDir dir;
  const Ledger ledger(dir.path() / "no-such-folder" / "ledger.jsonl");
  auto appended = ledger.append(entry("1.0.0"));
  REQUIRE_FALSE(appended.ok());
  CHECK(appended.error().message.find(ledger.file()) != std::string::npos);
}
