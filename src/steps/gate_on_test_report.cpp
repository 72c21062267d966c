#include "steps/gate_on_test_report.hpp"
#include "steps/notify_flags.hpp"

#include <filesystem>
#include <set>

#include "core/interrupt.hpp"
#include "core/text.hpp"
#include "gate/baseline.hpp"
#include "gate/evaluate.hpp"
#include "gate/merged_junit.hpp"
#include "gate/tally.hpp"
#include "io/glob.hpp"
#include "report/detect.hpp"

namespace steps {
namespace {

using core::ErrorKind;

core::Error usage(std::string message) { return core::make_error(ErrorKind::usage, std::move(message)); }

std::optional<long> parse_whole(const std::string& text) {
  char* end = nullptr;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || value < 0) return std::nullopt;
  return value;
}

core::Status apply_max_failures(const std::vector<std::string>& items, gate::Policy& policy) {
  for (const auto& item : items) {
    const auto equals = item.find('=');
    const auto level = gate::parse_level(item.substr(0, equals));
    const auto count = equals == std::string::npos ? std::nullopt : parse_whole(item.substr(equals + 1));
    if (!level || !count) return usage("--max-failures expects LEVEL=COUNT such as C=3, got '" + item + "'");
    policy.max_failures[static_cast<int>(*level)] = *count;
  }
  return core::ok_status();
}

core::Status apply_flags(const GateOptions& options, gate::Policy& policy) {
  if (auto status = apply_max_failures(options.max_failures, policy); !status) return status;
  if (!options.min_pass_rate.empty()) {
    policy.min_pass_rate = gate::parse_percent(options.min_pass_rate);
    if (!policy.min_pass_rate) return usage("--min-pass-rate expects a percentage such as 95% or 0.95");
  }
  if (!options.max_skipped_ratio.empty()) {
    policy.max_skipped_ratio = gate::parse_percent(options.max_skipped_ratio);
    if (!policy.max_skipped_ratio) return usage("--max-skipped-ratio expects a percentage such as 10% or 0.1");
  }
  if (!options.min_tests.empty()) {
    const auto value = parse_whole(options.min_tests);
    if (!value) return usage("--min-tests expects a whole number, got '" + options.min_tests + "'");
    policy.min_tests = *value;
  }
  if (!options.flaky.empty()) {
    const auto mode = gate::parse_flaky_mode(options.flaky);
    if (!mode) return usage("--flaky must be pass, warn or fail, got '" + options.flaky + "'");
    policy.flaky = *mode;
  }
  if (!options.default_severity.empty()) {
    const auto level = gate::parse_level(options.default_severity);
    if (!level) return usage("--default-severity must be A, B or C, got '" + options.default_severity + "'");
    policy.default_level = *level;
  }
  if (!options.severity_property.empty()) policy.severity_property = options.severity_property;
  for (const auto& suite : options.required_suites) policy.required_suites.push_back(suite);
  return core::ok_status();
}

struct Inputs {
  std::vector<std::string> files;
  std::vector<std::string> unmatched;
  std::vector<std::string> stale;
};

Inputs find_reports(const GateOptions& options, const std::optional<core::SystemTime>& not_before) {
  Inputs inputs;
  std::set<std::string> seen;
  for (const auto& pattern : options.reports) {
    const auto matches = io::expand_glob(pattern);
    if (matches.empty()) inputs.unmatched.push_back(pattern);
    for (const auto& path : matches) {
      if (!seen.insert(std::filesystem::weakly_canonical(path).string()).second) continue;
      if (not_before) {
        std::error_code error;
        const auto written = std::filesystem::last_write_time(path, error);
        const auto as_system = std::chrono::file_clock::to_sys(written);
        if (!error && as_system < *not_before) {
          inputs.stale.push_back(path);
          continue;
        }
      }
      inputs.files.push_back(path);
    }
  }
  return inputs;
}

class GateStep final : public Step {
public:
  std::string name() const override { return "gate-on-test-report"; }
  std::string summary() const override {
    return "Read test reports, classify failures A/B/C and apply the release criterion";
  }

  void register_options(OptionSink& sink) override;
  core::Result<core::StepResult> run(const RunContext& context) override;

private:
  struct Settings {
    gate::Policy policy;
    std::optional<core::SystemTime> not_before;
    std::optional<gate::Baseline> baseline;
    std::size_t max_listed = 50;
    gate::MergeLimits merge;
  };
  core::Result<Settings> validate() const;
  void read_all(const Inputs& inputs, gate::Tally& tally, std::vector<gate::ReportFile>& files) const;
  void write_merged(const Settings& settings, const gate::Tally& tally, const std::vector<gate::ReportFile>& files,
                    const RunContext& context, core::StepResult& result) const;

  GateOptions m_options;
  NotifyFlags m_notify;
};

void GateStep::register_options(OptionSink& sink) {
  auto& o = m_options;
  sink.values("-r,--report", o.reports,
              "Test report file or glob (** allowed); repeatable. JUnit XML, TAP and CTRF JSON, detected per file",
              true);
  sink.value("-p,--policy", o.policy_path, "Policy YAML file (docs/policy.md); flags override its settings");
  sink.values("--max-failures", o.max_failures, "Maximum failing tests per level, LEVEL=COUNT, e.g. C=3 (default A=0,B=0,C=0)");
  sink.value("--min-pass-rate", o.min_pass_rate, "Minimum pass rate of executed tests, e.g. 95% or 0.95");
  sink.value("--min-tests", o.min_tests, "Minimum number of tests (default 1; zero tests is never a pass)");
  sink.value("--max-skipped-ratio", o.max_skipped_ratio, "Maximum share of skipped tests, e.g. 10%");
  sink.value("--flaky", o.flaky, "How flaky tests (failed, then passed on a rerun) count: pass, warn (default) or fail");
  sink.values("--require-suite", o.required_suites, "A suite (name or glob) that must be present; repeatable");
  sink.value("--default-severity", o.default_severity, "Level of failing tests no rule classifies: A, B (default) or C");
  sink.value("--severity-property", o.severity_property, "Testcase property holding the level (default: severity)");
  sink.value("--baseline", o.baseline_path, "JSON result of an earlier run: gate only on new failures and list the fixed ones");
  sink.value("--not-before", o.not_before, "Ignore report files last written before TIME (RFC 3339, YYYY-MM-DD or @EPOCH)");
  sink.value("--merged-junit", o.merged_junit, "Write one normalized, de-duplicated JUnit report of all inputs to FILE");
  sink.value("--merged-max-cases", o.merged_max_cases, "Test cases in --merged-junit at most (default 500000)");
  sink.value("--merged-max-bytes", o.merged_max_bytes, "Size of --merged-junit at most, in bytes (default 30000000)");
  sink.value("--max-listed", o.max_listed, "Failing tests listed with details in the outputs (default 50)");
  m_notify.register_options(sink);
}

core::Result<GateStep::Settings> GateStep::validate() const {
  Settings settings;
  auto policy = build_policy(m_options);
  if (!policy) return policy.error();
  settings.policy = std::move(policy.value());
  if (!m_options.not_before.empty()) {
    settings.not_before = core::parse_time(m_options.not_before);
    if (!settings.not_before)
      return usage("--not-before expects a time such as 2026-11-21T10:00:00Z, 2026-11-21 or @1795255200, got '" +
                   m_options.not_before + "'");
  }
  if (!m_options.baseline_path.empty()) {
    auto baseline = gate::load_baseline(m_options.baseline_path);
    if (!baseline) return baseline.error();
    settings.baseline = std::move(baseline.value());
  }
  const std::pair<const std::string*, std::size_t*> numbers[] = {
      {&m_options.max_listed, &settings.max_listed},
      {&m_options.merged_max_cases, &settings.merge.max_cases},
      {&m_options.merged_max_bytes, &settings.merge.max_bytes}};
  for (const auto& [text, target] : numbers) {
    if (text->empty()) continue;
    const auto value = parse_whole(*text);
    if (!value) return usage("expected a whole number, got '" + *text + "'");
    *target = static_cast<std::size_t>(*value);
  }
  return settings;
}

void GateStep::read_all(const Inputs& inputs, gate::Tally& tally, std::vector<gate::ReportFile>& files) const {
  for (const auto& path : inputs.files) {
    gate::ReportFile file{path, {}, 0, {}};
    tally.begin_file(path);
    tally.reset_file_count();
    const auto format = report::detect_format(path);
    if (!format) {
      file.error = format.error().describe();
    } else {
      file.format = std::string(report::to_string(*format));
      const auto status = report::read_report(path, *format, tally);
      if (!status) file.error = status.error().describe();
    }
    file.tests = tally.tests_in_current_file();
    files.push_back(std::move(file));
    if (core::interrupted()) return;
  }
}

void GateStep::write_merged(const Settings& settings, const gate::Tally& tally,
                            const std::vector<gate::ReportFile>& files, const RunContext& context,
                            core::StepResult& result) const {
  auto sink = context.output.open_file(m_options.merged_junit);
  core::Status status = core::ok_status();
  if (!sink) {
    status = sink.error();
  } else {
    gate::MergedJunitWriter writer(**sink, tally, settings.merge);
    for (const auto& file : files) {
      if (!file.error.empty()) continue;
      const auto format = report::detect_format(file.path);
      if (format) (void)report::read_report(file.path, *format, writer);
    }
    status = writer.finish();
    if (status) status = (*sink)->close();
    const auto& stats = writer.stats();
    if (stats.passing_dropped > 0)
      result.warnings.push_back("--merged-junit: " + std::to_string(stats.passing_dropped) +
                                " passing test cases left out to stay within the size limits");
    result.details["merged_junit"] = {{"path", m_options.merged_junit},
                                      {"cases", stats.cases_written},
                                      {"duplicates_dropped", stats.duplicates_dropped},
                                      {"passing_dropped", stats.passing_dropped}};
  }
  if (!status) {
    result.warnings.push_back("--merged-junit was not written: " + status.error().describe());
    if (result.exit_code == core::ExitCode::success) result.exit_code = core::ExitCode::runtime;
  }
}

core::Result<core::StepResult> GateStep::run(const RunContext& context) {
  auto settings = validate();
  if (!settings) return settings.error();
  const Inputs inputs = find_reports(m_options, settings->not_before);
  gate::Tally tally(settings->policy);
  if (settings->baseline) tally.watch(settings->baseline->failing_ids);
  std::vector<gate::ReportFile> files;
  read_all(inputs, tally, files);
  if (core::interrupted()) return core::make_error(ErrorKind::interrupted, "interrupted while reading the reports");
  gate::GateInput input;
  input.policy = &settings->policy;
  input.tally = &tally;
  input.files = std::move(files);
  input.unmatched_patterns = inputs.unmatched;
  input.stale_files = inputs.stale;
  input.baseline = settings->baseline;
  input.now = context.now;
  input.max_listed = settings->max_listed;
  core::StepResult result = gate::evaluate(input);
  if (!m_options.merged_junit.empty()) write_merged(*settings, tally, input.files, context, result);
  // docs/notify.md: the test report goes to the chain.
  if (auto sent = m_notify.send(context, "test-report", result); !sent) return sent.error();
  return result;
}

} // namespace

core::Result<gate::Policy> build_policy(const GateOptions& options) {
  gate::Policy policy;
  if (!options.policy_path.empty()) {
    auto loaded = gate::load_policy(options.policy_path);
    if (!loaded) return loaded.error();
    policy = std::move(loaded.value());
  }
  if (auto status = apply_flags(options, policy); !status) return status.error();
  return policy;
}

std::unique_ptr<Step> make_gate_on_test_report() { return std::make_unique<GateStep>(); }

} // namespace steps
