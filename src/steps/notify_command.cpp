// `shipgate notify`: sends an event of the release chain that no step
// sends itself (plan-submitted, handoff-to-ops, released…), or delivers
// what the outbox still holds (--flush). docs/notify.md.
#include <algorithm>
#include <filesystem>

#include "core/text.hpp"
#include "deploy/history.hpp"
#include "deploy/run.hpp"
#include "notify/dispatch.hpp"
#include "notify/routing.hpp"
#include "steps/deploy_stage.hpp"
#include "steps/target_options.hpp"

namespace steps {

namespace {

using core::ErrorKind;

class NotifyStep final : public Step {
public:
  std::string name() const override { return "notify"; }
  std::string summary() const override {
    return "Send an event of the release chain by mail and chat (or deliver what the outbox holds: --flush)";
  }
  void register_options(OptionSink& sink) override {
    sink.value("--plan", m_plan, "Launch plan file whose notify: section names the channels and roles", true);
    sink.value("--env", m_env, "Environment the event is about, e.g. prod", true);
    sink.value("--event", m_event, "Event: " + core::join(deploy::notify_events()));
    sink.value("--version", m_version, "Version the event is about");
    sink.value("--level", m_level, "Fault level P0..P3: P0 reaches every role on every channel at once");
    sink.values("--attach", m_attachments, "File to attach (repeatable): the launch plan, DB scripts…");
    sink.value("--comment", m_comment, "Text added to the message");
    sink.value("--by", m_by, "Who sends it (default: the CI user)");
    sink.flag("--flush", m_flush, "Deliver what the outbox still holds instead of sending an event");
    sink.flag("--retry-failed", m_retry_failed, "With --flush: try the permanently failed entries again too");
    sink.values("--var", m_vars, "Value for ${NAME} in the plan, NAME=VALUE; repeatable");
  }
  core::Result<core::StepResult> run(const RunContext& context) override {
    auto vars = parse_var_flags(m_vars, context.output);
    if (!vars) return vars.error();
    if (m_flush == !m_event.empty())
      return core::make_error(ErrorKind::usage, m_flush ? "--flush delivers the outbox; it takes no --event"
                                                        : "say which --event to send (" + core::join(deploy::notify_events()) +
                                                              "), or --flush to deliver the outbox");
    if (m_retry_failed && !m_flush) return core::make_error(ErrorKind::usage, "--retry-failed goes with --flush");
    if (!m_flush) {
      const auto& events = deploy::notify_events();
      if (std::find(events.begin(), events.end(), m_event) == events.end()) {
        const std::string guess = core::closest_match(m_event, events);
        return core::make_error(ErrorKind::usage, "--event '" + m_event + "' is not an event of the chain" +
                                                      (guess.empty() ? "" : "; did you mean '" + guess + "'?"));
      }
    }
    if (!m_level.empty() && !notify::valid_level(m_level))
      return core::make_error(ErrorKind::usage, "--level must be P0, P1, P2 or P3, got '" + m_level + "'");
    for (const auto& file : m_attachments)
      if (!std::filesystem::is_regular_file(file))
        return core::make_error(ErrorKind::usage, "--attach " + file + ": no such file");
    auto plan = deploy::load_plan(m_plan);
    if (!plan) return plan.error();
    const deploy::EngineContext engine{context.ci, context.env, context.output, context.now, context.quiet};
    deploy::Variables values = deploy::placeholder_run_values(m_env, m_version.empty() ? "0.0.0" : m_version);
    for (const auto& [key, value] : *vars) values[key] = value;
    auto resolved = deploy::resolve_plan(*plan, m_env, deploy::base_variables(engine), values);
    if (!resolved) return resolved.error();
    if (!resolved->notify.present)
      return core::make_error(ErrorKind::usage, m_plan + " has no notify: section; add its channels and roles "
                                                         "(docs/notify.md)");
    notify::Dispatcher dispatcher(resolved->notify, context.env, context.output);
    core::StepResult result;
    result.step = "notify";
    notify::DispatchReport report;
    if (m_flush) {
      report = dispatcher.flush(m_retry_failed);
    } else {
      notify::EventRequest request;
      request.event = m_event;
      request.level = m_level;
      request.thread = plan->name + "-" + (m_version.empty() ? m_env : m_version);
      request.attachments = m_attachments;
      request.data = {{"app", plan->name},
                      {"environment", m_env},
                      {"version", m_version},
                      {"by", m_by.empty() ? context.ci.user : m_by},
                      {"comment", m_comment},
                      {"ci",
                       {{"provider", std::string(ci::to_string(context.ci.provider))},
                        {"pipeline_url", context.ci.pipeline_url},
                        {"job_url", context.ci.job_url},
                        {"user", context.ci.user},
                        {"commit", context.ci.commit},
                        {"branch", context.ci.branch}}}};
      report = dispatcher.send(request);
    }
    const nlohmann::json deliveries = report.json.value("deliveries", nlohmann::json::array());
    const bool all_delivered = std::all_of(deliveries.begin(), deliveries.end(), [](const nlohmann::json& item) {
      return item.value("state", std::string()) == "delivered";
    });
    const bool failed = report.required_failed || (m_flush && !all_delivered);
    result.verdict = failed ? core::Verdict::fail : core::Verdict::pass;
    result.exit_code = failed ? core::ExitCode::runtime : core::ExitCode::success;
    const std::size_t count = deliveries.size();
    result.headline = m_flush ? "outbox: " + std::to_string(count) + " entr" + (count == 1 ? "y" : "ies") + " tried"
                              : m_event + " (" + report.urgency + "): " + std::to_string(count) + " deliver" +
                                    (count == 1 ? "y" : "ies");
    if (failed) result.headline = "FAIL: " + result.headline + "; not everything was delivered";
    result.details = report.json;
    result.details["environment"] = m_env;
    result.warnings = report.warnings;
    std::string text;
    for (const auto& line : report.lines) text += "  " + line + "\n";
    result.text_view = result.headline + "\n" + text;
    result.outputs = {{"verdict", failed ? "fail" : "pass"}};
    if (!report.message_id.empty()) result.outputs.push_back({"message_id", report.message_id});
    return result;
  }

private:
  std::string m_plan, m_env, m_event, m_version, m_level, m_comment, m_by;
  std::vector<std::string> m_attachments, m_vars;
  bool m_flush = false, m_retry_failed = false;
};

} // namespace

std::unique_ptr<Step> make_notify() { return std::make_unique<NotifyStep>(); }

} // namespace steps

// ---------------------------------------------------------------- the steps' own notifications

#include "notify/step_events.hpp"
#include "steps/notify_flags.hpp"

namespace steps {

void NotifyFlags::register_options(OptionSink& sink) {
  sink.value("--plan", m_plan, "Launch plan whose notify: section hears this step's result (with --environment)");
  sink.value("--version", m_version, "With --plan: the version the result is about");
  sink.values("--plan-var", m_vars, "With --plan: value for ${NAME} in the plan, NAME=VALUE; repeatable");
  sink.value("--level", m_level, "With --plan: fault level P0..P3 for the notification");
}

core::Status NotifyFlags::send(const RunContext& context, const std::string& event, core::StepResult& result) const {
  if (m_plan.empty()) return core::ok_status();
  if (!m_level.empty() && !notify::valid_level(m_level))
    return core::make_error(core::ErrorKind::usage, "--level must be P0, P1, P2 or P3, got '" + m_level + "'");
  const std::string& environment = context.ci.environment;
  if (environment.empty())
    return core::make_error(core::ErrorKind::usage,
                            "--plan needs --environment NAME: the environment of the plan the result is about");
  auto vars = parse_var_flags(m_vars, context.output);
  if (!vars) return vars.error();
  auto plan = deploy::load_plan(m_plan);
  if (!plan) return plan.error();
  const deploy::EngineContext engine{context.ci, context.env, context.output, context.now, context.quiet};
  deploy::Variables values = deploy::placeholder_run_values(environment, m_version.empty() ? "0.0.0" : m_version);
  for (const auto& [key, value] : *vars) values[key] = value;
  auto resolved = deploy::resolve_plan(*plan, environment, deploy::base_variables(engine), values);
  if (!resolved) return resolved.error();
  if (!resolved->notify.present)
    return core::make_error(core::ErrorKind::usage, m_plan + " has no notify: section (docs/notify.md)");
  nlohmann::json data = notify::step_data(result, plan->name, environment, context.ci);
  data["version"] = m_version;
  notify::notify_step(resolved->notify, event, plan->name + "-" + (m_version.empty() ? environment : m_version), data,
                      result, context.env, context.output, m_level);
  return core::ok_status();
}

} // namespace steps
