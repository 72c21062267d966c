#pragma once
// The closed set of exit codes every step uses (docs/exit-codes.md).
#include <string_view>

namespace core {

enum class ExitCode : int {
  success = 0,          // the step did what it was asked and the verdict is positive
  negative_verdict = 1, // gate failed, smoke failed, deploy failed but rolled back cleanly
  usage = 2,            // usage error, invalid/unreadable input, inconclusive gate
  runtime = 3,          // network, process, timeout
  blocked = 4,          // lock held, window closed, approval missing
  rollback_failed = 5,  // a human must act
  interrupted = 130,    // SIGINT/SIGTERM
};

constexpr int to_int(ExitCode code) { return static_cast<int>(code); }
std::string_view to_string(ExitCode code);

} // namespace core
