#include "render/json.hpp"

#include "core/text.hpp"
#include "core/time.hpp"

namespace render {
namespace {

using nlohmann::json;

bool is_set(core::SystemTime time) {
  return time.time_since_epoch().count() != 0;
}

json time_or_null(core::SystemTime time) {
  return is_set(time) ? json(core::format_rfc3339(time)) : json(nullptr);
}

json duration_ms(const core::StepResult& result) {
  if (!is_set(result.started_at) || !is_set(result.finished_at)) return nullptr;
  const auto elapsed = result.finished_at - result.started_at;
  return std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count();
}

json text_or_null(const std::string& text) {
  return text.empty() ? json(nullptr) : json(core::sanitize_utf8(text));
}

json ci_json(const ci::CiContext& context) {
  return {{"provider", std::string(ci::to_string(context.provider))},
          {"commit", text_or_null(context.commit)},
          {"branch", text_or_null(context.branch)},
          {"pipeline_url", text_or_null(context.pipeline_url)},
          {"job_url", text_or_null(context.job_url)},
          {"user", text_or_null(context.user)},
          {"environment", text_or_null(context.environment)}};
}

json check_json(const core::Check& check) {
  json item = {{"id", core::sanitize_utf8(check.id)},
               {"title", core::sanitize_utf8(check.title)},
               {"status", std::string(core::to_string(check.status))},
               {"explanation", core::sanitize_utf8(check.explanation)},
               {"actual", text_or_null(check.actual)},
               {"limit", text_or_null(check.limit)}};
  if (!check.transcript.empty()) item["transcript"] = core::sanitize_utf8(check.transcript);
  if (check.seconds >= 0) item["duration_ms"] = static_cast<long long>(check.seconds * 1000 + 0.5);
  return item;
}

json string_list(const std::vector<std::string>& items) {
  json list = json::array();
  for (const auto& item : items)
    list.push_back(core::sanitize_utf8(item));
  return list;
}

json outputs_json(const std::vector<std::pair<std::string, std::string>>& outputs) {
  json object = json::object();
  for (const auto& [key, value] : outputs)
    object[core::sanitize_utf8(key)] = core::sanitize_utf8(value);
  return object;
}

} // namespace

json sanitized(const json& value) {
  if (value.is_string()) return core::sanitize_utf8(value.get_ref<const std::string&>());
  if (value.is_array()) {
    json out = json::array();
    for (const auto& item : value)
      out.push_back(sanitized(item));
    return out;
  }
  if (!value.is_object()) return value;
  json out = json::object();
  for (const auto& [key, item] : value.items())
    out[core::sanitize_utf8(key)] = sanitized(item);
  return out;
}

json to_json(const core::StepResult& result, const ci::CiContext& context) {
  json document = {{"schema", "shipgate/step-result"},
                   {"schema_version", k_json_schema_version},
                   {"step", core::sanitize_utf8(result.step)},
                   {"verdict", std::string(core::to_string(result.verdict))},
                   {"exit_code", core::to_int(result.exit_code)},
                   {"headline", core::sanitize_utf8(result.headline)},
                   {"started_at", time_or_null(result.started_at)},
                   {"finished_at", time_or_null(result.finished_at)},
                   {"duration_ms", duration_ms(result)},
                   {"ci", ci_json(context)},
                   {"warnings", string_list(result.warnings)},
                   {"outputs", outputs_json(result.outputs)}};
  json checks = json::array();
  for (const auto& check : result.checks)
    checks.push_back(check_json(check));
  const std::string label = result.checks_label.empty() ? "checks" : core::sanitize_utf8(result.checks_label);
  document[label] = std::move(checks);
  if (!result.details.is_object()) return document;
  // Details carry report text (failure names, messages); sanitizing here
  // keeps the to_json contract for callers that dump() without
  // dump_json's `replace` handler. One copy, moved into place.
  json details = sanitized(result.details);
  for (auto& [key, value] : details.items())
    if (!document.contains(key)) document[key] = std::move(value);
  return document;
}

std::string dump_json(const json& document) {
  // `replace` is a second line of defence: to_json already sanitized every string.
  return document.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

} // namespace render
