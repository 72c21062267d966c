#include "gate/tally.hpp"

#include <functional>

#include "io/glob.hpp"

namespace gate {

using report::Outcome;

std::uint64_t id_key(std::string_view id) { return std::hash<std::string_view>{}(id); }

namespace {
std::uint64_t stored(std::uint64_t key) { return key == 0 ? 1 : key; }
} // namespace

std::uint32_t KeyIndex::find(std::uint64_t key) const {
  if (m_slots.empty()) return k_missing;
  key = stored(key);
  const std::size_t mask = m_slots.size() - 1;
  for (std::size_t i = key & mask;; i = (i + 1) & mask) {
    if (m_slots[i].key == key) return m_slots[i].index;
    if (m_slots[i].key == 0) return k_missing;
  }
}

void KeyIndex::insert(std::uint64_t key, std::uint32_t index) {
  if ((m_size + 1) * 2 > m_slots.size()) grow();
  key = stored(key);
  const std::size_t mask = m_slots.size() - 1;
  std::size_t i = key & mask;
  while (m_slots[i].key != 0 && m_slots[i].key != key) i = (i + 1) & mask;
  if (m_slots[i].key == 0) ++m_size;
  m_slots[i] = {key, index};
}

void KeyIndex::grow() {
  std::vector<Slot> old(std::max<std::size_t>(64, m_slots.size() * 2));
  old.swap(m_slots);
  m_size = 0;
  for (const auto& slot : old)
    if (slot.key != 0) insert(slot.key, slot.index);
}

Tally::Tally(const Policy& policy, TallyLimits limits)
    : m_policy(policy), m_limits(limits), m_required_seen(policy.required_suites.size(), false) {}

void Tally::watch(const std::vector<std::string>& ids) {
  for (const auto& id : ids) m_watched.emplace(id_key(id), false);
}

bool Tally::ran(const std::string& id) const {
  const auto found = m_watched.find(id_key(id));
  return found != m_watched.end() && found->second;
}

bool Tally::failing(const std::string& id) const {
  const auto found = m_failure_index.find(id_key(id));
  if (found == KeyIndex::k_missing) return false;
  const Outcome outcome = m_failures[found].outcome;
  return outcome == Outcome::failed || outcome == Outcome::error;
}

void Tally::count(Outcome outcome, long delta) {
  switch (outcome) {
  case Outcome::passed: m_totals.passed += delta; break;
  case Outcome::failed: m_totals.failed += delta; break;
  case Outcome::error: m_totals.errors += delta; break;
  case Outcome::skipped: m_totals.skipped += delta; break;
  case Outcome::flaky: m_totals.flaky += delta; break;
  }
  m_totals.tests += delta;
}

void Tally::on_case(const report::TestCase& test) {
  ++m_file_tests;
  m_id.clear();
  test.append_id(m_id);
  const std::uint64_t key = id_key(m_id);
  if (!m_watched.empty())
    if (auto found = m_watched.find(key); found != m_watched.end()) found->second = true;
  const auto existing = m_failure_index.find(key);
  if (existing != KeyIndex::k_missing) {
    // The same test again: a rerun (gotestsum, jest's load errors). It is
    // counted once, with the outcome its attempts add up to.
    ++m_duplicates;
    return revise(m_failures[existing], test);
  }
  const bool tracked = test.outcome == Outcome::failed || test.outcome == Outcome::error ||
                       test.outcome == Outcome::flaky;
  count(test.outcome, 1);
  if (tracked) add_failure(test, key, m_id);
}

void Tally::revise(FailureRecord& record, const report::TestCase& test) {
  ++record.occurrences;
  const Outcome before = record.outcome;
  Outcome after = before;
  const bool now_failing = test.outcome == Outcome::failed || test.outcome == Outcome::error;
  if (before == Outcome::failed && test.outcome == Outcome::error) after = Outcome::error;
  if ((before == Outcome::failed || before == Outcome::error) &&
      (test.outcome == Outcome::passed || test.outcome == Outcome::flaky))
    after = Outcome::flaky; // failed, then passed on a rerun
  if (before == Outcome::flaky && now_failing) after = test.outcome; // the last attempt failed
  if (after == before) return;
  count(before, -1);
  count(after, 1);
  record.outcome = after;
}

void Tally::add_failure(const report::TestCase& test, std::uint64_t key, const std::string& id) {
  if (m_failures.size() >= m_limits.max_failure_ids) {
    if (!m_ids_capped)
      add_warning("more than " + std::to_string(m_limits.max_failure_ids) +
                  " failing tests: later ones are counted but not listed or matched against the baseline");
    m_ids_capped = true;
    return;
  }
  FailureRecord record;
  record.id = id;
  record.outcome = test.outcome;
  Classification classification;
  if (test.outcome != Outcome::flaky) classification = classify(test, m_policy);
  record.level = classification.level;
  const std::size_t slot = test.outcome == Outcome::flaky ? 3 : static_cast<std::size_t>(record.level);
  if (m_details_per_level[slot] < m_limits.max_details) {
    ++m_details_per_level[slot];
    record.detail = static_cast<int>(m_details.size());
    m_details.push_back({test.name, test.classname, test.suite, test.file.empty() ? m_current_file : test.file,
                         test.message, test.details, test.output, classification.source, test.line,
                         test.failed_attempts});
  }
  m_failure_index.insert(key, static_cast<std::uint32_t>(m_failures.size()));
  m_failures.push_back(std::move(record));
}

bool Tally::wants_details() const {
  // Only the A/B/C slots decide: a run without flaky tests would otherwise
  // keep collecting details no one will read.
  for (std::size_t level = 0; level < 3; ++level)
    if (m_details_per_level[level] < m_limits.max_details) return true;
  return false;
}

void Tally::on_suite_error(const report::SuiteError& error) {
  ++m_suite_error_count;
  if (m_suite_errors.size() < m_limits.max_messages) m_suite_errors.push_back(error);
}

void Tally::add_warning(std::string text) {
  ++m_warning_count;
  if (m_warnings.size() < m_limits.max_messages) m_warnings.push_back(std::move(text));
}

void Tally::on_warning(const report::Diagnostic& warning) {
  add_warning(warning.location.empty() ? warning.message : warning.location + ": " + warning.message);
}

void Tally::on_suite(std::string_view name) {
  for (std::size_t i = 0; i < m_policy.required_suites.size(); ++i) {
    if (m_required_seen[i]) continue;
    const std::string& pattern = m_policy.required_suites[i];
    // A required suite matches the full path or its last component.
    const auto slash = name.rfind(" / ");
    const std::string_view leaf = slash == std::string_view::npos ? name : name.substr(slash + 3);
    if (io::name_match(pattern, name) || io::name_match(pattern, leaf)) m_required_seen[i] = true;
  }
}

} // namespace gate
