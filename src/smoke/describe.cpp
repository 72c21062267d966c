#include "smoke/describe.hpp"

#include <cstdio>

#include "core/text.hpp"

namespace smoke {
namespace {

std::string transport_error(const Attempt& attempt) {
  std::string text(to_string(attempt.transport));
  if (!attempt.error.empty()) text += ": " + shorten(attempt.error, k_max_exchange_body);
  return text;
}

// Arguments are shown the way a reader would type them; the quoting is for
// reading only, nothing is ever passed through a shell.
std::string shown_argument(const std::string& argument) {
  if (!argument.empty() && argument.find_first_of(" \t\n\"'") == std::string::npos) return argument;
  return in_quotes(argument);
}

std::string header_lines(const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string text;
  for (const auto& [name, value] : headers)
    text.append("\n").append(name).append(": ").append(value);
  return text;
}

std::string body_block(std::string_view body) {
  if (body.empty()) return {};
  return "\n\n" + shorten(body, k_max_exchange_body);
}

} // namespace

std::string format_duration(Duration duration) {
  const long long ms = duration.count();
  if (ms < 1000) return std::to_string(ms) + " ms";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
  char text[32];
  std::snprintf(text, sizeof text, "%.1f s", static_cast<double>(ms) / 1000.0);
  return text;
}

std::string shorten(std::string_view text, std::size_t max_bytes) {
  return core::sanitize_utf8(core::truncate(text, max_bytes));
}

std::string in_quotes(std::string_view text) {
  return "\"" + shorten(text) + "\"";
}

std::string describe_status(const std::vector<StatusRange>& ranges) {
  std::string text;
  for (const auto& range : ranges) {
    if (!text.empty()) text += ", ";
    text += std::to_string(range.low);
    if (range.high != range.low) text += "-" + std::to_string(range.high);
  }
  return text;
}

bool status_allowed(const std::vector<StatusRange>& ranges, int status) {
  for (const auto& range : ranges)
    if (status >= range.low && status <= range.high) return true;
  return false;
}

std::string describe_sent(const Check& check) {
  switch (check.kind) {
  case Check::Kind::http:
    return check.http.method + " " + check.http.url + header_lines(check.http.headers) + body_block(check.http.body);
  case Check::Kind::tcp:
    return "TCP connect " + check.tcp.host + ":" + std::to_string(check.tcp.port);
  case Check::Kind::command: {
    std::string text = "run";
    for (const auto& argument : check.command.argv)
      text += " " + shown_argument(argument);
    return text;
  }
  }
  return {};
}

std::string describe_received(const Check& check, const Attempt& attempt) {
  const std::string took = " (" + format_duration(attempt.elapsed) + ")";
  if (attempt.transport != Transport::ok) return transport_error(attempt) + took;
  switch (check.kind) {
  case Check::Kind::http:
    return "HTTP " + std::to_string(attempt.status) + took + header_lines(attempt.headers) + body_block(attempt.body);
  case Check::Kind::tcp:
    return "connected" + took;
  case Check::Kind::command:
    return "exit " + std::to_string(attempt.exit_code) + took + body_block(attempt.output);
  }
  return {};
}

Attempt unanswered(std::string why) {
  Attempt attempt;
  attempt.transport = Transport::error;
  attempt.error = std::move(why);
  return attempt;
}

std::string describe_failure(const Attempt& attempt, const std::vector<AssertionResult>& assertions) {
  if (attempt.transport != Transport::ok) return transport_error(attempt);
  for (const auto& assertion : assertions)
    if (!assertion.passed) return assertion.what + ": got " + assertion.actual;
  return {};
}

} // namespace smoke
