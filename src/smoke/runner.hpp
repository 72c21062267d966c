#pragma once
// The smoke engine, as a library: the wait phase, then every check once,
// with retries for transient failures only. deploy-stage and rollback call
// it directly to verify a batch.
#include <string>
#include <vector>

#include "smoke/check.hpp"
#include "smoke/executor.hpp"

namespace smoke {

struct AssertionResult {
  std::string what;     // "status in 200-299", "json /status == \"ok\""
  bool passed = false;
  std::string expected;
  std::string actual;
};

struct CheckResult {
  enum class Outcome { passed, failed, unreachable };
  const Check* check = nullptr;
  Outcome outcome = Outcome::passed;
  std::vector<AssertionResult> assertions; // empty when unreachable
  Attempt last;                            // the attempt that was judged
  int attempts = 0;
  std::string sent;     // request line and headers (secrets redacted later by the output layer)
  std::string received; // status line, headers, start of the body
};
std::string_view to_string(CheckResult::Outcome outcome);

struct WaitResult {
  bool ran = false;
  bool ready = false;
  int polls = 0;
  Duration waited{0};
  std::string last_error; // why the last poll failed
};

struct SmokeReport {
  WaitResult wait;
  std::vector<CheckResult> results; // in suite order
  Duration elapsed{0};
};

// Judges one answer against the check's expectations (HTTP status, headers,
// body, JSON pointers, response time, certificate; TCP; command).
std::vector<AssertionResult> evaluate(const Check& check, const Attempt& attempt, core::SystemTime now);

class Runner {
public:
  Runner(Executor& executor, Clock& clock) : m_executor(executor), m_clock(clock) {}
  SmokeReport run(const Suite& suite);

private:
  Executor& m_executor;
  Clock& m_clock;
};

} // namespace smoke
