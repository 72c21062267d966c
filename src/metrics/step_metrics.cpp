#include "metrics/step_metrics.hpp"

#include "core/text.hpp"
#include "metrics/pushgateway.hpp"

namespace metrics {
namespace {

std::string output_value(const core::StepResult& result, const std::string& name) {
  for (const auto& [key, value] : result.outputs)
    if (key == name) return value;
  return {};
}

std::string detail_text(const core::StepResult& result, const char* key) {
  const auto it = result.details.find(key);
  return it != result.details.end() && it->is_string() ? it->get<std::string>() : std::string();
}

double unix_seconds(core::SystemTime time) {
  return std::chrono::duration<double>(time.time_since_epoch()).count();
}

// The release a deploy-stage or rollback left live (their `version`
// output), with what was live before, the outcome and the commit.
std::optional<Family> release_info(const core::StepResult& result, const Labels& base, const ci::CiContext& context) {
  const std::string version = output_value(result, "version");
  if (version.empty()) return std::nullopt;
  Labels labels = base;
  labels.emplace_back("version", version);
  const std::pair<const char*, std::string> optional[] = {
      {"previous_version", output_value(result, "previous_version")},
      {"outcome",
       output_value(result, "outcome").empty() ? detail_text(result, "outcome") : output_value(result, "outcome")},
      {"commit", context.commit}};
  for (const auto& [name, value] : optional)
    if (!value.empty()) labels.emplace_back(name, value);
  return Family{
      "shipgate_release_info", "The version a step worked on, as labels; always 1", "gauge", {{"", labels, 1}}};
}

Labels redacted(Labels labels, const io::Redactor& redactor) {
  for (auto& label : labels)
    label.second = redactor.redact(label.second);
  return labels;
}

void write_textfile(const std::string& path, const std::string& text, io::Output& output,
                    std::vector<core::Error>& errors) {
  auto sink = output.open_file(path);
  if (!sink) {
    errors.push_back(sink.error());
    return;
  }
  (*sink)->write(text);
  if (auto closed = (*sink)->close(); !closed) errors.push_back(closed.error());
}

} // namespace

std::optional<core::Error> check_options(const StepMetricsOptions& options) {
  if (!options.pushgateway_url.empty())
    if (const std::string problem = pushgateway_url_problem(options.pushgateway_url); !problem.empty())
      return core::make_error(core::ErrorKind::usage, "--pushgateway: " + problem);
  const std::string& file = options.textfile_path;
  if (!file.empty() && (file.size() < 6 || file.compare(file.size() - 5, 5, ".prom") != 0))
    return core::make_error(core::ErrorKind::usage,
                            "--metrics-textfile '" + file +
                                "' must end in .prom: node-exporter's textfile collector reads only *.prom files");
  return std::nullopt;
}

std::string step_environment(const core::StepResult& result, const ci::CiContext& context) {
  const std::string own = detail_text(result, "environment");
  return own.empty() ? context.environment : own;
}

std::vector<Family> step_families(const core::StepResult& result, int exit_code, const ci::CiContext& context) {
  const Labels labels = {{"step", result.step}, {"environment", step_environment(result, context)}};
  const bool timed = result.started_at.time_since_epoch().count() != 0 && result.finished_at >= result.started_at;
  std::vector<Family> out;
  out.push_back({"shipgate_step_success",
                 "1 when the step exited 0, else 0",
                 "gauge",
                 {{"", labels, exit_code == 0 ? 1.0 : 0.0}}});
  out.push_back({"shipgate_step_exit_code",
                 "The step's exit code (docs/exit-codes.md)",
                 "gauge",
                 {{"", labels, static_cast<double>(exit_code)}}});
  if (timed)
    out.push_back({"shipgate_step_duration_seconds",
                   "How long the step ran",
                   "gauge",
                   {{"", labels, std::chrono::duration<double>(result.finished_at - result.started_at).count()}}});
  out.push_back({"shipgate_step_last_run_timestamp_seconds",
                 "When the step ended, in Unix seconds",
                 "gauge",
                 {{"", labels, unix_seconds(timed ? result.finished_at : std::chrono::system_clock::now())}}});
  if (auto info = release_info(result, labels, context)) out.push_back(std::move(*info));
  return out;
}

std::vector<core::Error> publish_step_metrics(const core::StepResult& result, int exit_code,
                                              const ci::CiContext& context, const StepMetricsOptions& options,
                                              io::Output& output) {
  std::vector<core::Error> errors;
  if (!options.any()) return errors;
  for (const auto& secret : url_secrets(options.pushgateway_url))
    output.add_secret(secret);
  std::vector<Family> families = step_families(result, exit_code, context);
  for (auto& family : families)
    for (auto& sample : family.samples)
      sample.labels = redacted(sample.labels, output.redactor());
  const std::string text = output.redactor().redact(render(families));
  if (!options.textfile_path.empty()) write_textfile(options.textfile_path, text, output, errors);
  if (!options.pushgateway_url.empty()) {
    const Labels grouping = {{"job", "shipgate"},
                             {"step", output.redactor().redact(result.step)},
                             {"environment", output.redactor().redact(step_environment(result, context))}};
    if (auto pushed = push(options.pushgateway_url, grouping, text, options.timeout); !pushed)
      errors.push_back(pushed.error());
  }
  return errors;
}

} // namespace metrics
