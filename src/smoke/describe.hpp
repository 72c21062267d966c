#pragma once
// Short, readable texts about checks and attempts, shared by the evaluator
// (expected/actual of an assertion) and the runner (what was sent, what came
// back). Plain text only: secrets are redacted later by the output layer.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "smoke/check.hpp"
#include "smoke/executor.hpp"
#include "smoke/runner.hpp"

namespace smoke {

constexpr std::size_t k_max_actual = 200;         // bytes of an assertion's actual value
constexpr std::size_t k_max_exchange_body = 2048; // bytes of a body in sent/received

// "250 ms", "1.5 s", "120 s".
std::string format_duration(Duration duration);
// Valid UTF-8 with visible control characters, cut to `max_bytes`.
std::string shorten(std::string_view text, std::size_t max_bytes = k_max_actual);
// `text` in double quotes, shortened.
std::string in_quotes(std::string_view text);
// "200-299, 304".
std::string describe_status(const std::vector<StatusRange>& ranges);
bool status_allowed(const std::vector<StatusRange>& ranges, int status);

// "GET https://host/path\nHeader: value\n\n<body>", "TCP connect host:6379",
// "run /usr/bin/check --fast".
std::string describe_sent(const Check& check);
// "HTTP 200 (123 ms)\nheader: value\n\n<body>", "connected (2 ms)",
// "exit 0 (40 ms)\n\n<output>", or "refused: <error> (1 ms)".
std::string describe_received(const Check& check, const Attempt& attempt);
// An attempt that got no answer, for `why` (Transport::error).
Attempt unanswered(std::string why);
// One line saying why an attempt does not count as a success: the transport
// error, or the first failed assertion ("status in 200-299: got 503").
std::string describe_failure(const Attempt& attempt, const std::vector<AssertionResult>& assertions);

} // namespace smoke
