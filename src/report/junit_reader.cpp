#include "report/junit_reader.hpp"

#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/text.hpp"
#include "report/bounded_text.hpp"
#include "report/xml_stream.hpp"

namespace report {
namespace {

// The elements the reader acts on; everything else is skipped.
enum class Tag {
  other, testsuites, testsuite, testcase, failure, error, skipped,
  flaky_failure, flaky_error, rerun_failure, rerun_error, system_out, system_err, properties, property
};

Tag classify(std::string_view name) {
  static const std::pair<std::string_view, Tag> k_tags[] = {
      {"testcase", Tag::testcase}, {"testsuite", Tag::testsuite}, {"failure", Tag::failure},
      {"error", Tag::error}, {"skipped", Tag::skipped}, {"system-out", Tag::system_out},
      {"system-err", Tag::system_err}, {"properties", Tag::properties}, {"property", Tag::property},
      {"testsuites", Tag::testsuites}, {"flakyFailure", Tag::flaky_failure}, {"flakyError", Tag::flaky_error},
      {"rerunFailure", Tag::rerun_failure}, {"rerunError", Tag::rerun_error}};
  for (const auto& [text, tag] : k_tags)
    if (name == text) return tag;
  return Tag::other;
}

const char* attribute(const char** attributes, const char* name) {
  for (const char** a = attributes; *a; a += 2)
    if (std::strcmp(a[0], name) == 0) return a[1];
  return nullptr;
}

std::string attribute_or(const char** attributes, const char* name) {
  const char* value = attribute(attributes, name);
  return value ? core::sanitize_utf8(value) : std::string();
}

struct SuiteFrame {
  std::string path;
  long declared_tests = -1, declared_failures = -1, declared_errors = -1, declared_skipped = -1;
  long tests = 0, failures = 0, errors = 0, skipped = 0;
  long line = 0;
};

long parse_count(const char** attributes, const char* name) {
  const char* value = attribute(attributes, name);
  if (!value || !*value) return -1;
  char* end = nullptr;
  const long count = std::strtol(value, &end, 10);
  return *end == '\0' && count >= 0 ? count : -1;
}

class JunitHandler final : public XmlHandler {
public:
  JunitHandler(std::string path, ReportSink& sink, const ReadLimits& limits)
      : m_path(std::move(path)), m_sink(sink), m_limits(limits),
        m_details(limits.details_head_bytes, limits.details_tail_bytes, true),
        m_output(limits.details_head_bytes, limits.details_tail_bytes, true) {}
  void attach(XmlStream& stream) { m_stream = &stream; }

  void start_document() override {
    m_tags.clear();
    m_suites.clear();
  }

  void start_element(std::string_view name, const char** attributes) override {
    const Tag tag = classify(name);
    const Tag parent = m_tags.empty() ? Tag::other : m_tags.back();
    m_tags.push_back(tag);
    if (m_tags.size() == 1) {
      check_root(name);
      if (tag == Tag::testsuites) return;
    }
    if (tag == Tag::testsuite) return begin_suite(attributes);
    if (tag == Tag::testcase) return begin_case(attributes);
    if (m_in_case) return case_child(tag, attributes);
    if (parent == Tag::testsuite && (tag == Tag::failure || tag == Tag::error)) begin_suite_error(attributes);
  }

  void end_element(std::string_view) override {
    const Tag tag = m_tags.back();
    m_tags.pop_back();
    if (tag == Tag::testsuite) return end_suite();
    if (tag == Tag::testcase && m_in_case) return end_case();
    if (m_capture) end_capture(tag);
  }

  void text(std::string_view data) override {
    if (m_capture) m_capture->append(data);
  }

private:
  void check_root(std::string_view name) {
    if (name == "testsuites" || name == "testsuite") return;
    std::string hint;
    if (name == "test-run" || name == "test-results") hint = " (NUnit XML: convert it to JUnit)";
    else if (name == "assemblies") hint = " (xUnit.net XML: use its JUnit logger)";
    else if (name == "TestRun") hint = " (TRX: use a JUnit logger)";
    stop_reason = "not a JUnit report: the root element is <" + std::string(name) +
                  ">, expected <testsuites> or <testsuite>" + hint;
  }


  std::string location() const { return m_path + ":" + std::to_string(m_stream->line()); }

  void begin_suite(const char** attributes) {
    SuiteFrame frame;
    std::string name = attribute_or(attributes, "name");
    if (name.empty()) name = attribute_or(attributes, "file");
    const std::string parent = m_suites.empty() ? std::string() : m_suites.back().path;
    frame.path = parent.empty() ? name : (name.empty() ? parent : parent + " / " + name);
    frame.declared_tests = parse_count(attributes, "tests");
    frame.declared_failures = parse_count(attributes, "failures");
    frame.declared_errors = parse_count(attributes, "errors");
    frame.declared_skipped = parse_count(attributes, "skipped");
    if (frame.declared_skipped < 0) frame.declared_skipped = parse_count(attributes, "disabled");
    frame.line = m_stream->line();
    m_suite_file = attribute_or(attributes, "file");
    m_suites.push_back(std::move(frame));
  }

  void end_suite() {
    SuiteFrame frame = std::move(m_suites.back());
    m_suites.pop_back();
    if (!m_suites.empty()) { // the parent passes the sum on when it closes
      SuiteFrame& parent = m_suites.back();
      parent.tests += frame.tests;
      parent.failures += frame.failures;
      parent.errors += frame.errors;
      parent.skipped += frame.skipped;
    }
    m_sink.on_suite(frame.path);
    compare_declared(frame);
  }

  void compare_declared(const SuiteFrame& frame) {
    const std::string where = m_path + ":" + std::to_string(frame.line);
    const std::string label = frame.path.empty() ? "a testsuite" : "testsuite '" + frame.path + "'";
    if (frame.tests == 0 && (frame.declared_failures > 0 || frame.declared_errors > 0)) {
      m_sink.on_suite_error({frame.path,
                             label + " declares " + std::to_string(std::max(frame.declared_failures, 0L)) +
                                 " failures and " + std::to_string(std::max(frame.declared_errors, 0L)) +
                                 " errors but contains no test case (did it crash before its tests ran?)",
                             {}, where});
      return;
    }
    auto mismatch = [&](const char* what, long declared, long counted) {
      if (declared < 0 || declared == counted) return;
      m_sink.on_warning({label + " declares " + what + "=\"" + std::to_string(declared) + "\" but contains " +
                             std::to_string(counted) + "; shipgate counts the test cases",
                         where});
    };
    mismatch("tests", frame.declared_tests, frame.tests);
    mismatch("failures", frame.declared_failures, frame.failures);
    mismatch("errors", frame.declared_errors, frame.errors);
  }

  void begin_case(const char** attributes) {
    m_in_case = true;
    m_case.clear();
    m_has_failure = m_has_error = m_has_skip = false;
    m_flaky_attempts = 0;
    m_details.clear();
    m_output.clear();
    m_case.suite = m_suites.empty() ? std::string() : m_suites.back().path;
    // One pass over the attributes. expat hands over valid UTF-8, and control
    // characters were replaced before parsing, so values are copied as they are.
    for (const char** a = attributes; *a; a += 2) {
      const char* key = a[0];
      const char* value = a[1];
      switch (key[0]) {
      case 'n': if (std::strcmp(key, "name") == 0) m_case.name.assign(value); break;
      case 'c': if (std::strcmp(key, "classname") == 0) m_case.classname.assign(value); break;
      case 'f': if (std::strcmp(key, "file") == 0) m_case.file.assign(value); break;
      case 'l': if (std::strcmp(key, "line") == 0) m_case.line = std::atoi(value); break;
      case 't': if (std::strcmp(key, "time") == 0) m_case.time.assign(value); break;
      case 's': if (std::strcmp(key, "status") == 0) m_has_skip |= skipped_status(value); break;
      case 'r': if (std::strcmp(key, "result") == 0) m_has_skip |= skipped_result(value); break;
      default: break;
      }
    }
    if (m_case.file.empty()) m_case.file = m_suite_file;
  }

  // GoogleTest: status="notrun" (DISABLED_), result="skipped"/"suppressed";
  // ctest: status="disabled"/"notrun".
  static bool skipped_status(const char* value) {
    return std::strcmp(value, "notrun") == 0 || std::strcmp(value, "disabled") == 0 ||
           std::strcmp(value, "skipped") == 0;
  }
  static bool skipped_result(const char* value) {
    return std::strcmp(value, "skipped") == 0 || std::strcmp(value, "suppressed") == 0;
  }

  void case_child(Tag tag, const char** attributes) {
    switch (tag) {
    case Tag::failure: m_has_failure = true; break;
    case Tag::error: m_has_error = true; break;
    case Tag::skipped: m_has_skip = true; break;
    case Tag::flaky_failure:
    case Tag::flaky_error: ++m_flaky_attempts; break;
    case Tag::rerun_failure:
    case Tag::rerun_error: ++m_case.failed_attempts; break;
    case Tag::system_out:
    case Tag::system_err:
      if (m_sink.wants_details()) start_capture(m_output);
      return;
    case Tag::property: return add_property(attributes);
    default: return;
    }
    const bool primary = tag == Tag::failure || tag == Tag::error || tag == Tag::skipped;
    if (m_case.message.empty() || (primary && !m_primary_message)) {
      m_case.message = core::first_line(attribute_or(attributes, "message"), m_limits.message_bytes);
      if (m_case.message.empty()) m_case.message = core::truncate(attribute_or(attributes, "type"), m_limits.message_bytes);
      m_primary_message = primary;
    }
    if (tag != Tag::skipped && m_details.empty() && m_sink.wants_details()) start_capture(m_details);
  }

  void add_property(const char** attributes) {
    if (static_cast<int>(m_case.properties.size()) >= m_limits.max_properties) return;
    m_case.properties.emplace_back(attribute_or(attributes, "name"), attribute_or(attributes, "value"));
  }

  void start_capture(BoundedText& target) {
    m_capture = &target;
    m_stream->want_text(true);
  }

  void end_capture(Tag tag) {
    if (tag == Tag::other || tag == Tag::property || tag == Tag::properties) return;
    m_capture = nullptr;
    m_stream->want_text(false);
  }

  void end_case() {
    m_in_case = false;
    m_capture = nullptr;
    m_stream->want_text(false);
    // A skip marker outranks a failure (node's failing "todo" tests, a
    // failure recorded inside a skipped test); an error outranks both.
    m_case.outcome = m_has_error     ? Outcome::error
                     : m_has_skip    ? Outcome::skipped
                     : m_has_failure ? Outcome::failed
                     : m_flaky_attempts > 0 ? Outcome::flaky
                                            : Outcome::passed;
    m_case.failed_attempts += m_flaky_attempts;
    if (m_case.outcome != Outcome::passed) {
      m_case.details = m_details.str();
      if (m_case.message.empty()) m_case.message = core::first_line(m_case.details, m_limits.message_bytes);
      m_case.output = m_output.str();
    }
    m_primary_message = false;
    count(m_case.outcome);
    m_sink.on_case(m_case);
  }

  void count(Outcome outcome) {
    if (m_suites.empty()) return;
    SuiteFrame& frame = m_suites.back();
    ++frame.tests;
    if (outcome == Outcome::failed) ++frame.failures;
    if (outcome == Outcome::error) ++frame.errors;
    if (outcome == Outcome::skipped) ++frame.skipped;
  }

  void begin_suite_error(const char** attributes) {
    std::string message = core::first_line(attribute_or(attributes, "message"), m_limits.message_bytes);
    if (message.empty()) message = "suite-level error outside any test case";
    m_sink.on_suite_error({m_suites.empty() ? std::string() : m_suites.back().path, message, {}, location()});
  }

  std::string m_path;
  ReportSink& m_sink;
  ReadLimits m_limits;
  XmlStream* m_stream = nullptr;
  std::vector<Tag> m_tags;
  std::vector<SuiteFrame> m_suites;
  std::string m_suite_file;
  TestCase m_case;
  bool m_in_case = false;
  bool m_has_failure = false, m_has_error = false, m_has_skip = false;
  bool m_primary_message = false;
  int m_flaky_attempts = 0;
  BoundedText m_details;
  BoundedText m_output;
  BoundedText* m_capture = nullptr;
};

} // namespace

core::Status read_junit(const std::string& path, ReportSink& sink, const ReadLimits& limits) {
  JunitHandler handler(path, sink, limits);
  XmlStream stream(handler, XmlLimits{limits.max_depth});
  handler.attach(stream);
  auto status = stream.parse_file(path);
  if (const auto replaced = stream.replaced_control_characters(); replaced > 0)
    sink.on_warning({std::to_string(replaced) +
                         " byte(s) that XML does not allow (control characters such as ANSI colour codes, invalid UTF-8) were read as '?'",
                     path});
  return status;
}

} // namespace report
