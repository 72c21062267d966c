#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/text.hpp"
#include "render/publish.hpp"

namespace {

namespace fs = std::filesystem;

core::StepResult sample() {
  core::StepResult result;
  result.step = "gate-on-test-report";
  result.verdict = core::Verdict::fail;
  result.headline = "FAIL: 1 A-level failure";
  result.checks = {{"failures-A", "A-level failures", core::CheckStatus::fail, "1 failure (limit 0)", "1", "0"}};
  result.findings = {{core::Finding::Severity::error, "[A] t1", "boom", "a.py", 3}};
  result.outputs = {{"verdict", "fail"}, {"token", "s3cr3t-value"}};
  result.finished_at = std::chrono::system_clock::from_time_t(1700000000);
  return result;
}

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A temp dir, removed only when the test passes; stdout/stderr go to files.
struct Fixture {
  fs::path dir;
  std::FILE* out;
  std::FILE* err;
  Fixture() {
    std::string pattern = (fs::temp_directory_path() / "shipgate-publish-XXXXXX").string();
    dir = ::mkdtemp(pattern.data());
    out = std::fopen((dir / "stdout").c_str(), "wb");
    err = std::fopen((dir / "stderr").c_str(), "wb");
  }
  ~Fixture() {
    std::fclose(out);
    std::fclose(err);
  }
  std::string stdout_text() {
    std::fflush(out);
    return read(dir / "stdout");
  }
};

} // namespace

TEST_CASE("publish writes every requested artifact and the terminal summary") {
  Fixture fixture;
  io::Redactor redactor;
  redactor.add_secret("s3cr3t-value");
  io::Output output(redactor, fixture.out, fixture.err);
  render::PublishOptions options;
  options.json_path = (fixture.dir / "out/result.json").string();
  options.junit_path = (fixture.dir / "result.xml").string();
  options.markdown_path = (fixture.dir / "result.md").string();
  options.dotenv_path = (fixture.dir / "result.env").string();
  options.color = render::ColorMode::never;
  const auto errors = render::publish(sample(), ci::CiContext{}, options, output);
  CHECK(errors.empty());
  const std::string json_text = read(options.json_path);
  CHECK(json_text.back() == '\n');
  CHECK(nlohmann::json::parse(json_text)["verdict"] == "fail");
  CHECK(read(options.junit_path).find("<testsuites") != std::string::npos);
  CHECK(read(options.markdown_path).find("## ❌") == 0);
  // Redacted; the sample result's exit code added, as its outputs do not name it.
  CHECK(read(options.dotenv_path) == "SHIPGATE_VERDICT=fail\nSHIPGATE_TOKEN=***\nSHIPGATE_EXIT_CODE=0\n");
  const std::string terminal = fixture.stdout_text();
  CHECK(terminal.rfind("FAIL: 1 A-level failure\n", 0) == 0);
  CHECK(terminal.find("::error") == std::string::npos);
  fs::remove_all(fixture.dir);
}

TEST_CASE("on GitHub publish annotates and appends to the step summary and outputs") {
  Fixture fixture;
  io::Output output(io::Redactor{}, fixture.out, fixture.err);
  ci::CiContext context;
  context.provider = ci::Provider::github;
  context.github_step_summary = (fixture.dir / "summary.md").string();
  context.github_output = (fixture.dir / "output.txt").string();
  std::ofstream(context.github_step_summary) << "previous step\n";
  render::PublishOptions options;
  options.quiet = true;
  CHECK(render::publish(sample(), context, options, output).empty());
  const std::string terminal = fixture.stdout_text();
  CHECK(terminal.rfind("FAIL: 1 A-level failure\n::error file=a.py,line=3,title=[A] t1::boom\n", 0) == 0);
  CHECK(terminal.find("failures-A") == std::string::npos); // quiet
  const std::string summary = read(context.github_step_summary);
  CHECK(summary.rfind("previous step\n## ❌", 0) == 0);
  CHECK(read(context.github_output).rfind("verdict<<ghadelimiter_", 0) == 0);
  fs::remove_all(fixture.dir);
}

TEST_CASE("on GitLab the findings are folded into a collapsed section") {
  Fixture fixture;
  io::Output output(io::Redactor{}, fixture.out, fixture.err);
  ci::CiContext context;
  context.provider = ci::Provider::gitlab;
  CHECK(render::publish(sample(), context, render::PublishOptions{}, output).empty());
  const std::string terminal = fixture.stdout_text();
  const auto start = terminal.find("\x1b[0Ksection_start:1700000000:shipgate_findings[collapsed=true]\r\x1b[0K");
  const auto finding = terminal.find("[A] t1");
  const auto end = terminal.find("\x1b[0Ksection_end:1700000000:shipgate_findings\r\x1b[0K\n");
  CHECK(start < finding);
  CHECK(finding < end);
  CHECK(end != std::string::npos);
  fs::remove_all(fixture.dir);
}

TEST_CASE("artifacts that cannot be written are reported, the others still written") {
  Fixture fixture;
  io::Output output(io::Redactor{}, fixture.out, fixture.err);
  render::PublishOptions options;
  std::ofstream(fixture.dir / "file") << "x";
  options.json_path = (fixture.dir / "file/sub/result.json").string(); // parent is a file
  options.junit_path = (fixture.dir / "result.xml").string();
  const auto errors = render::publish(sample(), ci::CiContext{}, options, output);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].message.find("result.json") != std::string::npos);
  CHECK(fs::exists(options.junit_path));
  fs::remove_all(fixture.dir);
}

TEST_CASE("colour follows the mode and the terminal") {
  Fixture fixture;
  io::Output output(io::Redactor{}, fixture.out, fixture.err);
  ci::CiContext context;
  context.terminal.stdout_is_tty = true;
  render::PublishOptions options;
  options.quiet = true;
  render::publish(sample(), context, options, output); // auto + TTY: colour
  context.no_color = true;
  render::publish(sample(), context, options, output); // NO_COLOR wins over auto
  options.color = render::ColorMode::always;
  render::publish(sample(), context, options, output);
  CHECK(fixture.stdout_text() == "\x1b[31mFAIL\x1b[0m: 1 A-level failure\nFAIL: 1 A-level failure\n"
                                 "\x1b[31mFAIL\x1b[0m: 1 A-level failure\n");
  fs::remove_all(fixture.dir);
}

TEST_CASE("map_strings edits every text of a result and of its JSON details, keys included") {
  core::StepResult result = sample();
  result.checks[0].transcript = "sent x";
  result.warnings = {"x warned"};
  result.summary_lines = {"x line"};
  result.text_view = "x view";
  result.markdown_view = "x markdown";
  result.details = {{"x key", {"x item", 7, true, nullptr}}, {"nested", {{"deeper", "x"}}}};
  const auto edited = core::map_strings(result, [](std::string_view text) {
    return core::replace_all(std::string(text), "x", "Y");
  });
  CHECK(edited.checks[0].transcript == "sent Y");
  CHECK(edited.warnings[0] == "Y warned");
  CHECK(edited.summary_lines[0] == "Y line");
  CHECK(edited.text_view == "Y view");
  CHECK(edited.markdown_view == "Y markdown");
  CHECK(edited.details == nlohmann::json{{"Y key", {"Y item", 7, true, nullptr}}, {"nested", {{"deeper", "Y"}}}});
  CHECK(edited.outputs[0].first == "verdict"); // names stay
  CHECK(edited.exit_code == result.exit_code);
}

TEST_CASE("a secret that every format escapes is masked in every output") {
  // `"` `\` `&` `<` for JSON, XML and Markdown; `,` and `%` for annotations.
  const std::string secret = "tok\"en\\v&a<l,u%e-0123456789";
  Fixture fixture;
  io::Redactor redactor;
  redactor.add_secret(secret);
  io::Output output(redactor, fixture.out, fixture.err);
  core::StepResult result = sample();
  result.findings = {{core::Finding::Severity::error, "[A] test_login[" + secret + "]", "token " + secret + " refused",
                      "a.py", 3}};
  // Markdown cuts cells at about 300 bytes: the secret straddles the cut.
  result.checks[0].explanation = std::string(290, 'x') + secret;
  result.checks[0].transcript = "Authorization: Bearer " + secret;
  result.details = {{"failures", {{{"message", "token " + secret}}}}};
  ci::CiContext context;
  context.provider = ci::Provider::github;
  context.github_step_summary = (fixture.dir / "summary.md").string();
  context.github_output = (fixture.dir / "output.txt").string();
  render::PublishOptions options;
  options.json_path = (fixture.dir / "result.json").string();
  options.junit_path = (fixture.dir / "result.xml").string();
  options.markdown_path = (fixture.dir / "result.md").string();
  options.color = render::ColorMode::never;
  CHECK(render::publish(result, context, options, output).empty());
  // The part before the first escaped character: any form of the secret holds it.
  const std::string part = "tok";
  for (const auto& text : {fixture.stdout_text(), read(options.json_path), read(options.junit_path),
                           read(options.markdown_path), read(context.github_step_summary)}) {
    CHECK(text.find(part + "\\\"") == std::string::npos); // JSON
    CHECK(text.find(part + "&quot;") == std::string::npos); // XML
    CHECK(text.find("en\\\\v") == std::string::npos);      // Markdown, JSON
    CHECK(text.find("a&lt;l") == std::string::npos);        // XML, Markdown
    CHECK(text.find("l%2Cu%25e") == std::string::npos);     // annotations
    CHECK((text.find("***") != std::string::npos || text.find("\\*\\*\\*") != std::string::npos)); // Markdown escapes it
  }
  CHECK(nlohmann::json::parse(read(options.json_path))["failures"][0]["message"] == "token ***");
  fs::remove_all(fixture.dir);
}
