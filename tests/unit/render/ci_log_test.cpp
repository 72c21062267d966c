#include <doctest/doctest.h>

#include <sstream>
#include <vector>

#include "render/ci_log.hpp"

namespace {

using Severity = core::Finding::Severity;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream stream(text);
  for (std::string line; std::getline(stream, line);)
    lines.push_back(line);
  return lines;
}

std::size_t count_prefix(const std::string& text, const std::string& prefix) {
  std::size_t count = 0;
  for (const auto& line : lines_of(text))
    if (line.rfind(prefix, 0) == 0) ++count;
  return count;
}

} // namespace

TEST_CASE("workflow-command escaping follows @actions/core") {
  CHECK(render::github_escape_data("100% done\r\nnext: a,b") == "100%25 done%0D%0Anext: a,b");
  CHECK(render::github_escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A");
}

TEST_CASE("a finding becomes an annotation with file, line and title") {
  core::StepResult result;
  result.findings = {{Severity::error, "[A] failed: t::x, y", "assert 1 == 2\nat line 3", "src/a.py", 12},
                     {Severity::notice, "slow", "", "", 0}};
  const std::string text = render::github_annotations(result);
  CHECK(text == "::error file=src/a.py,line=12,title=[A] failed%3A t%3A%3Ax%2C y::assert 1 == 2%0Aat line 3\n"
                "::notice title=slow::slow\n");
}

TEST_CASE("hostile text cannot start a workflow command of its own") {
  core::StepResult result;
  result.findings = {{Severity::warning, "t", "x\n::add-mask::oops\r\n::set-output name=a::b", "", 0}};
  const std::string text = render::github_annotations(result);
  CHECK(lines_of(text).size() == 1);
  CHECK(count_prefix(text, "::warning") == 1);
}

TEST_CASE("at most 10 annotations per level, then one notice") {
  core::StepResult result;
  result.findings.assign(15, core::Finding{Severity::error, "e", "m", "", 0});
  for (int i = 0; i < 12; ++i)
    result.findings.push_back({Severity::warning, "w", "m", "", 0});
  result.findings_omitted = 100;
  result.warnings = {"tool warning"};
  const std::string text = render::github_annotations(result);
  CHECK(count_prefix(text, "::error") == 10);
  CHECK(count_prefix(text, "::warning") == 10);
  CHECK(count_prefix(text, "::notice") == 1);
  CHECK(text.find("::notice title=shipgate::108 more findings") != std::string::npos);
}

TEST_CASE("result warnings become ::warning annotations") {
  core::StepResult result;
  result.warnings = {"report x.xml: 0 tests"};
  CHECK(render::github_annotations(result) == "::warning title=shipgate::report x.xml: 0 tests\n");
  CHECK(render::github_annotations(core::StepResult{}).empty());
}

TEST_CASE("GitLab sections use the exact escape-code format") {
  CHECK(render::gitlab_section_start("shipgate_findings", "Findings", true, 1700000000) ==
        "\x1b[0Ksection_start:1700000000:shipgate_findings[collapsed=true]\r\x1b[0KFindings\n");
  CHECK(render::gitlab_section_start("a", "H", false, 5) == "\x1b[0Ksection_start:5:a\r\x1b[0KH\n");
  CHECK(render::gitlab_section_end("shipgate_findings", 1700000001) ==
        "\x1b[0Ksection_end:1700000001:shipgate_findings\r\x1b[0K\n");
}

TEST_CASE("section names and headers are sanitised") {
  CHECK(render::gitlab_section_name("my section:1[x]/é") == "my_section_1_x____"); // é is two bytes
  CHECK(render::gitlab_section_name("ok.name-1_2") == "ok.name-1_2");
  CHECK(render::gitlab_section_name("") == "section");
  const std::string start = render::gitlab_section_start("n", "evil\r\x1b[0Kfake\nline", true, 1);
  CHECK(start == "\x1b[0Ksection_start:1:n[collapsed=true]\r\x1b[0Kevil \\x1B[0Kfake line\n");
}
