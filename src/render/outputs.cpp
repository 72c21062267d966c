#include "render/outputs.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <random>
#include <set>

#include "core/text.hpp"

namespace render {
namespace {

std::string github_name(std::string_view name) {
  std::string out;
  for (const char c : name) {
    const bool allowed = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
    out += allowed ? c : '_';
  }
  return out.empty() ? "_" : out;
}

std::string dotenv_value(std::string_view value) {
  std::string out = core::sanitize_utf8(value);
  std::replace_if(
      out.begin(), out.end(), [](char c) { return c == '\n' || c == '\r' || c == '\t'; }, ' ');
  return core::trim(out); // GitLab strips surrounding blanks anyway
}

} // namespace

std::string random_delimiter() {
  std::random_device device;
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string out = "ghadelimiter_";
  for (int i = 0; i < 4; ++i) {
    const std::uint32_t word = device();
    for (int shift = 0; shift < 32; shift += 4)
      out += k_hex[(word >> shift) & 0xF];
  }
  return out;
}

std::string github_output(const OutputPairs& outputs) {
  return github_output(outputs, random_delimiter);
}

std::string github_output(const OutputPairs& outputs, const std::function<std::string()>& make_delimiter) {
  std::string text;
  for (const auto& [raw_name, raw_value] : outputs) {
    const std::string name = github_name(raw_name);
    const std::string value = core::sanitize_utf8(raw_value);
    std::string delimiter = make_delimiter();
    while (delimiter.empty() || value.find(delimiter) != std::string::npos)
      delimiter = make_delimiter();
    text.append(name).append("<<").append(delimiter).append("\n");
    text.append(value).append("\n").append(delimiter).append("\n");
  }
  return text;
}

std::string dotenv_name(std::string_view name) {
  std::string out = "SHIPGATE_";
  for (const char c : name) {
    const auto byte = static_cast<unsigned char>(c);
    out += std::isalnum(byte) && byte < 0x80 ? static_cast<char>(std::toupper(byte)) : '_';
  }
  return out;
}

DotenvFile dotenv(const OutputPairs& outputs) {
  DotenvFile file;
  std::set<std::string> seen;
  for (const auto& [raw_name, raw_value] : outputs) {
    const std::string name = dotenv_name(raw_name);
    if (name == "SHIPGATE_ENVIRONMENT") {
      file.reserved.push_back(name);
      continue;
    }
    const std::string line = name + "=" + dotenv_value(raw_value) + "\n";
    const bool fits = file.text.size() + line.size() <= k_dotenv_max_bytes && seen.size() < k_dotenv_max_variables;
    if (!fits || !seen.insert(name).second) {
      file.dropped.push_back(name);
      continue;
    }
    file.text += line;
  }
  return file;
}

} // namespace render
