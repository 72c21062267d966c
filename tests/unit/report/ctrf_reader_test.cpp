#include <doctest/doctest.h>

#include <climits>
#include <string>

#include "report/ctrf_reader.hpp"
#include "report/detect.hpp"
#include "../support/recording_sink.hpp"
#include "../support/temp_dir.hpp"

using report::Outcome;
using test_support::Read;
using test_support::RecordingSink;
using test_support::TempDir;

namespace {

Read read_ctrf(const TempDir& dir, const std::string& content) {
  return test_support::read_with(report::read_ctrf, dir.write("ctrf-report.json", content));
}

std::string document(const std::string& tests) {
  return R"({"reportFormat":"CTRF","specVersion":"0.0.0","results":{"tool":{"name":"jest"},
  "summary":{"tests":99,"passed":99,"failed":0,"pending":0,"skipped":0,"other":0,"start":0,"stop":1},
  "tests":[)" + tests + "]}}";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

} // namespace

TEST_CASE("statuses: passed, failed, skipped, pending, other") {
  TempDir dir;
  const auto read = read_ctrf(dir, document(R"(
    {"name":"p","status":"passed","duration":1500},
    {"name":"f","status":"failed","duration":3,"message":"expected 1\nreceived 2","trace":"at x.js:1","filePath":"x.test.js","line":7,"suite":"math"},
    {"name":"s","status":"skipped"},
    {"name":"pe","status":"pending"},
    {"name":"o","status":"other"})"));
  REQUIRE_MESSAGE(read.status.ok(), read.status.error().describe());
  REQUIRE(read.sink.cases.size() == 5);
  CHECK(read.sink.find("p")->outcome == Outcome::passed);
  CHECK(read.sink.find("p")->seconds() == doctest::Approx(1.5));
  const auto* failed = read.sink.find("f");
  CHECK(failed->outcome == Outcome::failed);
  CHECK(failed->message == "expected 1");
  CHECK(failed->details == "at x.js:1");
  CHECK(failed->file == "x.test.js");
  CHECK(failed->line == 7);
  CHECK(failed->id() == "math::f");
  CHECK(read.sink.find("s")->outcome == Outcome::skipped);
  CHECK(read.sink.find("pe")->outcome == Outcome::skipped);
  CHECK(read.sink.find("o")->outcome == Outcome::skipped);
  CHECK(*report::detect_format(read.path) == report::Format::ctrf);
}

TEST_CASE("the summary is not trusted: the tests are counted") {
  TempDir dir;
  const auto read = read_ctrf(dir, document(R"({"name":"only","status":"failed"})"));
  REQUIRE(read.status.ok());
  CHECK(read.sink.cases.size() == 1);
}

TEST_CASE("an unknown status is an error with a warning") {
  TempDir dir;
  const auto read = read_ctrf(dir, document(R"({"name":"weird","status":"exploded"})"));
  REQUIRE(read.status.ok());
  REQUIRE(read.sink.cases.size() == 1);
  CHECK(read.sink.cases[0].outcome == Outcome::error);
  REQUIRE(read.sink.warnings.size() == 1);
  CHECK(contains(read.sink.warnings[0].message, "exploded"));
}

TEST_CASE("flaky: true and retries") {
  TempDir dir;
  const auto read = read_ctrf(dir, document(R"(
    {"name":"flag","status":"passed","flaky":true,"retries":1},
    {"name":"retried","status":"passed","retries":2},
    {"name":"flag_only","status":"passed","flaky":true},
    {"name":"retried_but_failed","status":"failed","retries":3,"flaky":true},
    {"name":"not_flaky","status":"passed","flaky":false,"retries":0})"));
  REQUIRE(read.status.ok());
  REQUIRE(read.sink.cases.size() == 5);
  CHECK(read.sink.find("flag")->outcome == Outcome::flaky);
  CHECK(read.sink.find("flag")->failed_attempts == 1);
  CHECK(read.sink.find("retried")->outcome == Outcome::flaky);
  CHECK(read.sink.find("retried")->failed_attempts == 2);
  CHECK(read.sink.find("flag_only")->outcome == Outcome::flaky);
  CHECK(read.sink.find("retried_but_failed")->outcome == Outcome::failed);
  CHECK(read.sink.find("retried_but_failed")->failed_attempts == 3);
  CHECK(read.sink.find("not_flaky")->outcome == Outcome::passed);
}

TEST_CASE("loosely typed flaky, retries and line neither throw nor overflow") {
  // Found by fuzzing: "flaky": "w" threw out of the reader and ended the gate.
  TempDir dir;
  const auto read = read_ctrf(dir, document(R"(
    {"name":"flaky_text","status":"passed","flaky":"true"},
    {"name":"flaky_number","status":"passed","flaky":1,"line":1e300},
    {"name":"huge_retries","status":"passed","retries":4294967297,"line":-5},
    {"name":"negative_retries","status":"failed","retries":-3,"line":42},
    {"name":"fraction","status":"passed","retries":2.5,"line":"12"})"));
  REQUIRE(read.status.ok());
  REQUIRE(read.sink.cases.size() == 5);
  CHECK(read.sink.find("flaky_text")->outcome == Outcome::passed);
  CHECK(read.sink.find("flaky_number")->outcome == Outcome::passed);
  CHECK(read.sink.find("flaky_number")->line == 0);
  CHECK(read.sink.find("huge_retries")->outcome == Outcome::flaky);
  CHECK(read.sink.find("huge_retries")->failed_attempts == INT_MAX);
  CHECK(read.sink.find("huge_retries")->line == 0);
  CHECK(read.sink.find("negative_retries")->failed_attempts == 0);
  CHECK(read.sink.find("negative_retries")->line == 42);
  CHECK(read.sink.find("fraction")->outcome == Outcome::passed);
}

TEST_CASE("extra fields are capped at max_properties like JUnit properties") {
  TempDir dir;
  std::string extra;
  for (int i = 0; i < 100; ++i) extra += (i ? "," : "") + std::string("\"k") + std::to_string(i) + "\":\"v\"";
  const auto read = read_ctrf(dir, document(R"({"name":"t","status":"passed","extra":{)" + extra + "}}"));
  REQUIRE(read.status.ok());
  REQUIRE(read.sink.cases.size() == 1);
  CHECK(static_cast<int>(read.sink.cases[0].properties.size()) == report::ReadLimits{}.max_properties);
}

TEST_CASE("suite as an array is joined into a path") {
  TempDir dir;
  const auto read = read_ctrf(dir, document(R"({"name":"t","status":"passed","suite":["outer","inner"]})"));
  REQUIRE(read.status.ok());
  REQUIRE(read.sink.cases.size() == 1);
  CHECK(read.sink.cases[0].suite == "outer / inner");
  CHECK(read.sink.cases[0].id() == "outer / inner::t");
}

TEST_CASE("tags and extra fields") {
  TempDir dir;
  const auto read = read_ctrf(
      dir, document(R"({"name":"t","status":"failed","tags":["P0","smoke"],"extra":{"severity":"A","n":3}})"));
  REQUIRE(read.status.ok());
  const auto& test = read.sink.cases.at(0);
  CHECK(test.tags == std::vector<std::string>{"P0", "smoke"});
  REQUIRE(test.properties.size() == 1);
  CHECK(test.properties[0] == std::pair<std::string, std::string>{"severity", "A"});
}

TEST_CASE("nested objects inside a test do not confuse the reader") {
  TempDir dir;
  const auto read = read_ctrf(dir, document(R"(
    {"name":"a","status":"failed","attachments":[{"name":"shot","path":"a.png"}],"extra":{"deep":{"tests":[1,2]}}},
    {"name":"b","status":"passed"})"));
  REQUIRE(read.status.ok());
  REQUIRE(read.sink.cases.size() == 2);
  CHECK(read.sink.find("a")->outcome == Outcome::failed);
  CHECK(read.sink.find("b")->outcome == Outcome::passed);
}

TEST_CASE("invalid JSON is an error with its position") {
  TempDir dir;
  const auto read = read_ctrf(dir, R"({"results":{"tests":[{"name":"a","status":"passed"},]}})");
  REQUIRE_FALSE(read.status.ok());
  const std::string message = read.status.error().describe();
  CHECK(contains(message, "invalid JSON at byte"));
  CHECK(contains(message, read.path));
}

TEST_CASE("truncated JSON is an error") {
  TempDir dir;
  const auto read = read_ctrf(dir, R"({"results":{"tests":[{"name":"a","status":"pass)");
  REQUIRE_FALSE(read.status.ok());
  CHECK(contains(read.status.error().describe(), "invalid JSON"));
}

TEST_CASE("JSON without results.tests is not a CTRF report") {
  TempDir dir;
  for (const char* doc : {R"({"name":"package","version":"1.0.0"})", R"({"results":{"summary":{}}})",
                          R"({"tests":[{"name":"a","status":"passed"}]})"}) {
    CAPTURE(doc);
    const auto read = read_ctrf(dir, doc);
    REQUIRE_FALSE(read.status.ok());
    CHECK(contains(read.status.error().message, "results.tests"));
  }
}

TEST_CASE("an empty tests array is read without error and without cases") {
  TempDir dir;
  const auto read = read_ctrf(dir, document(""));
  REQUIRE(read.status.ok());
  CHECK(read.sink.cases.empty());
}
