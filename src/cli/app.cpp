#include "cli/app.hpp"

#include <CLI/CLI.hpp>

#include "ci/commit_time.hpp"
#include "core/interrupt.hpp"
#include "core/text.hpp"
#include "io/output.hpp"
#include "metrics/step_metrics.hpp"
#include "render/publish.hpp"
#include "steps/registry.hpp"

namespace cli {
namespace {

// Maps a step's option declarations onto a CLI11 subcommand.
class Cli11Sink final : public steps::OptionSink {
public:
  explicit Cli11Sink(CLI::App& app) : m_app(app) {}
  void value(const std::string& flags, std::string& target, const std::string& help, bool required) override {
    m_app.add_option(flags, target, help)->required(required);
  }
  void values(const std::string& flags, std::vector<std::string>& target, const std::string& help,
              bool required) override {
    m_app.add_option(flags, target, help)->required(required)->take_all()->allow_extra_args(false);
  }
  void flag(const std::string& flags, bool& target, const std::string& help) override {
    m_app.add_flag(flags, target, help);
  }

private:
  CLI::App& m_app;
};

// Options every step has: artifacts, metrics, CI context overrides, secrets, colour.
struct CommonOptions {
  render::PublishOptions publish;
  metrics::StepMetricsOptions metrics;
  std::string color = "auto";
  ci::Overrides overrides;
  std::vector<std::string> secret_env;
};

void add_common(CLI::App& app, CommonOptions& o) {
  app.add_option("--json", o.publish.json_path, "Write the result as JSON (docs/outputs.md) to FILE")->group("Outputs");
  app.add_option("--junit", o.publish.junit_path, "Write the step's rules as JUnit XML to FILE")->group("Outputs");
  app.add_option("--markdown", o.publish.markdown_path, "Write a Markdown summary to FILE")->group("Outputs");
  app.add_option("--dotenv", o.publish.dotenv_path, "Write SHIPGATE_* outputs as a GitLab dotenv file")->group("Outputs");
  app.add_flag("-q,--quiet", o.publish.quiet, "Print only the verdict line")->group("Outputs");
  app.add_option("--color", o.color, "Colour: auto (default), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}))->group("Outputs");
  app.add_option("--ci", o.overrides.provider, "CI system: auto (default), github, gitlab, jenkins, none")
      ->check(CLI::IsMember({"auto", "github", "gitlab", "jenkins", "none"}))->group("CI context");
  app.add_option("--commit", o.overrides.commit, "Commit being released (default: from the CI)")->group("CI context");
  app.add_option("--branch", o.overrides.branch, "Branch (default: from the CI)")->group("CI context");
  app.add_option("--pipeline-url", o.overrides.pipeline_url, "Pipeline URL (default: from the CI)")->group("CI context");
  app.add_option("--job-url", o.overrides.job_url, "Job URL (default: from the CI)")->group("CI context");
  app.add_option("--user", o.overrides.user, "User who triggered the run (default: from the CI)")->group("CI context");
  app.add_option("--environment", o.overrides.environment, "Target environment: dev, test, staging, prod")->group("CI context");
  app.add_option("--pushgateway", o.metrics.pushgateway_url,
                 "Push the step's outcome, duration and version to this Prometheus Pushgateway (docs/metrics.md)")
      ->group("Metrics");
  app.add_option("--metrics-textfile", o.metrics.textfile_path,
                 "Write the same metrics to FILE.prom for node-exporter's textfile collector (replaced atomically)")
      ->group("Metrics");
  app.add_option("--secret-env", o.secret_env, "Name of an environment variable whose value is masked in all output; repeatable")
      ->group("Secrets");
}

render::ColorMode color_mode(const std::string& text) {
  if (text == "always") return render::ColorMode::always;
  if (text == "never") return render::ColorMode::never;
  return render::ColorMode::auto_detect;
}

// The first word of each step ("plan" for "plan validate"), once each.
std::vector<std::string> step_names(const std::vector<std::unique_ptr<steps::Step>>& all) {
  std::vector<std::string> names;
  for (const auto& step : all) {
    const std::string name = step->name().substr(0, step->name().find(' '));
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  return names;
}

// A step named "plan validate" is the subcommand "validate" of "plan".
CLI::App* add_step_command(CLI::App& app, const steps::Step& step) {
  const std::string name = step.name();
  const auto space = name.find(' ');
  if (space == std::string::npos) return app.add_subcommand(name, step.summary());
  const std::string group = name.substr(0, space);
  CLI::App* parent = nullptr;
  for (CLI::App* existing : app.get_subcommands({}))
    if (existing->get_name() == group) parent = existing;
  if (!parent) {
    parent = app.add_subcommand(group, group == "plan"      ? "Check and show a launch plan (validate, show)"
                                       : group == "release" ? "Manage released versions (unblock)"
                                       : group == "lock"    ? "Inspect or release a target's deploy lock (release)"
                                       : group == "db"      ? "Database changes of the plan (status, plan)"
                                                            : group);
    parent->require_subcommand(1);
  }
  return parent->add_subcommand(name.substr(space + 1), step.summary());
}

bool got_step(CLI::App& app, const steps::Step& step) {
  const std::string name = step.name();
  const auto space = name.find(' ');
  if (space == std::string::npos) return app.got_subcommand(name);
  if (!app.got_subcommand(name.substr(0, space))) return false;
  return app.get_subcommand(name.substr(0, space))->got_subcommand(name.substr(space + 1));
}

// "shipgate gate-on-tst-report" gets a suggestion instead of CLI11's generic message.
bool unknown_step(const Process& process, const std::vector<std::string>& names, std::string& message) {
  if (process.args.empty()) return false;
  const std::string& word = process.args.front();
  if (word.empty() || word[0] == '-' || std::find(names.begin(), names.end(), word) != names.end()) return false;
  message = "shipgate: unknown step '" + word + "'";
  const std::string guess = core::closest_match(word, names);
  if (!guess.empty()) message += "; did you mean '" + guess + "'?";
  message += "\nRun 'shipgate --help' to list the steps.\n";
  return true;
}

// "did you mean '--max-failures'?" for each unknown option of the step.
std::string suggest_options(CLI::App& app, const std::vector<std::string>& args) {
  if (args.empty()) return {};
  CLI::App* sub = nullptr;
  try {
    sub = app.get_subcommand(args.front());
  } catch (const CLI::OptionNotFound&) {
    return {};
  }
  std::size_t first = 1;
  // "plan show --evn x": the options are those of "show".
  if (args.size() > 1 && !sub->get_subcommands({}).empty()) {
    try {
      sub = sub->get_subcommand(args[1]);
      first = 2;
    } catch (const CLI::OptionNotFound&) {
      return {};
    }
  }
  std::vector<std::string> known;
  for (const CLI::Option* option : sub->get_options())
    for (const auto& name : option->get_lnames()) known.push_back("--" + name);
  std::string hints;
  for (std::size_t i = first; i < args.size(); ++i) {
    const std::string word = args[i].substr(0, args[i].find('='));
    if (!core::starts_with(word, "--") || std::find(known.begin(), known.end(), word) != known.end()) continue;
    const std::string guess = core::closest_match(word, known);
    hints += "shipgate: unknown option '" + word + "'" + (guess.empty() ? "" : "; did you mean '" + guess + "'?") + "\n";
  }
  if (!hints.empty())
    hints += "Run 'shipgate " + args.front() + (first == 2 ? " " + args[1] : std::string()) + " --help' for the options.\n";
  return hints;
}

int report_error(const core::Error& error, io::Output& output) {
  output.err("shipgate: error: " + error.describe() + "\n");
  output.flush();
  return core::to_int(core::exit_code_for(error.kind));
}

// The step's metrics (--pushgateway, --metrics-textfile), after its other
// outputs. A push or file that fails is reported, and is to the exit code
// what an artifact that cannot be written is: a passing step exits 3.
int publish_metrics(const core::StepResult& result, int exit_code, const ci::CiContext& context,
                    const CommonOptions& common, io::Output& output) {
  const auto errors = metrics::publish_step_metrics(result, exit_code, context, common.metrics, output);
  for (const auto& error : errors) output.err("shipgate: error: metrics: " + error.describe() + "\n");
  output.flush();
  return !errors.empty() && exit_code == 0 ? core::to_int(core::ExitCode::runtime) : exit_code;
}

// A step that ended in an error (no result) still reports its exit code
// to the metrics: a deploy that could not start is worth an alert too.
int report_step_error(const steps::Step& step, const core::Error& error, core::SystemTime started,
                      const ci::CiContext& context, const CommonOptions& common, io::Output& output) {
  const int exit_code = report_error(error, output);
  if (!common.metrics.any()) return exit_code;
  core::StepResult failed;
  failed.step = step.name();
  failed.exit_code = core::exit_code_for(error.kind);
  failed.started_at = started;
  failed.finished_at = std::chrono::system_clock::now();
  return publish_metrics(failed, exit_code, context, common, output);
}

int run_step(steps::Step& step, const CommonOptions& common, const Process& process) {
  const ci::CiContext context = ci::read_context(process.env, process.terminal, common.overrides);
  io::Output output(io::Redactor::from_environment(process.env, common.secret_env), process.out, process.err);
  if (auto problem = metrics::check_options(common.metrics)) return report_error(*problem, output);
  if (const auto commit = ci::commit_time(process.env, context); !commit.problem.empty())
    output.err("shipgate: warning: " + commit.problem + "; the ledger records no commit time (docs/metrics.md)\n");
  const core::SystemTime started = std::chrono::system_clock::now();
  auto result = step.run({context, process.env, output, started, common.publish.quiet});
  if (!result) return report_step_error(step, result.error(), started, context, common, output);
  result->started_at = started;
  result->finished_at = std::chrono::system_clock::now();
  render::PublishOptions publish = common.publish;
  publish.color = color_mode(common.color);
  const auto errors = render::publish(*result, context, publish, output);
  int exit_code = core::to_int(result->exit_code);
  for (const auto& error : errors) output.err("shipgate: error: " + error.describe() + "\n");
  if (!errors.empty() && exit_code == 0) exit_code = core::to_int(core::ExitCode::runtime);
  output.flush();
  exit_code = publish_metrics(*result, exit_code, context, common, output);
  if (core::interrupted()) return core::to_int(core::ExitCode::interrupted);
  return exit_code;
}

} // namespace

int run(const Process& process) {
  auto all = steps::make_steps();
  const auto names = step_names(all);
  // Parse errors echo the arguments back, and an argument may be a secret
  // pasted in the wrong place: they go through the redactor like all output.
  const io::Redactor redactor = io::Redactor::from_environment(process.env, {});
  std::string message;
  if (unknown_step(process, names, message)) {
    std::fputs(redactor.redact(message).c_str(), process.err);
    return core::to_int(core::ExitCode::usage);
  }
  CLI::App app{"shipgate — release gates, deployments and sign-off for CI pipelines", "shipgate"};
  app.set_version_flag("--version", std::string("shipgate ") + SHIPGATE_VERSION);
  app.require_subcommand(1);
  app.footer("Exit codes: 0 success, 1 negative verdict, 2 usage/invalid input/inconclusive, 3 runtime failure,\n"
             "4 blocked by policy, 5 rollback failed, 130 interrupted (docs/exit-codes.md).\n"
             "Run 'shipgate STEP --help' for a step's options.");
  std::vector<CommonOptions> common(all.size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    CLI::App* sub = add_step_command(app, *all[i]);
    Cli11Sink sink(*sub);
    all[i]->register_options(sink);
    add_common(*sub, common[i]);
  }
  std::vector<std::string> reversed(process.args.rbegin(), process.args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& error) {
    std::ostringstream out, err;
    const int code = app.exit(error, out, err);
    std::fputs(redactor.redact(out.str()).c_str(), process.out);
    std::fputs(redactor.redact(err.str()).c_str(), process.err);
    if (code != 0) std::fputs(redactor.redact(suggest_options(app, process.args)).c_str(), process.err);
    return code == 0 ? 0 : core::to_int(core::ExitCode::usage);
  }
  for (std::size_t i = 0; i < all.size(); ++i)
    if (got_step(app, *all[i])) return run_step(*all[i], common[i], process);
  return core::to_int(core::ExitCode::usage);
}

} // namespace cli
