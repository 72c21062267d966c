#include "steps/plan_commands.hpp"

#include <filesystem>

#include "deploy/plan.hpp"
#include "deploy/plan_validate.hpp"
#include "io/redactor.hpp"

namespace steps {
namespace {

using core::ErrorKind;

core::Error usage(std::string message) {
  return core::make_error(ErrorKind::usage, std::move(message));
}


std::string plural(std::size_t count, const std::string& word) {
  return std::to_string(count) + " " + word + (count == 1 ? "" : "s");
}

core::Check passed(std::string id, std::string title, std::string explanation) {
  core::Check check;
  check.id = std::move(id);
  check.title = std::move(title);
  check.explanation = std::move(explanation);
  return check;
}

std::string promotion_order(const deploy::Plan& plan) {
  std::string out;
  for (const auto& environment : plan.environments)
    out += (out.empty() ? "" : " -> ") + environment.name;
  return out;
}

// Values of the plan's secret-looking variables never reach an output,
// even inside a printed command (the environment's are masked already).
void mask_secrets(const deploy::Plan& plan, io::Output& output) {
  for (const auto& secret : deploy::plan_secret_values(plan)) output.add_secret(secret);
}

// Notes that do not make the plan invalid but that a reviewer should see.
std::vector<std::string> plan_warnings(const deploy::Plan& plan) {
  std::vector<std::string> warnings;
  for (const auto& service : plan.services)
    if (!service.health_node || service.health_node.IsNull())
      warnings.push_back("service '" + service.name +
                         "' has no health: checks; a deploy cannot tell whether it works, "
                         "so it cannot roll back a broken version by itself");
  std::error_code error;
  if (!plan.signing.public_key.empty() && !std::filesystem::is_regular_file(plan.signing.public_key, error))
    warnings.push_back("signing.public_key: no file at " + plan.signing.public_key);
  for (const auto& environment : plan.environments)
    if (environment.paused)
      warnings.push_back("environment '" + environment.name + "' is paused" +
                         (environment.pause_reason.empty() ? "" : ": " + environment.pause_reason));
  return warnings;
}

class PlanValidateStep final : public Step {
public:
  std::string name() const override { return "plan validate"; }
  std::string summary() const override {
    return "Check a launch plan: keys, names, dependencies, variables and health checks of every environment";
  }
  void register_options(OptionSink& sink) override {
    sink.value("file", m_file, "The launch plan (YAML, docs/plan.md)");
    sink.value("--plan", m_plan, "The launch plan, as an option (same as FILE)");
    sink.values("--var", m_vars, "Value for ${NAME} in the plan, NAME=VALUE; repeatable");
  }
  core::Result<core::StepResult> run(const RunContext& context) override;

private:
  core::Result<std::string> path() const;

  std::string m_file;
  std::string m_plan;
  std::vector<std::string> m_vars;
};

core::Result<std::string> PlanValidateStep::path() const {
  if (!m_file.empty() && !m_plan.empty() && m_file != m_plan)
    return usage("give the plan once: as FILE or as --plan FILE, not both");
  if (m_file.empty() && m_plan.empty()) return usage("which plan? usage: shipgate plan validate FILE");
  return m_file.empty() ? m_plan : m_file;
}

core::Result<core::StepResult> PlanValidateStep::run(const RunContext& context) {
  auto file = path();
  if (!file) return file.error();
  auto plan = deploy::load_plan(*file);
  if (!plan) return plan.error();
  const deploy::Variables extra(context.env.all().begin(), context.env.all().end());
  mask_secrets(*plan, context.output);
  auto vars = parse_var_flags(m_vars, context.output);
  if (!vars) return vars.error();
  auto valid = deploy::validate_environments(*plan, extra, *vars);
  if (!valid) return valid.error();
  deploy::Variables run_values = deploy::placeholder_run_values();
  for (const auto& [name, value] : *vars) run_values[name] = value;
  auto first = deploy::resolve_plan(*plan, plan->environments.front().name, extra, run_values);
  if (!first) return first.error();

  core::StepResult result;
  result.step = "plan validate";
  result.headline = "plan OK: " + plural(plan->services.size(), "service") + ", " +
                    plural(plan->environments.size(), "environment") + " (" + promotion_order(*plan) + ")";
  result.checks.push_back(passed("plan-file", "plan is well-formed", "keys, types, names and dependencies are valid"));
  std::vector<std::string> order;
  for (const auto& service : first->services)
    order.push_back(service.name);
  for (const auto& environment : plan->environments)
    result.checks.push_back(passed("environment-" + environment.name, "environment " + environment.name + " resolves",
                                   "every ${VAR} is defined and the health checks parse"));
  result.warnings = plan_warnings(*plan);
  std::vector<std::string> environments;
  for (const auto& environment : plan->environments)
    environments.push_back(environment.name);
  result.details["plan"] = {{"name", plan->name},           {"file", plan->file},
                            {"environments", environments}, {"deploy_order", order},
                            {"strategy", plan->strategy.display()},   {"keep_releases", plan->keep_releases}};
  result.outputs.push_back({"plan", plan->name});
  return result;
}

class PlanShowStep final : public Step {
public:
  std::string name() const override { return "plan show"; }
  std::string summary() const override {
    return "Print the launch plan of one environment: the ordered deploy steps and the rollback steps";
  }
  void register_options(OptionSink& sink) override {
    sink.value("--plan", m_plan, "The launch plan (YAML, docs/plan.md)", true);
    sink.value("--env", m_env, "The environment to show, one of the plan's environments", true);
    sink.value("--version", m_version, "Fill ${VERSION} with this version (default: shown as ${VERSION})");
    sink.values("--var", m_vars, "Value for ${NAME} in the plan, NAME=VALUE; repeatable");
  }
  core::Result<core::StepResult> run(const RunContext& context) override;

private:
  std::string m_plan;
  std::string m_env;
  std::string m_version;
  std::vector<std::string> m_vars;
};

core::Result<core::StepResult> PlanShowStep::run(const RunContext& context) {
  if (m_plan.empty()) return usage("which plan? give --plan FILE");
  if (m_env.empty()) return usage("which environment? give --env NAME");
  auto plan = deploy::load_plan(m_plan);
  if (!plan) return plan.error();
  const deploy::Variables extra(context.env.all().begin(), context.env.all().end());
  mask_secrets(*plan, context.output);
  deploy::Variables run_values = deploy::symbolic_run_values();
  if (!m_version.empty()) run_values["VERSION"] = m_version;
  auto vars = parse_var_flags(m_vars, context.output);
  if (!vars) return vars.error();
  for (const auto& [name, value] : *vars) run_values[name] = value;
  auto resolved = deploy::resolve_plan(*plan, m_env, extra, run_values);
  if (!resolved) return resolved.error();

  core::StepResult result;
  result.step = "plan show";
  result.headline = "launch plan of " + plan->name + " for " + m_env;
  result.text_view = deploy::render_plan_text(*resolved);
  result.markdown_view = deploy::render_plan_markdown(*resolved);
  result.details = deploy::plan_to_json(*resolved);
  result.warnings = plan_warnings(*plan);
  result.outputs.push_back({"plan", plan->name});
  result.outputs.push_back({"environment", m_env});
  return result;
}

} // namespace

std::unique_ptr<Step> make_plan_validate() {
  return std::make_unique<PlanValidateStep>();
}
std::unique_ptr<Step> make_plan_show() {
  return std::make_unique<PlanShowStep>();
}

} // namespace steps
