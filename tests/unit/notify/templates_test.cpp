#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "../support/temp_dir.hpp"
#include "deploy/analysis.hpp"
#include "notify/templates.hpp"

namespace fs = std::filesystem;
using notify::TemplateKind;

namespace {

// A failed deploy of 1.4.0 to prod, with everything a template may show.
nlohmann::json sample() {
  return {{"app", "shop"},
          {"environment", "prod"},
          {"version", "1.4.0"},
          {"previous_version", "1.3.2"},
          {"event", "deploy-failed"},
          {"urgency", "P1"},
          {"verdict", "fail"},
          {"headline", "FAIL: 1.4.0 was not released to prod: health checks of web failed; rolled back to 1.3.2"},
          {"reason", "health checks of web failed: GET /health answered 503 <Service Unavailable> & retried 3 times"},
          {"failed", {{{"title", "health/web/home"}, {"explanation", "expected 200, got 503"}}}},
          {"has_failed", true},
          {"by", "张伟"},
          {"comment", "回滚后一切正常"},
          {"attachments", {"launch-plan.md", "db-scripts.zip"}},
          {"has_attachments", true},
          {"analysis", deploy::notification_analysis(nlohmann::json::parse(R"json([
             {"service": "web", "batch": 1, "decision": "failed",
              "reason": "error-ratio failed 2 of 2 samples (failure_limit 0): 0.5026, 0.4981; must be below 0.01",
              "queries": [
                {"name": "error-ratio", "query": "sum(rate(errors[1m]))", "threshold": "below 0.01",
                 "samples": [{"at": "2026-11-22T12:18:11Z", "value": 0.5026, "baseline": null, "verdict": "failed", "note": ""},
                             {"at": "2026-11-22T12:18:13Z", "value": 0.4981, "baseline": null, "verdict": "failed", "note": ""}]},
                {"name": "p95-latency", "query": "histogram_quantile(0.95, …)", "threshold": "below 0.3, at most 1.5 × the baseline",
                 "samples": [{"at": "2026-11-22T12:18:11Z", "value": 0.021, "baseline": 0.019, "verdict": "passed", "note": ""},
                             {"at": "2026-11-22T12:18:13Z", "value": null, "baseline": null, "verdict": "inconclusive", "note": ""}]}]}])json"))},
          {"has_analysis", true},
          {"ci",
           {{"provider", "gitlab"},
            {"pipeline_url", "https://gitlab.example.com/shop/-/pipelines/812"},
            {"user", "alice"},
            {"commit", "0a1b2c3"}}}};
}

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TemplateKind kind_of(const std::string& name) {
  if (name.find(".subject.") != std::string::npos) return TemplateKind::subject;
  if (name.find(".html.") != std::string::npos) return TemplateKind::html;
  if (name.find(".md.") != std::string::npos) return TemplateKind::markdown;
  return TemplateKind::text;
}

} // namespace

TEST_CASE("templates: every shipped template renders the sample event as its golden file") {
  const fs::path golden = fs::path(SHIPGATE_SOURCE_DIR) / "tests" / "golden" / "notify";
  const bool bless = std::getenv("SHIPGATE_BLESS") != nullptr;
  REQUIRE(notify::shipped_templates().size() >= 38);
  for (const auto& shipped : notify::shipped_templates()) {
    const std::string& name = shipped.first;
    const std::string& text = shipped.second;
    CAPTURE(name);
    auto rendered = notify::render_text(text, kind_of(name), sample(), name);
    REQUIRE_MESSAGE(rendered.ok(), (rendered.ok() ? "" : rendered.error().message));
    const fs::path file = golden / (name.substr(0, name.size() - std::string(".mustache").size()) + ".out");
    if (bless) {
      fs::create_directories(file.parent_path());
      std::ofstream(file, std::ios::binary) << *rendered;
      continue;
    }
    REQUIRE_MESSAGE(fs::exists(file), "no golden file " << file.string() << "; run with SHIPGATE_BLESS=1");
    CHECK(*rendered == read(file));
  }
}

TEST_CASE("templates: both languages cover every event, with a subject each") {
  const std::vector<std::string> events = {"plan-submitted", "plan-approved", "test-report", "staging-ready",
                                           "deploy-meeting", "handoff-to-ops", "db-done", "deploy-started",
                                           "deploy-succeeded", "deploy-failed", "rolled-back", "rollback-failed",
                                           "smoke-passed", "smoke-failed", "released"};
  CHECK(notify::shipped_languages() == std::vector<std::string>{"en", "zh"});
  for (const std::string language : {"en", "zh"}) {
    notify::Templates templates{language, std::nullopt};
    for (const auto& event : events)
      for (auto kind : {TemplateKind::subject, TemplateKind::text, TemplateKind::html, TemplateKind::markdown}) {
        CAPTURE(language);
        CAPTURE(event);
        auto found = templates.find(event, kind);
        REQUIRE(found.ok());
        if (kind == TemplateKind::subject)
          CHECK(found->second == "shipped:" + language + "/" + event + ".subject.mustache");
      }
  }
}

TEST_CASE("templates: escaping in HTML only, subjects on one line, values from the user's folder first") {
  const nlohmann::json data = {{"headline", "a < b & c"}, {"app", "shop\r\nBcc: x@example.com"}};
  CHECK(*notify::render_text("{{headline}}", TemplateKind::html, data, "t") == "a &lt; b &amp; c");
  CHECK(*notify::render_text("{{headline}}", TemplateKind::text, data, "t") == "a < b & c");
  CHECK(*notify::render_text("[{{app}}] x", TemplateKind::subject, data, "t") == "[shop  Bcc: x@example.com] x");
  auto broken = notify::render_text("{{#open}} never closed", TemplateKind::text, data, "mine.txt.mustache");
  REQUIRE_FALSE(broken.ok());
  CHECK(broken.error().message.find("mine.txt.mustache") != std::string::npos);

  test_support::TempDir dir;
  fs::create_directories(dir.path() / "zh");
  std::ofstream(dir.path() / "zh" / "deploy-failed.subject.mustache") << "紧急：{{app}}";
  std::ofstream(dir.path() / "default.md.mustache") << "ours: {{app}}";
  notify::Templates templates{"zh", dir.path()};
  CHECK(*templates.render("deploy-failed", TemplateKind::subject, {{"app", "shop"}}) == "紧急：shop");
  CHECK(*templates.render("deploy-succeeded", TemplateKind::markdown, {{"app", "shop"}}) == "ours: shop");
  // Not overridden: the shipped one.
  CHECK(templates.find("deploy-succeeded", TemplateKind::subject)->second ==
        "shipped:zh/deploy-succeeded.subject.mustache");
  CHECK_FALSE(notify::Templates{"fr", std::nullopt}.find("released", TemplateKind::text).ok());
}

TEST_CASE("templates: sections that are not shown leave at most one blank line") {
  const std::string text = "A\n{{#comment}}\n\nC: {{comment}}\n{{/comment}}\n{{#has_attachments}}\n\nAttached\n"
                           "{{/has_attachments}}\n{{#ci.user}}\nU\n{{/ci.user}}\n\nEND\n";
  for (const auto kind : {TemplateKind::text, TemplateKind::markdown}) {
    CHECK(*notify::render_text(text, kind, {{"x", 1}}, "t") == "A\n\nEND\n");
    CHECK(*notify::render_text(text, kind, {{"comment", "ok"}}, "t") == "A\n\nC: ok\n\nEND\n");
  }
  // Line breaks as CR LF are tidied the same way, without a stray CR.
  CHECK(*notify::render_text("A\r\n\r\n\r\n\r\nB", TemplateKind::text, nlohmann::json::object(), "t") == "A\r\n\r\nB");
  // HTML is left as it is: blank lines mean nothing there.
  CHECK(*notify::render_text("A\n\n\n\nB", TemplateKind::html, nlohmann::json::object(), "t") == "A\n\n\n\nB");
}
