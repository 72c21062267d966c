#pragma once
// Fakes for the smoke engine's boundaries: a Clock with virtual time and an
// Executor that answers from a script and records every call, so the wait
// and retry logic is tested without a network or real sleeping; and a
// harness wiring both to a smoke::Runner.
#include <doctest/doctest.h>

#include <chrono>
#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "smoke/check.hpp"
#include "smoke/executor.hpp"
#include "smoke/runner.hpp"

namespace test_support {

using namespace std::chrono_literals;

inline smoke::Attempt no_answer(smoke::Transport transport, std::string error) {
  smoke::Attempt attempt;
  attempt.transport = transport;
  attempt.error = std::move(error);
  attempt.elapsed = 3ms;
  return attempt;
}

// Time moves only when slept or advanced. random_unit() returns the queued
// values in order, then 0.5 (no jitter).
class FakeClock final : public smoke::Clock {
public:
  std::chrono::steady_clock::time_point now() const override { return m_origin + elapsed; }
  void sleep_for(smoke::Duration duration) override {
    sleeps.push_back(duration);
    elapsed += duration;
  }
  double random_unit() override {
    if (units.empty()) return 0.5;
    const double unit = units.front();
    units.pop_front();
    return unit;
  }

  smoke::Duration elapsed{0};
  std::vector<smoke::Duration> sleeps;
  std::deque<double> units;

private:
  std::chrono::steady_clock::time_point m_origin{std::chrono::hours(1000)};
};

// Answers each check by name from its script, in order; the last scripted
// attempt repeats once the script is used up. An unscripted check gets a
// Transport::error attempt. Each execute() call is recorded as a batch; with
// a clock, each call also advances time by `call_cost`.
class FakeExecutor final : public smoke::Executor {
public:
  struct Call {
    std::vector<std::string> names;
    int parallel = 0;
    smoke::TlsOptions tls;
  };

  explicit FakeExecutor(FakeClock* clock = nullptr) : m_clock(clock) {}

  void script(const std::string& name, std::vector<smoke::Attempt> attempts) {
    m_scripts[name] = std::deque<smoke::Attempt>(attempts.begin(), attempts.end());
  }

  std::vector<smoke::Attempt> execute(const std::vector<const smoke::Check*>& checks, int parallel,
                                      const smoke::TlsOptions& tls) override {
    Call call{{}, parallel, tls};
    std::vector<smoke::Attempt> attempts;
    for (const smoke::Check* check : checks) {
      call.names.push_back(check->name);
      attempts.push_back(next(check->name));
    }
    calls.push_back(std::move(call));
    if (m_clock) m_clock->elapsed += call_cost;
    return attempts;
  }

  // How many attempts of `name` were made.
  int count(const std::string& name) const {
    int n = 0;
    for (const auto& call : calls)
      for (const auto& called : call.names)
        n += called == name;
    return n;
  }

  std::vector<Call> calls;
  smoke::Duration call_cost{0};

private:
  smoke::Attempt next(const std::string& name) {
    auto found = m_scripts.find(name);
    if (found == m_scripts.end() || found->second.empty())
      return no_answer(smoke::Transport::error, "no script for " + name);
    smoke::Attempt attempt = found->second.front();
    if (found->second.size() > 1) found->second.pop_front();
    return attempt;
  }

  FakeClock* m_clock = nullptr;
  std::map<std::string, std::deque<smoke::Attempt>> m_scripts;
};

inline smoke::Check http_check(const std::string& name, const std::string& url = "http://127.0.0.1:8080/health") {
  smoke::Check check;
  check.name = name;
  check.kind = smoke::Check::Kind::http;
  check.http.url = url;
  return check;
}

inline smoke::Attempt http_answer(int status, std::string body = {},
                                  std::vector<std::pair<std::string, std::string>> headers = {}) {
  smoke::Attempt attempt;
  attempt.status = status;
  attempt.body = std::move(body);
  attempt.headers = std::move(headers);
  attempt.elapsed = 12ms;
  return attempt;
}

inline smoke::Attempt with_retry_after(smoke::Attempt attempt, smoke::Duration retry_after) {
  attempt.retry_after = retry_after;
  return attempt;
}

// A suite, a fake clock and a fake executor wired to a Runner. The wait
// probe, once asked for, is an HTTP check named "probe" without jitter.
struct SmokeHarness {
  using Names = std::vector<std::string>;

  smoke::Suite suite;
  FakeClock clock;
  FakeExecutor executor{&clock};

  SmokeHarness& add(const std::string& name) {
    suite.checks.push_back(http_check(name, "http://127.0.0.1:8080/" + name));
    return *this;
  }
  smoke::Check& check(const std::string& name) {
    for (auto& check : suite.checks)
      if (check.name == name) return check;
    FAIL("no check " << name);
    return suite.checks.front();
  }
  smoke::WaitSpec& wait() {
    if (!suite.wait) {
      suite.wait.emplace();
      suite.wait->probe = http_check("probe", "http://127.0.0.1:8080/ready");
      suite.wait->jitter = 0;
    }
    return *suite.wait;
  }
  smoke::SmokeReport run() {
    smoke::Runner runner(executor, clock);
    return runner.run(suite);
  }
  // The names of each execute() call except the probe's.
  std::vector<Names> batches() const {
    std::vector<Names> batches;
    for (const auto& call : executor.calls)
      if (call.names != Names{"probe"}) batches.push_back(call.names);
    return batches;
  }
};

} // namespace test_support
