// smoke::evaluate: one AssertionResult per expectation of a check, judged
// against one attempt. A failed expectation is data, never an error.
#include <string>
#include <vector>

#include "core/text.hpp"
#include "smoke/describe.hpp"
#include "smoke/json_expectation.hpp"
#include "smoke/regex_search.hpp"
#include "smoke/runner.hpp"

namespace smoke {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

// Judging expectations needs an answer; without one there is a single
// failed assertion carrying the transport error, so callers that only look
// at assertions (the wait phase) still see why.
AssertionResult no_answer(const Check& check, const Attempt& attempt) {
  static const char* const k_what[] = {"response", "connected", "command ran"};
  return {k_what[static_cast<int>(check.kind)], false, "an answer", describe_failure(attempt, {})};
}

AssertionResult status_assertion(const HttpCheck& http, const Attempt& attempt) {
  const std::string allowed = describe_status(http.status);
  return {"status in " + allowed, status_allowed(http.status, attempt.status), allowed, std::to_string(attempt.status)};
}

std::vector<std::string> header_values(const Headers& headers, const std::string& name) {
  const std::string wanted = core::to_lower(name);
  std::vector<std::string> values;
  for (const auto& [header, value] : headers)
    if (core::to_lower(header) == wanted) values.push_back(value);
  return values;
}

std::string header_operand(const HeaderExpectation& expectation) {
  switch (expectation.op) {
  case HeaderExpectation::Op::equals:
    return "== " + in_quotes(expectation.value);
  case HeaderExpectation::Op::contains:
    return "contains " + in_quotes(expectation.value);
  case HeaderExpectation::Op::regex:
    return "matches /" + expectation.value + "/";
  case HeaderExpectation::Op::exists:
    return "exists";
  }
  return {};
}

bool header_value_matches(const HeaderExpectation& expectation, const std::string& value, std::string& error) {
  switch (expectation.op) {
  case HeaderExpectation::Op::equals:
    return value == expectation.value;
  case HeaderExpectation::Op::contains:
    return value.find(expectation.value) != std::string::npos;
  case HeaderExpectation::Op::exists:
    return true;
  case HeaderExpectation::Op::regex: {
    const RegexMatch match = regex_search_bounded(expectation.pattern, expectation.value, value);
    error = match.error;
    return match.matched;
  }
  }
  return false;
}

// Repeated headers (Set-Cookie, Vary) pass when any one value matches.
AssertionResult header_assertion(const HeaderExpectation& expectation, const Headers& headers) {
  const std::string operand = header_operand(expectation);
  const bool exists = expectation.op == HeaderExpectation::Op::exists;
  AssertionResult result{"header " + expectation.name + " " + operand, false, exists ? "present" : operand, "absent"};
  const std::vector<std::string> values = header_values(headers, expectation.name);
  std::string error;
  std::string joined;
  for (const auto& value : values) {
    result.passed = header_value_matches(expectation, value, error) || result.passed;
    joined += (joined.empty() ? "" : ", ") + value;
  }
  if (!error.empty())
    result = {result.what, false, result.expected, error};
  else if (!values.empty())
    result.actual = in_quotes(joined);
  return result;
}

std::string body_size_note(const Attempt& attempt) {
  std::string note = " in " + std::to_string(attempt.body.size()) + " bytes";
  if (attempt.body_truncated) note += " (the body was cut there; the rest was not received)";
  return note;
}

AssertionResult body_search(const BodyExpectation& expectation, const Attempt& attempt) {
  const bool wanted = expectation.op == BodyExpectation::Op::contains;
  const std::string what = wanted ? "contains " : "does not contain ";
  const auto at = attempt.body.find(expectation.value);
  const bool found = at != std::string::npos;
  AssertionResult result{
      "body " + what + in_quotes(expectation.value), found == wanted, what + in_quotes(expectation.value), {}};
  if (found)
    result.actual = "found at byte " + std::to_string(at);
  else
    result.actual =
        "not found" + body_size_note(attempt) + (attempt.body.empty() ? "" : ": " + in_quotes(attempt.body));
  return result;
}

AssertionResult body_regex(const BodyExpectation& expectation, const Attempt& attempt) {
  const std::string what = "matches /" + expectation.value + "/";
  const RegexMatch match = regex_search_bounded(expectation.pattern, expectation.value, attempt.body);
  AssertionResult result{"body " + what, match.matched, what, "matched"};
  if (!match.error.empty())
    result.actual = match.error;
  else if (!match.matched && match.searched < attempt.body.size())
    result.actual = "no match in the first " + std::to_string(match.searched) + " of " +
                    std::to_string(attempt.body.size()) + " bytes (a regex looks no further)";
  else if (!match.matched)
    result.actual = "no match" + body_size_note(attempt);
  return result;
}

AssertionResult time_assertion(Duration limit, const Attempt& attempt) {
  const std::string bound = "<= " + format_duration(limit);
  return {"response time " + bound, attempt.elapsed <= limit, bound, format_duration(attempt.elapsed)};
}

std::string describe_expiry(core::SystemTime expiry, core::SystemTime now) {
  using Days = std::chrono::duration<long long, std::ratio<86400>>;
  const std::string when = core::format_rfc3339(expiry);
  if (expiry < now)
    return "expired " + when + " (" + std::to_string(std::chrono::floor<Days>(now - expiry).count()) + " days ago)";
  return "expires " + when + " (" + std::to_string(std::chrono::floor<Days>(expiry - now).count()) + " days left)";
}

AssertionResult cert_assertion(int days, const HttpCheck& http, const Attempt& attempt, core::SystemTime now) {
  const std::string bound = ">= " + std::to_string(days) + " days left";
  AssertionResult result{"certificate valid for " + bound, false, bound, {}};
  if (attempt.cert_expiry) {
    result.passed = *attempt.cert_expiry - now >= std::chrono::hours(24) * days;
    result.actual = describe_expiry(*attempt.cert_expiry, now);
    return result;
  }
  const std::string& url = attempt.effective_url.empty() ? http.url : attempt.effective_url;
  result.actual = core::starts_with(core::to_lower(url), "https://")
                      ? "no certificate information came back for this https URL"
                      : "not an https URL, so there is no certificate to check";
  return result;
}

std::vector<AssertionResult> evaluate_http(const HttpCheck& http, const Attempt& attempt, core::SystemTime now) {
  std::vector<AssertionResult> results{status_assertion(http, attempt)};
  for (const auto& expectation : http.header_expectations)
    results.push_back(header_assertion(expectation, attempt.headers));
  for (const auto& expectation : http.body_expectations)
    results.push_back(expectation.op == BodyExpectation::Op::regex ? body_regex(expectation, attempt)
                                                                   : body_search(expectation, attempt));
  for (auto& result : evaluate_json(http.json_expectations, attempt))
    results.push_back(std::move(result));
  if (http.max_response_time) results.push_back(time_assertion(*http.max_response_time, attempt));
  if (http.cert_valid_days) results.push_back(cert_assertion(*http.cert_valid_days, http, attempt, now));
  return results;
}

std::vector<AssertionResult> evaluate_command(const CommandCheck& command, const Attempt& attempt) {
  const std::string code = std::to_string(command.exit_code);
  std::vector<AssertionResult> results{
      {"exit code == " + code, attempt.exit_code == command.exit_code, code, std::to_string(attempt.exit_code)}};
  for (const auto& text : command.output_contains) {
    const bool found = attempt.output.find(text) != std::string::npos;
    results.push_back({"output contains " + in_quotes(text), found, "contains " + in_quotes(text),
                       found ? "found" : "not found in " + in_quotes(attempt.output)});
  }
  return results;
}

} // namespace

std::vector<AssertionResult> evaluate(const Check& check, const Attempt& attempt, core::SystemTime now) {
  if (attempt.transport != Transport::ok) return {no_answer(check, attempt)};
  switch (check.kind) {
  case Check::Kind::http:
    return evaluate_http(check.http, attempt, now);
  case Check::Kind::tcp:
    return {{"connected", true, "connect to " + check.tcp.host + ":" + std::to_string(check.tcp.port),
             "connected in " + format_duration(attempt.elapsed)}};
  case Check::Kind::command:
    return evaluate_command(check.command, attempt);
  }
  return {};
}

} // namespace smoke
