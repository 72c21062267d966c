#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "../support/smoke_fakes.hpp"
#include "smoke/wait.hpp"

using smoke::CheckResult;
using smoke::Duration;
using smoke::Transport;
using test_support::http_answer;
using test_support::no_answer;
using test_support::with_retry_after;
using namespace std::chrono_literals;
using Harness = test_support::SmokeHarness;
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

TEST_CASE("wait: ready after N consecutive successes, then the checks run once") {
  Harness h;
  h.add("api");
  h.wait().successes = 3;
  h.executor.script("probe", {k_ok});
  h.executor.script("api", {k_ok});
  const auto report = h.run();
  CHECK(report.wait.ran);
  CHECK(report.wait.ready);
  CHECK(report.wait.polls == 3);
  CHECK(report.wait.last_error.empty());
  CHECK(h.clock.sleeps == Sleeps{1s, 1s});
  CHECK(report.wait.waited == 2s);
  CHECK(h.executor.calls.size() == 4);
  CHECK(h.executor.calls[0].parallel == 1);
  CHECK(h.batches() == std::vector<Names>{{"api"}});
  CHECK(report.results.at(0).outcome == Outcome::passed);
  CHECK(report.elapsed == 2s);
}

TEST_CASE("wait: a failure in the middle resets the streak and a success resets the backoff") {
  Harness h;
  h.add("api");
  h.wait().successes = 2;
  h.executor.script("probe", {k_refused, k_refused, k_ok, k_refused, k_ok, k_ok});
  h.executor.script("api", {k_ok});
  const auto report = h.run();
  CHECK(report.wait.ready);
  CHECK(report.wait.polls == 6);
  CHECK(h.clock.sleeps == Sleeps{1s, 2s, 1s, 1s, 1s});
}

TEST_CASE("wait: exponential backoff up to the maximum interval") {
  Harness h;
  h.add("api");
  h.wait().max_interval = 4s;
  h.executor.script("probe", {k_refused, k_refused, k_refused, k_refused, k_refused, k_ok});
  h.executor.script("api", {k_ok});
  const auto report = h.run();
  CHECK(report.wait.ready);
  CHECK(h.clock.sleeps == Sleeps{1s, 2s, 4s, 4s, 4s});
}

TEST_CASE("wait: jitter stays within +/- the fraction of the interval") {
  Harness h;
  h.add("api");
  h.wait().jitter = 0.2;
  h.clock.units = {0.0, 0.999999, 0.5, 0.25};
  h.executor.script("probe", {k_refused, k_refused, k_refused, k_refused, k_ok});
  h.executor.script("api", {k_ok});
  h.run();
  CHECK(h.clock.sleeps == Sleeps{800ms, 2400ms, 4000ms, 7200ms});
}

TEST_CASE("wait: the jittered delay, by itself") {
  CHECK(smoke::failed_poll_delay(1s, 0.2, 0.0, std::nullopt) == 800ms);
  CHECK(smoke::failed_poll_delay(1s, 0.2, 0.5, std::nullopt) == 1000ms);
  for (int step = 0; step < 100; ++step) {
    const Duration delay = smoke::failed_poll_delay(1s, 0.2, step / 100.0, std::nullopt);
    CHECK(delay >= 800ms);
    CHECK(delay <= 1200ms);
  }
  CHECK(smoke::failed_poll_delay(1s, 0.2, 0.0, 5s) == 5s);
  CHECK(smoke::failed_poll_delay(1s, 0.0, 0.9, 200ms) == 1s);
}

TEST_CASE("wait: Retry-After is honoured when longer than the interval") {
  Harness h;
  h.add("api");
  h.wait();
  h.executor.script("probe", {with_retry_after(http_answer(503), 5s), with_retry_after(http_answer(503), 1s), k_ok});
  h.executor.script("api", {k_ok});
  const auto report = h.run();
  CHECK(report.wait.ready);
  CHECK(h.clock.sleeps == Sleeps{5s, 2s});
}

TEST_CASE("wait: the deadline ends the wait; the checks are then unreachable without being run") {
  Harness h;
  h.add("api").add("home");
  h.wait().deadline = 10s;
  h.executor.script("probe", {k_refused});
  const auto report = h.run();
  CHECK(report.wait.ran);
  CHECK_FALSE(report.wait.ready);
  CHECK(report.wait.polls == 5); // at 0, 1, 3, 7 and 10 s
  CHECK(h.clock.sleeps == Sleeps{1s, 2s, 4s, 3s});
  CHECK(report.wait.waited == 10s);
  CHECK(contains(report.wait.last_error, "refused"));
  CHECK(h.batches().empty());
  REQUIRE(report.results.size() == 2);
  for (const auto& result : report.results) {
    CHECK(result.outcome == Outcome::unreachable);
    CHECK(result.attempts == 0);
    CHECK(result.assertions.empty());
    CHECK(contains(result.received, "not ready after 10 s (5 polls)"));
    CHECK(contains(result.last.error, "connection refused"));
  }
  CHECK(report.results[0].check->name == "api");
  CHECK(report.results[1].sent == "GET http://127.0.0.1:8080/home");
}

TEST_CASE("wait: a long Retry-After never sleeps past the deadline") {
  Harness h;
  h.add("api");
  h.wait().deadline = 3s;
  h.executor.script("probe", {with_retry_after(http_answer(503), 60s)});
  const auto report = h.run();
  CHECK_FALSE(report.wait.ready);
  CHECK(h.clock.sleeps == Sleeps{3s});
  CHECK(report.wait.polls == 2);
  CHECK(report.wait.last_error == "status in 200-299: got 503");
}

TEST_CASE("wait: a probe whose expectations fail is not ready") {
  Harness h;
  h.add("api");
  h.wait().deadline = 2s;
  auto& probe = h.wait().probe;
  probe.http.body_expectations.push_back({smoke::BodyExpectation::Op::contains, "ready", std::nullopt});
  h.executor.script("probe", {k_ok});
  const auto report = h.run();
  CHECK_FALSE(report.wait.ready);
  CHECK(contains(report.wait.last_error, "body contains \"ready\": got not found in 15 bytes"));
}

TEST_CASE("wait: the time a poll takes counts toward the deadline") {
  Harness h;
  h.add("api");
  h.wait().deadline = 10s;
  h.executor.call_cost = 2s;
  h.executor.script("probe", {k_refused});
  const auto report = h.run();
  CHECK_FALSE(report.wait.ready);
  // Polls start at 0, 3, 7 and 10 s (2 s each, sleeping 1 s, 2 s, 1 s).
  CHECK(h.clock.sleeps == Sleeps{1s, 2s, 1s});
  CHECK(report.wait.polls == 4);
  CHECK(report.wait.waited == 12s);
}
