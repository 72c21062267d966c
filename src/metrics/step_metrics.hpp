#pragma once
// The metrics of one step run (docs/metrics.md): pushed to a Prometheus
// Pushgateway (--pushgateway URL) and/or written for node-exporter's
// textfile collector (--metrics-textfile FILE.prom), after the step's other
// outputs. Every metric carries the labels step and environment:
//   shipgate_step_success                    1 when the step exited 0, else 0
//   shipgate_step_exit_code                  the exit code (docs/exit-codes.md)
//   shipgate_step_duration_seconds           how long the step ran
//   shipgate_step_last_run_timestamp_seconds when it ended (Unix seconds)
//   shipgate_release_info{version,...}       1, for steps that name a version
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "ci/context.hpp"
#include "core/error.hpp"
#include "core/step_result.hpp"
#include "io/output.hpp"
#include "metrics/exposition.hpp"

namespace metrics {

struct StepMetricsOptions {
  std::string pushgateway_url;              // --pushgateway: base URL, such as http://pushgateway:9091
  std::string textfile_path;                // --metrics-textfile: a *.prom file in the collector's folder
  std::chrono::milliseconds timeout{10000}; // the whole push
  bool any() const { return !pushgateway_url.empty() || !textfile_path.empty(); }
};

// What is wrong with the options (checked before the step runs), or nothing.
std::optional<core::Error> check_options(const StepMetricsOptions& options);

// The `environment` label: the step's own (details.environment of
// deploy-stage, rollback, status, metrics), else the CI's (--environment,
// SHIPGATE_ENVIRONMENT, CI_ENVIRONMENT_NAME), else empty.
std::string step_environment(const core::StepResult& result, const ci::CiContext& context);
// The families for one run; `exit_code` is the process's (artifact errors
// included). Label values are as given: the caller redacts.
std::vector<Family> step_families(const core::StepResult& result, int exit_code, const ci::CiContext& context);

// Writes the textfile (a temporary file in the same folder, renamed into
// place: node-exporter never reads half a file) and pushes to the
// Pushgateway (PUT: the group job="shipgate", step, environment is
// replaced). Label values and the pushed bytes go through the redactor;
// credentials of the URL are added to it first. Returns the errors; the
// caller raises the exit code as for an artifact that cannot be written.
std::vector<core::Error> publish_step_metrics(const core::StepResult& result, int exit_code,
                                              const ci::CiContext& context, const StepMetricsOptions& options,
                                              io::Output& output);

} // namespace metrics
