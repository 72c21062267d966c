#include "render/publish.hpp"

#include <algorithm>
#include <chrono>

#include "render/ci_log.hpp"
#include "render/json.hpp"
#include "render/junit.hpp"
#include "render/markdown.hpp"
#include "render/outputs.hpp"
#include "render/terminal.hpp"

namespace render {
namespace {

using Errors = std::vector<core::Error>;
using Mode = io::FileSink::Mode;

bool use_color(ColorMode mode, const ci::CiContext& context) {
  if (mode == ColorMode::always) return true;
  if (mode == ColorMode::never) return false;
  return context.terminal.stdout_is_tty && !context.no_color;
}

void write_file(io::Output& output, const std::string& path, const std::string& text, Mode mode, Errors& errors) {
  auto sink = output.open_file(path, mode);
  if (!sink) {
    errors.push_back(sink.error());
    return;
  }
  (*sink)->write(text);
  if (auto status = (*sink)->close(); !status) errors.push_back(status.error());
}

std::int64_t section_time(const core::StepResult& result) {
  // The result's own clock keeps the output reproducible; "now" only for results without one.
  const auto time =
      result.finished_at.time_since_epoch().count() != 0 ? result.finished_at : std::chrono::system_clock::now();
  return std::chrono::duration_cast<std::chrono::seconds>(time.time_since_epoch()).count();
}

std::string terminal_text(const core::StepResult& result, const ci::CiContext& context, bool color) {
  const std::string findings = render_findings(result, color);
  if (context.provider != ci::Provider::gitlab || findings.empty()) return render_terminal(result, color);
  const std::string name = "shipgate_findings";
  const std::int64_t when = section_time(result);
  return render_headline(result, color) + render_overview(result, color) +
         gitlab_section_start(name, "shipgate findings", true, when) + findings + gitlab_section_end(name, when) +
         render_warnings(result, color);
}

// The step's outputs, with its exit code when the step did not name it.
OutputPairs outputs_of(const core::StepResult& result) {
  OutputPairs outputs = result.outputs;
  const bool named = std::any_of(outputs.begin(), outputs.end(), [](const auto& pair) { return pair.first == "exit_code"; });
  if (!named && !outputs.empty()) outputs.emplace_back("exit_code", std::to_string(core::to_int(result.exit_code)));
  return outputs;
}

void publish_github(const core::StepResult& result, const ci::CiContext& context, io::Output& output, Errors& errors) {
  output.out(github_annotations(result));
  if (!context.github_step_summary.empty())
    write_file(output, context.github_step_summary, render_markdown(result, context), Mode::append, errors);
  if (!context.github_output.empty() && !result.outputs.empty())
    write_file(output, context.github_output, github_output(outputs_of(result)), Mode::append, errors);
}

void write_dotenv(const core::StepResult& result, const std::string& path, io::Output& output, Errors& errors) {
  const DotenvFile file = dotenv(outputs_of(result));
  const std::string why = " (GitLab dotenv limits: " + std::to_string(k_dotenv_max_bytes) + " bytes, " +
                          std::to_string(k_dotenv_max_variables) + " variables, unique names)\n";
  for (const auto& name : file.dropped) {
    std::string line = "warning: " + name;
    output.err(line.append(" left out of ").append(path).append(why));
  }
  for (const auto& name : file.reserved) {
    std::string line = "warning: " + name;
    output.err(line.append(" left out of ").append(path).append(": shipgate reads that variable as a setting, and later jobs would inherit it\n"));
  }
  write_file(output, path, file.text, Mode::replace, errors);
}

void write_artifacts(const core::StepResult& result, const ci::CiContext& context, const PublishOptions& options,
                     io::Output& output, Errors& errors) {
  if (!options.json_path.empty())
    write_file(output, options.json_path, dump_json(to_json(result, context)), Mode::replace, errors);
  if (!options.junit_path.empty()) write_file(output, options.junit_path, render_junit(result), Mode::replace, errors);
  if (!options.markdown_path.empty())
    write_file(output, options.markdown_path, render_markdown(result, context), Mode::replace, errors);
  if (!options.dotenv_path.empty()) write_dotenv(result, options.dotenv_path, output, errors);
}

// The result and context with every secret masked, before a format
// escapes or truncates it: the written bytes are redacted again anyway, but
// by then a secret holding `"`, `&` or `,` may no longer look like itself.
core::StepResult masked(const core::StepResult& result, const io::Redactor& redactor) {
  return core::map_strings(result, [&](std::string_view text) { return redactor.redact(text); });
}

ci::CiContext masked(ci::CiContext context, const io::Redactor& redactor) {
  for (std::string* text : {&context.commit, &context.branch, &context.pipeline_url, &context.job_url, &context.user,
                            &context.environment})
    *text = redactor.redact(*text);
  return context;
}

} // namespace

std::vector<core::Error> publish(const core::StepResult& unmasked, const ci::CiContext& unmasked_context,
                                 const PublishOptions& options, io::Output& output) {
  const core::StepResult result = masked(unmasked, output.redactor());
  const ci::CiContext context = masked(unmasked_context, output.redactor());
  Errors errors;
  const bool color = use_color(options.color, context);
  output.out(options.quiet ? render_headline(result, color) : terminal_text(result, context, color));
  // Annotations, the step summary and outputs are for the CI, not the
  // reader of the log, so --quiet keeps them.
  if (context.provider == ci::Provider::github) publish_github(result, context, output, errors);
  write_artifacts(result, context, options, output, errors);
  output.flush();
  return errors;
}

} // namespace render
