#include "report/detect.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "core/text.hpp"
#include "report/ctrf_reader.hpp"
#include "report/tap_reader.hpp"

namespace report {

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
  case Outcome::passed: return "passed";
  case Outcome::failed: return "failed";
  case Outcome::error: return "error";
  case Outcome::skipped: return "skipped";
  case Outcome::flaky: return "flaky";
  }
  return "error";
}

std::string_view to_string(Format format) {
  switch (format) {
  case Format::junit: return "junit";
  case Format::tap: return "tap";
  case Format::ctrf: return "ctrf";
  }
  return "junit";
}

std::string TestCase::id() const {
  std::string out;
  append_id(out);
  return out;
}

void TestCase::append_id(std::string& out) const {
  const std::string& scope = classname.empty() ? suite : classname;
  if (!scope.empty()) {
    out += scope;
    out += "::";
  }
  out += name;
}

double TestCase::seconds() const {
  std::string digits; // Surefire writes "1,234.5"
  for (const char c : time)
    if (c != ',') digits += c;
  char* end = nullptr;
  const double value = std::strtod(digits.c_str(), &end);
  return end != digits.c_str() && value >= 0 ? value : 0;
}

void TestCase::clear() {
  suite.clear();
  classname.clear();
  name.clear();
  file.clear();
  line = 0;
  time.clear();
  outcome = Outcome::passed;
  message.clear();
  details.clear();
  output.clear();
  failed_attempts = 0;
  properties.clear();
  tags.clear();
}

namespace {

bool looks_like_tap(std::string_view head) {
  // The first line that is not blank or a comment decides.
  while (!head.empty()) {
    const auto end = head.find('\n');
    const std::string line = core::trim(head.substr(0, end));
    head = end == std::string_view::npos ? std::string_view() : head.substr(end + 1);
    if (line.empty() || line[0] == '#') continue;
    return core::starts_with(line, "TAP version") || core::starts_with(line, "1..") ||
           core::starts_with(line, "ok") || core::starts_with(line, "not ok");
  }
  return false;
}

} // namespace

core::Result<Format> detect_format(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::make_error(core::ErrorKind::invalid_input, std::string("cannot open: ") + std::strerror(errno), path);
  std::string head(4096, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  if (head.empty()) return core::make_error(core::ErrorKind::invalid_input, "the file is empty (no test report in it)", path + ":1");
  std::string_view view(head);
  // UTF-16 XML (with a byte-order mark, or "<" as its first character).
  if (core::starts_with(view, "\xFF\xFE") || core::starts_with(view, "\xFE\xFF") ||
      core::starts_with(view, std::string_view("<\0", 2)) || core::starts_with(view, std::string_view("\0<", 2)))
    return Format::junit;
  if (core::starts_with(view, "\xEF\xBB\xBF")) view.remove_prefix(3);
  const auto first = view.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos)
    return core::make_error(core::ErrorKind::invalid_input, "the file holds only whitespace (no test report in it)", path + ":1");
  if (view[first] == '<') return Format::junit;
  if (view[first] == '{') return Format::ctrf;
  if (looks_like_tap(view)) return Format::tap;
  if (view.find('\0') != std::string_view::npos)
    return core::make_error(core::ErrorKind::invalid_input, "binary data, not a test report", path + ":1");
  return core::make_error(core::ErrorKind::invalid_input,
                          "not a test report: expected JUnit XML, TAP or CTRF JSON", path + ":1");
}

core::Status read_report(const std::string& path, Format format, ReportSink& sink, const ReadLimits& limits) {
  switch (format) {
  case Format::junit: return read_junit(path, sink, limits);
  case Format::tap: return read_tap(path, sink, limits);
  case Format::ctrf: return read_ctrf(path, sink, limits);
  }
  return read_junit(path, sink, limits);
}

} // namespace report
