#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "../support/smoke_fakes.hpp"
#include "smoke/runner.hpp"

using smoke::CheckResult;
using smoke::Duration;
using smoke::Transport;
using test_support::http_answer;
using test_support::http_check;
using test_support::no_answer;
using test_support::with_retry_after;
using Harness = test_support::SmokeHarness;
using namespace std::chrono_literals;
using Outcome = CheckResult::Outcome;
using Names = std::vector<std::string>;
using Sleeps = std::vector<Duration>;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

const auto k_ok = http_answer(200, "{\"status\":\"ok\"}");
const auto k_refused = no_answer(Transport::refused, "connection refused");

} // namespace

TEST_CASE("runner: every check runs once, concurrently, and results keep suite order") {
  Harness h;
  h.add("home").add("api").add("login");
  h.suite.parallel = 4;
  h.suite.tls.cacert = "ca.pem";
  for (const char* name : {"home", "api", "login"})
    h.executor.script(name, {k_ok});
  const auto report = h.run();
  REQUIRE(h.executor.calls.size() == 1);
  CHECK(h.executor.calls[0].names == Names{"home", "api", "login"});
  CHECK(h.executor.calls[0].parallel == 4);
  CHECK(h.executor.calls[0].tls.cacert == "ca.pem");
  REQUIRE(report.results.size() == 3);
  CHECK(report.results[0].check->name == "home");
  CHECK(report.results[1].check->name == "api");
  CHECK(report.results[2].check->name == "login");
  for (const auto& result : report.results) {
    CHECK(result.outcome == Outcome::passed);
    CHECK(result.attempts == 1);
    CHECK(result.assertions.size() == 1);
  }
  CHECK_FALSE(report.wait.ran);
  CHECK(h.clock.sleeps.empty());
}

TEST_CASE("runner: what was sent and what came back") {
  Harness h;
  h.add("create");
  auto& http = h.check("create").http;
  http.method = "POST";
  http.headers = {{"Content-Type", "application/json"}, {"Authorization", "Bearer token"}};
  http.body = "{\"name\":\"x\"}";
  h.executor.script("create", {http_answer(201, "{\"id\":7}", {{"content-type", "application/json"}})});
  const auto result = h.run().results.at(0);
  CHECK(result.sent == "POST http://127.0.0.1:8080/create\nContent-Type: application/json\n"
                       "Authorization: Bearer token\n\n{\"name\":\"x\"}");
  CHECK(result.received == "HTTP 201 (12 ms)\ncontent-type: application/json\n\n{\"id\":7}");
}

TEST_CASE("runner: sent and received bodies are cut to 2 KiB") {
  Harness h;
  h.add("big");
  h.check("big").http.body = std::string(10000, 'q');
  h.executor.script("big", {http_answer(200, std::string(10000, 'r'))});
  const auto result = h.run().results.at(0);
  CHECK(result.sent.size() < 2200);
  CHECK(result.received.size() < 2200);
  CHECK(contains(result.received, "truncated"));
}

TEST_CASE("runner: refused, then ok, passes on the second attempt") {
  Harness h;
  h.add("api");
  h.executor.script("api", {k_refused, k_ok});
  const auto report = h.run();
  const auto& result = report.results.at(0);
  CHECK(result.outcome == Outcome::passed);
  CHECK(result.attempts == 2);
  CHECK(h.clock.sleeps == Sleeps{500ms});
  CHECK(report.elapsed == 500ms);
}

TEST_CASE("runner: an assertion failure is never retried") {
  Harness h;
  h.add("api");
  h.executor.script("api", {http_answer(404), k_ok});
  const auto result = h.run().results.at(0);
  CHECK(result.outcome == Outcome::failed);
  CHECK(result.attempts == 1);
  CHECK(h.clock.sleeps.empty());
  REQUIRE(result.assertions.size() == 1);
  CHECK(result.assertions[0].actual == "404");
}

TEST_CASE("runner: 503, then 200, passes") {
  Harness h;
  h.add("api");
  h.executor.script("api", {http_answer(503), k_ok});
  const auto result = h.run().results.at(0);
  CHECK(result.outcome == Outcome::passed);
  CHECK(result.attempts == 2);
}

TEST_CASE("runner: 503 every time fails after the retries, with a doubling delay") {
  Harness h;
  h.add("api");
  h.check("api").retry = {4, 200ms};
  h.executor.script("api", {http_answer(503)});
  const auto result = h.run().results.at(0);
  CHECK(result.outcome == Outcome::failed);
  CHECK(result.attempts == 4);
  CHECK(h.clock.sleeps == Sleeps{200ms, 400ms, 800ms});
  CHECK(result.assertions.at(0).actual == "503");
}

TEST_CASE("runner: an expected 503 is an answer, not a reason to retry") {
  Harness h;
  h.add("maintenance");
  h.check("maintenance").http.status = {{503, 503}};
  h.executor.script("maintenance", {http_answer(503)});
  const auto result = h.run().results.at(0);
  CHECK(result.outcome == Outcome::passed);
  CHECK(result.attempts == 1);
}

TEST_CASE("runner: 500 is a wrong answer, not a transient one") {
  Harness h;
  h.add("api");
  h.executor.script("api", {http_answer(500), k_ok});
  const auto result = h.run().results.at(0);
  CHECK(result.outcome == Outcome::failed);
  CHECK(result.attempts == 1);
}

TEST_CASE("runner: a timeout every time is unreachable after all attempts") {
  Harness h;
  h.add("api");
  h.executor.script("api", {no_answer(Transport::timeout, "no answer within 10 s")});
  const auto result = h.run().results.at(0);
  CHECK(result.outcome == Outcome::unreachable);
  CHECK(result.attempts == 3);
  CHECK(result.assertions.empty());
  CHECK(result.last.transport == Transport::timeout);
  CHECK(result.received == "timeout: no answer within 10 s (3 ms)");
}

TEST_CASE("runner: a TLS failure is unreachable at once") {
  Harness h;
  h.add("secure");
  h.executor.script("secure", {no_answer(Transport::tls, "certificate has expired"), k_ok});
  const auto result = h.run().results.at(0);
  CHECK(result.outcome == Outcome::unreachable);
  CHECK(result.attempts == 1);
}

TEST_CASE("runner: one attempt means no retry") {
  Harness h;
  h.add("api");
  h.check("api").retry.attempts = 1;
  h.executor.script("api", {k_refused, k_ok});
  CHECK(h.run().results.at(0).outcome == Outcome::unreachable);
  CHECK(h.executor.count("api") == 1);
}

TEST_CASE("runner: only the failing checks are re-executed, batched") {
  Harness h;
  h.add("a").add("b").add("c").add("d");
  h.executor.script("a", {k_ok});
  h.executor.script("b", {k_refused, k_ok});
  h.executor.script("c", {k_refused, http_answer(502), k_ok});
  h.executor.script("d", {http_answer(418)});
  const auto report = h.run();
  CHECK(h.batches() == std::vector<Names>{{"a", "b", "c", "d"}, {"b", "c"}, {"c"}});
  REQUIRE(report.results.size() == 4);
  const std::vector<int> attempts{report.results[0].attempts, report.results[1].attempts, report.results[2].attempts,
                                  report.results[3].attempts};
  CHECK(attempts == std::vector<int>{1, 2, 3, 1});
  CHECK(report.results[0].check->name == "a");
  CHECK(report.results[2].outcome == Outcome::passed);
  CHECK(report.results[3].outcome == Outcome::failed);
  CHECK(h.clock.sleeps == Sleeps{500ms, 1000ms});
}

TEST_CASE("runner: a retry round waits for the slowest check in it") {
  Harness h;
  h.add("quick").add("patient");
  h.check("quick").retry.delay = 100ms;
  h.check("patient").retry.delay = 700ms;
  h.executor.script("quick", {k_refused, k_ok});
  h.executor.script("patient", {k_refused, k_ok});
  h.run();
  CHECK(h.clock.sleeps == Sleeps{700ms});
}

TEST_CASE("runner: a retry honours Retry-After") {
  Harness h;
  h.add("api");
  h.executor.script("api", {with_retry_after(http_answer(503), 3s), k_ok});
  CHECK(h.run().results.at(0).outcome == Outcome::passed);
  CHECK(h.clock.sleeps == Sleeps{3s});
}

TEST_CASE("runner: a Retry-After shorter than the delay does not shorten it") {
  Harness h;
  h.add("api");
  h.executor.script("api", {with_retry_after(http_answer(503), 100ms), k_ok});
  h.run();
  CHECK(h.clock.sleeps == Sleeps{500ms});
}

TEST_CASE("runner: a very long Retry-After is capped") {
  Harness h;
  h.add("api");
  h.executor.script("api", {with_retry_after(http_answer(503), 600s), k_ok});
  h.run();
  CHECK(h.clock.sleeps == Sleeps{60s});
}

TEST_CASE("runner: the elapsed time covers the wait phase and the retries") {
  Harness h;
  h.add("api");
  h.wait();
  h.executor.call_cost = 100ms;
  h.executor.script("probe", {k_refused, k_ok});
  h.executor.script("api", {k_refused, k_ok});
  const auto report = h.run();
  CHECK(report.wait.ready);
  CHECK(report.elapsed == 100ms + 1s + 100ms + 100ms + 500ms + 100ms);
}

TEST_CASE("runner: an empty suite runs nothing") {
  Harness h;
  const auto report = h.run();
  CHECK(report.results.empty());
  CHECK(h.executor.calls.empty());
}

TEST_CASE("outcome names") {
  CHECK(smoke::to_string(Outcome::passed) == "passed");
  CHECK(smoke::to_string(Outcome::failed) == "failed");
  CHECK(smoke::to_string(Outcome::unreachable) == "unreachable");
}
