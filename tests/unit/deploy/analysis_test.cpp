#include <doctest/doctest.h>

#include <cmath>
#include <deque>
#include <map>
#include <string>

#include "deploy/actions.hpp"
#include "deploy/analysis.hpp"
#include "deploy/plan.hpp"
#include "deploy/plan_analysis.hpp"
#include "deploy/plan_validate.hpp"
#include "deploy/prometheus.hpp"

using deploy::AnalysisOutcome;
using deploy::AnalysisQuerySpec;
using deploy::AnalysisSpec;
using deploy::Decision;
using deploy::MetricAnswer;
using deploy::SampleVerdict;
using Kind = deploy::MetricAnswer::Kind;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

MetricAnswer value(double number) {
  return {Kind::value, number, ""};
}
MetricAnswer no_data() {
  return {Kind::no_data, 0, "no series (empty vector)"};
}
MetricAnswer error() {
  return {Kind::error, 0, "cannot reach Prometheus at http://127.0.0.1:9: Connection refused"};
}

// Answers queued per PromQL text; records every query asked.
class FakeSource : public deploy::MetricSource {
public:
  std::map<std::string, std::deque<MetricAnswer>> answers;
  std::vector<std::string> asked;
  MetricAnswer query(const std::string& promql, std::chrono::system_clock::time_point) override {
    asked.push_back(promql);
    auto& queue = answers[promql];
    if (queue.empty()) return error();
    MetricAnswer next = queue.front();
    if (queue.size() > 1) queue.pop_front(); // the last answer repeats
    return next;
  }
};

AnalysisQuerySpec query(const std::string& name, double below) {
  AnalysisQuerySpec spec;
  spec.name = name;
  spec.query = name + "{version=\"2.0\"}";
  spec.below = below;
  return spec;
}

AnalysisSpec analysis(std::vector<AnalysisQuerySpec> queries, int count = 3, int failure_limit = 0) {
  AnalysisSpec spec;
  spec.prometheus = "http://127.0.0.1:9090";
  spec.interval = std::chrono::seconds(5);
  spec.count = count;
  spec.failure_limit = failure_limit;
  spec.queries = std::move(queries);
  return spec;
}

struct Run {
  FakeSource source;
  std::vector<std::chrono::milliseconds> waits;
  std::string stop_after; // the wait returns this once `waits` reaches stop_at
  std::size_t stop_at = 1000;
  AnalysisOutcome operator()(const AnalysisSpec& spec) {
    deploy::AnalysisClock clock{[] { return std::chrono::system_clock::time_point(std::chrono::seconds(1700000000)); },
                                [this](std::chrono::milliseconds duration) {
                                  waits.push_back(duration);
                                  return waits.size() >= stop_at ? stop_after : std::string();
                                }};
    return deploy::run_analysis(spec, source, clock);
  }
};

std::vector<std::string> verdicts(const deploy::QueryRecord& record) {
  std::vector<std::string> out;
  for (const auto& sample : record.samples)
    out.push_back(std::string(deploy::to_string(sample.verdict)));
  return out;
}

} // namespace

// ---------------------------------------------------------------- Prometheus' answers

TEST_CASE("prometheus: a vector with one series gives its value") {
  const auto answer = deploy::parse_query_answer(
      200,
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000.123,"0.0125"]}]}})");
  CHECK(answer.kind == Kind::value);
  CHECK(answer.value == doctest::Approx(0.0125));
}

TEST_CASE("prometheus: a scalar gives its value; +Inf is a value") {
  auto answer = deploy::parse_query_answer(
      200, R"({"status":"success","data":{"resultType":"scalar","result":[1700000000,"42"]}})");
  CHECK(answer.kind == Kind::value);
  CHECK(answer.value == 42);
  answer = deploy::parse_query_answer(
      200,
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"le":"+Inf"},"value":[1,"+Inf"]}]}})");
  CHECK(answer.kind == Kind::value);
  CHECK(std::isinf(answer.value));
}

TEST_CASE("prometheus: an empty vector and NaN are no data") {
  auto answer = deploy::parse_query_answer(200, R"({"status":"success","data":{"resultType":"vector","result":[]}})");
  CHECK(answer.kind == Kind::no_data);
  answer = deploy::parse_query_answer(
      200,
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"NaN"]}]}})");
  CHECK(answer.kind == Kind::no_data);
  CHECK(contains(answer.message, "NaN"));
}

TEST_CASE("prometheus: several series are a mistake of the query, which must aggregate") {
  const auto answer = deploy::parse_query_answer(200, R"({"status":"success","data":{"resultType":"vector","result":[
        {"metric":{"instance":"a:1"},"value":[1,"1"]},{"metric":{"instance":"b:1"},"value":[1,"2"]}]}})");
  CHECK(answer.kind == Kind::invalid);
  CHECK(contains(answer.message, "2 series"));
  CHECK(contains(answer.message, "instance=a:1"));
  CHECK(contains(answer.message, "sum(...)"));
}

TEST_CASE("prometheus: bad_data is an invalid query with Prometheus' own words; other errors are retried") {
  auto answer = deploy::parse_query_answer(
      400, R"({"status":"error","errorType":"bad_data","error":"1:9: parse error: unexpected right parenthesis ')'"})");
  CHECK(answer.kind == Kind::invalid);
  CHECK(contains(answer.message, "unexpected right parenthesis"));
  answer = deploy::parse_query_answer(503, R"({"status":"error","errorType":"timeout","error":"query timed out"})");
  CHECK(answer.kind == Kind::error);
  CHECK(contains(answer.message, "query timed out"));
}

TEST_CASE("prometheus: an answer that is not JSON, a range vector, a cut answer") {
  auto answer = deploy::parse_query_answer(502, "<html>Bad Gateway</html>");
  CHECK(answer.kind == Kind::error);
  CHECK(contains(answer.message, "HTTP 502"));
  answer = deploy::parse_query_answer(404, "404 page not found");
  CHECK(contains(answer.message, "/api/v1"));
  answer = deploy::parse_query_answer(
      200, R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"]]}]}})");
  CHECK(answer.kind == Kind::invalid);
  CHECK(contains(answer.message, "range vector"));
  answer = deploy::parse_query_answer(200, R"({"status":"success","data":{"resultType":"vector","result":[)", true);
  CHECK(answer.kind == Kind::invalid);
}

TEST_CASE("prometheus: the server's words in a message are cut short and valid UTF-8") {
  // fuzz/regressions/prometheus_answer/invalid-utf8-in-non-json-body
  auto answer = deploy::parse_query_answer(500, "{\"status\":\"error\",\"errorType\":\"exec\xB9\xB9ution\",\"error&:\"x\"}");
  CHECK(answer.kind == Kind::error);
  CHECK(contains(answer.message, "exec\xEF\xBF\xBD\xEF\xBF\xBDution"));
  answer = deploy::parse_query_answer(503, "{\"status\":\"error\",\"errorType\":\"timeout\",\"error\":\"" +
                                               std::string(5000, 'x') + "\"}");
  CHECK(answer.kind == Kind::error);
  CHECK(answer.message.size() < 500);
  CHECK(contains(answer.message, "[truncated"));
  answer = deploy::parse_query_answer(502, std::string("bad\x01gateway"));
  CHECK(contains(answer.message, "bad\\x01gateway"));
}

// ---------------------------------------------------------------- samples

TEST_CASE("analysis: a sample passes below (or above) its threshold, never on it") {
  const AnalysisQuerySpec below = query("errors", 0.01);
  CHECK(deploy::judge_sample(below, value(0.009), std::nullopt).verdict == SampleVerdict::passed);
  CHECK(deploy::judge_sample(below, value(0.01), std::nullopt).verdict == SampleVerdict::failed);
  const auto failed = deploy::judge_sample(below, value(0.5), std::nullopt);
  CHECK(failed.verdict == SampleVerdict::failed);
  CHECK(failed.note == "0.5 is not below 0.01");
  AnalysisQuerySpec above = query("rps", 0);
  above.below.reset();
  above.above = 5;
  CHECK(deploy::judge_sample(above, value(6), std::nullopt).verdict == SampleVerdict::passed);
  CHECK(deploy::judge_sample(above, value(5), std::nullopt).verdict == SampleVerdict::failed);
  CHECK(deploy::judge_sample(below, no_data(), std::nullopt).verdict == SampleVerdict::inconclusive);
  CHECK(deploy::judge_sample(below, error(), std::nullopt).verdict == SampleVerdict::error);
}

TEST_CASE("analysis: a baseline allows at most max_ratio times the previous version's value; none is no data") {
  AnalysisQuerySpec latency = query("p95", 0.3);
  latency.has_baseline = true;
  latency.max_ratio = 1.5;
  const auto passed = deploy::judge_sample(latency, value(0.03), value(0.02));
  CHECK(passed.verdict == SampleVerdict::passed);
  REQUIRE(passed.baseline.has_value());
  CHECK(*passed.baseline == doctest::Approx(0.02));
  const auto failed = deploy::judge_sample(latency, value(0.06), value(0.02));
  CHECK(failed.verdict == SampleVerdict::failed);
  CHECK(contains(failed.note, "more than 1.5 × the baseline 0.02"));
  const auto empty = deploy::judge_sample(latency, value(0.06), no_data());
  CHECK(empty.verdict == SampleVerdict::inconclusive);
  CHECK(contains(empty.note, "baseline"));
  // Above the threshold fails whatever the baseline.
  CHECK(deploy::judge_sample(latency, value(0.4), value(1.0)).verdict == SampleVerdict::failed);
}

// ---------------------------------------------------------------- decisions

TEST_CASE("analysis: every sample within its threshold passes, count samples taken interval apart") {
  Run run;
  run.source.answers["errors{version=\"2.0\"}"] = {value(0.001)};
  run.source.answers["p95{version=\"2.0\"}"] = {value(0.1)};
  const auto outcome = run(analysis({query("errors", 0.01), query("p95", 0.3)}));
  CHECK(outcome.decision == Decision::passed);
  CHECK(outcome.queries.size() == 2);
  CHECK(verdicts(outcome.queries[0]) == std::vector<std::string>{"passed", "passed", "passed"});
  CHECK(run.waits == std::vector<std::chrono::milliseconds>(2, std::chrono::seconds(5)));
  CHECK(run.source.asked.size() == 6);
  CHECK(outcome.reason == "errors 3/3 passed, p95 3/3 passed");
}

TEST_CASE("analysis: one failed sample more than failure_limit fails at once, naming the query and its values") {
  Run run;
  run.source.answers["errors{version=\"2.0\"}"] = {value(0.001), value(0.5)};
  const auto outcome = run(analysis({query("errors", 0.01)}, 5));
  CHECK(outcome.decision == Decision::failed);
  CHECK(outcome.queries[0].samples.size() == 2); // decided early
  CHECK(contains(outcome.reason, "errors failed 1 of 2 samples"));
  CHECK(contains(outcome.reason, "0.5"));
  CHECK(contains(outcome.reason, "below 0.01"));
}

TEST_CASE("analysis: failed samples within failure_limit still pass") {
  Run run;
  run.source.answers["errors{version=\"2.0\"}"] = {value(0.5), value(0.001)};
  CHECK(run(analysis({query("errors", 0.01)}, 4, 1)).decision == Decision::passed);
  Run twice;
  twice.source.answers["errors{version=\"2.0\"}"] = {value(0.5), value(0.5), value(0.001)};
  CHECK(twice(analysis({query("errors", 0.01)}, 4, 1)).decision == Decision::failed);
}

TEST_CASE("analysis: no data is never a pass") {
  Run run;
  run.source.answers["errors{version=\"2.0\"}"] = {no_data()};
  auto outcome = run(analysis({query("errors", 0.01)}));
  CHECK(outcome.decision == Decision::inconclusive);
  CHECK(contains(outcome.reason, "no data in 3 of 3 samples"));
  Run mostly;
  mostly.source.answers["errors{version=\"2.0\"}"] = {value(0.001), no_data()};
  CHECK(mostly(analysis({query("errors", 0.01)})).decision == Decision::inconclusive); // 1 passed, 2 without data
  Run one_silent;
  one_silent.source.answers["errors{version=\"2.0\"}"] = {value(0.001)};
  one_silent.source.answers["p95{version=\"2.0\"}"] = {no_data()};
  outcome = one_silent(analysis({query("errors", 0.01), query("p95", 0.3)}));
  CHECK(outcome.decision == Decision::inconclusive);
  CHECK(contains(outcome.reason, "p95"));
}

TEST_CASE("analysis: 3 errors in a row fail closed; fewer are retried at the next interval") {
  Run down;
  const auto outcome = down(analysis({query("errors", 0.01)}, 5)); // no answers queued: every query errs
  CHECK(outcome.decision == Decision::failed);
  CHECK(outcome.queries[0].samples.size() == 3);
  CHECK(contains(outcome.reason, "no answer 3 times in a row"));
  CHECK(contains(outcome.reason, "127.0.0.1:9"));
  Run flaky;
  flaky.source.answers["errors{version=\"2.0\"}"] = {error(), error(), value(0.001)};
  CHECK(flaky(analysis({query("errors", 0.01)}, 5)).decision == Decision::passed);
}

TEST_CASE("analysis: a query Prometheus rejects fails the analysis at once") {
  Run run;
  run.source.answers["errors{version=\"2.0\"}"] = {{Kind::invalid, 0, "Prometheus rejected the query: parse error"}};
  const auto outcome = run(analysis({query("errors", 0.01)}));
  CHECK(outcome.decision == Decision::failed);
  CHECK(run.waits.empty());
  CHECK(outcome.reason == "errors: Prometheus rejected the query: parse error");
}

TEST_CASE("analysis: a reason to stop ends the analysis without a decision") {
  Run run;
  run.source.answers["errors{version=\"2.0\"}"] = {value(0.001)};
  run.stop_at = 1;
  run.stop_after = "interrupted (SIGINT/SIGTERM)";
  const auto outcome = run(analysis({query("errors", 0.01)}));
  CHECK(outcome.stopped == "interrupted (SIGINT/SIGTERM)");
  CHECK(deploy::analysis_json("app", 1, outcome)["decision"] == "stopped");
}

TEST_CASE("analysis: the baseline query is asked at the same time, unless there is no previous version") {
  AnalysisQuerySpec latency = query("p95", 0.3);
  latency.has_baseline = true;
  latency.max_ratio = 1.5;
  latency.baseline_query = "p95{version=\"1.0\"}";
  Run run;
  run.source.answers[latency.query] = {value(0.03)};
  run.source.answers[latency.baseline_query] = {value(0.01)};
  const auto outcome = run(analysis({latency}, 1));
  CHECK(run.source.asked == std::vector<std::string>{latency.query, latency.baseline_query});
  CHECK(outcome.decision == Decision::failed);
  latency.baseline_query.clear();
  Run first;
  first.source.answers[latency.query] = {value(0.03)};
  CHECK(first(analysis({latency}, 1)).decision == Decision::passed);
  CHECK(first.source.asked.size() == 1);
}

TEST_CASE("analysis: one check per query, with the samples in its transcript, and details.analysis") {
  Run run;
  run.source.answers["errors{version=\"2.0\"}"] = {value(0.001), value(0.5)};
  run.source.answers["p95{version=\"2.0\"}"] = {value(0.1)};
  const AnalysisSpec spec = analysis({query("errors", 0.01), query("p95", 0.3)});
  const auto outcome = run(spec);
  const auto checks = deploy::query_checks("analysis/app/batch1", "app, batch 1/2", spec, outcome, std::nullopt);
  REQUIRE(checks.size() == 2);
  CHECK(checks[0].id == "analysis/app/batch1/errors");
  CHECK(checks[0].status == core::CheckStatus::fail);
  CHECK(contains(checks[0].explanation, "0.5"));
  CHECK(contains(checks[0].transcript, "failed"));
  CHECK(contains(checks[0].transcript, "2023-11-14T22:13:20Z"));
  CHECK(checks[1].status == core::CheckStatus::pass);
  const auto json = deploy::analysis_json("app", 1, outcome);
  CHECK(json["service"] == "app");
  CHECK(json["batch"] == 1);
  CHECK(json["decision"] == "failed");
  CHECK(json["queries"][0]["name"] == "errors");
  CHECK(json["queries"][0]["threshold"] == "below 0.01");
  CHECK(json["queries"][0]["samples"][1]["value"] == 0.5);
  CHECK(json["queries"][0]["samples"][1]["verdict"] == "failed");
  CHECK(json["queries"][0]["samples"][1]["baseline"].is_null());
}

TEST_CASE("analysis: an inconclusive query is not a pass, unless someone resumed the deploy") {
  Run run;
  run.source.answers["errors{version=\"2.0\"}"] = {no_data()};
  const AnalysisSpec spec = analysis({query("errors", 0.01)});
  const auto outcome = run(spec);
  auto checks = deploy::query_checks("analysis/app", "app", spec, outcome, std::nullopt);
  CHECK(checks[0].status == core::CheckStatus::inconclusive);
  checks = deploy::query_checks("analysis/app", "app", spec, outcome, std::string("tess"));
  CHECK(checks[0].status == core::CheckStatus::warn);
  CHECK(contains(checks[0].explanation, "tess"));
}

// ---------------------------------------------------------------- the server's URL

TEST_CASE("analysis: the URL's credentials are secrets and never shown") {
  CHECK(deploy::display_url("http://user:s3cret@127.0.0.1:9090/prom?token=abcd") == "http://127.0.0.1:9090/prom");
  const auto secrets = deploy::url_secrets("http://user:s3cret@127.0.0.1:9090/prom?token=abcd");
  CHECK(std::find(secrets.begin(), secrets.end(), "s3cret") != secrets.end());
  CHECK(std::find(secrets.begin(), secrets.end(), "user:s3cret") != secrets.end());
  CHECK(std::find(secrets.begin(), secrets.end(), "abcd") != secrets.end());
  CHECK(deploy::url_secrets("http://127.0.0.1:9090").empty());
  CHECK(deploy::display_url("https://a:p@ss@host:1") == "https://host:1"); // '@' in the password
}

TEST_CASE("analysis: prometheus_env is read at run time; unset or not http(s), the error never shows it") {
  AnalysisSpec spec = analysis({query("errors", 0.01)});
  spec.prometheus.clear();
  spec.prometheus_env = "PROMETHEUS_URL";
  auto url = deploy::prometheus_url(spec, ci::Environment(std::map<std::string, std::string>{}));
  REQUIRE_FALSE(url.ok());
  CHECK(contains(url.error().message, "PROMETHEUS_URL"));
  url = deploy::prometheus_url(
      spec, ci::Environment(std::map<std::string, std::string>{{"PROMETHEUS_URL", "ftp://u:s3cret@host"}}));
  REQUIRE_FALSE(url.ok());
  CHECK_FALSE(contains(url.error().message, "s3cret"));
  url = deploy::prometheus_url(
      spec, ci::Environment(std::map<std::string, std::string>{{"PROMETHEUS_URL", "http://u:s3cret@host:9090"}}));
  REQUIRE(url.ok());
  CHECK(*url == "http://u:s3cret@host:9090");
}

// ---------------------------------------------------------------- the plan

namespace {

const std::string k_plan_head = R"yaml(version: 1
name: shop
environments: [{name: prod}]
strategy: {type: canary, canary: 1, batch: 50%, pause: until-resume}
)yaml";
const std::string k_services = R"yaml(services:
  app:
    target: {type: local, roots: [/srv/a, /srv/b, /srv/c]}
  worker:
    target: {type: local, roots: [/srv/w]}
    analysis:
      prometheus_env: PROM_URL
      queries: [{name: backlog, query: "max(queue_depth)", below: 100}]
)yaml";

deploy::Plan parse_ok(const std::string& analysis_text) {
  auto plan = deploy::parse_plan(k_plan_head + analysis_text + k_services, "plan.yml");
  REQUIRE_MESSAGE(plan.ok(), (plan.ok() ? std::string() : plan.error().describe()));
  return plan.value();
}

std::string parse_error(const std::string& analysis_text) {
  auto plan = deploy::parse_plan(k_plan_head + analysis_text + k_services, "plan.yml");
  REQUIRE_FALSE(plan.ok());
  CHECK(plan.error().kind == core::ErrorKind::invalid_input);
  return plan.error().location + ": " + plan.error().message;
}

const std::string k_analysis = R"yaml(analysis:
  prometheus: http://127.0.0.1:9090
  interval: 5s
  count: 3
  failure_limit: 1
  inconclusive: pause
  queries:
    - name: error-ratio
      query: 'sum(rate(errors_total{version="${VERSION}"}[1m]))'
      below: 0.01
    - name: p95
      query: 'p95{version="${VERSION}"}'
      above: -1
      baseline: {max_ratio: 1.5}
)yaml";

} // namespace

TEST_CASE("analysis plan: the section is read, and a service without its own takes the plan's") {
  const auto plan = parse_ok(k_analysis);
  REQUIRE(plan.analysis.has_value());
  CHECK(plan.analysis->interval == std::chrono::seconds(5));
  CHECK(plan.analysis->count == 3);
  CHECK(plan.analysis->failure_limit == 1);
  CHECK(plan.analysis->inconclusive_pause);
  REQUIRE(plan.analysis->queries.size() == 2);
  CHECK(plan.analysis->queries[0].below == 0.01);
  CHECK(plan.analysis->queries[1].above == -1);
  CHECK(plan.analysis->queries[1].has_baseline);
  REQUIRE(plan.services[0].analysis.has_value());
  CHECK(plan.services[0].analysis->queries.size() == 2);
  REQUIRE(plan.services[1].analysis.has_value());
  CHECK(plan.services[1].analysis->prometheus_env == "PROM_URL");
  CHECK(plan.services[1].analysis->count == 5); // the defaults, not the plan's
  CHECK(plan.services[1].analysis->interval == std::chrono::minutes(1));
}

TEST_CASE("analysis plan: mistakes are named with their line and the fix") {
  CHECK(contains(
      parse_error(
          "analysis:\n  prometheus: http://p:9090\n  intervall: 5s\n  queries: [{name: a, query: up, below: 1}]\n"),
      "plan.yml:7: unknown key 'analysis.intervall'; did you mean 'interval'?"));
  CHECK(contains(
      parse_error("analysis:\n  prometheus: http://p:9090\n  queries: [{name: a, query: up, below: 1, above: 2}]\n"),
      "analysis.queries.a takes either below or above, not both"));
  CHECK(contains(parse_error("analysis:\n  prometheus: http://p:9090\n  queries: [{name: a, query: up}]\n"),
                 "analysis.queries.a needs a threshold"));
  CHECK(contains(
      parse_error("analysis:\n  prometheus: http://p:9090\n  count: 0\n  queries: [{name: a, query: up, below: 1}]\n"),
      "analysis.count must be a whole number from 1"));
  CHECK(contains(
      parse_error(
          "analysis:\n  prometheus: http://p:9090\n  interval: soon\n  queries: [{name: a, query: up, below: 1}]\n"),
      "analysis.interval must be a duration"));
  CHECK(contains(parse_error("analysis:\n  prometheus: http://p:9090\n  count: 2\n  failure_limit: 2\n  queries: "
                             "[{name: a, query: up, below: 1}]\n"),
                 "could never fail"));
  CHECK(contains(parse_error("analysis:\n  prometheus: http://p:9090\n  inconclusive: wait\n  queries: [{name: a, "
                             "query: up, below: 1}]\n"),
                 "unknown value 'wait'"));
  CHECK(
      contains(parse_error("analysis:\n  prometheus: ftp://u:s3cret@p\n  queries: [{name: a, query: up, below: 1}]\n"),
               "must start with http:// or https://"));
  CHECK_FALSE(
      contains(parse_error("analysis:\n  prometheus: ftp://u:s3cret@p\n  queries: [{name: a, query: up, below: 1}]\n"),
               "s3cret"));
  CHECK(contains(parse_error("analysis:\n  queries: [{name: a, query: up, below: 1}]\n"), "needs prometheus:"));
  CHECK(contains(parse_error("analysis:\n  prometheus: http://p:9090\n  queries: [{name: a, query: up, below: low}]\n"),
                 "analysis.queries.a.below must be a number"));
  CHECK(contains(
      parse_error(
          "analysis:\n  prometheus: http://p:9090\n  queries: [{name: a, query: up, below: 1, baseline: {}}]\n"),
      "needs max_ratio"));
  CHECK(contains(parse_error("analysis:\n  prometheus: http://p:9090\n  queries: []\n"), "one query or more"));
  CHECK(contains(parse_error("analysis:\n  prometheus: http://p:9090\n  queries: [{name: a, query: up, below: 1}, "
                             "{name: a, query: x, below: 1}]\n"),
                 "two queries are named 'a'"));
}

TEST_CASE("analysis plan: ${VERSION} is replaced, and the baseline asks about ${PREVIOUS_VERSION}") {
  const auto plan = parse_ok(k_analysis);
  deploy::Variables run = deploy::placeholder_run_values();
  run["VERSION"] = "2.0";
  run["PREVIOUS_VERSION"] = "1.0";
  auto resolved = deploy::resolve_plan(plan, "prod", {}, run);
  REQUIRE(resolved.ok());
  const auto& queries = resolved->services[0].analysis->queries;
  CHECK(queries[0].query == "sum(rate(errors_total{version=\"2.0\"}[1m]))");
  CHECK(queries[1].query == "p95{version=\"2.0\"}");
  CHECK(queries[1].baseline_query == "p95{version=\"1.0\"}");
  run["PREVIOUS_VERSION"] = "";
  resolved = deploy::resolve_plan(plan, "prod", {}, run);
  REQUIRE(resolved.ok());
  CHECK(resolved->services[0].analysis->queries[1].baseline_query.empty()); // a first deploy: nothing to compare
  const auto unknown = parse_ok(
      "analysis:\n  prometheus: http://p:9090\n  queries: [{name: a, query: 'up{v=\"${VERSON}\"}', below: 1}]\n");
  auto failed = deploy::resolve_plan(unknown, "prod", {}, deploy::placeholder_run_values());
  REQUIRE_FALSE(failed.ok());
  CHECK(contains(failed.error().message, "did you mean 'VERSION'"));
}

TEST_CASE("analysis plan: after the verify of each batch, before the canary pause; never in a rollback") {
  const auto plan = parse_ok(k_analysis);
  auto resolved = deploy::resolve_plan(plan, "prod", {}, deploy::placeholder_run_values());
  REQUIRE(resolved.ok());
  std::vector<std::string> kinds;
  for (const auto& action : deploy::deploy_actions(*resolved))
    if (action.kind != deploy::Action::Kind::prepare)
      kinds.push_back(std::string(deploy::to_string(action.kind)) + " " + action.service +
                      (action.batch >= 0 ? std::to_string(action.batch + 1) : ""));
  CHECK(kinds == std::vector<std::string>{"switch app1", "verify app1", "analysis app1", "pause app", "switch app2",
                                          "verify app2", "analysis app2", "switch worker", "verify worker",
                                          "analysis worker"});
  for (const auto& action : deploy::rollback_actions(*resolved, {"app", "worker"}))
    CHECK(action.kind != deploy::Action::Kind::analysis);
}

TEST_CASE("analysis plan: plan show lists the queries and never the URL's credentials") {
  const auto plan = parse_ok("analysis:\n  prometheus: http://admin:s3cretpw@127.0.0.1:9090\n  queries: [{name: "
                             "errors, query: 'up{v=\"${VERSION}\"}', below: 1}]\n");
  auto resolved = deploy::resolve_plan(plan, "prod", {}, deploy::placeholder_run_values());
  REQUIRE(resolved.ok());
  const std::string text = deploy::render_plan_text(*resolved);
  CHECK(contains(text, "errors below 1: up{v=\"0.0.0\"}"));
  CHECK(contains(text, "from http://127.0.0.1:9090"));
  CHECK(contains(text, "analysis app (batch 1/2: /srv/a)"));
  CHECK_FALSE(contains(text, "s3cretpw"));
  CHECK_FALSE(contains(deploy::render_plan_markdown(*resolved), "s3cretpw"));
  const auto json = deploy::plan_to_json(*resolved);
  CHECK(json["services"][0]["analysis"]["prometheus"] == "http://127.0.0.1:9090");
  CHECK_FALSE(contains(json.dump(), "s3cretpw"));
}

TEST_CASE("analysis: a notification's data joins each query's samples in one line") {
  const auto analyses = nlohmann::json::parse(R"([
    {"service": "web", "batch": 2, "decision": "inconclusive", "reason": "no data",
     "queries": [
       {"name": "p95", "threshold": "below 0.3", "samples": [
          {"value": 0.0213456, "baseline": 0.019, "verdict": "passed"},
          {"value": null, "baseline": null, "verdict": "inconclusive"},
          {"value": 12345678.0, "verdict": "passed"}]},
       {"name": "errors", "threshold": "below 0.01", "samples": []}]},
    "not an object"])");
  const auto data = deploy::notification_analysis(analyses);
  REQUIRE(data.size() == 1);
  CHECK(data[0]["decision"] == "inconclusive");
  CHECK(data[0]["batch"] == 2);
  CHECK(data[0]["queries"][0]["values"] == "0.02135 (baseline 0.019), no data, 1.235e+07");
  CHECK(data[0]["queries"][1]["values"] == "no sample");
  CHECK(data[0]["queries"][0]["samples"].size() == 3); // the samples themselves are kept
  CHECK(deploy::notification_analysis(nlohmann::json::object()).empty());
}
