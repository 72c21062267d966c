#include "report/tap_reader.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <vector>

#include "core/interrupt.hpp"
#include "core/text.hpp"
#include "report/bounded_text.hpp"

namespace report {
namespace {

constexpr std::size_t k_max_line = 64 * 1024;

struct TestPoint {
  bool ok = false;
  long number = 0;
  std::string description;
  std::string directive; // "skip" or "todo", lower case
  std::string reason;
};

// Parses "ok 3 - description # SKIP reason" (top level, no indentation).
std::optional<TestPoint> parse_test_point(std::string_view line) {
  TestPoint point;
  if (core::starts_with(line, "ok")) {
    point.ok = true;
    line.remove_prefix(2);
  } else if (core::starts_with(line, "not ok")) {
    line.remove_prefix(6);
  } else {
    return std::nullopt;
  }
  if (!line.empty() && line.front() != ' ' && line.front() != '\t') return std::nullopt;
  std::string rest = core::trim(line);
  std::size_t digits = 0;
  while (digits < rest.size() && std::isdigit(static_cast<unsigned char>(rest[digits]))) ++digits;
  if (digits > 0) point.number = std::atol(rest.substr(0, digits).c_str());
  rest = core::trim(std::string_view(rest).substr(digits));
  if (core::starts_with(rest, "- ")) rest = rest.substr(2);
  // A directive starts at an unescaped '#'.
  std::size_t hash = std::string::npos;
  for (std::size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == '\\') ++i;
    else if (rest[i] == '#') { hash = i; break; }
  }
  point.description = core::trim(std::string_view(rest).substr(0, hash));
  if (hash != std::string::npos) {
    const std::string directive = core::trim(std::string_view(rest).substr(hash + 1));
    const std::string lower = core::to_lower(directive);
    for (const char* word : {"skip", "todo"}) {
      if (core::starts_with(lower, word)) {
        point.directive = word;
        std::size_t end = 4;
        while (end < lower.size() && std::isalpha(static_cast<unsigned char>(lower[end]))) ++end; // SKIPPED
        point.reason = core::trim(std::string_view(directive).substr(end));
      }
    }
  }
  return point;
}

// The "message:" (or "error:") field of a YAML diagnostic block, unquoted;
// for a block scalar ("error: |-") its first line.
std::string yaml_message(std::string_view details, std::size_t max_bytes) {
  std::vector<std::string> lines;
  for (std::size_t start = 0; start < details.size();) {
    const std::size_t end = std::min(details.find('\n', start), details.size());
    lines.push_back(core::trim(details.substr(start, end - start)));
    start = end + 1;
  }
  for (const char* key : {"message:", "error:"}) {
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (!core::starts_with(lines[i], key)) continue;
      std::string value = core::trim(std::string_view(lines[i]).substr(std::strlen(key)));
      if (!value.empty() && (value[0] == '|' || value[0] == '>'))
        value = i + 1 < lines.size() ? lines[i + 1] : std::string();
      if (value.size() >= 2 && (value.front() == '\'' || value.front() == '"') && value.back() == value.front())
        value = value.substr(1, value.size() - 2);
      if (!value.empty()) return core::truncate(value, max_bytes);
    }
  }
  return {};
}

class TapParser {
public:
  TapParser(std::string path, ReportSink& sink, const ReadLimits& limits)
      : m_path(std::move(path)), m_suite(std::filesystem::path(m_path).filename().string()), m_sink(sink),
        m_limits(limits),
        m_details(limits.details_head_bytes, limits.details_tail_bytes) {}

  void line(std::string_view text, long number) {
    m_line = number;
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    if (m_in_yaml) return yaml_line(text);
    const bool indented = !text.empty() && (text.front() == ' ' || text.front() == '\t');
    if (indented) return indented_line(text);
    if (core::starts_with(text, "TAP version")) return;
    if (core::starts_with(text, "1..")) return plan_line(text);
    if (core::starts_with(text, "Bail out!")) return bail_out(text);
    if (auto point = parse_test_point(text)) return test_point(*point);
    if (core::starts_with(text, "# Subtest:")) begin_subtest();
  }

  void finish() {
    flush_point();
    m_sink.on_suite(m_suite);
    if (m_bailed) return;
    const std::string where = m_path + ":" + std::to_string(m_line);
    if (!m_plan && m_seen == 0) {
      m_sink.on_suite_error({m_suite, "the TAP stream has no plan and no test points (empty or not TAP)", {}, where});
    } else if (!m_plan) {
      m_sink.on_suite_error({m_suite, "the TAP stream has no plan line (1..N): it may have been cut short", {}, where});
    } else if (m_seen < *m_plan) {
      m_sink.on_suite_error({m_suite,
                             "the TAP stream stops short of its plan: " + std::to_string(m_seen) + " of " +
                                 std::to_string(*m_plan) + " planned tests ran",
                             {}, where});
    } else if (m_seen > *m_plan) {
      m_sink.on_warning({"the TAP stream ran " + std::to_string(m_seen) + " tests but planned " +
                             std::to_string(*m_plan),
                         where});
    }
  }

private:
  void plan_line(std::string_view text) {
    m_plan = std::atol(std::string(text.substr(3)).c_str());
  }

  void bail_out(std::string_view text) {
    flush_point();
    m_bailed = true;
    // Clean and bounded like every other text a reader hands on.
    const std::string reason = core::truncate(core::sanitize_utf8(core::trim(text.substr(9))), m_limits.message_bytes);
    m_sink.on_suite_error({m_suite, "the TAP stream bailed out" + (reason.empty() ? "" : ": " + reason), {},
                           m_path + ":" + std::to_string(m_line)});
  }

  void test_point(const TestPoint& point) {
    flush_point();
    ++m_seen;
    m_case.clear();
    if (!m_in_subtest) m_details.clear(); // a subtest's lines are the details of this, its parent
    m_in_subtest = false;
    m_case.suite = m_suite; // the file name, so ids do not depend on the workspace path
    m_case.name = core::sanitize_utf8(point.description.empty() ? "test " + std::to_string(point.number)
                                                                : point.description);
    m_case.file = m_path;
    m_case.line = static_cast<int>(m_line);
    if (!point.directive.empty()) {
      m_case.outcome = Outcome::skipped;
      m_case.message = core::truncate(
          core::sanitize_utf8(point.directive + (point.reason.empty() ? "" : ": " + point.reason)),
          m_limits.message_bytes);
    } else {
      m_case.outcome = point.ok ? Outcome::passed : Outcome::failed;
    }
    m_has_point = true;
  }

  void flush_point() {
    if (!m_has_point) return;
    m_has_point = false;
    if (m_case.outcome != Outcome::passed) {
      m_case.details = m_details.str();
      if (m_case.message.empty()) m_case.message = yaml_message(m_case.details, m_limits.message_bytes);
      if (m_case.message.empty()) m_case.message = core::first_line(m_case.details, m_limits.message_bytes);
      if (m_case.message.empty()) m_case.message = "not ok";
    }
    m_sink.on_case(m_case);
  }

  // YAML diagnostics ("  ---" ... "  ...") after a test point belong to it;
  // other indented lines are subtests, kept as details of the parent.
  void indented_line(std::string_view text) {
    const std::string trimmed = core::trim(text);
    if (trimmed == "---" && m_has_point && !m_in_subtest) {
      m_in_yaml = true;
      return;
    }
    begin_subtest();
    m_details.append(text);
    m_details.append("\n");
  }

  // A subtest comes before its parent's test point (TAP 14, node-tap), so
  // the test point before it is complete and its lines go to the next one.
  void begin_subtest() {
    if (m_in_subtest) return;
    flush_point();
    m_details.clear();
    m_in_subtest = true;
  }

  void yaml_line(std::string_view text) {
    if (core::trim(text) == "...") {
      m_in_yaml = false;
      return;
    }
    m_details.append(text);
    m_details.append("\n");
  }

  std::string m_path;
  std::string m_suite;
  ReportSink& m_sink;
  ReadLimits m_limits;
  BoundedText m_details;
  TestCase m_case;
  bool m_has_point = false;
  bool m_in_yaml = false;
  bool m_in_subtest = false; // collecting the lines of a subtest for the next test point
  bool m_bailed = false;
  std::optional<long> m_plan;
  long m_seen = 0;
  long m_line = 0;
};

// Like std::getline, but keeps at most k_max_line bytes of a line and skips
// the rest, so one endless line cannot exhaust memory.
bool read_bounded_line(std::istream& in, std::string& line) {
  line.clear();
  std::streambuf* buffer = in.rdbuf();
  bool any = false;
  for (int c = buffer->sbumpc(); c != std::char_traits<char>::eof(); c = buffer->sbumpc()) {
    any = true;
    if (c == '\n') return true;
    if (line.size() < k_max_line) line.push_back(static_cast<char>(c));
  }
  return any;
}

} // namespace

core::Status read_tap(const std::string& path, ReportSink& sink, const ReadLimits& limits) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::make_error(core::ErrorKind::invalid_input, std::string("cannot open: ") + std::strerror(errno), path);
  TapParser parser(path, sink, limits);
  std::string line;
  long number = 0;
  while (read_bounded_line(in, line)) {
    ++number;
    if ((number & 0xFFF) == 0 && core::interrupted())
      return core::make_error(core::ErrorKind::interrupted, "interrupted while reading", path);
    if (number == 1 && core::starts_with(line, "\xEF\xBB\xBF")) line.erase(0, 3); // UTF-8 BOM
    if (line.find('\0') != std::string::npos)
      return core::make_error(core::ErrorKind::invalid_input, "binary data in a TAP stream",
                              path + ":" + std::to_string(number));
    parser.line(line, number);
  }
  parser.finish();
  return core::ok_status();
}

} // namespace report
