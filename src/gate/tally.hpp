#pragma once
// Accumulates the test cases of every report into the totals and the list
// of failing tests the policy is evaluated on. Memory is bounded by the
// number of failing tests (their ids), never by the number of passing ones
// or the size of the reports: details (messages, traces) are kept only for
// the first `max_details` failures of each level.
#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "gate/policy.hpp"
#include "gate/severity.hpp"
#include "report/test_case.hpp"

namespace gate {

struct Totals {
  long tests = 0, passed = 0, failed = 0, errors = 0, skipped = 0, flaky = 0;
};

// A failing (or flaky) test.
struct FailureRecord {
  std::string id;
  report::Outcome outcome = report::Outcome::failed; // failed, error or flaky
  Level level = Level::B;
  int detail = -1; // index into details, or -1
  int occurrences = 1;
};

struct FailureDetail {
  std::string name, classname, suite, file, message, details, output, level_source;
  int line = 0;
  int failed_attempts = 0;
};

struct TallyLimits {
  std::size_t max_details = 50;         // per level, plus as many flaky tests
  std::size_t max_failure_ids = 500000; // beyond this, ids are not tracked (a warning says so)
  std::size_t max_messages = 200;       // warnings and suite errors kept
};

// Maps 64-bit id keys to indexes with open addressing: one contiguous
// array, so the lookup every test case makes stays in cache.
class KeyIndex {
public:
  static constexpr std::uint32_t k_missing = 0xFFFFFFFF;
  std::uint32_t find(std::uint64_t key) const;
  void insert(std::uint64_t key, std::uint32_t index);
  bool empty() const { return m_size == 0; }

private:
  struct Slot {
    std::uint64_t key = 0; // 0 = empty; real key 0 is stored as 1
    std::uint32_t index = 0;
  };
  void grow();
  std::vector<Slot> m_slots;
  std::size_t m_size = 0;
};

class Tally final : public report::ReportSink {
public:
  Tally(const Policy& policy, TallyLimits limits = {});

  // Ids to watch (the baseline's failures): seen() tells whether they ran.
  void watch(const std::vector<std::string>& ids);
  bool ran(const std::string& id) const;
  bool failing(const std::string& id) const;

  void begin_file(const std::string& path) { m_current_file = path; }

  void on_case(const report::TestCase& test) override;
  void on_suite_error(const report::SuiteError& error) override;
  void on_warning(const report::Diagnostic& warning) override;
  void on_suite(std::string_view name) override;
  bool wants_details() const override;

  const Totals& totals() const { return m_totals; }
  const std::vector<FailureRecord>& failures() const { return m_failures; }
  const std::vector<FailureDetail>& details() const { return m_details; }
  const std::vector<report::SuiteError>& suite_errors() const { return m_suite_errors; }
  long suite_error_count() const { return m_suite_error_count; }
  const std::vector<std::string>& warnings() const { return m_warnings; }
  long warning_count() const { return m_warning_count; }
  long duplicates() const { return m_duplicates; }
  const std::vector<bool>& required_suites_seen() const { return m_required_seen; }
  long tests_in_current_file() const { return m_file_tests; }
  void reset_file_count() { m_file_tests = 0; }

private:
  void add_failure(const report::TestCase& test, std::uint64_t key, const std::string& id);
  void revise(FailureRecord& record, const report::TestCase& test);
  void count(report::Outcome outcome, long delta);
  void add_warning(std::string text);

  const Policy& m_policy;
  TallyLimits m_limits;
  Totals m_totals;
  std::vector<FailureRecord> m_failures;
  KeyIndex m_failure_index;
  std::string m_id; // reused for every test case's id
  std::vector<FailureDetail> m_details;
  std::array<std::size_t, 4> m_details_per_level{}; // A, B, C, flaky
  std::vector<report::SuiteError> m_suite_errors;
  long m_suite_error_count = 0;
  std::vector<std::string> m_warnings;
  long m_warning_count = 0;
  long m_duplicates = 0;
  bool m_ids_capped = false;
  std::vector<bool> m_required_seen;
  std::unordered_map<std::uint64_t, bool> m_watched; // key -> ran
  std::string m_current_file;
  long m_file_tests = 0;
};

std::uint64_t id_key(std::string_view id);

} // namespace gate
