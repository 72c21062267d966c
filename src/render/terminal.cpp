#include "render/terminal.hpp"

#include <algorithm>
#include <cctype>

#include "core/text.hpp"

namespace render {
namespace {

constexpr std::string_view k_reset = "\x1b[0m";
constexpr std::string_view k_bold = "\x1b[1m";
constexpr std::string_view k_red = "\x1b[31m";
constexpr std::string_view k_green = "\x1b[32m";
constexpr std::string_view k_yellow = "\x1b[33m";
constexpr std::string_view k_dim = "\x1b[2m";

std::string paint(std::string_view text, std::string_view colour, bool color) {
  if (!color || text.empty()) return std::string(text);
  return std::string(colour) + std::string(text) + std::string(k_reset);
}

std::string_view verdict_colour(core::Verdict verdict) {
  switch (verdict) {
  case core::Verdict::pass:
    return k_green;
  case core::Verdict::fail:
    return k_red;
  case core::Verdict::inconclusive:
    return k_yellow;
  }
  return k_yellow;
}

std::string upper(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

struct Mark {
  std::string_view symbol;
  std::string_view colour;
};

Mark mark_for(core::CheckStatus status) {
  switch (status) {
  case core::CheckStatus::pass:
    return {"✔", k_green};
  case core::CheckStatus::fail:
    return {"✘", k_red};
  case core::CheckStatus::warn:
    return {"!", k_yellow};
  case core::CheckStatus::skip:
    return {"-", k_dim};
  case core::CheckStatus::inconclusive:
    return {"?", k_yellow};
  }
  return {"?", k_yellow};
}

Mark mark_for(core::Finding::Severity severity) {
  switch (severity) {
  case core::Finding::Severity::error:
    return {"✘", k_red};
  case core::Finding::Severity::warning:
    return {"!", k_yellow};
  case core::Finding::Severity::notice:
    return {"i", k_dim};
  }
  return {"i", k_dim};
}

std::string check_line(const core::Check& check, bool color) {
  const Mark mark = mark_for(check.status);
  std::string line = "  " + paint(mark.symbol, mark.colour, color) + " " + one_line(check.id);
  const std::string explanation = one_line(check.explanation.empty() ? check.title : check.explanation);
  if (!explanation.empty()) line += ": " + explanation;
  return line + "\n";
}

std::string location(const core::Finding& finding) {
  if (finding.file.empty()) return {};
  std::string text = one_line(finding.file);
  if (finding.line > 0) text += ":" + std::to_string(finding.line);
  return text;
}

std::string finding_lines(const core::Finding& finding, bool color) {
  const Mark mark = mark_for(finding.severity);
  std::string text = "  " + paint(mark.symbol, mark.colour, color) + " " + one_line(core::truncate(finding.title, 300));
  const std::string where = location(finding);
  if (!where.empty()) text += " " + paint("(" + where + ")", k_dim, color);
  text += "\n";
  const std::string message = one_line(core::first_line(finding.message, 300));
  if (!message.empty()) text += "      " + message + "\n";
  return text;
}

} // namespace

std::string one_line(std::string_view text) {
  std::string out = core::sanitize_utf8(text);
  std::replace_if(
      out.begin(), out.end(), [](char c) { return c == '\n' || c == '\r' || c == '\t'; }, ' ');
  return out;
}

std::string render_headline(const core::StepResult& result, bool color) {
  const std::string word = upper(core::to_string(result.verdict));
  const std::string headline = one_line(result.headline);
  // Headlines usually start with the verdict ("FAIL: ..."); colour that word
  // instead of printing it twice.
  if (core::starts_with(headline, word))
    return paint(word, verdict_colour(result.verdict), color) + headline.substr(word.size()) + "\n";
  const std::string rest = headline.empty() ? one_line(result.step) : headline;
  return paint(word, verdict_colour(result.verdict), color) + ": " + rest + "\n";
}

std::string render_overview(const core::StepResult& result, bool color) {
  std::string text;
  for (const auto& line : result.summary_lines)
    text += "  " + one_line(line) + "\n";
  if (!result.checks.empty()) text += paint(one_line(result.checks_label), k_bold, color) + ":\n";
  for (const auto& check : result.checks)
    text += check_line(check, color);
  return text;
}

std::string render_findings(const core::StepResult& result, bool color) {
  const std::size_t total = result.findings.size() + result.findings_omitted;
  if (total == 0) return {};
  std::string text = paint("findings", k_bold, color) + " (" + std::to_string(total) + "):\n";
  const std::size_t shown = std::min(result.findings.size(), k_terminal_max_findings);
  for (std::size_t i = 0; i < shown; ++i)
    text += finding_lines(result.findings[i], color);
  if (total > shown) text += "  ... and " + std::to_string(total - shown) + " more\n";
  return text;
}

std::string render_warnings(const core::StepResult& result, bool color) {
  if (result.warnings.empty()) return {};
  std::string text = paint("warnings", k_bold, color) + ":\n";
  for (const auto& warning : result.warnings)
    text += "  " + paint("!", k_yellow, color) + " " + one_line(warning) + "\n";
  return text;
}

std::string render_terminal(const core::StepResult& result, bool color) {
  if (!result.text_view.empty()) {
    // A document (plan show, status, history): printed as it is, made safe
    // for a terminal line by line, then the warnings.
    std::string text;
    std::string_view rest = result.text_view;
    while (!rest.empty()) {
      const auto end = rest.find('\n');
      text += one_line(rest.substr(0, end)) + "\n";
      rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    }
    return text + render_warnings(result, color);
  }
  return render_headline(result, color) + render_overview(result, color) + render_findings(result, color) +
         render_warnings(result, color);
}

} // namespace render
