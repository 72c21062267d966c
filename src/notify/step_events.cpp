#include "notify/step_events.hpp"

#include "notify/dispatch.hpp"

namespace notify {

nlohmann::json step_data(const core::StepResult& result, const std::string& app, const std::string& environment,
                         const ci::CiContext& ci) {
  nlohmann::json failed = nlohmann::json::array();
  for (const auto& check : result.checks)
    if (check.status == core::CheckStatus::fail && failed.size() < 10)
      failed.push_back({{"title", check.title.empty() ? check.id : check.title}, {"explanation", check.explanation}});
  auto text = [&](const char* key) {
    const auto found = result.details.find(key);
    return found != result.details.end() && found->is_string() ? found->get<std::string>() : std::string();
  };
  return {{"app", app},
          {"environment", environment},
          {"version", text("version")},
          {"previous_version", text("previous_version")},
          {"headline", result.headline},
          {"verdict", std::string(core::to_string(result.verdict))},
          {"reason", text("reason")},
          {"failed", failed},
          {"has_failed", !failed.empty()},
          {"by", ci.user},
          {"ci",
           {{"provider", std::string(ci::to_string(ci.provider))},
            {"pipeline_url", ci.pipeline_url},
            {"job_url", ci.job_url},
            {"user", ci.user},
            {"commit", ci.commit},
            {"branch", ci.branch}}}};
}

void notify_step(const deploy::NotifySpec& notify, const std::string& event, const std::string& thread,
                 const nlohmann::json& data, core::StepResult& result, const ci::Environment& env,
                 io::Output& output, const std::string& level) {
  if (!notify.present) return;
  Dispatcher dispatcher(notify, env, output);
  EventRequest request;
  request.event = event;
  request.level = level;
  request.thread = thread;
  request.data = data;
  const DispatchReport report = dispatcher.send(request);
  if (!result.details.contains("notifications")) result.details["notifications"] = nlohmann::json::array();
  result.details["notifications"].push_back(report.json);
  result.warnings.insert(result.warnings.end(), report.warnings.begin(), report.warnings.end());
  if (report.required_failed && result.exit_code == core::ExitCode::success) {
    result.exit_code = core::ExitCode::runtime;
    result.verdict = core::Verdict::fail;
    result.headline += "; a required notification was not delivered";
  }
}

} // namespace notify
