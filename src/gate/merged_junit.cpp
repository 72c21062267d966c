#include "gate/merged_junit.hpp"

#include <cstdio>
#include <unistd.h>

#include "core/text.hpp"
#include "render/xml_writer.hpp"

namespace gate {

using report::Outcome;
using render::xml_attr;
using render::xml_text;

// Open addressing over 64-bit keys; 0 marks an empty slot.
class MergedJunitWriter::KeySet {
public:
  bool insert(std::uint64_t key) {
    if (key == 0) key = 1;
    if ((m_size + 1) * 2 > m_slots.size()) grow();
    std::size_t i = key & (m_slots.size() - 1);
    while (m_slots[i] != 0) {
      if (m_slots[i] == key) return false;
      i = (i + 1) & (m_slots.size() - 1);
    }
    m_slots[i] = key;
    ++m_size;
    return true;
  }

private:
  void grow() {
    std::vector<std::uint64_t> old(std::max<std::size_t>(1024, m_slots.size() * 2), 0);
    old.swap(m_slots);
    m_size = 0;
    for (const auto key : old)
      if (key != 0) insert(key);
  }
  std::vector<std::uint64_t> m_slots;
  std::size_t m_size = 0;
};

namespace {
// Estimated size of a failing case, reserved so that failures coming later
// still fit when passing cases have used the budget.
constexpr std::size_t k_failing_case_reserve = 1024;
} // namespace

MergedJunitWriter::MergedJunitWriter(io::FileSink& out, const Tally& tally, MergeLimits limits)
    : m_out(out), m_tally(tally), m_limits(limits), m_written(std::make_unique<KeySet>()),
      m_spool(std::tmpfile()) {
  for (std::size_t i = 0; i < tally.failures().size(); ++i) {
    m_failure_index.emplace(id_key(tally.failures()[i].id), i);
    const Outcome outcome = tally.failures()[i].outcome;
    if (outcome == Outcome::failed || outcome == Outcome::error) ++m_failing_left;
  }
  const std::string head = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"shipgate merged report\">\n";
  m_out.write(head);
  m_bytes += head.size();
}

MergedJunitWriter::~MergedJunitWriter() {
  if (m_spool) std::fclose(m_spool);
}

bool MergedJunitWriter::keep_passing(std::size_t case_bytes) const {
  const std::size_t reserve = static_cast<std::size_t>(m_failing_left) * k_failing_case_reserve;
  const std::size_t spooled = m_spool ? static_cast<std::size_t>(std::ftell(m_spool)) : 0;
  const std::size_t cases = static_cast<std::size_t>(m_stats.cases_written + m_failing_left);
  return cases < m_limits.max_cases && m_bytes + spooled + case_bytes + reserve + 4096 < m_limits.max_bytes;
}

void MergedJunitWriter::on_case(const report::TestCase& test) {
  const std::string id = test.id();
  const std::uint64_t key = id_key(id);
  if (!m_written->insert(key)) {
    ++m_stats.duplicates_dropped;
    return;
  }
  const FailureRecord* record = nullptr;
  Outcome outcome = test.outcome;
  if (auto found = m_failure_index.find(key); found != m_failure_index.end()) {
    record = &m_tally.failures()[found->second];
    outcome = record->outcome; // the outcome all attempts add up to
  }
  const std::string xml = render_case(test, outcome, record);
  const bool failing = outcome == Outcome::failed || outcome == Outcome::error;
  if (failing) --m_failing_left;
  if (!failing && !keep_passing(xml.size())) {
    ++m_stats.passing_dropped;
    return;
  }
  switch_suite(test.suite);
  std::fwrite(xml.data(), 1, xml.size(), m_spool);
  ++m_stats.cases_written;
  ++m_suite_tests;
  m_suite_failures += outcome == Outcome::failed;
  m_suite_errors += outcome == Outcome::error;
  m_suite_skipped += outcome == Outcome::skipped;
}

std::string MergedJunitWriter::render_case(const report::TestCase& test, Outcome outcome,
                                           const FailureRecord* record) const {
  char time[32];
  std::snprintf(time, sizeof time, "%.3f", test.seconds());
  const std::string classname = test.classname.empty() ? test.suite : test.classname;
  std::string xml = "    <testcase name=\"" + xml_attr(test.name) + "\" classname=\"" + xml_attr(classname) +
                    "\" time=\"" + time + "\"";
  const std::string level = record ? std::string(to_string(record->level)) : std::string("B");
  const std::string message = xml_attr(core::truncate(test.message, 512));
  const std::string details = xml_text(core::truncate(test.details, m_limits.text_bytes));
  std::string body;
  if (outcome == Outcome::failed || outcome == Outcome::error) {
    const char* tag = outcome == Outcome::failed ? "failure" : "error";
    body += "      <" + std::string(tag) + " type=\"" + level + "\" message=\"" + message + "\">" + details + "</" +
            tag + ">\n";
    if (!test.output.empty())
      body += "      <system-out>" + xml_text(core::truncate(test.output, m_limits.text_bytes)) + "</system-out>\n";
  } else if (outcome == Outcome::skipped) {
    body += "      <skipped message=\"" + message + "\"/>\n";
  } else if (outcome == Outcome::flaky) {
    body += "      <flakyFailure type=\"flaky\" message=\"" + message + "\"/>\n";
  }
  return body.empty() ? xml + "/>\n" : xml + ">\n" + body + "    </testcase>\n";
}

void MergedJunitWriter::on_suite_error(const report::SuiteError& error) {
  switch_suite(error.suite);
  m_suite_notes += "suite error: " + error.location + ": " + error.message + "\n";
}

void MergedJunitWriter::switch_suite(const std::string& suite) {
  if (m_suite_open && suite == m_suite) return;
  flush_suite();
  m_suite = suite;
  m_suite_open = true;
}

void MergedJunitWriter::flush_suite() {
  if (!m_suite_open) return;
  m_suite_open = false;
  const std::string name = m_suite.empty() ? "(unnamed suite)" : m_suite;
  const std::string head = "  <testsuite name=\"" + xml_attr(name) + "\" tests=\"" + std::to_string(m_suite_tests) +
                           "\" failures=\"" + std::to_string(m_suite_failures) + "\" errors=\"" +
                           std::to_string(m_suite_errors) + "\" skipped=\"" + std::to_string(m_suite_skipped) +
                           "\">\n";
  m_out.write(head);
  m_bytes += head.size();
  std::fflush(m_spool);
  const long spooled = std::ftell(m_spool);
  std::rewind(m_spool);
  char buffer[65536];
  for (long left = spooled; left > 0;) {
    const std::size_t got = std::fread(buffer, 1, std::min<long>(left, sizeof buffer), m_spool);
    if (got == 0) break;
    m_out.write(std::string_view(buffer, got));
    left -= static_cast<long>(got);
  }
  m_bytes += static_cast<std::size_t>(spooled);
  std::rewind(m_spool);
  if (ftruncate(fileno(m_spool), 0) != 0) { /* the next suite overwrites from the start anyway */ }
  std::string tail;
  if (!m_suite_notes.empty()) tail += "    <system-err>" + xml_text(m_suite_notes) + "</system-err>\n";
  tail += "  </testsuite>\n";
  m_out.write(tail);
  m_bytes += tail.size();
  m_suite_tests = m_suite_failures = m_suite_errors = m_suite_skipped = 0;
  m_suite_notes.clear();
}

core::Status MergedJunitWriter::finish() {
  flush_suite();
  if (m_stats.passing_dropped > 0) {
    const std::string note = "  <testsuite name=\"shipgate: omitted\" tests=\"0\" failures=\"0\" errors=\"0\">\n"
                             "    <system-out>" +
                             std::to_string(m_stats.passing_dropped) +
                             " passing test cases were left out to stay within the size limits</system-out>\n"
                             "  </testsuite>\n";
    m_out.write(note);
  }
  m_out.write("</testsuites>\n");
  if (!m_spool) return core::make_error(core::ErrorKind::runtime, "cannot create a temporary file for the merged report");
  return core::ok_status();
}

} // namespace gate
