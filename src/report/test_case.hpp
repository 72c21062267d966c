#pragma once
// The report model: what readers produce, with no policy in it. Readers
// stream events into a ReportSink, so memory does not grow with file size.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace report {

enum class Outcome : std::uint8_t { passed = 1, failed = 2, error = 3, skipped = 4, flaky = 5 };
std::string_view to_string(Outcome outcome);

enum class Format { junit, tap, ctrf };
std::string_view to_string(Format format);

struct TestCase {
  std::string suite;     // enclosing suite path, "outer / inner"
  std::string classname; // may be empty
  std::string name;
  std::string file;      // source file when the producer records one
  int line = 0;
  std::string time;      // seconds as the producer wrote them ("0.012"); may be empty
  Outcome outcome = Outcome::passed;
  std::string message;   // one-line reason (failure message, skip reason)
  std::string details;   // stack trace or diagnostic, bounded
  std::string output;    // system-out/err of a non-passing test, bounded
  int failed_attempts = 0; // reruns that failed before the final result
  std::vector<std::pair<std::string, std::string>> properties;
  std::vector<std::string> tags;

  // "classname::name", or "suite::name" when there is no classname.
  std::string id() const;
  // Appends the id to `out` (no allocation when `out` has capacity).
  void append_id(std::string& out) const;
  double seconds() const; // `time` parsed; 0 when absent or malformed
  void clear();
};

// A problem outside any test case: a crashed suite, a TAP bail-out, a plan
// that was not completed.
struct SuiteError {
  std::string suite;
  std::string message;
  std::string details;
  std::string location; // file:line
};

struct Diagnostic {
  std::string message;
  std::string location; // file:line
};

class ReportSink {
public:
  virtual ~ReportSink() = default;
  virtual void on_case(const TestCase& test) = 0;
  virtual void on_suite_error(const SuiteError& error) = 0;
  virtual void on_warning(const Diagnostic& warning) = 0;
  // Called when a suite ends (for required-suite checks); nested suites
  // report their own full path.
  virtual void on_suite(std::string_view /*name*/) {}
  // False when the sink has no use for failure details and outputs any more;
  // readers then skip collecting them, which keeps large reports fast.
  virtual bool wants_details() const { return true; }
};

} // namespace report
