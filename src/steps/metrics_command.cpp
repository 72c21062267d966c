// shipgate metrics --plan FILE --env NAME [--since 30d] [--format text|prometheus]
// [--prometheus FILE]: the delivery figures of docs/metrics.md.
#include "steps/metrics_command.hpp"

#include "core/text.hpp"
#include "deploy/environment_history.hpp"
#include "metrics/dora.hpp"
#include "metrics/exposition.hpp"
#include "steps/target_options.hpp"

namespace steps {
namespace {

using core::ErrorKind;

std::string optional_text(const std::optional<double>& value) {
  return value ? metrics::format_value(*value) : std::string();
}

std::vector<std::pair<std::string, std::string>> outputs_of(const metrics::DoraFigures& figures) {
  return {{"deployments", std::to_string(figures.deploys)},
          {"successful_deployments", std::to_string(figures.successful)},
          {"deployment_frequency_per_day", metrics::format_value(figures.per_day())},
          {"change_failure_rate", optional_text(figures.change_failure_rate())},
          {"failed_changes", std::to_string(figures.failed_changes.size())},
          {"lead_time_median_seconds", optional_text(metrics::quantile(figures.lead_times, 0.5))},
          {"lead_time_p90_seconds", optional_text(metrics::quantile(figures.lead_times, 0.9))},
          {"time_to_restore_median_seconds", optional_text(metrics::quantile(figures.restore_times, 0.5))},
          {"time_to_restore_p90_seconds", optional_text(metrics::quantile(figures.restore_times, 0.9))}};
}

std::string markdown_of(const metrics::DoraFigures& figures) {
  std::string text = "## Delivery figures of " + core::markdown_escape(figures.environment) + "\n\n```\n";
  return text + metrics::summary_text(figures) + "```\n";
}

class MetricsStep final : public Step {
public:
  std::string name() const override { return "metrics"; }
  std::string summary() const override {
    return "Delivery figures of an environment from its ledger: deploy frequency, lead time, change failure rate, "
           "time to restore";
  }
  void register_options(OptionSink& sink) override {
    m_target.register_options(sink, false);
    sink.value("--since", m_since, "Window ending now: 30d (default), 12h, 2w, 90m");
    sink.value("--format", m_format, "Terminal output: text (default) or prometheus (the text exposition format)");
    sink.value("--prometheus", m_prometheus_file, "Also write the figures in the Prometheus text format to FILE");
  }
  core::Result<core::StepResult> run(const RunContext& context) override {
    auto target = m_target.read(context);
    if (!target) return target.error();
    const auto window = metrics::parse_window(m_since);
    if (!window)
      return core::make_error(ErrorKind::usage,
                              "--since expects a duration with a unit m, h, d or w (such as 30d or 12h), "
                              "at most ten years, got '" +
                                  m_since + "'");
    if (m_format != "text" && m_format != "prometheus")
      return core::make_error(ErrorKind::usage, "--format is text or prometheus, got '" + m_format + "'");
    auto history = deploy::read_environment_history(
        *target, {context.ci, context.env, context.output, context.now, context.quiet});
    if (!history) return history.error();
    const metrics::DoraFigures figures =
        metrics::compute_dora(history->entries, target->environment, context.now, *window);
    const std::string exposition = metrics::render(metrics::to_families(figures));
    if (!m_prometheus_file.empty())
      if (auto written = write_file(m_prometheus_file, exposition, context.output); !written) return written.error();
    return result_of(figures, exposition, history->warnings, context);
  }

private:
  static core::Status write_file(const std::string& path, const std::string& text, io::Output& output) {
    auto sink = output.open_file(path);
    if (!sink) return sink.error();
    (*sink)->write(text);
    return (*sink)->close();
  }

  core::StepResult result_of(const metrics::DoraFigures& figures, const std::string& exposition,
                             std::vector<std::string> warnings, const RunContext& context) const {
    core::StepResult result;
    result.step = "metrics";
    result.headline = metrics::headline(figures);
    result.details = metrics::to_json(figures);
    result.outputs = outputs_of(figures);
    result.markdown_view = markdown_of(figures);
    warnings.insert(warnings.end(), figures.warnings.begin(), figures.warnings.end());
    // Also in the JSON with --format prometheus, where the terminal's
    // warnings (and so the JSON's `warnings`) are left empty.
    result.details["ledger_warnings"] = warnings;
    if (m_format == "prometheus") {
      // stdout stays pure exposition text (for a pipe into promtool or a
      // file): the warnings go to stderr.
      result.text_view = exposition;
      for (const auto& warning : warnings)
        context.output.err("shipgate: warning: " + warning + "\n");
    } else {
      result.text_view = metrics::summary_text(figures);
      result.warnings = warnings;
    }
    return result;
  }

  TargetFlags m_target;
  std::string m_since = "30d", m_format = "text", m_prometheus_file;
};

} // namespace

std::unique_ptr<Step> make_metrics() {
  return std::make_unique<MetricsStep>();
}

} // namespace steps
