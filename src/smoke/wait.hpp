#pragma once
// The readiness phase of a smoke run: poll a probe until the service has
// answered as expected `successes` times in a row, or the deadline passed.
//
// A poll is one execute() of the probe; it succeeds when an answer came back
// and every expectation of the probe passed. After a failed poll the wait is
// the current interval +/- jitter (or the server's Retry-After when that is
// longer), and the interval grows by `backoff` up to `max_interval`. A
// successful poll that is not yet enough in a row waits the base interval
// and resets the backoff: the service is evidently up. No wait goes past the
// deadline; one last poll is made at the deadline, then the phase gives up
// (a poll in flight is not cut short, so the overrun is at most one probe
// timeout). The probe's own retry policy is not used: this loop is its
// retry.
#include <optional>

#include "smoke/check.hpp"
#include "smoke/executor.hpp"
#include "smoke/runner.hpp"

namespace smoke {

WaitResult wait_until_ready(const WaitSpec& spec, const TlsOptions& tls, Executor& executor, Clock& clock);

// The wait after a failed poll: `interval` scaled by a factor in
// [1 - jitter, 1 + jitter) chosen by `unit` (in [0, 1)), at least the
// server's Retry-After when it sent one.
Duration failed_poll_delay(Duration interval, double jitter, double unit, std::optional<Duration> retry_after);

} // namespace smoke
