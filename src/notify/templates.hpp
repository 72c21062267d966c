#pragma once
// Notification templates (Mustache): one per event and kind of text, in
// English and Chinese, shipped inside the binary (templates/ in the
// source) and overridable from the user's own folder.
//
// Lookup for event E, kind K (suffix subject, txt, html or md), language L:
//   <user dir>/L/E.K.mustache, <user dir>/E.K.mustache,
//   <user dir>/L/default.K.mustache, <user dir>/default.K.mustache,
//   then the shipped L/E.K.mustache and L/default.K.mustache.
// Values are HTML-escaped in html templates only; {{{x}}} never escapes.
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace notify {

enum class TemplateKind { subject, text, html, markdown };
std::string_view suffix(TemplateKind kind); // "subject", "txt", "html", "md"

// The shipped templates, by path relative to templates/ ("en/default.txt.mustache").
const std::map<std::string, std::string>& shipped_templates();
// The languages shipped ("en", "zh").
std::vector<std::string> shipped_languages();

struct Templates {
  std::string language = "en";
  std::optional<std::filesystem::path> user_dir; // the plan's templates folder, searched first

  // The template text and where it came from ("shipped:en/deploy-failed.txt.mustache" or a path).
  core::Result<std::pair<std::string, std::string>> find(const std::string& event, TemplateKind kind) const;
  // Renders it with `data` (objects, arrays, strings, numbers, booleans;
  // null and empty strings are false in sections). Errors name the template.
  core::Result<std::string> render(const std::string& event, TemplateKind kind, const nlohmann::json& data) const;
};

// Renders one template text (for tests and user templates checked by plan validate).
core::Result<std::string> render_text(const std::string& text, TemplateKind kind, const nlohmann::json& data,
                                      const std::string& origin);

} // namespace notify
