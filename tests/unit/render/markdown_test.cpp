#include <doctest/doctest.h>

#include <algorithm>
#include <sstream>

#include "render/markdown.hpp"

namespace {

using Severity = core::Finding::Severity;

core::StepResult sample() {
  core::StepResult result;
  result.step = "gate-on-test-report";
  result.checks_label = "rules";
  result.verdict = core::Verdict::fail;
  result.headline = "FAIL: 1 A-level failure";
  result.summary_lines = {"3 tests: 2 passed, 1 failed"};
  result.checks = {{"failures-A", "A-level failures", core::CheckStatus::fail, "1 failure (limit 0)", "1", "0"}};
  result.findings = {{Severity::error, "<img src=x onerror=alert(1)>|x", "boom\nsecond", "tests/a.py", 7}};
  result.warnings = {"one report was empty"};
  return result;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream stream(text);
  for (std::string line; std::getline(stream, line);)
    lines.push_back(line);
  return lines;
}

// Pipes that GFM treats as cell separators.
std::size_t raw_pipes(const std::string& line) {
  return static_cast<std::size_t>(std::count(line.begin(), line.end(), '|'));
}

std::string line_containing(const std::string& text, const std::string& needle) {
  for (const auto& line : lines_of(text))
    if (line.find(needle) != std::string::npos) return line;
  return {};
}

} // namespace

TEST_CASE("markdown has a heading, the summary, the checks and the findings") {
  ci::CiContext context;
  context.commit = "0123456789abcdef";
  context.branch = "main";
  context.pipeline_url = "https://github.com/o/r/actions/runs/1";
  const std::string md = render::render_markdown(sample(), context);
  CHECK(md.rfind("## ❌ FAIL: 1 A-level failure\n", 0) == 0);
  CHECK(md.find("- 3 tests: 2 passed, 1 failed\n") != std::string::npos);
  CHECK(md.find("### Rules\n") != std::string::npos);
  CHECK(md.find("| ❌ | failures-A | A-level failures | fail | 1 failure (limit 0) | 1 | 0 |") != std::string::npos);
  CHECK(md.find("### Findings (1)") != std::string::npos);
  CHECK(md.find("| tests/a.py:7 | boom |") != std::string::npos);
  CHECK(md.find("second") == std::string::npos); // only the first message line
  CHECK(md.find("- one report was empty") != std::string::npos);
  CHECK(md.find("commit 0123456789ab") != std::string::npos);
  CHECK(md.find("[pipeline](https://github.com/o/r/actions/runs/1)") != std::string::npos);
}

TEST_CASE("a hostile finding title cannot inject HTML or break the table") {
  const std::string md = render::render_markdown(sample(), {});
  CHECK(md.find("<img") == std::string::npos);
  const std::string row = line_containing(md, "onerror");
  REQUIRE_FALSE(row.empty());
  CHECK(row.find("&lt;img src=x onerror=alert(1)&gt;&#124;x") != std::string::npos);
  CHECK(raw_pipes(row) == 5); // 4 cells
}

TEST_CASE("markdown_escape neutralises links, code, emphasis, math and newlines") {
  CHECK(render::markdown_escape("[click](http://evil)") == "\\[click\\](http://evil)");
  CHECK(render::markdown_escape("`code` *b* _i_ ~s~ $x$ # h") == "\\`code\\` \\*b\\* \\_i\\_ \\~s\\~ \\$x\\$ \\# h");
  CHECK(render::markdown_escape("a & b \\ c") == "a &amp; b \\\\ c");
  CHECK(render::markdown_escape("one\ntwo\r\nthree") == "one two  three");
  CHECK(render::markdown_escape("ctl\x01 bad\xff").find('\x01') == std::string::npos);
}

TEST_CASE("unsafe CI links are shown as text") {
  ci::CiContext context;
  context.pipeline_url = "javascript:alert(1)";
  context.branch = "evil<script>";
  const std::string md = render::render_markdown(sample(), context);
  CHECK(md.find("](javascript") == std::string::npos);
  CHECK(md.find("<script") == std::string::npos);
}

TEST_CASE("summary lines cannot become headings or lists") {
  auto result = sample();
  result.summary_lines = {"# big", "- nested", "1. ordered"};
  const std::string md = render::render_markdown(result, {});
  CHECK(md.find("- \\# big\n") != std::string::npos);
  CHECK(md.find("- \\- nested\n") != std::string::npos);
  CHECK(md.find("- 1\\. ordered\n") != std::string::npos);
}

TEST_CASE("many findings are cut to stay under max_bytes, with a note") {
  auto result = sample();
  result.findings.assign(5000, core::Finding{Severity::error, std::string(100, 'x'), "message", "f.cpp", 1});
  result.findings_omitted = 10;
  const std::size_t limit = 20000;
  const std::string md = render::render_markdown(result, {}, limit);
  CHECK(md.size() <= limit);
  CHECK(md.find("### Findings (5010)") != std::string::npos);
  CHECK(md.find("more findings not shown here") != std::string::npos);
  CHECK(md.find("- one report was empty") != std::string::npos); // warnings survive the cut
}

TEST_CASE("even huge fixed parts respect max_bytes") {
  auto result = sample();
  result.summary_lines.assign(2000, std::string(50, 'y'));
  const std::string md = render::render_markdown(result, {}, 4096);
  CHECK(md.size() <= 4096);
  CHECK(md.find("Summary truncated") != std::string::npos);
}
