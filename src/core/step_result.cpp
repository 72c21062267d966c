#include "core/step_result.hpp"

namespace core {

std::string_view to_string(Verdict verdict) {
  switch (verdict) {
  case Verdict::pass: return "pass";
  case Verdict::fail: return "fail";
  case Verdict::inconclusive: return "inconclusive";
  }
  return "inconclusive";
}

std::string_view to_string(CheckStatus status) {
  switch (status) {
  case CheckStatus::pass: return "pass";
  case CheckStatus::fail: return "fail";
  case CheckStatus::warn: return "warn";
  case CheckStatus::skip: return "skip";
  case CheckStatus::inconclusive: return "inconclusive";
  }
  return "inconclusive";
}

nlohmann::json map_strings(const nlohmann::json& value, const TextEdit& edit) {
  if (value.is_string()) return edit(value.get_ref<const std::string&>());
  if (value.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& item : value) out.push_back(map_strings(item, edit));
    return out;
  }
  if (!value.is_object()) return value;
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, item] : value.items()) out[edit(key)] = map_strings(item, edit);
  return out;
}

StepResult map_strings(const StepResult& result, const TextEdit& edit) {
  StepResult out = result;
  auto each = [&](std::vector<std::string>& texts) {
    for (auto& text : texts) text = edit(text);
  };
  out.step = edit(result.step);
  out.headline = edit(result.headline);
  for (auto& check : out.checks)
    for (std::string* text : {&check.id, &check.title, &check.explanation, &check.actual, &check.limit, &check.transcript})
      *text = edit(*text);
  for (auto& finding : out.findings)
    for (std::string* text : {&finding.title, &finding.message, &finding.file}) *text = edit(*text);
  each(out.warnings);
  for (auto& output : out.outputs) output.second = edit(output.second);
  out.details = map_strings(result.details, edit);
  each(out.summary_lines);
  out.text_view = edit(result.text_view);
  out.markdown_view = edit(result.markdown_view);
  return out;
}

} // namespace core
