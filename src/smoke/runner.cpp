// smoke::Runner: the wait phase, then every check once, then retries of the
// checks whose attempt failed for a transient reason, in batches.
//
// Retry rules: an attempt is retried when the transport failed transiently
// (refused, DNS, timeout) or an HTTP check got 502/503/504 that its expected
// statuses do not allow, and the check has attempts left. Assertion
// failures are never retried. Before each retry round the runner sleeps the
// longest delay wanted by the checks in that round: the check's delay,
// doubled per attempt already made, or the server's Retry-After if longer
// (capped at k_max_retry_after, as nothing else bounds it here).
// Outcome of the last attempt: no answer -> unreachable; an answer -> passed
// or failed by its assertions, so a 503 that outlived its retries is
// "failed" (the service answered, wrongly), not "unreachable".
#include <algorithm>
#include <numeric>

#include "smoke/describe.hpp"
#include "smoke/runner.hpp"

#include "core/interrupt.hpp"
#include "smoke/wait.hpp"

namespace smoke {
namespace {

using Outcome = CheckResult::Outcome;

constexpr Duration k_max_retry_after{60000};
constexpr int k_max_doublings = 16;

bool worth_retrying(const Check& check, const Attempt& attempt) {
  if (is_transient(attempt.transport)) return true;
  if (attempt.transport != Transport::ok || check.kind != Check::Kind::http) return false;
  const int status = attempt.status;
  return (status == 502 || status == 503 || status == 504) && !status_allowed(check.http.status, status);
}

bool has_attempts_left(const CheckResult& result) {
  return result.attempts < std::max(result.check->retry.attempts, 1);
}

Duration retry_delay(const CheckResult& result) {
  const int doublings = std::clamp(result.attempts - 1, 0, k_max_doublings);
  Duration delay = result.check->retry.delay * (1LL << doublings);
  if (result.last.retry_after) delay = std::max(delay, std::min(*result.last.retry_after, k_max_retry_after));
  return delay;
}

// Runs one attempt of each listed check and records it.
void run_batch(std::vector<CheckResult>& results, const std::vector<std::size_t>& batch, const Suite& suite,
               Executor& executor) {
  std::vector<const Check*> checks;
  checks.reserve(batch.size());
  for (const std::size_t index : batch)
    checks.push_back(results[index].check);
  std::vector<Attempt> attempts = executor.execute(checks, std::max(suite.parallel, 1), suite.tls);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    CheckResult& result = results[batch[i]];
    result.last = i < attempts.size() ? std::move(attempts[i]) : unanswered("the executor returned no attempt");
    ++result.attempts;
  }
}

std::vector<std::size_t> retry_round(const std::vector<CheckResult>& results, const std::vector<std::size_t>& batch) {
  std::vector<std::size_t> again;
  for (const std::size_t index : batch)
    if (has_attempts_left(results[index]) && worth_retrying(*results[index].check, results[index].last))
      again.push_back(index);
  return again;
}

void judge(CheckResult& result, core::SystemTime now) {
  result.sent = describe_sent(*result.check);
  result.received = describe_received(*result.check, result.last);
  if (result.last.transport != Transport::ok) {
    result.outcome = Outcome::unreachable;
    return;
  }
  result.assertions = evaluate(*result.check, result.last, now);
  const bool all_passed =
      std::all_of(result.assertions.begin(), result.assertions.end(), [](const auto& a) { return a.passed; });
  result.outcome = all_passed ? Outcome::passed : Outcome::failed;
}

std::vector<CheckResult> run_checks(const Suite& suite, Executor& executor, Clock& clock) {
  std::vector<CheckResult> results(suite.checks.size());
  for (std::size_t i = 0; i < results.size(); ++i)
    results[i].check = &suite.checks[i];
  std::vector<std::size_t> batch(results.size());
  std::iota(batch.begin(), batch.end(), std::size_t{0});
  while (!batch.empty()) {
    run_batch(results, batch, suite, executor);
    if (core::interrupted()) break; // an aborted job: judge what there is
    batch = retry_round(results, batch);
    Duration longest{0};
    for (const std::size_t index : batch)
      longest = std::max(longest, retry_delay(results[index]));
    if (!batch.empty()) clock.sleep_for(longest);
  }
  const core::SystemTime now = std::chrono::system_clock::now();
  for (auto& result : results)
    judge(result, now);
  return results;
}

// The checks are not run when the service never became ready: each is
// reported unreachable, carrying why.
std::vector<CheckResult> not_ready(const Suite& suite, const WaitResult& wait) {
  const std::string why = "not run: the service was not ready after " + format_duration(wait.waited) + " (" +
                          std::to_string(wait.polls) + " polls): " + wait.last_error;
  std::vector<CheckResult> results(suite.checks.size());
  for (std::size_t i = 0; i < results.size(); ++i) {
    CheckResult& result = results[i];
    result.check = &suite.checks[i];
    result.outcome = Outcome::unreachable;
    result.last = unanswered(why);
    result.sent = describe_sent(*result.check);
    result.received = why;
  }
  return results;
}

} // namespace

std::string_view to_string(CheckResult::Outcome outcome) {
  switch (outcome) {
  case Outcome::passed:
    return "passed";
  case Outcome::failed:
    return "failed";
  case Outcome::unreachable:
    return "unreachable";
  }
  return "unreachable";
}

SmokeReport Runner::run(const Suite& suite) {
  const auto start = m_clock.now();
  SmokeReport report;
  if (suite.wait) report.wait = wait_until_ready(*suite.wait, suite.tls, m_executor, m_clock);
  if (report.wait.ran && !report.wait.ready)
    report.results = not_ready(suite, report.wait);
  else
    report.results = run_checks(suite, m_executor, m_clock);
  report.elapsed = std::chrono::duration_cast<Duration>(m_clock.now() - start);
  return report;
}

} // namespace smoke
