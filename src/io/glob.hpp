#pragma once
// Glob patterns for report paths and test names.
#include <string>
#include <string_view>
#include <vector>

namespace io {

// `*` and `?` do not cross '/'; `**` matches any number of directories;
// `[abc]`, `[a-z]`, `[!a]` are character classes.
bool glob_match(std::string_view pattern, std::string_view text);
// Like glob_match, but '/' is an ordinary character (for test names).
bool name_match(std::string_view pattern, std::string_view text);
bool has_glob_chars(std::string_view pattern);

// Files matching `pattern` (relative to the working directory unless
// absolute), sorted. Symbolic links to directories are not followed, so a
// link loop cannot hang the walk.
std::vector<std::string> expand_glob(const std::string& pattern);

} // namespace io
