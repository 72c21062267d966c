#include "deploy/analysis.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/text.hpp"
#include "core/time.hpp"
#include "deploy/plan_analysis.hpp"

namespace deploy {
namespace {

using Kind = MetricAnswer::Kind;

constexpr std::size_t k_values_listed = 5; // in a reason: enough to see the trend, short enough to read

AnalysisSample no_verdict(const MetricAnswer& answer, const std::string& whose) {
  AnalysisSample sample;
  sample.verdict = answer.kind == Kind::no_data ? SampleVerdict::inconclusive : SampleVerdict::error;
  sample.note = whose + answer.message;
  return sample;
}

bool meets_threshold(const AnalysisQuerySpec& spec, double value) {
  return spec.below ? value < *spec.below : value > *spec.above;
}

std::string values_of(const QueryRecord& record, SampleVerdict verdict) {
  std::string out;
  std::size_t listed = 0, more = 0;
  for (const auto& sample : record.samples) {
    if (sample.verdict != verdict || !sample.value) continue;
    if (listed++ >= k_values_listed) {
      ++more;
      continue;
    }
    out += (out.empty() ? "" : ", ") + format_value(*sample.value);
    if (sample.baseline) out += " (baseline " + format_value(*sample.baseline) + ")";
  }
  if (more) out += " and " + std::to_string(more) + " more";
  return out;
}

std::string last_note(const QueryRecord& record, SampleVerdict verdict) {
  for (auto it = record.samples.rbegin(); it != record.samples.rend(); ++it)
    if (it->verdict == verdict) return it->note;
  return {};
}

std::string of_samples(int count, std::size_t total) {
  return std::to_string(count) + " of " + std::to_string(total) + " sample" + (total == 1 ? "" : "s");
}

std::string failed_reason(const AnalysisSpec& spec, const QueryRecord& record) {
  const int failed = record.count(SampleVerdict::failed);
  return record.name + " failed " + of_samples(failed, record.samples.size()) + " (failure_limit " +
         std::to_string(spec.failure_limit) + "): " + values_of(record, SampleVerdict::failed) + "; must be " +
         record.threshold;
}

std::string inconclusive_reason(const QueryRecord& record) {
  const int passed = record.count(SampleVerdict::passed);
  const std::size_t without = record.samples.size() - static_cast<std::size_t>(passed) -
                              static_cast<std::size_t>(record.count(SampleVerdict::failed));
  std::string why = last_note(record, SampleVerdict::inconclusive);
  if (why.empty()) why = last_note(record, SampleVerdict::error);
  return record.name + " had no data in " + of_samples(static_cast<int>(without), record.samples.size()) +
         (passed ? " (" + std::to_string(passed) + " passed)" : std::string()) + (why.empty() ? "" : ": " + why);
}

MetricAnswer ask(MetricSource& source, const std::string& query, SystemClock::time_point at) {
  return source.query(query, at);
}

std::string pad_verdict(SampleVerdict verdict) {
  std::string text(to_string(verdict));
  return text + std::string(text.size() < 12 ? 12 - text.size() : 0, ' ');
}

// What makes this query fail the analysis, or nothing.
std::optional<std::string> query_failure(const AnalysisSpec& spec, const QueryRecord& record) {
  if (!record.invalid.empty()) return record.name + ": " + record.invalid;
  if (record.count(SampleVerdict::failed) > spec.failure_limit) return failed_reason(spec, record);
  if (record.errors_in_row() >= k_max_errors_in_row)
    return record.name + ": no answer " + std::to_string(k_max_errors_in_row) + " times in a row (" +
           last_note(record, SampleVerdict::error) + "); without data the release cannot be judged";
  return std::nullopt;
}

bool without_verdict(const QueryRecord& record) {
  const int passed = record.count(SampleVerdict::passed);
  return passed == 0 || record.count(SampleVerdict::inconclusive) + record.count(SampleVerdict::error) > passed;
}

core::Check query_check(const AnalysisSpec& spec, const AnalysisOutcome& outcome, const QueryRecord& record,
                        const std::optional<std::string>& resumed_by) {
  core::Check check;
  check.limit = record.threshold;
  check.transcript = samples_transcript(record);
  check.actual = values_of(record, SampleVerdict::passed);
  const auto failure = query_failure(spec, record);
  const int passed = record.count(SampleVerdict::passed);
  const std::string tally = std::to_string(passed) + "/" + std::to_string(record.samples.size()) + " samples passed";
  if (failure) {
    check.status = core::CheckStatus::fail;
    check.explanation = *failure;
    check.actual = values_of(record, SampleVerdict::failed);
  } else if (!outcome.stopped.empty()) {
    check.status = core::CheckStatus::inconclusive;
    check.explanation = tally + " before the run stopped: " + outcome.stopped;
  } else if (outcome.decision == Decision::failed) {
    check.status = without_verdict(record) ? core::CheckStatus::inconclusive : core::CheckStatus::pass;
    check.explanation = tally + " when the analysis failed: " + outcome.reason;
  } else if (without_verdict(record)) {
    check.status = resumed_by ? core::CheckStatus::warn : core::CheckStatus::inconclusive;
    check.explanation =
        "inconclusive: " + inconclusive_reason(record) +
        (resumed_by ? "; let through by " + *resumed_by + " with deploy-stage --resume" : "; no data is never a pass");
  } else {
    check.status = core::CheckStatus::pass;
    check.explanation = tally + " (" + record.threshold + "): " + check.actual;
  }
  return check;
}

} // namespace

std::string_view to_string(SampleVerdict verdict) {
  switch (verdict) {
  case SampleVerdict::passed:
    return "passed";
  case SampleVerdict::failed:
    return "failed";
  case SampleVerdict::inconclusive:
    return "inconclusive";
  case SampleVerdict::error:
    return "error";
  }
  return "?";
}

std::string_view to_string(Decision decision) {
  switch (decision) {
  case Decision::passed:
    return "passed";
  case Decision::failed:
    return "failed";
  case Decision::inconclusive:
    return "inconclusive";
  }
  return "?";
}

int QueryRecord::count(SampleVerdict verdict) const {
  return static_cast<int>(std::count_if(samples.begin(), samples.end(),
                                        [&](const AnalysisSample& sample) { return sample.verdict == verdict; }));
}

int QueryRecord::errors_in_row() const {
  int row = 0;
  for (auto it = samples.rbegin(); it != samples.rend() && it->verdict == SampleVerdict::error; ++it)
    ++row;
  return row;
}

std::string format_value(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char text[32];
  std::snprintf(text, sizeof text, "%.4g", value);
  return text;
}

std::string threshold_text(const AnalysisQuerySpec& spec) {
  std::string out = spec.below ? "below " + format_value(*spec.below) : "above " + format_value(*spec.above);
  if (spec.has_baseline) out += ", at most " + format_value(spec.max_ratio) + " × the baseline";
  return out;
}

AnalysisSample judge_sample(const AnalysisQuerySpec& spec, const MetricAnswer& canary,
                            const std::optional<MetricAnswer>& baseline) {
  if (canary.kind != Kind::value) return no_verdict(canary, "");
  AnalysisSample sample;
  sample.value = canary.value;
  if (baseline && baseline->kind == Kind::value) sample.baseline = baseline->value;
  if (!meets_threshold(spec, canary.value)) {
    sample.verdict = SampleVerdict::failed;
    sample.note = format_value(canary.value) + " is not " +
                  (spec.below ? "below " + format_value(*spec.below) : "above " + format_value(*spec.above));
    return sample;
  }
  if (!baseline) {
    sample.verdict = SampleVerdict::passed;
    sample.note = format_value(canary.value) + " is " + threshold_text(spec);
    return sample;
  }
  if (baseline->kind != Kind::value) {
    AnalysisSample without = no_verdict(*baseline, "baseline: ");
    without.value = canary.value;
    return without;
  }
  const double limit = spec.max_ratio * baseline->value;
  sample.verdict = canary.value <= limit ? SampleVerdict::passed : SampleVerdict::failed;
  sample.note = format_value(canary.value) + (canary.value <= limit ? " is at most " : " is more than ") +
                format_value(spec.max_ratio) + " × the baseline " + format_value(baseline->value) + " (" +
                format_value(limit) + ")";
  return sample;
}

std::optional<std::string> early_failure(const AnalysisSpec& spec, const std::vector<QueryRecord>& queries) {
  for (const auto& record : queries)
    if (auto failure = query_failure(spec, record)) return failure;
  return std::nullopt;
}

Decision decide(const AnalysisSpec& spec, const std::vector<QueryRecord>& queries, std::string& reason) {
  if (auto failure = early_failure(spec, queries)) {
    reason = *failure;
    return Decision::failed;
  }
  for (const auto& record : queries)
    if (without_verdict(record)) {
      reason = inconclusive_reason(record);
      return Decision::inconclusive;
    }
  reason.clear();
  for (const auto& record : queries)
    reason += (reason.empty() ? "" : ", ") + record.name + " " + std::to_string(record.count(SampleVerdict::passed)) +
              "/" + std::to_string(record.samples.size()) + " passed";
  return Decision::passed;
}

AnalysisOutcome run_analysis(const AnalysisSpec& spec, MetricSource& source, const AnalysisClock& clock) {
  AnalysisOutcome outcome;
  for (const auto& query : spec.queries)
    outcome.queries.push_back({query.name, query.query, threshold_text(query), {}, {}});
  for (int round = 0; round < spec.count; ++round) {
    if (round > 0) {
      outcome.stopped = clock.wait(spec.interval);
      if (!outcome.stopped.empty()) return outcome;
    }
    const SystemClock::time_point at = clock.now();
    for (std::size_t i = 0; i < spec.queries.size(); ++i) {
      const AnalysisQuerySpec& query = spec.queries[i];
      QueryRecord& record = outcome.queries[i];
      const MetricAnswer canary = ask(source, query.query, at);
      std::optional<MetricAnswer> baseline;
      // Without an earlier version (a first deploy) there is nothing to compare with.
      if (query.has_baseline && !query.baseline_query.empty() && canary.kind == Kind::value)
        baseline = ask(source, query.baseline_query, at);
      AnalysisSample sample = judge_sample(query, canary, baseline);
      sample.at = at;
      if (canary.kind == Kind::invalid)
        record.invalid = canary.message;
      else if (baseline && baseline->kind == Kind::invalid)
        record.invalid = "baseline: " + baseline->message;
      record.samples.push_back(std::move(sample));
    }
    if (auto failure = early_failure(spec, outcome.queries)) {
      outcome.decision = Decision::failed;
      outcome.reason = *failure;
      return outcome;
    }
  }
  outcome.decision = decide(spec, outcome.queries, outcome.reason);
  return outcome;
}

core::Result<std::string> prometheus_url(const AnalysisSpec& spec, const ci::Environment& env) {
  std::string url = spec.prometheus;
  if (!spec.prometheus_env.empty()) {
    const auto value = env.get(spec.prometheus_env);
    if (!value || core::trim(*value).empty())
      return core::make_error(core::ErrorKind::invalid_input,
                              "analysis.prometheus_env names " + spec.prometheus_env +
                                  ", which is not set; set it to the Prometheus server's URL, such as "
                                  "http://127.0.0.1:9090",
                              spec.location);
    url = core::trim(*value);
  }
  const std::string problem = prometheus_url_problem(url);
  if (!problem.empty())
    return core::make_error(core::ErrorKind::invalid_input,
                            (spec.prometheus_env.empty() ? "analysis.prometheus: " : "$" + spec.prometheus_env + ": ") +
                                problem,
                            spec.location);
  return url;
}

std::chrono::milliseconds query_timeout(const AnalysisSpec& spec) {
  return std::clamp<std::chrono::milliseconds>(spec.interval, std::chrono::seconds(2), std::chrono::seconds(10));
}

nlohmann::json analysis_json(const std::string& service, int batch, const AnalysisOutcome& outcome) {
  nlohmann::json queries = nlohmann::json::array();
  for (const auto& record : outcome.queries) {
    nlohmann::json samples = nlohmann::json::array();
    for (const auto& sample : record.samples)
      samples.push_back({{"at", core::format_rfc3339(sample.at)},
                         {"value", sample.value ? nlohmann::json(*sample.value) : nlohmann::json(nullptr)},
                         {"baseline", sample.baseline ? nlohmann::json(*sample.baseline) : nlohmann::json(nullptr)},
                         {"verdict", std::string(to_string(sample.verdict))},
                         {"note", sample.note}});
    queries.push_back(
        {{"name", record.name}, {"query", record.query}, {"threshold", record.threshold}, {"samples", samples}});
  }
  const std::string decision = outcome.stopped.empty() ? std::string(to_string(outcome.decision)) : "stopped";
  return {{"service", service},
          {"batch", batch},
          {"decision", decision},
          {"reason", outcome.stopped.empty() ? outcome.reason : outcome.stopped},
          {"queries", queries}};
}

nlohmann::json notification_analysis(const nlohmann::json& analyses) {
  nlohmann::json out = nlohmann::json::array();
  if (!analyses.is_array()) return out;
  const auto number = [](const nlohmann::json& value) {
    return value.is_number() ? format_value(value.get<double>()) : std::string("no data");
  };
  for (auto analysis : analyses) {
    if (!analysis.is_object()) continue;
    if (analysis.contains("queries") && analysis["queries"].is_array()) {
      for (auto& query : analysis["queries"]) {
        if (!query.is_object()) continue;
        std::string values;
        for (const auto& sample : query.value("samples", nlohmann::json::array())) {
          if (!sample.is_object()) continue;
          if (!values.empty()) values += ", ";
          values += number(sample.value("value", nlohmann::json()));
          if (sample.contains("baseline") && !sample["baseline"].is_null())
            values += " (baseline " + number(sample["baseline"]) + ")";
        }
        query["values"] = values.empty() ? "no sample" : values;
      }
    }
    out.push_back(std::move(analysis));
  }
  return out;
}

std::string samples_transcript(const QueryRecord& record) {
  std::string out = "query: " + record.query + "\nmust be: " + record.threshold + "\n";
  for (const auto& sample : record.samples)
    out += core::format_rfc3339(sample.at) + "  " + pad_verdict(sample.verdict) + "  " + sample.note + "\n";
  return out;
}

std::vector<core::Check> query_checks(const std::string& id_prefix, const std::string& label, const AnalysisSpec& spec,
                                      const AnalysisOutcome& outcome, const std::optional<std::string>& resumed_by) {
  std::vector<core::Check> out;
  for (const auto& record : outcome.queries) {
    core::Check check = query_check(spec, outcome, record, resumed_by);
    check.id = id_prefix + "/" + record.name;
    check.title = "analysis " + record.name + " " + record.threshold + " (" + label + ")";
    out.push_back(std::move(check));
  }
  return out;
}

} // namespace deploy
