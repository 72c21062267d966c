#include "smoke/verdict.hpp"

#include <cstdlib>

#include "core/text.hpp"

namespace smoke {
namespace {

using core::CheckStatus;
using nlohmann::json;
using Outcome = CheckResult::Outcome;

std::string describe_target(const Check& check) {
  switch (check.kind) {
  case Check::Kind::http:
    return check.http.method + " " + check.http.url;
  case Check::Kind::tcp:
    return "tcp " + check.tcp.host + ":" + std::to_string(check.tcp.port);
  case Check::Kind::command: {
    std::string text = "command";
    for (const auto& arg : check.command.argv)
      text += " " + arg;
    return text;
  }
  }
  return check.name;
}

std::string failed_assertions(const CheckResult& result) {
  std::string text;
  for (const auto& assertion : result.assertions) {
    if (assertion.passed) continue;
    text +=
        (text.empty() ? "" : "; ") + assertion.what + ": expected " + assertion.expected + ", got " + assertion.actual;
  }
  return text;
}

std::string explanation(const CheckResult& result) {
  const std::string attempts = result.attempts > 1 ? " after " + std::to_string(result.attempts) + " attempts" : "";
  switch (result.outcome) {
  case Outcome::passed:
    return std::to_string(result.assertions.size()) + " expectation(s) met in " +
           std::to_string(result.last.elapsed.count()) + " ms" + attempts;
  case Outcome::failed:
    return failed_assertions(result) + attempts;
  case Outcome::unreachable:
    return std::string(to_string(result.last.transport)) + ": " + result.last.error + attempts;
  }
  return {};
}

std::string transcript(const CheckResult& result) {
  std::string text = ">>> sent\n" + result.sent + "\n<<< received\n" + result.received + "\n--- expectations\n";
  for (const auto& assertion : result.assertions)
    text += std::string(assertion.passed ? "ok   " : "FAIL ") + assertion.what +
            (assertion.passed ? "" : " (expected " + assertion.expected + ", got " + assertion.actual + ")") + "\n";
  return text;
}

core::Check to_check(const CheckResult& result) {
  core::Check check;
  check.id = result.check->name;
  check.title = describe_target(*result.check);
  check.status = result.outcome == Outcome::passed   ? CheckStatus::pass
                 : result.outcome == Outcome::failed ? CheckStatus::fail
                                                     : CheckStatus::inconclusive;
  check.explanation = explanation(result);
  check.transcript = transcript(result);
  check.seconds = static_cast<double>(result.last.elapsed.count()) / 1000.0;
  return check;
}

json result_json(const CheckResult& result) {
  json item = {{"name", result.check->name},
               {"target", describe_target(*result.check)},
               {"outcome", to_string(result.outcome)},
               {"attempts", result.attempts},
               {"elapsed_ms", result.last.elapsed.count()},
               {"transport", to_string(result.last.transport)}};
  if (!result.last.error.empty()) item["error"] = result.last.error;
  if (result.check->kind == Check::Kind::http && result.last.transport == Transport::ok)
    item["status"] = result.last.status;
  json assertions = json::array();
  for (const auto& assertion : result.assertions)
    assertions.push_back({{"what", assertion.what},
                          {"passed", assertion.passed},
                          {"expected", assertion.expected},
                          {"actual", assertion.actual}});
  item["assertions"] = std::move(assertions);
  return item;
}

struct Counts {
  long passed = 0, failed = 0, unreachable = 0;
  std::vector<std::string> failed_names, unreachable_names;
};

Counts count(const SmokeReport& report) {
  Counts counts;
  for (const auto& result : report.results) {
    if (result.outcome == Outcome::passed) ++counts.passed;
    if (result.outcome == Outcome::failed) {
      ++counts.failed;
      counts.failed_names.push_back(result.check->name);
    }
    if (result.outcome == Outcome::unreachable) {
      ++counts.unreachable;
      counts.unreachable_names.push_back(result.check->name);
    }
  }
  return counts;
}

std::string join(const std::vector<std::string>& names) {
  std::string text;
  for (std::size_t i = 0; i < names.size() && i < 5; ++i)
    text += (i ? ", " : "") + names[i];
  if (names.size() > 5) text += " and " + std::to_string(names.size() - 5) + " more";
  return text;
}

void decide(const SmokeReport& report, const Counts& counts, core::StepResult& result) {
  const std::string total = std::to_string(report.results.size());
  if (report.wait.ran && !report.wait.ready) {
    result.verdict = core::Verdict::fail;
    result.exit_code = core::ExitCode::runtime;
    result.headline = "DOWN: the service was not ready after " + std::to_string(report.wait.waited.count() / 1000) +
                      " s (" + std::to_string(report.wait.polls) + " polls): " + report.wait.last_error;
  } else if (counts.unreachable > 0) {
    result.verdict = core::Verdict::fail;
    result.exit_code = core::ExitCode::runtime;
    result.headline = "DOWN: " + std::to_string(counts.unreachable) + " of " + total +
                      " check(s) could not reach the service: " + join(counts.unreachable_names);
  } else if (counts.failed > 0) {
    result.verdict = core::Verdict::fail;
    result.exit_code = core::ExitCode::negative_verdict;
    result.headline =
        "FAIL: " + std::to_string(counts.failed) + " of " + total + " check(s) failed: " + join(counts.failed_names);
  } else {
    result.verdict = core::Verdict::pass;
    result.exit_code = core::ExitCode::success;
    result.headline = "PASS: all " + total + " check(s) passed";
  }
}

// A finding for each check that did not pass, pointing at its place in the
// checks file ("checks.yml:12").
core::Finding to_finding(const CheckResult& item) {
  core::Finding finding;
  finding.severity =
      item.outcome == Outcome::failed ? core::Finding::Severity::error : core::Finding::Severity::warning;
  finding.title = std::string(to_string(item.outcome)) + ": " + item.check->name;
  finding.message = core::first_line(explanation(item), 500);
  // A quick-mode check (--url URL) has no place in a file to point at.
  const std::string& location = item.check->location;
  if (core::starts_with(location, "--url ")) return finding;
  const auto colon = location.rfind(':');
  finding.file = location.substr(0, colon);
  if (colon != std::string::npos) finding.line = std::atoi(location.c_str() + colon + 1);
  return finding;
}

void add_tls_warning(const Suite& suite, core::StepResult& result) {
  if (!suite.tls.insecure) return;
  const std::string text = "TLS certificate verification is OFF (--insecure): HTTPS answers were not authenticated";
  result.warnings.push_back(text);
  result.checks.insert(result.checks.begin(), core::Check{"tls-verification", "TLS certificates verified",
                                                          CheckStatus::warn, text, "off", "on"});
}

} // namespace

core::StepResult judge(const Suite& suite, const SmokeReport& report) {
  core::StepResult result;
  result.step = "smoke-test";
  for (const auto& item : report.results)
    result.checks.push_back(to_check(item));
  add_tls_warning(suite, result);
  const Counts counts = count(report);
  decide(report, counts, result);
  for (const auto& item : report.results)
    if (item.outcome != Outcome::passed) result.findings.push_back(to_finding(item));
  json results = json::array();
  for (const auto& item : report.results)
    results.push_back(result_json(item));
  result.details["results"] = std::move(results);
  result.details["summary"] = {{"checks", report.results.size()},
                               {"passed", counts.passed},
                               {"failed", counts.failed},
                               {"unreachable", counts.unreachable},
                               {"elapsed_ms", report.elapsed.count()}};
  result.details["failed"] = counts.failed_names;
  result.details["unreachable"] = counts.unreachable_names;
  result.details["reason"] = result.exit_code == core::ExitCode::runtime            ? "unreachable"
                             : result.exit_code == core::ExitCode::negative_verdict ? "expectation-failed"
                                                                                    : "passed";
  result.details["tls"] = {{"insecure", suite.tls.insecure}, {"cacert", suite.tls.cacert}};
  if (report.wait.ran)
    result.details["wait"] = {{"ready", report.wait.ready},
                              {"polls", report.wait.polls},
                              {"waited_ms", report.wait.waited.count()},
                              {"last_error", report.wait.last_error}};
  result.summary_lines.push_back("checks " + std::to_string(report.results.size()) + "  passed " +
                                 std::to_string(counts.passed) + "  failed " + std::to_string(counts.failed) +
                                 "  unreachable " + std::to_string(counts.unreachable) + "  in " +
                                 std::to_string(report.elapsed.count()) + " ms");
  result.outputs = {{"verdict", std::string(core::to_string(result.verdict))},
                    {"exit_code", std::to_string(core::to_int(result.exit_code))},
                    {"reason", result.details["reason"].get<std::string>()},
                    {"checks", std::to_string(report.results.size())},
                    {"passed", std::to_string(counts.passed)},
                    {"failed", std::to_string(counts.failed)},
                    {"unreachable", std::to_string(counts.unreachable)}};
  return result;
}

} // namespace smoke
