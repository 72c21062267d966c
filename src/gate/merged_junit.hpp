#pragma once
// Writes one normalized, de-duplicated JUnit report from all the inputs
// (--merged-junit). It is a second streaming pass over the reports:
// - each test id appears once, with its final outcome (a failed-then-passed
//   rerun is written as a pass carrying a <flakyFailure>);
// - failures carry their severity level in `type`;
// - texts are sanitized and truncated;
// - the file stays within GitLab's limits (500,000 cases, 30 MB by default):
//   passing cases are dropped first, failing ones are always kept.
// Memory: a set of 64-bit keys of the ids written (16 bytes per test).
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "gate/tally.hpp"
#include "io/output.hpp"
#include "report/test_case.hpp"

namespace gate {

struct MergeLimits {
  std::size_t max_cases = 500000;
  std::size_t max_bytes = 30000000;
  std::size_t text_bytes = 2048; // per message/details/output
};

struct MergeStats {
  long cases_written = 0;
  long duplicates_dropped = 0;
  long passing_dropped = 0; // to stay within the limits
};

class MergedJunitWriter final : public report::ReportSink {
public:
  MergedJunitWriter(io::FileSink& out, const Tally& tally, MergeLimits limits);
  ~MergedJunitWriter() override;

  void on_case(const report::TestCase& test) override;
  void on_suite_error(const report::SuiteError& error) override;
  void on_warning(const report::Diagnostic&) override {}
  core::Status finish();
  const MergeStats& stats() const { return m_stats; }

private:
  class KeySet;
  void switch_suite(const std::string& suite);
  void flush_suite();
  bool keep_passing(std::size_t case_bytes) const;
  std::string render_case(const report::TestCase& test, report::Outcome outcome, const FailureRecord* record) const;

  io::FileSink& m_out;
  const Tally& m_tally;
  MergeLimits m_limits;
  MergeStats m_stats;
  std::unique_ptr<KeySet> m_written;
  std::unordered_map<std::uint64_t, std::size_t> m_failure_index;
  std::FILE* m_spool = nullptr;
  std::string m_suite;
  bool m_suite_open = false;
  long m_suite_tests = 0, m_suite_failures = 0, m_suite_errors = 0, m_suite_skipped = 0;
  std::string m_suite_notes;
  std::size_t m_bytes = 0;
  long m_failing_left = 0; // failing cases still to come, reserved in the budget
};

} // namespace gate
