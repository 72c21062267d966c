#include <doctest/doctest.h>

#include <cstdio>
#include <map>
#include <string>

#include "../support/temp_dir.hpp"
#include "deploy/plan.hpp"
#include "deploy/plan_validate.hpp"
#include "steps/plan_commands.hpp"

using deploy::Plan;
using deploy::ResolvedPlan;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Position of `part` in `text`; fails the test when it is missing.
std::size_t at(const std::string& text, const std::string& part) {
  const std::size_t found = text.find(part);
  CHECK_MESSAGE(found != std::string::npos, (std::string("missing: ") + part));
  return found;
}

const std::string k_plan = R"(version: 1
name: shop
environments:
  - name: dev
  - name: test
  - name: staging
    deadline: 10m
  - name: prod
    paused: true
    pause_reason: "freeze until Monday"
deadline: 15m
keep_releases: 4
services:
  worker:
    target: {roots: [/srv/worker]}
    depends_on: [api]
    stop: [systemctl, stop, worker]
    start: {shell: "./bin/start | tee <b>log</b> &", timeout: 30s}
  api:
    artifact: {source: "dist/api-${VERSION}.tar.gz", max_size: 500MiB}
    target: {roots: ["/srv/${ENV}/api"]}
    depends_on: [db-proxy]
    stop_during_switch: [worker]
    stop: [systemctl, stop, api]
    start: [systemctl, start, api]
    reload: [kill, -HUP, "${PIDFILE}"]
    config_files: [/etc/shop/api.conf]
    backups:
      - name: uploads
        run: [tar, czf, "${BACKUP_DIR}/uploads.tgz", /srv/uploads]
        output: "${BACKUP_DIR}/uploads.tgz"
    health:
      wait: {url: "http://127.0.0.1:8080/ready"}
      checks:
        - url: "http://127.0.0.1:8080/health"
        - tcp: "127.0.0.1:8080"
  db-proxy:
    target: {type: plugin, plugin: example, settings: {token: "hunter2-secret"}}
    restart: [systemctl, restart, db-proxy]
)";

struct Fixture {
  Plan plan;
  ResolvedPlan resolved;
};

void load(Fixture& fixture, const std::string& environment) {
  auto plan = deploy::parse_plan(k_plan, "ops/plan.yml");
  REQUIRE_MESSAGE(plan.ok(), (plan.ok() ? std::string() : plan.error().describe()));
  fixture.plan = std::move(*plan);
  auto resolved =
      deploy::resolve_plan(fixture.plan, environment, {{"PIDFILE", "/run/api.pid"}}, deploy::symbolic_run_values());
  REQUIRE_MESSAGE(resolved.ok(), (resolved.ok() ? std::string() : resolved.error().describe()));
  fixture.resolved = std::move(*resolved);
}

// Records where each option goes, so a test can fill them as the CLI would.
class RecordingSink final : public steps::OptionSink {
public:
  void value(const std::string& flags, std::string& target, const std::string&, bool required) override {
    m_values[flags] = &target;
    if (required) m_required.push_back(flags);
  }
  void values(const std::string& flags, std::vector<std::string>& target, const std::string&, bool) override {
    m_lists[flags] = &target;
  }
  void flag(const std::string&, bool&, const std::string&) override {}
  void set(const std::string& flags, const std::string& value) {
    REQUIRE_MESSAGE(m_values.count(flags) == 1, (std::string("no option ") + flags));
    *m_values[flags] = value;
  }
  std::vector<std::string> m_required;

private:
  std::map<std::string, std::string*> m_values;
  std::map<std::string, std::vector<std::string>*> m_lists;
};

struct StepRun {
  ci::CiContext ci;
  ci::Environment env;
  std::FILE* sink = std::tmpfile();
  io::Output output{io::Redactor(), sink, sink};
  ~StepRun() { std::fclose(sink); }

  core::Result<core::StepResult> run(steps::Step& step, const std::map<std::string, std::string>& options) {
    RecordingSink recorder;
    step.register_options(recorder);
    for (const auto& [flags, value] : options)
      recorder.set(flags, value);
    return step.run(steps::RunContext{ci, env, output, core::SystemTime{}});
  }
};

} // namespace

TEST_CASE("plan show text: header, services, pre-flight, numbered deploy and rollback steps") {
  Fixture fixture;
  load(fixture, "staging");
  const std::string text = deploy::render_plan_text(fixture.resolved);
  CHECK(contains(text, "Launch plan: shop -> staging"));
  CHECK(contains(text, "staging (step 3 of 4, after test)"));
  CHECK(contains(text, "dev -> test -> staging -> prod"));
  CHECK(contains(text, "Deadline:    10m from the start until verified, else roll back"));
  CHECK(contains(text, "Strategy:    all-at-once"));
  CHECK(contains(text, "Keep:        4 releases"));
  CHECK(contains(text, "the version succeeded in test (from the ledger)"));
  CHECK(contains(text, "past the deadline (10m from the start until verified) -> roll back"));
  CHECK(contains(text, "local: /srv/staging/api"));
  CHECK(contains(text, "artifact: dist/api-${VERSION}.tar.gz, sha256 given at deploy, at most 500MiB"));
  CHECK(contains(text, "health: wait, then 2 checks"));
  CHECK(contains(text, "plugin example"));
  CHECK_FALSE(contains(text, "PAUSED"));

  // Deploy: prepare all, then backups, then each service in dependency order.
  const std::size_t deploy = at(text, "\nDeploy:\n");
  const std::size_t rollback = at(text, "\nRollback");
  CHECK(deploy < rollback);
  CHECK(contains(text, "  1. prepare db-proxy: fetch the artifact"));
  CHECK(contains(text, "  2. prepare api:"));
  CHECK(contains(text, "  3. prepare worker:"));
  CHECK(contains(text, "  4. snapshot-config api:"));
  CHECK(contains(
      text,
      "  5. backup api (uploads): tar czf '${BACKUP_DIR}/uploads.tgz' /srv/uploads -> ${BACKUP_DIR}/uploads.tgz"));
  const std::size_t proxy_switch = at(text, "switch db-proxy");
  const std::size_t stop_worker = at(text, "stop worker: systemctl stop worker");
  const std::size_t api_switch = at(text, "switch api");
  CHECK(proxy_switch < stop_worker);
  CHECK(stop_worker < api_switch);
  CHECK(contains(text, "reload api: kill -HUP /run/api.pid"));
  CHECK(contains(text, "start worker: sh -c './bin/start | tee <b>log</b> &'"));
  // Rollback: reverse order, configuration restored, old version verified.
  const std::string back = text.substr(rollback);
  CHECK(at(back, "switch worker") < at(back, "switch api"));
  CHECK(at(back, "switch api") < at(back, "switch db-proxy"));
  CHECK(contains(back, "restore-config api"));
  CHECK(at(back, "verify db-proxy") < at(back, "verify worker"));
}

TEST_CASE("plan show: first environment and a paused one") {
  Fixture first;
  load(first, "dev");
  const std::string dev = deploy::render_plan_text(first.resolved);
  CHECK(contains(dev, "dev (step 1 of 4, the first)"));
  CHECK(contains(dev, "no earlier environment is required"));
  CHECK(contains(dev, "Deadline:    15m"));

  Fixture paused;
  load(paused, "prod");
  const std::string prod = deploy::render_plan_text(paused.resolved);
  CHECK(contains(prod, "PAUSED:      freeze until Monday"));
  CHECK(contains(prod, "it IS paused now: freeze until Monday"));
  CHECK(contains(deploy::render_plan_markdown(paused.resolved), "| PAUSED | freeze until Monday |"));
}

TEST_CASE("plan show markdown: headings, a services table, numbered lists, escaped text") {
  Fixture fixture;
  load(fixture, "staging");
  const std::string markdown = deploy::render_plan_markdown(fixture.resolved);
  CHECK(contains(markdown, "## Launch plan: shop → staging\n"));
  CHECK(contains(markdown, "### Services, in deploy order\n"));
  CHECK(contains(markdown, "| # | service | target | depends on | artifact | health |\n|---|---|---|---|---|---|\n"));
  CHECK(contains(markdown, "### Deploy\n\n1. prepare db-proxy"));
  CHECK(contains(markdown, "### Rollback\n"));
  // User text cannot open HTML or break a table row.
  CHECK_FALSE(contains(markdown, "<b>"));
  CHECK_FALSE(contains(markdown, "./bin/start | tee"));
  CHECK(at(markdown, "### Deploy") < at(markdown, "### Rollback"));
}

TEST_CASE("plan show JSON: the same steps as data, plugin settings' values left out") {
  Fixture fixture;
  load(fixture, "staging");
  const nlohmann::json json = deploy::plan_to_json(fixture.resolved);
  CHECK(json["plan"] == "shop");
  CHECK(json["environment"] == "staging");
  CHECK(json["previous_environment"] == "test");
  CHECK(json["position"] == 3);
  CHECK(json["deadline_ms"] == 600000);
  CHECK(json["keep_releases"] == 4);
  REQUIRE(json["services"].size() == 3);
  CHECK(json["services"][0]["name"] == "db-proxy");
  CHECK(json["services"][0]["target"]["settings_keys"] == nlohmann::json{"token"});
  CHECK_FALSE(contains(json.dump(), "hunter2-secret"));
  CHECK(json["services"][2]["commands"]["start"]["shell"] == "./bin/start | tee <b>log</b> &");
  CHECK(json["services"][2]["commands"]["start"]["timeout_ms"] == 30000);
  CHECK(json["services"][1]["commands"]["start"]["argv"] == nlohmann::json{"systemctl", "start", "api"});
  CHECK(json["services"][1]["health_checks"] == 2);
  CHECK(json["deploy"][0] == nlohmann::json{{"step", 1},
                                            {"kind", "prepare"},
                                            {"service", "db-proxy"},
                                            {"command", nullptr},
                                            {"text", json["deploy"][0]["text"]}});
  CHECK(json["deploy"].size() > json["services"].size());
  CHECK(json["rollback"].back()["kind"] == "verify");
  CHECK(json["previous_environment"] != nullptr);
}

TEST_CASE("plan validate step: a valid plan passes with a summary headline") {
  test_support::TempDir dir;
  const std::string path = dir.write("plan.yml", k_plan);
  StepRun run;
  run.env = ci::Environment(std::map<std::string, std::string>{{"PIDFILE", "/run/api.pid"}});
  auto step = steps::make_plan_validate();
  CHECK(step->name() == "plan validate");
  auto result = run.run(*step, {{"file", path}});
  REQUIRE_MESSAGE(result.ok(), (result.ok() ? std::string() : result.error().describe()));
  CHECK(result->verdict == core::Verdict::pass);
  CHECK(result->headline == "plan OK: 3 services, 4 environments (dev -> test -> staging -> prod)");
  CHECK(result->details["plan"]["deploy_order"] == nlohmann::json{"db-proxy", "api", "worker"});
  CHECK(result->checks.size() == 5);
  bool paused_warning = false, health_warning = false;
  for (const auto& warning : result->warnings) {
    paused_warning = paused_warning || contains(warning, "'prod' is paused");
    health_warning = health_warning || contains(warning, "'worker' has no health");
  }
  CHECK(paused_warning);
  CHECK(health_warning);

  auto same = run.run(*steps::make_plan_validate(), {{"--plan", path}});
  CHECK(same.ok());
}

TEST_CASE("plan validate step: an invalid plan or a missing FILE is an error") {
  test_support::TempDir dir;
  StepRun run;
  auto unknown = run.run(*steps::make_plan_validate(), {{"file", dir.write("plan.yml", k_plan)}}); // no PIDFILE
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().kind == core::ErrorKind::invalid_input);
  CHECK(unknown.error().location == dir.file("plan.yml") + ":26");
  CHECK(contains(unknown.error().message, "in environment 'dev': services.api.reload: unknown variable 'PIDFILE'"));

  auto typo = run.run(*steps::make_plan_validate(), {{"file", dir.write("typo.yml", "version: 1\nnme: shop\n")}});
  REQUIRE_FALSE(typo.ok());
  CHECK(typo.error().location == dir.file("typo.yml") + ":2");
  CHECK(contains(typo.error().message, "did you mean 'name'?"));

  auto none = run.run(*steps::make_plan_validate(), {});
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().kind == core::ErrorKind::usage);
  auto both = run.run(*steps::make_plan_validate(), {{"file", "a.yml"}, {"--plan", "b.yml"}});
  REQUIRE_FALSE(both.ok());
  CHECK(both.error().kind == core::ErrorKind::usage);
}

TEST_CASE("plan show step: the document as text, Markdown and JSON details") {
  test_support::TempDir dir;
  const std::string path = dir.write("plan.yml", k_plan);
  StepRun run;
  run.env = ci::Environment(std::map<std::string, std::string>{{"PIDFILE", "/run/api.pid"}});
  auto step = steps::make_plan_show();
  CHECK(step->name() == "plan show");
  {
    RecordingSink recorder;
    step->register_options(recorder);
    CHECK(recorder.m_required == std::vector<std::string>{"--plan", "--env"});
  }
  auto result = run.run(*step, {{"--plan", path}, {"--env", "test"}, {"--version", "1.4.0"}});
  REQUIRE_MESSAGE(result.ok(), (result.ok() ? std::string() : result.error().describe()));
  CHECK(contains(result->text_view, "Launch plan: shop -> test"));
  CHECK(contains(result->text_view, "dist/api-1.4.0.tar.gz"));
  CHECK(contains(result->text_view, "'${BACKUP_DIR}/uploads.tgz'")); // still a run value
  CHECK(contains(result->markdown_view, "## Launch plan: shop → test"));
  CHECK(result->details["environment"] == "test");

  auto wrong = run.run(*steps::make_plan_show(), {{"--plan", path}, {"--env", "stagin"}});
  REQUIRE_FALSE(wrong.ok());
  CHECK(contains(wrong.error().message, "did you mean 'staging'?"));
}
