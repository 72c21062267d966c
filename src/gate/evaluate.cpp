#include "gate/evaluate.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <unordered_set>

#include "core/text.hpp"
#include "io/glob.hpp"

namespace gate {
namespace {

using core::Check;
using core::CheckStatus;
using nlohmann::json;
using report::Outcome;

std::string percent_text(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f%%", value);
  return buffer;
}

bool is_failing(Outcome outcome) { return outcome == Outcome::failed || outcome == Outcome::error; }

// How each failing test is judged: counted against its level, or set aside
// by the quarantine list or the baseline.
struct Judgement {
  const FailureRecord* record = nullptr;
  const QuarantineEntry* quarantine = nullptr; // active entry
  bool expired_quarantine = false;
  bool known = false; // also failing in the baseline
  bool counts() const { return !quarantine && !known; }
};

class Evaluator {
public:
  explicit Evaluator(const GateInput& input) : m_in(input), m_policy(*input.policy), m_tally(*input.tally) {}

  core::StepResult run() {
    m_result.step = "gate-on-test-report";
    m_result.checks_label = "rules";
    judge_failures();
    check_reports_found();
    check_reports_readable();
    check_min_tests();
    check_suite_errors();
    for (Level level : k_levels) check_level(level);
    check_pass_rate();
    check_skipped_ratio();
    check_flaky();
    check_required_suites();
    check_quarantine();
    check_baseline();
    decide();
    fill_findings();
    fill_details();
    return std::move(m_result);
  }

private:
  void add(std::string id, std::string title, CheckStatus status, std::string explanation, std::string actual = {},
           std::string limit = {}) {
    m_result.checks.push_back({std::move(id), std::move(title), status, std::move(explanation), std::move(actual),
                               std::move(limit)});
  }

  const QuarantineEntry* quarantine_for(const std::string& id, bool& expired) const {
    expired = false;
    for (const auto& entry : m_policy.quarantine) {
      if (!io::name_match(entry.test, id)) continue;
      if (entry.expires && *entry.expires < m_in.now) {
        expired = true;
        continue;
      }
      return &entry;
    }
    return nullptr;
  }

  void judge_failures() {
    std::unordered_set<std::string> baseline_ids;
    if (m_in.baseline) baseline_ids.insert(m_in.baseline->failing_ids.begin(), m_in.baseline->failing_ids.end());
    for (const auto& record : m_tally.failures()) {
      if (!is_failing(record.outcome)) continue;
      Judgement judgement;
      judgement.record = &record;
      judgement.quarantine = quarantine_for(record.id, judgement.expired_quarantine);
      judgement.known = baseline_ids.count(record.id) > 0;
      if (judgement.counts()) ++m_counted[static_cast<int>(record.level)];
      m_judgements.push_back(judgement);
    }
    // Most important first: level, then errors before failures.
    std::stable_sort(m_judgements.begin(), m_judgements.end(), [](const Judgement& a, const Judgement& b) {
      if (a.counts() != b.counts()) return a.counts();
      if (a.record->level != b.record->level) return a.record->level < b.record->level;
      return a.record->outcome == Outcome::error && b.record->outcome != Outcome::error;
    });
  }

  void check_reports_found() {
    const std::size_t found = m_in.files.size();
    std::string explanation = std::to_string(found) + " report file(s) read";
    if (!m_in.unmatched_patterns.empty())
      explanation += "; nothing matched: " + join(m_in.unmatched_patterns, 5);
    if (!m_in.stale_files.empty())
      explanation += "; ignored as older than --not-before: " + join(m_in.stale_files, 5);
    if (found == 0)
      return add("reports-found", "Test reports were found", CheckStatus::inconclusive,
                 "no test report to judge: " + explanation +
                     ". Check the --report patterns and that the test job produced its reports",
                 "0", ">= 1");
    const CheckStatus status = m_in.unmatched_patterns.empty() && m_in.stale_files.empty() ? CheckStatus::pass
                                                                                          : CheckStatus::warn;
    add("reports-found", "Test reports were found", status, explanation, std::to_string(found), ">= 1");
  }

  void check_reports_readable() {
    std::vector<std::string> broken;
    for (const auto& file : m_in.files)
      if (!file.error.empty()) broken.push_back(file.error);
    if (broken.empty())
      return add("reports-readable", "Every report could be read", CheckStatus::pass,
                 "all " + std::to_string(m_in.files.size()) + " report file(s) parsed");
    add("reports-readable", "Every report could be read", CheckStatus::inconclusive,
        std::to_string(broken.size()) + " report file(s) could not be read, so the verdict cannot be trusted: " +
            join(broken, 3),
        std::to_string(broken.size()), "0");
  }

  void check_min_tests() {
    const long tests = m_tally.totals().tests;
    const std::string limit = ">= " + std::to_string(std::max(1L, m_policy.min_tests));
    if (tests == 0)
      return add("min-tests", "Enough tests ran", CheckStatus::inconclusive,
                 "the reports contain no test case: zero tests is never a pass", "0", limit);
    if (tests < m_policy.min_tests)
      return add("min-tests", "Enough tests ran", CheckStatus::fail,
                 std::to_string(tests) + " tests ran, fewer than the required " + std::to_string(m_policy.min_tests),
                 std::to_string(tests), limit);
    add("min-tests", "Enough tests ran", CheckStatus::pass, std::to_string(tests) + " tests ran",
        std::to_string(tests), limit);
  }

  void check_suite_errors() {
    const long count = m_tally.suite_error_count();
    if (count == 0)
      return add("suite-errors", "No suite-level errors", CheckStatus::pass, "no error outside the test cases",
                 "0", "0");
    const auto& first = m_tally.suite_errors().front();
    add("suite-errors", "No suite-level errors", CheckStatus::fail,
        std::to_string(count) + " error(s) outside any test case, e.g. " +
            (first.location.empty() ? "" : first.location + ": ") + first.message,
        std::to_string(count), "0");
  }

  void check_level(Level level) {
    const int index = static_cast<int>(level);
    const long count = m_counted[index];
    const long limit = m_policy.max_failures[index];
    const std::string id = "failures-" + std::string(to_string(level));
    const std::string title = std::string(to_string(level)) + "-level failures within the limit";
    std::string explanation = std::to_string(count) + " " + std::string(to_string(level)) +
                              "-level failing test(s)" + (m_in.baseline ? " new since the baseline" : "") +
                              ", limit " + std::to_string(limit);
    std::string examples;
    for (const auto& judgement : m_judgements)
      if (judgement.counts() && judgement.record->level == level && examples.size() < 200)
        examples += (examples.empty() ? "" : ", ") + judgement.record->id;
    if (!examples.empty()) explanation += ": " + core::truncate(examples, 200);
    add(id, title, count > limit ? CheckStatus::fail : CheckStatus::pass, explanation, std::to_string(count),
        "<= " + std::to_string(limit));
  }

  void check_pass_rate() {
    if (!m_policy.min_pass_rate) return;
    const auto& totals = m_tally.totals();
    const long executed = totals.tests - totals.skipped;
    const std::string limit = ">= " + percent_text(*m_policy.min_pass_rate);
    if (executed <= 0)
      return add("pass-rate", "Pass rate", totals.tests == 0 ? CheckStatus::inconclusive : CheckStatus::fail,
                 "no test was executed (all skipped), so there is no pass rate", "", limit);
    const double rate = 100.0 * static_cast<double>(totals.passed + totals.flaky) / static_cast<double>(executed);
    const bool ok = rate + 1e-9 >= *m_policy.min_pass_rate;
    add("pass-rate", "Pass rate", ok ? CheckStatus::pass : CheckStatus::fail,
        percent_text(rate) + " of " + std::to_string(executed) + " executed tests passed (flaky count as passed)",
        percent_text(rate), limit);
  }

  void check_skipped_ratio() {
    if (!m_policy.max_skipped_ratio) return;
    const auto& totals = m_tally.totals();
    if (totals.tests == 0) return;
    const double ratio = 100.0 * static_cast<double>(totals.skipped) / static_cast<double>(totals.tests);
    const bool ok = ratio <= *m_policy.max_skipped_ratio + 1e-9;
    add("skipped-ratio", "Skipped tests within the limit", ok ? CheckStatus::pass : CheckStatus::fail,
        std::to_string(totals.skipped) + " of " + std::to_string(totals.tests) + " tests skipped (" +
            percent_text(ratio) + ")",
        percent_text(ratio), "<= " + percent_text(*m_policy.max_skipped_ratio));
  }

  void check_flaky() {
    const long flaky = m_tally.totals().flaky;
    std::string explanation = std::to_string(flaky) + " flaky test(s) (failed, then passed on a rerun); policy: " +
                              std::string(to_string(m_policy.flaky));
    CheckStatus status = CheckStatus::pass;
    if (flaky > 0 && m_policy.flaky == FlakyMode::warn) status = CheckStatus::warn;
    if (flaky > 0 && m_policy.flaky == FlakyMode::fail) status = CheckStatus::fail;
    add("flaky", "Flaky tests", status, explanation, std::to_string(flaky),
        m_policy.flaky == FlakyMode::fail ? "0" : "");
  }

  void check_required_suites() {
    if (m_policy.required_suites.empty()) return;
    std::vector<std::string> missing;
    const auto& seen = m_tally.required_suites_seen();
    for (std::size_t i = 0; i < seen.size(); ++i)
      if (!seen[i]) missing.push_back(m_policy.required_suites[i]);
    if (missing.empty())
      return add("required-suites", "Required suites are present", CheckStatus::pass,
                 "all " + std::to_string(seen.size()) + " required suite(s) present");
    add("required-suites", "Required suites are present", CheckStatus::fail,
        std::to_string(missing.size()) + " required suite(s) missing from the reports: " + join(missing, 10),
        std::to_string(missing.size()), "0");
  }

  void check_quarantine() {
    if (m_policy.quarantine.empty()) return;
    long quarantined = 0;
    for (const auto& judgement : m_judgements) quarantined += judgement.quarantine != nullptr;
    std::vector<std::string> expired_entries;
    for (const auto& entry : m_policy.quarantine)
      if (entry.expires && *entry.expires < m_in.now) expired_entries.push_back(entry.test + " (" + entry.expires_text + ")");
    std::string explanation = std::to_string(quarantined) + " failing test(s) set aside by the quarantine list";
    if (!expired_entries.empty())
      explanation += "; expired entries count again: " + join(expired_entries, 5);
    add("quarantine", "Quarantine list", expired_entries.empty() ? CheckStatus::pass : CheckStatus::warn,
        explanation, std::to_string(quarantined));
  }

  void check_baseline() {
    if (!m_in.baseline) return;
    long known = 0;
    for (const auto& judgement : m_judgements) known += judgement.known;
    for (const auto& id : m_in.baseline->failing_ids)
      if (m_tally.ran(id) && !m_tally.failing(id)) m_fixed.push_back(id);
    add("baseline", "Compared with the baseline", CheckStatus::pass,
        std::to_string(known) + " failure(s) already failing in " + m_in.baseline->path + " are not counted; " +
            std::to_string(m_fixed.size()) + " fixed since then",
        std::to_string(known));
  }

  void decide() {
    using core::Verdict;
    bool any_fail = false, any_inconclusive = false;
    std::vector<std::string> reasons;
    for (const auto& check : m_result.checks) {
      any_fail |= check.status == CheckStatus::fail;
      any_inconclusive |= check.status == CheckStatus::inconclusive;
      if (check.status == CheckStatus::fail || check.status == CheckStatus::inconclusive)
        reasons.push_back(check.id + ": " + core::truncate(check.explanation, 160));
    }
    m_result.verdict = any_inconclusive ? Verdict::inconclusive : any_fail ? Verdict::fail : Verdict::pass;
    m_result.exit_code = any_inconclusive ? core::ExitCode::usage
                         : any_fail       ? core::ExitCode::negative_verdict
                                          : core::ExitCode::success;
    const auto& totals = m_tally.totals();
    const long counted = m_counted[0] + m_counted[1] + m_counted[2];
    const long set_aside = static_cast<long>(m_judgements.size()) - counted;
    std::string counts = std::to_string(totals.tests) + " tests, " + std::to_string(counted) + " counted failure(s)";
    if (set_aside > 0) counts += " (" + std::to_string(set_aside) + " set aside by quarantine or baseline)";
    if (reasons.empty()) m_result.headline = "PASS: " + counts + " — release criterion met";
    else
      m_result.headline = std::string(any_inconclusive ? "INCONCLUSIVE: " : "FAIL: ") + reasons.front() +
                          (reasons.size() > 1 ? " (+" + std::to_string(reasons.size() - 1) + " more)" : "");
  }

  void fill_findings() {
    std::size_t listed = 0;
    for (const auto& judgement : m_judgements) {
      const FailureRecord& record = *judgement.record;
      if (listed >= m_in.max_listed || record.detail < 0) {
        ++m_result.findings_omitted;
        continue;
      }
      ++listed;
      const FailureDetail& detail = m_tally.details()[static_cast<std::size_t>(record.detail)];
      core::Finding finding;
      finding.severity = judgement.counts() ? core::Finding::Severity::error : core::Finding::Severity::notice;
      std::string tag = judgement.quarantine ? " (quarantined)" : judgement.known ? " (known, in baseline)" : "";
      finding.title = "[" + std::string(to_string(record.level)) + "] " + std::string(report::to_string(record.outcome)) +
                      ": " + record.id + tag;
      finding.message = detail.message;
      finding.file = detail.file;
      finding.line = detail.line;
      m_result.findings.push_back(std::move(finding));
    }
    for (const auto& record : m_tally.failures()) {
      if (record.outcome != Outcome::flaky || record.detail < 0) continue;
      if (m_result.findings.size() >= m_in.max_listed + 20) break;
      const FailureDetail& detail = m_tally.details()[static_cast<std::size_t>(record.detail)];
      m_result.findings.push_back({core::Finding::Severity::warning, "flaky: " + record.id, detail.message,
                                   detail.file, detail.line});
    }
    for (const auto& error : m_tally.suite_errors())
      m_result.warnings.push_back("suite error: " + (error.location.empty() ? "" : error.location + ": ") +
                                  error.message);
    for (const auto& warning : m_tally.warnings()) m_result.warnings.push_back(warning);
    if (m_tally.warning_count() > static_cast<long>(m_tally.warnings().size()))
      m_result.warnings.push_back("... and " +
                                  std::to_string(m_tally.warning_count() - static_cast<long>(m_tally.warnings().size())) +
                                  " more warnings");
  }

  json failure_json(const Judgement& judgement) const {
    const FailureRecord& record = *judgement.record;
    json item = {{"id", record.id}, {"status", report::to_string(record.outcome)},
                 {"level", to_string(record.level)}, {"counted", judgement.counts()},
                 {"occurrences", record.occurrences}};
    if (judgement.quarantine)
      item["quarantine"] = {{"reason", judgement.quarantine->reason}, {"ticket", judgement.quarantine->ticket},
                            {"expires", judgement.quarantine->expires_text}};
    if (m_in.baseline) item["new"] = !judgement.known;
    if (record.detail < 0) return item;
    const FailureDetail& detail = m_tally.details()[static_cast<std::size_t>(record.detail)];
    item["name"] = detail.name;
    item["classname"] = detail.classname;
    item["suite"] = detail.suite;
    item["file"] = detail.file;
    item["line"] = detail.line;
    item["message"] = detail.message;
    item["details"] = detail.details;
    item["level_source"] = detail.level_source;
    if (!detail.output.empty()) item["output"] = detail.output;
    return item;
  }

  void fill_details() {
    const auto& totals = m_tally.totals();
    json& details = m_result.details;
    details["policy"] = {{"max_failures", {{"A", m_policy.max_failures[0]}, {"B", m_policy.max_failures[1]},
                                           {"C", m_policy.max_failures[2]}}},
                         {"min_tests", m_policy.min_tests},
                         {"flaky", to_string(m_policy.flaky)},
                         {"default_level", to_string(m_policy.default_level)}};
    if (m_policy.min_pass_rate) details["policy"]["min_pass_rate"] = *m_policy.min_pass_rate;
    if (m_policy.max_skipped_ratio) details["policy"]["max_skipped_ratio"] = *m_policy.max_skipped_ratio;
    details["totals"] = {{"tests", totals.tests},     {"passed", totals.passed},   {"failed", totals.failed},
                         {"errors", totals.errors},   {"skipped", totals.skipped}, {"flaky", totals.flaky}};
    details["by_level"] = json::object();
    for (Level level : k_levels) details["by_level"][std::string(to_string(level))] = m_counted[static_cast<int>(level)];
    details["suite_errors"] = json::array();
    for (const auto& error : m_tally.suite_errors())
      details["suite_errors"].push_back({{"suite", error.suite}, {"message", error.message}, {"location", error.location}});
    json failures = json::array();
    json failing_ids = json::array();
    std::size_t listed = 0;
    for (const auto& judgement : m_judgements) {
      failing_ids.push_back(judgement.record->id);
      if (listed++ < m_in.max_listed) failures.push_back(failure_json(judgement));
    }
    details["failures"] = std::move(failures);
    details["failures_total"] = m_judgements.size();
    details["failing_ids"] = std::move(failing_ids);
    json flaky = json::array();
    for (const auto& record : m_tally.failures())
      if (record.outcome == Outcome::flaky) flaky.push_back(record.id);
    details["flaky"] = std::move(flaky);
    if (m_in.baseline) details["fixed"] = m_fixed;
    details["duplicates"] = m_tally.duplicates();
    json files = json::array();
    for (const auto& file : m_in.files) {
      json item = {{"path", file.path}, {"format", file.format}, {"tests", file.tests}};
      if (!file.error.empty()) item["error"] = file.error;
      files.push_back(std::move(item));
    }
    details["reports"] = std::move(files);
    fill_outputs(totals);
  }

  void fill_outputs(const Totals& totals) {
    m_result.outputs = {{"verdict", std::string(core::to_string(m_result.verdict))},
                        {"exit_code", std::to_string(core::to_int(m_result.exit_code))},
                        {"tests", std::to_string(totals.tests)},
                        {"passed", std::to_string(totals.passed)},
                        {"failed", std::to_string(totals.failed)},
                        {"errors", std::to_string(totals.errors)},
                        {"skipped", std::to_string(totals.skipped)},
                        {"flaky", std::to_string(totals.flaky)},
                        {"failures_a", std::to_string(m_counted[0])},
                        {"failures_b", std::to_string(m_counted[1])},
                        {"failures_c", std::to_string(m_counted[2])}};
    m_result.summary_lines.push_back(
        "tests " + std::to_string(totals.tests) + "  passed " + std::to_string(totals.passed) + "  failed " +
        std::to_string(totals.failed) + "  errors " + std::to_string(totals.errors) + "  skipped " +
        std::to_string(totals.skipped) + "  flaky " + std::to_string(totals.flaky));
    m_result.summary_lines.push_back("counted failures by level: A " + std::to_string(m_counted[0]) + "  B " +
                                     std::to_string(m_counted[1]) + "  C " + std::to_string(m_counted[2]));
    m_result.summary_lines.push_back("reports: " + std::to_string(m_in.files.size()) + " file(s)");
  }

  static std::string join(const std::vector<std::string>& items, std::size_t max) {
    std::string out;
    for (std::size_t i = 0; i < items.size() && i < max; ++i) out += (i ? ", " : "") + items[i];
    if (items.size() > max) out += " and " + std::to_string(items.size() - max) + " more";
    return out;
  }

  const GateInput& m_in;
  const Policy& m_policy;
  const Tally& m_tally;
  core::StepResult m_result;
  std::vector<Judgement> m_judgements;
  std::array<long, 3> m_counted{};
  std::vector<std::string> m_fixed;
};

} // namespace

core::StepResult evaluate(const GateInput& input) { return Evaluator(input).run(); }

} // namespace gate
