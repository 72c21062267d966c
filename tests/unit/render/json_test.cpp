#include <doctest/doctest.h>

#include "core/time.hpp"
#include "render/json.hpp"

namespace {

core::StepResult sample() {
  core::StepResult result;
  result.step = "gate-on-test-report";
  result.checks_label = "rules";
  result.verdict = core::Verdict::fail;
  result.exit_code = core::ExitCode::negative_verdict;
  result.headline = "FAIL: 1 A-level failure";
  result.checks = {{"failures-A", "A-level failures", core::CheckStatus::fail, "1 failure (limit 0)", "1", "0"},
                   {"flaky", "Flaky", core::CheckStatus::pass, "none", "", ""}};
  result.warnings = {"w1"};
  result.outputs = {{"verdict", "fail"}, {"failed", "1"}};
  result.details = {{"totals", {{"tests", 3}, {"failed", 1}}}, {"verdict", "overridden?"}};
  result.started_at = *core::parse_time("2026-11-21T10:00:00Z");
  result.finished_at = result.started_at + std::chrono::milliseconds(1234);
  return result;
}

ci::CiContext github_context() {
  ci::CiContext context;
  context.provider = ci::Provider::github;
  context.commit = "abc123";
  context.branch = "main";
  return context;
}

} // namespace

TEST_CASE("the JSON document carries every schema field") {
  const auto doc = render::to_json(sample(), github_context());
  CHECK(doc["schema"] == "shipgate/step-result");
  CHECK(doc["schema_version"] == 1);
  CHECK(doc["step"] == "gate-on-test-report");
  CHECK(doc["verdict"] == "fail");
  CHECK(doc["exit_code"] == 1);
  CHECK(doc["headline"] == "FAIL: 1 A-level failure");
  CHECK(doc["started_at"] == core::format_rfc3339(sample().started_at));
  CHECK(doc["duration_ms"] == 1234);
  CHECK(doc["ci"]["provider"] == std::string(ci::to_string(ci::Provider::github)));
  CHECK(doc["ci"]["commit"] == "abc123");
  CHECK(doc["ci"]["job_url"].is_null());
  REQUIRE(doc["rules"].size() == 2);
  CHECK_FALSE(doc.contains("checks"));
  CHECK(doc["rules"][0]["id"] == "failures-A");
  CHECK(doc["rules"][0]["status"] == "fail");
  CHECK(doc["rules"][0]["actual"] == "1");
  CHECK(doc["rules"][1]["limit"].is_null());
  CHECK(doc["warnings"] == nlohmann::json::array({"w1"}));
  CHECK(doc["outputs"]["verdict"] == "fail");
}

TEST_CASE("details are merged at the top level without replacing schema fields") {
  const auto doc = render::to_json(sample(), github_context());
  CHECK(doc["totals"]["tests"] == 3);
  CHECK(doc["verdict"] == "fail");
}

TEST_CASE("unset times are null") {
  auto result = sample();
  result.started_at = {};
  result.finished_at = {};
  const auto doc = render::to_json(result, {});
  CHECK(doc["started_at"].is_null());
  CHECK(doc["duration_ms"].is_null());
  CHECK(doc["ci"]["provider"] == std::string(ci::to_string(ci::Provider::none)));
}

TEST_CASE("invalid UTF-8 anywhere, including details, never makes dump throw") {
  auto result = sample();
  result.headline = "bad \xff\xfe headline";
  result.checks[0].explanation = "bad \xc3";
  result.warnings = {"\x80"};
  result.outputs = {{"k\xff", "v\xff"}};
  result.details = {{"failures", {{{"name", "t\xff"}, {"message", std::string("ctl\x01")}}}}, {"key\xfe", 1}};
  ci::CiContext context;
  context.branch = "br\xff";
  const auto doc = render::to_json(result, context);
  std::string text;
  CHECK_NOTHROW(text = doc.dump());
  CHECK(text.find("\xEF\xBF\xBD") != std::string::npos);
  CHECK(doc["failures"][0]["message"] == "ctl\\x01");
  const std::string pretty = render::dump_json(doc);
  CHECK(pretty.back() == '\n');
  CHECK(pretty.find("\n  \"") != std::string::npos);
  CHECK(nlohmann::json::parse(pretty) == doc);
}

TEST_CASE("dump_json survives a document built without to_json") {
  nlohmann::json raw = {{"x", "\xff"}};
  CHECK_NOTHROW((void)render::dump_json(raw));
}
