#pragma once
// The body of the three test-report targets: the input is written to a
// report file, detected, and read by one reader into the gate's own Tally
// (the sink gate-on-test-report uses), through a sink that checks what
// the reader hands on.
#include <string>

#include "fuzz_support.hpp"
#include "gate/policy.hpp"
#include "gate/tally.hpp"
#include "report/detect.hpp"

namespace fuzz {

// Small limits, so that the truncation paths run on small inputs.
inline report::ReadLimits small_limits() {
  report::ReadLimits limits;
  limits.message_bytes = 64;
  limits.details_head_bytes = 96;
  limits.details_tail_bytes = 48;
  limits.max_properties = 4;
  limits.max_depth = 16;
  return limits;
}

class CheckingSink final : public report::ReportSink {
public:
  CheckingSink(report::ReportSink& next, const report::ReadLimits& limits) : m_next(next), m_limits(limits) {}

  void on_case(const report::TestCase& test) override {
    ++cases;
    const int outcome = static_cast<int>(test.outcome);
    FUZZ_CHECK(outcome >= 1 && outcome <= 5);
    FUZZ_CHECK(test.failed_attempts >= 0);
    FUZZ_CHECK(static_cast<int>(test.properties.size()) <= m_limits.max_properties);
    // A message is one line, cut to the limit plus the "[truncated N bytes]" note.
    FUZZ_CHECK(test.message.size() <= m_limits.message_bytes + 48);
    FUZZ_CHECK(test.message.find('\n') == std::string::npos);
    // Details and output keep a head and a tail; sanitizing may widen a
    // byte to four ("\x01"), and the cut is noted.
    const std::size_t kept = 4 * (m_limits.details_head_bytes + m_limits.details_tail_bytes) + 96;
    if (m_next.wants_details()) {
      FUZZ_CHECK(test.details.size() <= kept);
      FUZZ_CHECK(test.output.size() <= kept);
    }
    for (const std::string* value : {&test.name, &test.classname, &test.suite, &test.message, &test.details,
                                     &test.output, &test.file})
      FUZZ_CHECK(valid_utf8(*value));
    m_next.on_case(test);
  }
  void on_suite_error(const report::SuiteError& error) override {
    ++suite_errors;
    FUZZ_CHECK(!error.message.empty());
    FUZZ_CHECK(valid_utf8(error.message) && valid_utf8(error.suite));
    m_next.on_suite_error(error);
  }
  void on_warning(const report::Diagnostic& warning) override {
    FUZZ_CHECK(!warning.message.empty());
    m_next.on_warning(warning);
  }
  void on_suite(std::string_view name) override { m_next.on_suite(name); }
  bool wants_details() const override { return m_next.wants_details(); }

  long cases = 0;
  long suite_errors = 0;

private:
  report::ReportSink& m_next;
  report::ReadLimits m_limits;
};

// Reads `input` as a report of `format` (and runs the format detection on
// it); the totals must add up whatever the input was.
inline void fuzz_report(report::Format format, const std::string& file_name, std::string_view input) {
  if (input.size() > k_max_input) return;
  const std::string path = write_input(file_name, input);
  (void)report::detect_format(path);
  // A policy with rules, so that failing tests are classified as the gate
  // classifies them (a regex over ids of any length, globs, properties).
  static const gate::Policy policy = [] {
    auto parsed = gate::parse_policy("severity:\n  rules:\n    - {level: A, regex: \"(refund|pay).*[0-9]\"}\n"
                                     "    - {level: C, classname: \"*.slow.*\"}\n",
                                     "policy.yml");
    FUZZ_CHECK(static_cast<bool>(parsed));
    return *parsed;
  }();
  gate::Tally tally(policy);
  tally.begin_file(path);
  const report::ReadLimits limits = small_limits();
  CheckingSink sink(tally, limits);
  const core::Status read = report::read_report(path, format, sink, limits);
  if (!read) FUZZ_CHECK(!read.error().message.empty());
  const gate::Totals& totals = tally.totals();
  FUZZ_CHECK(totals.passed >= 0 && totals.failed >= 0 && totals.errors >= 0 && totals.skipped >= 0 &&
             totals.flaky >= 0);
  FUZZ_CHECK(totals.tests == totals.passed + totals.failed + totals.errors + totals.skipped + totals.flaky);
  // Every case is counted once, or folded into an earlier one as a rerun.
  FUZZ_CHECK(totals.tests + tally.duplicates() == sink.cases);
  FUZZ_CHECK(static_cast<long>(tally.failures().size()) <= totals.failed + totals.errors + totals.flaky);
  FUZZ_CHECK(tally.suite_error_count() == sink.suite_errors);
}

} // namespace fuzz
