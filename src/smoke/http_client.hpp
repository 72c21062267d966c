#pragma once
// The HTTP half of the real executor: a batch of HTTP checks run through one
// libcurl multi handle. Internal to smoke/real_executor.cpp.
#include <vector>

#include "smoke/check.hpp"
#include "smoke/executor.hpp"

namespace smoke {

// Runs one request per check, at most `parallel` (>= 1) in flight, and
// returns the attempts in the order of `checks`. Connections are reused
// between checks of one batch, never across batches. If the process is
// interrupted (core::interrupted()), transfers still running are abandoned
// and reported as Transport::error "interrupted". Never throws.
std::vector<Attempt> perform_http(const std::vector<const Check*>& checks, int parallel, const TlsOptions& tls);

} // namespace smoke
