#include <doctest/doctest.h>

#include <string>

#include "core/text.hpp"
#include "report/detect.hpp"
#include "report/tap_reader.hpp"
#include "../support/recording_sink.hpp"
#include "../support/temp_dir.hpp"

using report::Outcome;
using test_support::Read;
using test_support::RecordingSink;
using test_support::TempDir;

namespace {

Read read_tap(const TempDir& dir, const std::string& content) {
  return test_support::read_with(report::read_tap, dir.write("report.tap", content));
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

} // namespace

TEST_CASE("TAP 12: no version line, plan first") {
  TempDir dir;
  const auto read = read_tap(dir, "1..4\nok 1 - adds\nnot ok 2 - subtracts\n# got 3, expected 2\nok 3\nok 4 - 测试\n");
  REQUIRE(read.status.ok());
  REQUIRE(read.sink.cases.size() == 4);
  CHECK(read.sink.count(Outcome::passed) == 3);
  CHECK(read.sink.count(Outcome::failed) == 1);
  CHECK(read.sink.cases[0].name == "adds");
  CHECK(read.sink.cases[1].name == "subtracts");
  CHECK(read.sink.cases[1].line == 3);
  CHECK(read.sink.cases[2].name == "test 3");
  CHECK(read.sink.cases[3].name == "测试");
  CHECK(read.sink.suite_errors.empty());
  CHECK(read.sink.warnings.empty());
  const auto format = report::detect_format(read.path);
  REQUIRE(format.ok());
  CHECK(*format == report::Format::tap);
}

TEST_CASE("TAP 13 and 14 version lines") {
  TempDir dir;
  for (const char* version : {"TAP version 13\n", "TAP version 14\n"}) {
    CAPTURE(version);
    const auto read = read_tap(dir, std::string(version) + "1..2\nok 1 - a\nnot ok 2 - b\n");
    REQUIRE(read.status.ok());
    CHECK(read.sink.cases.size() == 2);
    CHECK(read.sink.count(Outcome::failed) == 1);
    CHECK(read.sink.suite_errors.empty());
    CHECK(*report::detect_format(read.path) == report::Format::tap);
  }
}

TEST_CASE("SKIP and TODO directives are skipped") {
  TempDir dir;
  const auto read = read_tap(dir, "TAP version 13\n1..6\n"
                                  "ok 1 - later # SKIP no database\n"
                                  "ok 2 - later too # skipped: not on CI\n"
                                  "not ok 3 - unfinished # TODO write it\n"
                                  "ok 4 - done early # todo\n"
                                  "ok 5 - escaped \\# hash is not a directive\n"
                                  "not ok 6 - real failure\n");
  REQUIRE(read.status.ok());
  REQUIRE(read.sink.cases.size() == 6);
  CHECK(read.sink.count(Outcome::skipped) == 4);
  CHECK(read.sink.count(Outcome::passed) == 1);
  CHECK(read.sink.count(Outcome::failed) == 1);
  CHECK(read.sink.cases[0].message == "skip: no database");
  CHECK(read.sink.cases[0].name == "later");
  CHECK(contains(read.sink.cases[1].message, "not on CI"));
  CHECK(read.sink.cases[2].message == "todo: write it");
  CHECK(read.sink.cases[4].outcome == Outcome::passed);
}

TEST_CASE("YAML diagnostics become the details of their test") {
  TempDir dir;
  const auto read = read_tap(dir, "TAP version 13\n1..2\n"
                                  "not ok 1 - compares\n"
                                  "  ---\n"
                                  "  message: 'values differ'\n"
                                  "  severity: fail\n"
                                  "  found: 3\n"
                                  "  wanted: 2\n"
                                  "  ...\n"
                                  "ok 2 - next\n");
  REQUIRE(read.status.ok());
  REQUIRE(read.sink.cases.size() == 2);
  const auto& failed = read.sink.cases[0];
  CHECK(failed.outcome == Outcome::failed);
  CHECK(contains(failed.details, "values differ"));
  CHECK(contains(failed.details, "wanted: 2"));
  CHECK_FALSE(contains(failed.details, "---"));
  CHECK(contains(failed.message, "values differ"));
  CHECK(read.sink.cases[1].outcome == Outcome::passed);
  CHECK(read.sink.suite_errors.empty());
}

TEST_CASE("subtests are not counted separately") {
  TempDir dir;
  const auto read = read_tap(dir, "TAP version 14\n1..3\n"
                                  "# Subtest: group one\n"
                                  "    ok 1 - inner a\n"
                                  "    not ok 2 - inner b\n"
                                  "    1..2\n"
                                  "not ok 1 - group one\n"
                                  "# Subtest: group two\n"
                                  "    ok 1 - inner c\n"
                                  "    1..1\n"
                                  "ok 2 - group two\n"
                                  "ok 3 - flat\n");
  REQUIRE(read.status.ok());
  REQUIRE(read.sink.cases.size() == 3);
  CHECK(read.sink.cases[0].name == "group one");
  CHECK(read.sink.cases[0].outcome == Outcome::failed);
  CHECK(contains(read.sink.cases[0].details, "inner b"));
  CHECK(read.sink.count(Outcome::passed) == 2);
  CHECK(read.sink.suite_errors.empty());
  CHECK(read.sink.warnings.empty());
}

TEST_CASE("a subtest's lines belong to their own parent, not to the test before") {
  TempDir dir;
  const auto read = read_tap(dir, "TAP version 14\n1..2\n"
                                  "not ok 1 - first fails\n"
                                  "# Subtest: second\n"
                                  "    ok 1 - inner of second\n"
                                  "    1..1\n"
                                  "ok 2 - second\n");
  REQUIRE(read.status.ok());
  REQUIRE(read.sink.cases.size() == 2);
  CHECK_FALSE(contains(read.sink.cases[0].details, "inner of second"));
}

TEST_CASE("Bail out! is a suite error") {
  TempDir dir;
  const auto read = read_tap(dir, "1..5\nok 1\nnot ok 2 - db\nBail out! database went away\nok 3\n");
  REQUIRE(read.status.ok());
  REQUIRE(read.sink.suite_errors.size() == 1);
  CHECK(contains(read.sink.suite_errors[0].message, "bailed out"));
  CHECK(contains(read.sink.suite_errors[0].message, "database went away"));
  CHECK(read.sink.suite_errors[0].location == read.path + ":4");
  CHECK(read.sink.count(Outcome::passed) >= 1);
  CHECK(read.sink.count(Outcome::failed) == 1);
}

TEST_CASE("a Bail out! reason is sanitized and bounded like every other message") {
  TempDir dir;
  // Invalid UTF-8 and an escape sequence in the reason, then a very long one.
  const auto read = read_tap(dir, "1..3\nok 1\nBail out! data\xce base \x1b[31mdown\n");
  REQUIRE(read.status.ok());
  REQUIRE(read.sink.suite_errors.size() == 1);
  const std::string& message = read.sink.suite_errors[0].message;
  CHECK(core::is_clean_text(message));
  CHECK(contains(message, "base"));
  CHECK(message.find('\x1b') == std::string::npos);

  const auto longer = read_tap(dir, "1..1\nBail out! " + std::string(50000, 'x') + "\n");
  REQUIRE(longer.sink.suite_errors.size() == 1);
  CHECK(longer.sink.suite_errors[0].message.size() < report::ReadLimits{}.message_bytes + 100);
}

TEST_CASE("a stream that stops short of its plan is a suite error") {
  TempDir dir;
  const auto read = read_tap(dir, "1..5\nok 1\nok 2\nok 3\n");
  REQUIRE(read.status.ok());
  CHECK(read.sink.cases.size() == 3);
  REQUIRE(read.sink.suite_errors.size() == 1);
  CHECK(contains(read.sink.suite_errors[0].message, "3 of 5"));
}

TEST_CASE("a stream without a plan is a suite error") {
  TempDir dir;
  const auto read = read_tap(dir, "TAP version 13\nok 1 - a\nok 2 - b\n");
  REQUIRE(read.status.ok());
  CHECK(read.sink.cases.size() == 2);
  REQUIRE(read.sink.suite_errors.size() == 1);
  CHECK(contains(read.sink.suite_errors[0].message, "no plan"));
}

TEST_CASE("an empty TAP stream is a suite error") {
  TempDir dir;
  const auto read = read_tap(dir, "TAP version 13\n# nothing here\n");
  REQUIRE(read.status.ok());
  CHECK(read.sink.cases.empty());
  CHECK(read.sink.suite_errors.size() == 1);
}

TEST_CASE("a plan at the end is fine") {
  TempDir dir;
  const auto read = read_tap(dir, "TAP version 13\nok 1 - a\nnot ok 2 - b\nok 3 - c\n1..3\n");
  REQUIRE(read.status.ok());
  CHECK(read.sink.cases.size() == 3);
  CHECK(read.sink.suite_errors.empty());
  CHECK(read.sink.warnings.empty());
}

TEST_CASE("1..0 skips everything without error") {
  TempDir dir;
  const auto read = read_tap(dir, "1..0 # SKIP no display\n");
  REQUIRE(read.status.ok());
  CHECK(read.sink.cases.empty());
  CHECK(read.sink.suite_errors.empty());
}

TEST_CASE("more tests than planned is a warning") {
  TempDir dir;
  const auto read = read_tap(dir, "1..2\nok 1\nok 2\nok 3\n");
  REQUIRE(read.status.ok());
  CHECK(read.sink.cases.size() == 3);
  CHECK(read.sink.suite_errors.empty());
  REQUIRE(read.sink.warnings.size() == 1);
  CHECK(contains(read.sink.warnings[0].message, "ran 3 tests but planned 2"));
}

TEST_CASE("CRLF line endings and control characters") {
  TempDir dir;
  const auto read = read_tap(dir, "1..2\r\nok 1 - crlf\r\nnot ok 2 - \x1b[31mred\x1b[0m \xff\r\n");
  REQUIRE(read.status.ok());
  REQUIRE(read.sink.cases.size() == 2);
  CHECK(read.sink.cases[0].name == "crlf");
  CHECK(core::is_clean_text(read.sink.cases[1].name));
  CHECK(read.sink.suite_errors.empty());
}

TEST_CASE("binary data in a TAP stream is an error") {
  TempDir dir;
  const auto read = read_tap(dir, std::string("1..1\nok 1\n\0\0\0", 11));
  REQUIRE_FALSE(read.status.ok());
  CHECK(contains(read.status.error().describe(), read.path + ":3"));
}
