#include <doctest/doctest.h>

#include <fstream>
#include <string>

#include "deploy/journal.hpp"
#include "../support/temp_dir.hpp"

namespace {

using deploy::Journal;
using deploy::JournalRecord;

JournalRecord record(int seq, const std::string& action, const std::string& phase) {
  JournalRecord value;
  value.run = "run-1";
  value.seq = seq;
  value.action = action;
  value.phase = phase;
  value.service = "web";
  value.data = {{"from", "20261120T100000Z-1.4.1"}, {"to", "20261121T215000Z-1.4.2"}};
  return value;
}

} // namespace

TEST_CASE("journal: records are written, read back in order, and removed") {
  test_support::TempDir dir;
  const Journal journal(dir.file("journal.jsonl"));
  CHECK_FALSE(journal.exists());
  auto empty = journal.read();
  REQUIRE(empty.ok());
  CHECK(empty->records.empty());

  REQUIRE(journal.write(record(0, "run", "begin")).ok());
  REQUIRE(journal.write(record(1, "switch", "begin")).ok());
  REQUIRE(journal.write(record(2, "switch", "done")).ok());
  CHECK(journal.exists());

  auto read = journal.read();
  REQUIRE(read.ok());
  CHECK(read->warnings.empty());
  REQUIRE(read->records.size() == 3);
  CHECK(read->records[1].seq == 1);
  CHECK(read->records[1].action == "switch");
  CHECK(read->records[2].phase == "done");
  CHECK(read->records[2].service == "web");
  CHECK(read->records[2].run == "run-1");
  CHECK(read->records[2].data["to"] == "20261121T215000Z-1.4.2");

  REQUIRE(journal.remove().ok());
  CHECK_FALSE(journal.exists());
  CHECK(journal.remove().ok()); // nothing left to remove is fine
}

TEST_CASE("journal: a record torn by kill -9 is a warning and the next one still lands") {
  test_support::TempDir dir;
  const Journal journal(dir.file("journal.jsonl"));
  REQUIRE(journal.write(record(0, "run", "begin")).ok());
  const std::string line = record(1, "switch", "begin").to_json().dump();
  {
    std::ofstream out(journal.file(), std::ios::binary | std::ios::app);
    out << line.substr(0, 17);
  }
  REQUIRE(journal.write(record(2, "switch", "failed")).ok());

  auto read = journal.read();
  REQUIRE(read.ok());
  REQUIRE(read->records.size() == 2);
  CHECK(read->records[0].seq == 0);
  CHECK(read->records[1].phase == "failed");
  REQUIRE(read->warnings.size() == 1);
  CHECK(read->warnings[0].find(journal.file() + ":2: ") == 0);
}

TEST_CASE("journal: records with wrong field types are skipped") {
  test_support::TempDir dir;
  const std::string file =
      dir.write("journal.jsonl", R"({"run":"r","seq":"one","action":"switch"})" "\n"
                                 R"({"run":"r","seq":1,"action":"switch","data":[1]})" "\n"
                                 R"({"run":"r","seq":2,"action":"stop","phase":"done"})" "\n");
  auto read = Journal(file).read();
  REQUIRE(read.ok());
  REQUIRE(read->records.size() == 1);
  CHECK(read->records[0].action == "stop");
  CHECK(read->records[0].data.is_object());
  CHECK(read->warnings.size() == 2);
}

TEST_CASE("journal: writing into a missing folder fails naming the file") {
  test_support::TempDir dir;
  const Journal journal(dir.path() / "missing" / "journal.jsonl");
  auto written = journal.write(record(0, "run", "begin"));
  REQUIRE_FALSE(written.ok());
  CHECK(written.error().message.find(journal.file()) != std::string::npos);
}
