#include "render/markdown.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

#include "core/text.hpp"

namespace render {
namespace {

constexpr std::size_t k_cell_bytes = 300;   // one table cell, before escaping
constexpr std::size_t k_note_reserve = 400; // room kept for the truncation note
constexpr std::size_t k_min_max_bytes = 1024;

// A line starting with "-", "+", "=" or "12." would become a list or heading.
std::string escape_line_start(std::string text) {
  if (text.empty()) return text;
  if (text[0] == '-' || text[0] == '+' || text[0] == '=') return "\\" + text;
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits])))
    ++digits;
  if (digits > 0 && digits < text.size() && (text[digits] == '.' || text[digits] == ')')) text.insert(digits, "\\");
  return text;
}

std::string cell(std::string_view text) {
  return markdown_escape(core::truncate(text, k_cell_bytes));
}

std::string_view verdict_emoji(core::Verdict verdict) {
  switch (verdict) {
  case core::Verdict::pass:
    return "✅";
  case core::Verdict::fail:
    return "❌";
  case core::Verdict::inconclusive:
    return "⚠️";
  }
  return "⚠️";
}

std::string_view status_emoji(core::CheckStatus status) {
  switch (status) {
  case core::CheckStatus::pass:
    return "✅";
  case core::CheckStatus::fail:
    return "❌";
  case core::CheckStatus::warn:
    return "⚠️";
  case core::CheckStatus::skip:
    return "⏭️";
  case core::CheckStatus::inconclusive:
    return "❓";
  }
  return "❓";
}

std::string_view severity_name(core::Finding::Severity severity) {
  switch (severity) {
  case core::Finding::Severity::error:
    return "error";
  case core::Finding::Severity::warning:
    return "warning";
  case core::Finding::Severity::notice:
    return "notice";
  }
  return "notice";
}

std::string heading(const core::StepResult& result) {
  std::string verdict(core::to_string(result.verdict));
  for (auto& c : verdict)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const std::string title = result.headline.empty() ? verdict : result.headline;
  return "## " + std::string(verdict_emoji(result.verdict)) + " " + markdown_escape(title) + "\n\n" +
         "Step: " + markdown_escape(result.step) + "\n\n";
}

std::string summary(const core::StepResult& result) {
  std::string text;
  for (const auto& line : result.summary_lines)
    text += "- " + escape_line_start(markdown_escape(line)) + "\n";
  return text.empty() ? text : text + "\n";
}

std::string checks_table(const core::StepResult& result) {
  if (result.checks.empty()) return {};
  std::string label = result.checks_label.empty() ? "checks" : result.checks_label;
  label[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(label[0])));
  std::string text = "### " + markdown_escape(label) + "\n\n";
  text += "| | Id | Title | Status | Explanation | Actual | Limit |\n|:-:|---|---|---|---|---|---|\n";
  for (const auto& check : result.checks)
    text += "| " + std::string(status_emoji(check.status)) + " | " + cell(check.id) + " | " + cell(check.title) +
            " | " + std::string(core::to_string(check.status)) + " | " + cell(check.explanation) + " | " +
            cell(check.actual) + " | " + cell(check.limit) + " |\n";
  return text + "\n";
}

std::string finding_row(const core::Finding& finding) {
  std::string where = finding.file;
  if (!where.empty() && finding.line > 0) where += ":" + std::to_string(finding.line);
  return "| " + std::string(severity_name(finding.severity)) + " | " + cell(finding.title) + " | " + cell(where) +
         " | " + cell(core::first_line(finding.message, k_cell_bytes)) + " |\n";
}

std::string findings_table(const core::StepResult& result, std::size_t budget) {
  const std::size_t total = result.findings.size() + result.findings_omitted;
  if (total == 0) return {};
  std::string text =
      "### Findings (" + std::to_string(total) + ")\n\n| Severity | Title | Location | Message |\n|---|---|---|---|\n";
  std::size_t shown = 0;
  for (const auto& finding : result.findings) {
    std::string row = finding_row(finding);
    if (text.size() + row.size() > budget) break;
    text += row;
    ++shown;
  }
  if (shown < total)
    text += "\n*" + std::to_string(total - shown) + " more findings not shown here; see the JSON or JUnit report.*\n";
  return text + "\n";
}

std::string warnings_list(const core::StepResult& result) {
  if (result.warnings.empty()) return {};
  std::string text = "### Warnings\n\n";
  for (const auto& warning : result.warnings)
    text += "- " + escape_line_start(cell(warning)) + "\n";
  return text + "\n";
}

bool is_safe_url(std::string_view url) {
  if (!core::starts_with(url, "https://") && !core::starts_with(url, "http://")) return false;
  for (const char c : url)
    if (static_cast<unsigned char>(c) <= 0x20 || std::string_view("<>()[]\"'`|\\").find(c) != std::string_view::npos)
      return false;
  return true;
}

std::string link(std::string_view label, const std::string& url) {
  if (url.empty()) return {};
  if (!is_safe_url(url)) return std::string(label) + ": " + cell(url);
  return "[" + std::string(label) + "](" + url + ")";
}

std::string footer(const ci::CiContext& context) {
  std::vector<std::string> parts;
  if (!context.commit.empty()) parts.push_back("commit " + cell(context.commit.substr(0, 12)));
  if (!context.branch.empty()) parts.push_back("branch " + cell(context.branch));
  if (!context.environment.empty()) parts.push_back("environment " + cell(context.environment));
  for (std::string part : {link("pipeline", context.pipeline_url), link("job", context.job_url)})
    if (!part.empty()) parts.push_back(std::move(part));
  if (parts.empty()) return {};
  std::string text = "<sub>";
  for (std::size_t i = 0; i < parts.size(); ++i)
    text += (i ? " · " : "") + parts[i];
  return text + "</sub>\n";
}

// Last resort when even the fixed parts are too long: cut at a line end.
std::string cut(std::string text, std::size_t max_bytes) {
  const std::string note = "\n*Summary truncated; see the JSON report.*\n";
  if (text.size() <= max_bytes) return text;
  const std::size_t limit = max_bytes > note.size() ? max_bytes - note.size() : 0;
  const std::size_t end = text.rfind('\n', limit);
  text.resize(end == std::string::npos ? 0 : end + 1);
  return text + note;
}

} // namespace

std::string markdown_escape(std::string_view text) { return core::markdown_escape(text); }

std::string render_markdown(const core::StepResult& result, const ci::CiContext& context, std::size_t max_bytes) {
  max_bytes = std::max(max_bytes, k_min_max_bytes);
  if (!result.markdown_view.empty()) return cut(result.markdown_view + warnings_list(result) + footer(context), max_bytes);
  const std::string head = heading(result) + summary(result) + checks_table(result);
  const std::string tail = warnings_list(result) + footer(context);
  const std::size_t fixed = head.size() + tail.size() + k_note_reserve;
  const std::size_t budget = max_bytes > fixed ? max_bytes - fixed : 0;
  return cut(head + findings_table(result, budget) + tail, max_bytes);
}

} // namespace render
