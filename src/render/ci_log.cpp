#include "render/ci_log.hpp"

#include <array>
#include <cctype>

#include "core/text.hpp"
#include "render/terminal.hpp"

namespace render {
namespace {

using Severity = core::Finding::Severity;

constexpr std::size_t k_message_bytes = 4000;

std::string_view command_for(Severity severity) {
  switch (severity) {
  case Severity::error:
    return "error";
  case Severity::warning:
    return "warning";
  case Severity::notice:
    return "notice";
  }
  return "notice";
}

std::string annotation(Severity severity, const core::Finding& finding) {
  std::string properties;
  const auto add = [&](std::string_view key, const std::string& value) {
    properties += (properties.empty() ? " " : ",") + std::string(key) + "=" + github_escape_property(value);
  };
  if (!finding.file.empty()) add("file", core::sanitize_utf8(finding.file));
  if (!finding.file.empty() && finding.line > 0) add("line", std::to_string(finding.line));
  if (!finding.title.empty()) add("title", one_line(core::truncate(finding.title, 500)));
  const std::string& message = finding.message.empty() ? finding.title : finding.message;
  return "::" + std::string(command_for(severity)) + properties +
         "::" + github_escape_data(core::sanitize_utf8(core::truncate(message, k_message_bytes))) + "\n";
}

// Emits `finding` unless its level already has its 10 annotations.
class Annotator {
public:
  void add(const core::Finding& finding) {
    std::size_t& used = m_used[static_cast<std::size_t>(finding.severity)];
    if (used == k_max_annotations_per_level) {
      ++m_dropped;
      return;
    }
    ++used;
    m_text += annotation(finding.severity, finding);
  }
  std::string finish(std::size_t omitted) {
    const std::size_t rest = m_dropped + omitted;
    if (rest == 0) return m_text;
    return m_text + "::notice title=shipgate::" + std::to_string(rest) +
           " more findings are not shown as annotations; see the step summary or the JSON/JUnit report.\n";
  }

private:
  std::array<std::size_t, 3> m_used{};
  std::size_t m_dropped = 0;
  std::string m_text;
};

std::string escape(std::string_view text, bool property) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '%')
      out += "%25";
    else if (c == '\r')
      out += "%0D";
    else if (c == '\n')
      out += "%0A";
    else if (property && c == ':')
      out += "%3A";
    else if (property && c == ',')
      out += "%2C";
    else
      out += c;
  }
  return out;
}

} // namespace

std::string github_escape_data(std::string_view text) {
  return escape(text, false);
}
std::string github_escape_property(std::string_view text) {
  return escape(text, true);
}

std::string github_annotations(const core::StepResult& result) {
  Annotator annotator;
  for (const auto& finding : result.findings)
    annotator.add(finding);
  for (const auto& warning : result.warnings)
    annotator.add(core::Finding{Severity::warning, "shipgate", warning, {}, 0});
  return annotator.finish(result.findings_omitted);
}

std::string gitlab_section_name(std::string_view name) {
  std::string out;
  for (const char c : name) {
    const bool allowed = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
    out += allowed ? c : '_';
  }
  return out.empty() ? "section" : out;
}

std::string gitlab_section_start(std::string_view name, std::string_view header, bool collapsed, std::int64_t unix_ts) {
  return "\x1b[0Ksection_start:" + std::to_string(unix_ts) + ":" + gitlab_section_name(name) +
         (collapsed ? "[collapsed=true]" : "") + "\r\x1b[0K" + one_line(header) + "\n";
}

std::string gitlab_section_end(std::string_view name, std::int64_t unix_ts) {
  return "\x1b[0Ksection_end:" + std::to_string(unix_ts) + ":" + gitlab_section_name(name) + "\r\x1b[0K\n";
}

} // namespace render
