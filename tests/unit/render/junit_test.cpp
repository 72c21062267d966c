#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include "core/time.hpp"
#include "render/junit.hpp"

namespace {

namespace fs = std::filesystem;

core::StepResult sample() {
  core::StepResult result;
  result.step = "gate-on-test-report";
  result.headline = "FAIL: 1 rule failed";
  result.verdict = core::Verdict::fail;
  result.checks = {
      {"failures-A", "A-level failures", core::CheckStatus::fail, "2 failures (limit 0)\nsecond line", "2", "0"},
      {"min-tests", "Minimum tests", core::CheckStatus::pass, "12 tests", "12", "1"},
      {"flaky", "Flaky tests", core::CheckStatus::warn, "1 flaky test", "1", ""},
      {"coverage", "", core::CheckStatus::skip, "not configured", "", ""},
      {"reports", "Reports", core::CheckStatus::inconclusive, "no report matched", "", ""}};
  result.started_at = *core::parse_time("2026-11-21T10:00:00Z");
  result.finished_at = result.started_at + std::chrono::milliseconds(12);
  return result;
}

// Each test writes into its own directory, kept when the test fails.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "shipgate-junit-XXXXXX").string();
    path = ::mkdtemp(pattern.data());
  }
};

// Runs xmllint (argv, no shell) and returns its exit status.
int run_xmllint(const fs::path& file) {
  std::string schema = SHIPGATE_JUNIT_XSD, path = file.string();
  std::string args[] = {"xmllint", "--noout", "--schema", schema, path};
  char* argv[] = {args[0].data(), args[1].data(), args[2].data(), args[3].data(), args[4].data(), nullptr};
  pid_t pid = 0;
  if (::posix_spawnp(&pid, "xmllint", nullptr, nullptr, argv, environ) != 0) return -1;
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int validate(const std::string& xml) {
  TempDir dir;
  const fs::path file = dir.path / "result.xml";
  std::ofstream(file, std::ios::binary) << xml;
  const int status = run_xmllint(file);
  if (status == 0)
    fs::remove_all(dir.path);
  else
    MESSAGE("xmllint exit " << status << "; kept " << dir.path.string());
  return status;
}

} // namespace

TEST_CASE("suite counts follow the check statuses") {
  const std::string xml = render::render_junit(sample());
  CHECK(xml.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", 0) == 0);
  CHECK(xml.find("<testsuite name=\"shipgate.gate-on-test-report\" tests=\"5\" failures=\"1\" errors=\"1\" "
                 "skipped=\"1\" time=\"0.012\" timestamp=\"") != std::string::npos);
  CHECK(xml.find("<testcase classname=\"shipgate.gate-on-test-report\" name=\"min-tests: Minimum tests\"/>") !=
        std::string::npos);
  CHECK(xml.find("<failure message=\"2 failures (limit 0)\" type=\"rule\">2 failures (limit 0)\nsecond line\n"
                 "actual: 2\nlimit: 0</failure>") != std::string::npos);
  CHECK(xml.find("<error message=\"no report matched\" type=\"inconclusive\">") != std::string::npos);
  CHECK(xml.find("name=\"coverage\">\n      <skipped message=\"not configured\"/>") != std::string::npos);
  CHECK(xml.find("<system-out>WARNING: 1 flaky test</system-out>") != std::string::npos);
}

TEST_CASE("durations use the SUREFIRE_TIME form") {
  CHECK(render::junit_seconds(std::chrono::milliseconds(12)) == "0.012");
  CHECK(render::junit_seconds(std::chrono::milliseconds(61234)) == "61.234");
  CHECK(render::junit_seconds(std::chrono::milliseconds(-5)) == "0.000");
}

TEST_CASE("the JUnit file validates against the junit-10 schema") {
  CHECK(validate(render::render_junit(sample())) == 0);
}

TEST_CASE("hostile text still gives a valid JUnit file") {
  auto result = sample();
  const std::string hostile = std::string("a < b & c ]]> \"q\" 'a' ctl\x01 esc\x1b[31m bad\xff\xfe end");
  result.step = "step" + hostile;
  result.headline = hostile;
  result.summary_lines = {hostile};
  for (auto& check : result.checks) {
    check.id += hostile;
    check.title += hostile;
    check.explanation += hostile;
    check.actual = hostile;
  }
  const std::string xml = render::render_junit(result);
  CHECK(xml.find('\x01') == std::string::npos);
  CHECK(xml.find('\x1b') == std::string::npos);
  CHECK(xml.find("]]>") == std::string::npos);
  CHECK(validate(xml) == 0);
}

TEST_CASE("a result without checks or times is still valid") {
  core::StepResult result;
  result.step = "smoke-test";
  const std::string xml = render::render_junit(result);
  CHECK(xml.find("tests=\"0\" failures=\"0\" errors=\"0\"") != std::string::npos);
  CHECK(xml.find("timestamp=") == std::string::npos);
  CHECK(validate(xml) == 0);
}
