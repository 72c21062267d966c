#pragma once
// Regex matching for user-supplied patterns on response data, made safe to
// run on whatever a server sends back. libstdc++'s std::regex matches by
// recursion, about one stack frame chain per character, so "a.*b" on a
// 100 KB single-line body overflows a normal thread stack and kills the
// process. Matching therefore runs on a thread with a large stack and looks
// at most at the first k_max_regex_subject bytes.
#include <cstddef>
#include <optional>
#include <regex>
#include <string>
#include <string_view>

namespace smoke {

constexpr std::size_t k_max_regex_subject = std::size_t{64} * 1024;

struct RegexMatch {
  bool matched = false;
  std::string error;        // the pattern did not compile or matching failed; matched is false
  std::size_t searched = 0; // bytes of the subject that were looked at
};

// Why a user-supplied `pattern` must not be compiled, or "" when it may:
// libstdc++'s std::regex overflows (undefined behaviour) on a repetition
// count past its integers, and copies the repeated atom once per count, so
// counts ({n}, {n,m}) above k_max_regex_repeat are refused.
constexpr long k_max_regex_repeat = 1000;
std::string regex_problem(std::string_view pattern);

// Searches `subject` for `pattern` (or, when the model carries no compiled
// pattern, for `source` compiled as ECMAScript). Never throws.
RegexMatch regex_search_bounded(const std::optional<std::regex>& pattern, const std::string& source,
                                std::string_view subject);

} // namespace smoke
