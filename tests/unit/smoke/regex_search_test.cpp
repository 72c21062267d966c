#include <doctest/doctest.h>

#include <optional>
#include <regex>
#include <string>

#include "smoke/regex_search.hpp"

using smoke::regex_search_bounded;

TEST_CASE("regex search: a compiled pattern wins over its text") {
  const std::optional<std::regex> pattern(std::regex("^ok$"));
  const auto match = regex_search_bounded(pattern, "never used", "ok");
  CHECK(match.matched);
  CHECK(match.error.empty());
  CHECK(match.searched == 2);
}

TEST_CASE("regex search: without a compiled pattern the text is compiled as ECMAScript") {
  CHECK(regex_search_bounded(std::nullopt, "v[0-9]+\\.[0-9]+", "version v1.42 is up").matched);
  CHECK_FALSE(regex_search_bounded(std::nullopt, "^v2", "v1.42").matched);
}

TEST_CASE("regex search: an invalid pattern is an error, not an exception") {
  const auto match = regex_search_bounded(std::nullopt, "(unclosed", "text");
  CHECK_FALSE(match.matched);
  CHECK(match.error.find("invalid regex") == 0);
}

TEST_CASE("regex search: a pattern that recurses per character survives a long subject") {
  // On a default 8 MB stack, libstdc++ overflows on this after ~20 KB.
  const std::string subject(smoke::k_max_regex_subject, 'a');
  CHECK(regex_search_bounded(std::nullopt, "^(a|b)*$", subject).matched);
}

TEST_CASE("regex search: only the first k_max_regex_subject bytes are searched") {
  const std::string subject = std::string(smoke::k_max_regex_subject, 'x') + "needle";
  const auto match = regex_search_bounded(std::nullopt, "needle", subject);
  CHECK_FALSE(match.matched);
  CHECK(match.searched == smoke::k_max_regex_subject);
}

TEST_CASE("regex_problem refuses counts that std::regex would overflow on or blow up") {
  // Found by fuzzing the policy: "x{3333333333333333333}" overflowed inside
  // libstdc++'s regex compiler (undefined behaviour).
  for (const char* pattern : {"x{3333333333333333333}", "x{1001}", "x{2,99999}", "(a){0,1001}", "(a)\\99999999999999999999"}) {
    CAPTURE(pattern);
    CHECK_FALSE(smoke::regex_problem(pattern).empty());
    CHECK_FALSE(smoke::regex_search_bounded(std::nullopt, pattern, "x").error.empty());
  }
  for (const char* pattern : {"x{1000}", "x{2,5}", "\\{99999}", "a{", "{}", "(a)\\1", "^v[0-9]+\\.", ""}) {
    CAPTURE(pattern);
    CHECK(smoke::regex_problem(pattern).empty());
  }
}
