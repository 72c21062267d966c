#include <doctest/doctest.h>

#include "render/terminal.hpp"

namespace {

core::StepResult failing_result() {
  core::StepResult result;
  result.step = "gate-on-test-report";
  result.verdict = core::Verdict::fail;
  result.headline = "FAIL: 2 A-level failures (limit 0)";
  result.summary_lines = {"12 tests: 9 passed, 2 failed, 1 skipped"};
  result.checks = {
      {"failures-A", "A-level failures", core::CheckStatus::fail, "2 A-level failures (limit 0)", "2", "0"},
      {"min-tests", "Minimum tests", core::CheckStatus::pass, "12 tests (minimum 1)", "12", "1"},
      {"flaky", "Flaky tests", core::CheckStatus::warn, "1 flaky test", "1", ""},
      {"coverage", "Coverage", core::CheckStatus::skip, "not configured", "", ""},
      {"reports", "Reports", core::CheckStatus::inconclusive, "no report found", "", ""}};
  result.findings = {{core::Finding::Severity::error, "[A] failed: test_pay::test_refund", "assert 1 == 2\nmore",
                      "tests/test_pay.py", 42}};
  result.warnings = {"report b.xml has no tests"};
  return result;
}

} // namespace

TEST_CASE("terminal summary lists headline, summary, checks, findings and warnings without colour") {
  const std::string text = render::render_terminal(failing_result(), false);
  CHECK(text.rfind("FAIL: 2 A-level failures (limit 0)\n", 0) == 0);
  CHECK(text.find("  12 tests: 9 passed, 2 failed, 1 skipped\n") != std::string::npos);
  CHECK(text.find("  ✘ failures-A: 2 A-level failures (limit 0)\n") != std::string::npos);
  CHECK(text.find("  ✔ min-tests: 12 tests (minimum 1)\n") != std::string::npos);
  CHECK(text.find("  ! flaky: 1 flaky test\n") != std::string::npos);
  CHECK(text.find("  - coverage: not configured\n") != std::string::npos);
  CHECK(text.find("  ? reports: no report found\n") != std::string::npos);
  CHECK(text.find("[A] failed: test_pay::test_refund (tests/test_pay.py:42)\n      assert 1 == 2\n") !=
        std::string::npos);
  CHECK(text.find("  ! report b.xml has no tests\n") != std::string::npos);
  CHECK(text.find('\x1b') == std::string::npos);
}

TEST_CASE("verdict is coloured only when asked") {
  auto result = failing_result();
  CHECK(render::render_headline(result, true).rfind("\x1b[31mFAIL\x1b[0m: 2 A-level", 0) == 0);
  result.verdict = core::Verdict::pass;
  result.headline = "all good";
  CHECK(render::render_headline(result, true) == "\x1b[32mPASS\x1b[0m: all good\n");
  CHECK(render::render_headline(result, false) == "PASS: all good\n");
  result.verdict = core::Verdict::inconclusive;
  result.headline = "INCONCLUSIVE: no reports";
  CHECK(render::render_headline(result, true) == "\x1b[33mINCONCLUSIVE\x1b[0m: no reports\n");
}

TEST_CASE("findings beyond 20 are counted, including those the step already omitted") {
  auto result = failing_result();
  result.findings.assign(25, core::Finding{core::Finding::Severity::error, "t", "", "", 0});
  result.findings_omitted = 5;
  const std::string text = render::render_findings(result, false);
  CHECK(text.find("findings (30):") != std::string::npos);
  CHECK(text.find("  ... and 10 more\n") != std::string::npos);
}

TEST_CASE("hostile text cannot inject escape sequences or extra lines") {
  auto result = failing_result();
  result.findings = {{core::Finding::Severity::error, "evil\x1b[2J\rtitle\nFAKE: PASS", "", "", 0}};
  const std::string text = render::render_findings(result, false);
  CHECK(text.find('\x1b') == std::string::npos);
  CHECK(text.find('\r') == std::string::npos);
  CHECK(text.find("\nFAKE") == std::string::npos);
  CHECK(text.find("evil\\x1B[2J title FAKE: PASS") != std::string::npos);
}

TEST_CASE("empty parts render as nothing") {
  core::StepResult result;
  result.headline = "PASS: nothing to check";
  CHECK(render::render_terminal(result, false) == "PASS: nothing to check\n");
}
