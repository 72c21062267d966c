#include "io/glob.hpp"

#include <algorithm>
#include <filesystem>
#include <system_error>

namespace io {
namespace {

// Matches one class like "[a-z]" at pattern[p]; sets `end` past the ']'.
bool match_class(std::string_view pattern, std::size_t p, char c, std::size_t& end) {
  std::size_t i = p + 1;
  const bool negate = i < pattern.size() && (pattern[i] == '!' || pattern[i] == '^');
  if (negate) ++i;
  bool matched = false;
  bool first = true;
  for (; i < pattern.size() && (first || pattern[i] != ']'); ++i, first = false) {
    if (i + 2 < pattern.size() && pattern[i + 1] == '-' && pattern[i + 2] != ']') {
      matched |= pattern[i] <= c && c <= pattern[i + 2];
      i += 2;
    } else {
      matched |= pattern[i] == c;
    }
  }
  end = i < pattern.size() ? i + 1 : std::string_view::npos;
  return matched != negate;
}

bool match(std::string_view pattern, std::string_view text, bool slash_is_special) {
  std::size_t p = 0, t = 0;
  std::size_t star_p = std::string_view::npos, star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size()) {
      const char c = pattern[p];
      if (slash_is_special && c == '*' && p + 1 < pattern.size() && pattern[p + 1] == '*') {
        // "**/" matches zero or more whole directories; a trailing "**" matches the rest.
        std::string_view rest = pattern.substr(p + 2);
        if (!rest.empty() && rest[0] == '/') rest.remove_prefix(1);
        if (rest.empty()) return true;
        for (std::size_t k = t; k <= text.size(); ++k)
          if ((k == t || text[k - 1] == '/') && match(rest, text.substr(k), true)) return true;
        return false;
      }
      if (c == '*') {
        star_p = p++;
        star_t = t;
        continue;
      }
      if (c == '?' && !(slash_is_special && text[t] == '/')) {
        ++p, ++t;
        continue;
      }
      if (c == '[') {
        std::size_t end = 0;
        if (match_class(pattern, p, text[t], end) && end != std::string_view::npos &&
            !(slash_is_special && text[t] == '/')) {
          p = end, ++t;
          continue;
        }
      } else if (c == text[t] && c != '?') {
        ++p, ++t;
        continue;
      }
    }
    if (star_p == std::string_view::npos || (slash_is_special && text[star_t] == '/')) return false;
    p = star_p + 1;
    t = ++star_t;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

} // namespace

bool glob_match(std::string_view pattern, std::string_view text) { return match(pattern, text, true); }
bool name_match(std::string_view pattern, std::string_view text) { return match(pattern, text, false); }

bool has_glob_chars(std::string_view pattern) { return pattern.find_first_of("*?[") != std::string_view::npos; }

std::vector<std::string> expand_glob(const std::string& pattern) {
  namespace fs = std::filesystem;
  std::error_code error;
  if (!has_glob_chars(pattern)) {
    if (fs::is_regular_file(pattern, error)) return {pattern};
    return {};
  }
  // The walk starts at the longest directory prefix without wildcards.
  const std::size_t wildcard = pattern.find_first_of("*?[");
  const std::size_t slash = pattern.rfind('/', wildcard);
  const std::string base = slash == std::string::npos ? "." : (slash == 0 ? "/" : pattern.substr(0, slash));
  const std::string relative_pattern = slash == std::string::npos ? pattern : pattern.substr(slash + 1);
  std::vector<std::string> found;
  fs::recursive_directory_iterator walk(base, fs::directory_options::skip_permission_denied, error);
  for (; !error && walk != fs::recursive_directory_iterator(); walk.increment(error)) {
    if (!walk->is_regular_file(error)) continue;
    const std::string relative = walk->path().lexically_relative(base).generic_string();
    if (!glob_match(relative_pattern, relative)) continue;
    found.push_back(slash == std::string::npos ? relative : (base == "/" ? "/" : base + "/") + relative);
  }
  std::sort(found.begin(), found.end());
  return found;
}

} // namespace io
