#include "smoke/wait.hpp"

#include "core/interrupt.hpp"

#include <algorithm>
#include <cmath>

#include "smoke/describe.hpp"

namespace smoke {
namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

struct Poll {
  bool succeeded = false;
  Attempt attempt;
  std::string failure; // empty when succeeded
};

Poll poll_once(const Check& probe, const TlsOptions& tls, Executor& executor) {
  Poll poll;
  std::vector<Attempt> attempts = executor.execute({&probe}, 1, tls);
  if (attempts.empty())
    poll.attempt = unanswered("the executor returned no attempt");
  else
    poll.attempt = std::move(attempts.front());
  const auto assertions = evaluate(probe, poll.attempt, std::chrono::system_clock::now());
  poll.succeeded = poll.attempt.transport == Transport::ok &&
                   std::all_of(assertions.begin(), assertions.end(), [](const auto& a) { return a.passed; });
  if (!poll.succeeded) poll.failure = describe_failure(poll.attempt, assertions);
  return poll;
}

Duration grown(Duration interval, const WaitSpec& spec) {
  const double next = static_cast<double>(interval.count()) * std::max(spec.backoff, 1.0);
  const double cap = static_cast<double>(spec.max_interval.count());
  return Duration(std::llround(std::min(next, cap)));
}

// State carried from one poll to the next.
class WaitLoop {
public:
  WaitLoop(const WaitSpec& spec, Clock& clock) : m_spec(spec), m_clock(clock), m_interval(spec.interval) {}

  // The wait before the next poll, after this one; counts the streak.
  Duration after(const Poll& poll, WaitResult& result) {
    if (poll.succeeded) {
      ++m_streak;
      m_interval = m_spec.interval;
      return m_spec.interval;
    }
    m_streak = 0;
    result.last_error = poll.failure;
    const Duration delay =
        failed_poll_delay(m_interval, m_spec.jitter, m_clock.random_unit(), poll.attempt.retry_after);
    m_interval = grown(m_interval, m_spec);
    return delay;
  }
  bool enough() const { return m_streak >= std::max(m_spec.successes, 1); }

private:
  const WaitSpec& m_spec;
  Clock& m_clock;
  Duration m_interval;
  int m_streak = 0;
};

} // namespace

Duration failed_poll_delay(Duration interval, double jitter, double unit, std::optional<Duration> retry_after) {
  const double factor = 1.0 + std::clamp(jitter, 0.0, 1.0) * (2.0 * unit - 1.0);
  Duration delay(std::llround(static_cast<double>(interval.count()) * factor));
  if (retry_after) delay = std::max(delay, *retry_after);
  return std::max(delay, Duration(0));
}

WaitResult wait_until_ready(const WaitSpec& spec, const TlsOptions& tls, Executor& executor, Clock& clock) {
  WaitResult result;
  result.ran = true;
  const SteadyTime start = clock.now();
  const SteadyTime deadline = start + spec.deadline;
  WaitLoop loop(spec, clock);
  for (;;) {
    const Poll poll = poll_once(spec.probe, tls, executor);
    ++result.polls;
    const Duration delay = loop.after(poll, result);
    if (loop.enough()) {
      result.ready = true;
      result.last_error.clear();
      break;
    }
    const SteadyTime now = clock.now();
    if (now >= deadline || core::interrupted()) break;
    clock.sleep_for(std::min(delay, std::chrono::ceil<Duration>(deadline - now)));
  }
  result.waited = std::chrono::duration_cast<Duration>(clock.now() - start);
  return result;
}

} // namespace smoke
