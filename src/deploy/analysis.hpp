#pragma once
// Metric analysis (docs/analysis.md): after a batch is verified, each query
// of the plan's `analysis:` is sampled `count` times, `interval` apart, from
// Prometheus; each sample is judged against its threshold (and against the
// previous version's value when the query has a baseline), and the samples
// make one decision: passed, failed or inconclusive. No data never passes.
//
// Plain data and plain functions: the engine (action_runner.cpp) gives a
// MetricSource and a clock, and turns the outcome into its result.
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ci/context.hpp"
#include "core/error.hpp"
#include "core/step_result.hpp"
#include "deploy/plan.hpp"
#include "deploy/prometheus.hpp"

namespace deploy {

using SystemClock = std::chrono::system_clock;

// Errors in a row after which a query's analysis fails: a Prometheus that
// cannot be asked never lets a release through.
constexpr int k_max_errors_in_row = 3;

enum class SampleVerdict { passed, failed, inconclusive, error };
std::string_view to_string(SampleVerdict verdict);

struct AnalysisSample {
  SystemClock::time_point at;
  std::optional<double> value;    // the canary's
  std::optional<double> baseline; // the previous version's, when the query has a baseline
  SampleVerdict verdict = SampleVerdict::error;
  std::string note; // the comparison made, or why there is no verdict
};

struct QueryRecord {
  std::string name;
  std::string query;     // as sent, variables replaced
  std::string threshold; // "below 0.01", "below 0.3, at most 1.5 × the baseline"
  std::vector<AnalysisSample> samples;
  std::string invalid; // why the query itself is wrong (then the analysis failed at once)
  int count(SampleVerdict verdict) const;
  int errors_in_row() const; // at the end of the samples
};

enum class Decision { passed, failed, inconclusive };
std::string_view to_string(Decision decision);

struct AnalysisOutcome {
  Decision decision = Decision::inconclusive;
  std::string reason;  // one line: which query decided, and with which values
  std::string stopped; // non-empty: the run had to stop (interrupted, deadline, lost lock) before a decision
  std::vector<QueryRecord> queries;
};

// "below 0.01" / "above 5", plus the baseline's ratio when there is one.
std::string threshold_text(const AnalysisQuerySpec& spec);

// One sample of a query: the canary's answer, and the baseline's when the
// query compares with the previous version (nullopt: no baseline asked).
AnalysisSample judge_sample(const AnalysisQuerySpec& spec, const MetricAnswer& canary,
                            const std::optional<MetricAnswer>& baseline);

// The failure that decides the analysis before all samples are taken (a
// query rejected by Prometheus, more failed samples than failure_limit,
// k_max_errors_in_row errors in a row), or nothing yet.
std::optional<std::string> early_failure(const AnalysisSpec& spec, const std::vector<QueryRecord>& queries);
// The decision once the samples are taken: failed (as early_failure), else
// inconclusive when a query has no passed sample or more samples without a
// verdict (no data, errors) than passed ones, else passed. `reason` says why.
Decision decide(const AnalysisSpec& spec, const std::vector<QueryRecord>& queries, std::string& reason);

struct AnalysisClock {
  std::function<SystemClock::time_point()> now;
  // Waits this long; returns why the run must stop instead, or empty.
  std::function<std::string(std::chrono::milliseconds)> wait;
};

// Takes the samples (round after round, every query at the same time) and
// decides; stops early on an early_failure or when `clock.wait` says so.
AnalysisOutcome run_analysis(const AnalysisSpec& spec, MetricSource& source, const AnalysisClock& clock);

// The server's URL: the plan's, or the value of prometheus_env. A missing
// variable or a URL that is not http(s) is an invalid_input error that
// never shows the URL itself.
core::Result<std::string> prometheus_url(const AnalysisSpec& spec, const ci::Environment& env);
// How long one query may take: the interval, within 2 to 10 s.
std::chrono::milliseconds query_timeout(const AnalysisSpec& spec);

// ---- into the step's result

// {"service","batch","decision","reason","queries":[{"name","query","threshold","samples":[{"at","value","baseline","verdict","note"}]}]}
nlohmann::json analysis_json(const std::string& service, int batch, const AnalysisOutcome& outcome);
// Each sample on a line: time, value (and baseline), verdict, note.
std::string samples_transcript(const QueryRecord& record);
// The analyses as a notification's template data (docs/analysis.md): each
// query also gets `values`, its samples in one line ("0.5026, no data,
// 0.021 (baseline 0.019)") for templates that cannot join a list.
nlohmann::json notification_analysis(const nlohmann::json& analyses);
// One check per query. `label`: "app, batch 1/2" or "app"; `resumed_by`:
// set when an inconclusive analysis was let through by deploy-stage --resume.
std::vector<core::Check> query_checks(const std::string& id_prefix, const std::string& label, const AnalysisSpec& spec,
                                      const AnalysisOutcome& outcome, const std::optional<std::string>& resumed_by);
// A number as the analysis shows it: "0.0123", "1.5e+06", "+Inf".
std::string format_value(double value);

} // namespace deploy
