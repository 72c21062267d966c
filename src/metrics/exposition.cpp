#include "metrics/exposition.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "core/text.hpp"

namespace metrics {
namespace {

bool is_name_char(char c, bool first, bool colon_allowed) {
  const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon_allowed && c == ':');
  return letter || (!first && c >= '0' && c <= '9');
}

bool is_name(std::string_view name, bool colon_allowed) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i)
    if (!is_name_char(name[i], i == 0, colon_allowed)) return false;
  return true;
}

std::string render_sample(const Family& family, const Sample& sample) {
  std::string line = family.name + sample.suffix;
  if (!sample.labels.empty()) {
    line += '{';
    for (std::size_t i = 0; i < sample.labels.size(); ++i) {
      if (i) line += ',';
      line += sample.labels[i].first + "=\"" + escape_label_value(sample.labels[i].second) + '"';
    }
    line += '}';
  }
  return line + ' ' + format_value(sample.value) + '\n';
}

} // namespace

std::string escape_label_value(std::string_view value) {
  const std::string valid = core::sanitize_utf8(value);
  std::string out;
  out.reserve(valid.size());
  for (char c : valid) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string escape_help(std::string_view help) {
  const std::string valid = core::sanitize_utf8(help);
  std::string out;
  out.reserve(valid.size());
  for (char c : valid) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char text[40];
  // Whole numbers (counts, exit codes, Unix seconds) without an exponent.
  if (value == std::trunc(value) && std::fabs(value) < 1e15) {
    std::snprintf(text, sizeof text, "%.0f", value);
    return text;
  }
  // The shortest of 15 and 17 digits that reads back as the same double.
  std::snprintf(text, sizeof text, "%.15g", value);
  if (std::strtod(text, nullptr) != value) std::snprintf(text, sizeof text, "%.17g", value);
  return text;
}

bool is_metric_name(std::string_view name) {
  return is_name(name, true);
}
bool is_label_name(std::string_view name) {
  return is_name(name, false);
}

std::string render(const std::vector<Family>& families) {
  std::string out;
  for (const auto& family : families) {
    if (family.samples.empty()) continue;
    out += "# HELP " + family.name + ' ' + escape_help(family.help) + '\n';
    out += "# TYPE " + family.name + ' ' + family.type + '\n';
    for (const auto& sample : family.samples)
      out += render_sample(family, sample);
  }
  return out;
}

} // namespace metrics
