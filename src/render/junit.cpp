#include "render/junit.hpp"

#include <cstdio>

#include "core/text.hpp"
#include "core/time.hpp"
#include "render/xml_writer.hpp"

namespace render {
namespace {

using core::CheckStatus;

struct Counts {
  std::size_t failures = 0, errors = 0, skipped = 0;
};

Counts count(const std::vector<core::Check>& checks) {
  Counts counts;
  for (const auto& check : checks) {
    if (check.status == CheckStatus::fail) ++counts.failures;
    if (check.status == CheckStatus::inconclusive) ++counts.errors;
    if (check.status == CheckStatus::skip) ++counts.skipped;
  }
  return counts;
}

std::chrono::milliseconds duration(const core::StepResult& result) {
  if (result.finished_at <= result.started_at) return std::chrono::milliseconds{0};
  return std::chrono::duration_cast<std::chrono::milliseconds>(result.finished_at - result.started_at);
}

std::string attr(std::string_view name, std::string_view value) {
  return " " + std::string(name) + "=\"" + xml_attr(value) + "\"";
}

// The element body: the explanation plus the measured value and the limit.
std::string body(const core::Check& check) {
  std::string text = check.explanation;
  if (!check.actual.empty()) text += "\nactual: " + check.actual;
  if (!check.limit.empty()) text += "\nlimit: " + check.limit;
  return xml_text(text);
}

std::string outcome(const core::Check& check) {
  const std::string message = attr("message", core::first_line(check.explanation, 500));
  switch (check.status) {
  case CheckStatus::fail:
    return "      <failure" + message + attr("type", "rule") + ">" + body(check) + "</failure>\n";
  case CheckStatus::inconclusive:
    return "      <error" + message + attr("type", "inconclusive") + ">" + body(check) + "</error>\n";
  case CheckStatus::skip:
    return "      <skipped" + message + "/>\n";
  case CheckStatus::warn:
    return {}; // the warning goes to <system-out>, see testcase()
  case CheckStatus::pass:
    return {};
  }
  return {};
}

// Warnings and the check's transcript (what was sent, what came back).
std::string system_out(const core::Check& check) {
  std::string text;
  if (check.status == CheckStatus::warn) text = "WARNING: " + check.explanation;
  if (!check.transcript.empty()) text += (text.empty() ? "" : "\n\n") + check.transcript;
  return text.empty() ? std::string() : "      <system-out>" + xml_text(text) + "</system-out>\n";
}

std::string testcase(const core::Check& check, const std::string& classname) {
  const std::string name = check.title.empty() ? check.id : check.id + ": " + check.title;
  std::string open = "    <testcase" + attr("classname", classname) + attr("name", name);
  if (check.seconds >= 0) {
    char time[32];
    std::snprintf(time, sizeof time, "%.3f", check.seconds);
    open += attr("time", time);
  }
  const std::string inner = outcome(check) + system_out(check);
  if (inner.empty()) return open + "/>\n";
  return open + ">\n" + inner + "    </testcase>\n";
}

std::string testsuite_open(const core::StepResult& result, const std::string& name, const std::string& time) {
  const Counts counts = count(result.checks);
  std::string text = "  <testsuite" + attr("name", name) + attr("tests", std::to_string(result.checks.size())) +
                     attr("failures", std::to_string(counts.failures)) + attr("errors", std::to_string(counts.errors)) +
                     attr("skipped", std::to_string(counts.skipped)) + attr("time", time);
  if (result.started_at.time_since_epoch().count() != 0)
    text += attr("timestamp", core::format_rfc3339(result.started_at));
  return text + ">\n";
}

// The headline and summary lines, for viewers that show suite output.
std::string suite_output(const core::StepResult& result) {
  std::string text = result.headline;
  for (const auto& line : result.summary_lines)
    text += "\n" + line;
  if (text.empty()) return {};
  return "    <system-out>" + xml_text(text) + "</system-out>\n";
}

} // namespace

std::string junit_seconds(std::chrono::milliseconds duration) {
  const long long ms = duration.count() < 0 ? 0 : duration.count();
  char text[32];
  std::snprintf(text, sizeof text, "%lld.%03lld", ms / 1000, ms % 1000);
  return text;
}

std::string render_junit(const core::StepResult& result) {
  const std::string name = "shipgate." + result.step;
  const std::string time = junit_seconds(duration(result));
  const Counts counts = count(result.checks);
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  xml += "<testsuites" + attr("name", "shipgate") + attr("tests", std::to_string(result.checks.size())) +
         attr("failures", std::to_string(counts.failures)) + attr("errors", std::to_string(counts.errors)) +
         attr("time", time) + ">\n";
  xml += testsuite_open(result, name, time);
  for (const auto& check : result.checks)
    xml += testcase(check, name);
  xml += suite_output(result);
  xml += "  </testsuite>\n</testsuites>\n";
  return xml;
}

} // namespace render
