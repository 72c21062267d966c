// Mustache through kainjow's header, which is confined to this file.
#include "notify/templates.hpp"

#include <fstream>
#include <sstream>

#include <kainjow/mustache.hpp>

namespace notify {

namespace fs = std::filesystem;
using core::ErrorKind;
namespace mustache = kainjow::mustache;

namespace {

constexpr std::uintmax_t k_max_template = 256 * 1024;

// JSON to Mustache data: numbers as their shortest text, null and "" as
// false so that {{#comment}}…{{/comment}} hides an empty comment.
mustache::data to_data(const nlohmann::json& value) {
  switch (value.type()) {
  case nlohmann::json::value_t::object: {
    mustache::data out{mustache::data::type::object};
    for (const auto& [key, item] : value.items()) out.set(key, to_data(item));
    return out;
  }
  case nlohmann::json::value_t::array: {
    mustache::data out{mustache::data::type::list};
    for (const auto& item : value) out.push_back(to_data(item));
    return out;
  }
  case nlohmann::json::value_t::string: {
    const auto& text = value.get_ref<const std::string&>();
    if (text.empty()) return mustache::data{false};
    return mustache::data{text};
  }
  case nlohmann::json::value_t::boolean:
    return mustache::data{value.get<bool>()};
  case nlohmann::json::value_t::null:
  case nlohmann::json::value_t::discarded:
    return mustache::data{false};
  default:
    return mustache::data{value.dump()};
  }
}

std::optional<std::string> read_file(const fs::path& path) {
  std::error_code error;
  if (!fs::is_regular_file(path, error)) return std::nullopt;
  if (fs::file_size(path, error) > k_max_template) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

} // namespace

std::string_view suffix(TemplateKind kind) {
  switch (kind) {
  case TemplateKind::subject: return "subject";
  case TemplateKind::text: return "txt";
  case TemplateKind::html: return "html";
  case TemplateKind::markdown: return "md";
  }
  return "txt";
}

std::vector<std::string> shipped_languages() {
  std::vector<std::string> out;
  for (const auto& [path, text] : shipped_templates()) {
    const std::string language = path.substr(0, path.find('/'));
    if (std::find(out.begin(), out.end(), language) == out.end()) out.push_back(language);
  }
  return out;
}

core::Result<std::pair<std::string, std::string>> Templates::find(const std::string& event, TemplateKind kind) const {
  const std::string specific = event + "." + std::string(suffix(kind)) + ".mustache";
  const std::string fallback = "default." + std::string(suffix(kind)) + ".mustache";
  if (user_dir) {
    for (const auto& name : {specific, fallback})
      for (const fs::path& path : {*user_dir / language / name, *user_dir / name})
        if (auto text = read_file(path)) return std::make_pair(*text, path.string());
  }
  for (const auto& name : {specific, fallback}) {
    const auto found = shipped_templates().find(language + "/" + name);
    if (found != shipped_templates().end()) return std::make_pair(found->second, "shipped:" + found->first);
  }
  return core::make_error(ErrorKind::invalid_input, "no " + std::string(suffix(kind)) + " template for event '" +
                                                        event + "' in language '" + language +
                                                        "' (shipped languages: en, zh)");
}

core::Result<std::string> render_text(const std::string& text, TemplateKind kind, const nlohmann::json& data,
                                      const std::string& origin) {
  mustache::mustache tmpl{text};
  if (!tmpl.is_valid())
    return core::make_error(ErrorKind::invalid_input, "template " + origin + ": " + tmpl.error_message());
  if (kind != TemplateKind::html) tmpl.set_custom_escape([](const std::string& value) { return value; });
  std::string out = tmpl.render(to_data(data));
  if (!tmpl.is_valid())
    return core::make_error(ErrorKind::invalid_input, "template " + origin + ": " + tmpl.error_message());
  if (kind == TemplateKind::text || kind == TemplateKind::markdown) {
    // At most one blank line in a row: the mustache library leaves the line
    // break after a section that is not shown ({{#comment}} without a
    // comment), which would pile up empty lines.
    std::string tidy;
    tidy.reserve(out.size());
    int breaks = 0;
    for (const char c : out) {
      if (c == '\n') {
        if (++breaks > 2) {
          if (!tidy.empty() && tidy.back() == '\r') tidy.pop_back();
          continue;
        }
      } else if (c != '\r') {
        breaks = 0;
      }
      tidy += c;
    }
    out = std::move(tidy);
  }
  if (kind == TemplateKind::subject) {
    // One line: a subject never carries a line break (no header injection).
    for (char& c : out)
      if (c == '\r' || c == '\n') c = ' ';
    while (!out.empty() && out.back() == ' ') out.pop_back();
  }
  return out;
}

core::Result<std::string> Templates::render(const std::string& event, TemplateKind kind,
                                            const nlohmann::json& data) const {
  auto found = find(event, kind);
  if (!found) return found.error();
  return render_text(found->first, kind, data, found->second);
}

} // namespace notify
