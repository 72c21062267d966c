#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/text.hpp"

using namespace std::string_literals;

TEST_CASE("sanitize_utf8 keeps clean text unchanged") {
  const std::string text = "plain ascii\twith tab\nnewline and 测试 and émoji 🚀";
  CHECK(core::is_clean_text(text));
  CHECK(core::sanitize_utf8(text) == text);
}

TEST_CASE("sanitize_utf8 replaces invalid UTF-8 with U+FFFD") {
  SUBCASE("a lone continuation byte") { CHECK(core::sanitize_utf8("a\x80z") == "a\xEF\xBF\xBDz"); }
  SUBCASE("a truncated sequence at the end") { CHECK(core::sanitize_utf8("ab\xE6\xB5") == "ab\xEF\xBF\xBD\xEF\xBF\xBD"); }
  SUBCASE("an overlong encoding of '/'") { CHECK(core::sanitize_utf8("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD"); }
  SUBCASE("an encoded UTF-16 surrogate") {
    CHECK(core::sanitize_utf8("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  }
  SUBCASE("a code point above U+10FFFF") { CHECK(core::is_clean_text(core::sanitize_utf8("\xF4\x90\x80\x80"))); }
  SUBCASE("bytes 0xFE 0xFF") { CHECK(core::sanitize_utf8("\xFE\xFF") == "\xEF\xBF\xBD\xEF\xBF\xBD"); }
}

TEST_CASE("sanitize_utf8 makes control characters visible") {
  CHECK(core::sanitize_utf8("a\x01" "b") == "a\\x01b");
  CHECK(core::sanitize_utf8("\x1b[31mred") == "\\x1B[31mred");
  CHECK(core::sanitize_utf8("nul\0here"s) == "nul\\x00here");
  CHECK(core::sanitize_utf8("del\x7f") == "del\\x7F");
  // Tabs and line breaks are text, not controls.
  CHECK(core::sanitize_utf8("a\tb\r\nc") == "a\tb\r\nc");
}

TEST_CASE("the output of sanitize_utf8 is always clean") {
  std::string all_bytes;
  for (int c = 0; c < 256; ++c) all_bytes += static_cast<char>(c);
  const std::string clean = core::sanitize_utf8(all_bytes);
  CHECK(core::is_clean_text(clean));
  CHECK_FALSE(core::is_clean_text(all_bytes));
}

TEST_CASE("is_clean_text") {
  CHECK(core::is_clean_text(""));
  CHECK(core::is_clean_text("测试"));
  CHECK_FALSE(core::is_clean_text("\x1b"));
  CHECK_FALSE(core::is_clean_text("\xC3")); // cut multi-byte sequence
  CHECK_FALSE(core::is_clean_text("\x7f"));
}

TEST_CASE("truncate leaves short text alone") {
  CHECK(core::truncate("hello", 5) == "hello");
  CHECK(core::truncate("", 0) == "");
}

TEST_CASE("truncate cuts on a UTF-8 boundary and says how much was dropped") {
  SUBCASE("ascii") {
    const std::string out = core::truncate("abcdefghij", 4);
    CHECK(out.rfind("abcd", 0) == 0);
    CHECK(out.find("truncated 6 bytes") != std::string::npos);
  }
  SUBCASE("a cut inside a 3-byte character backs off to its start") {
    const std::string text = "ab测试"; // 2 + 3 + 3 bytes
    for (std::size_t max = 2; max < text.size(); ++max) {
      CAPTURE(max);
      const std::string out = core::truncate(text, max);
      CHECK(core::is_clean_text(out));
      CHECK(out.find("truncated") != std::string::npos);
    }
    const std::string out = core::truncate(text, 4); // inside the first CJK char
    CHECK(out.rfind("ab…", 0) == 0);
    CHECK(out.find("truncated 6 bytes") != std::string::npos);
  }
  SUBCASE("a cut inside a 4-byte emoji") {
    const std::string out = core::truncate("x🚀y", 3);
    CHECK(out.rfind("x…", 0) == 0);
    CHECK(core::is_clean_text(out));
  }
}

TEST_CASE("first_line") {
  CHECK(core::first_line("\n\n  first\nsecond", 100) == "first");
  CHECK(core::first_line("one line\r\n", 100) == "one line");
  CHECK(core::first_line("   \n\t", 100) == "");
  CHECK(core::first_line("abcdefgh\nx", 3).rfind("abc", 0) == 0);
  CHECK(core::first_line("abcdefgh\nx", 3).find("truncated") != std::string::npos);
}

TEST_CASE("edit_distance") {
  CHECK(core::edit_distance("", "") == 0);
  CHECK(core::edit_distance("abc", "") == 3);
  CHECK(core::edit_distance("", "abc") == 3);
  CHECK(core::edit_distance("kitten", "sitting") == 3);
  CHECK(core::edit_distance("flaky", "flaky") == 0);
  CHECK(core::edit_distance("min_tests", "min_test") == 1);
  CHECK(core::edit_distance("abc", "acb") == 2);
  CHECK(core::edit_distance("a", "b") == core::edit_distance("b", "a"));
}

TEST_CASE("closest_match") {
  const std::vector<std::string> keys = {"max_failures", "min_pass_rate", "min_tests", "flaky", "quarantine"};
  CHECK(core::closest_match("max_failure", keys) == "max_failures");
  CHECK(core::closest_match("min_test", keys) == "min_tests");
  CHECK(core::closest_match("flakey", keys) == "flaky");
  CHECK(core::closest_match("quarantien", keys) == "quarantine");
  CHECK(core::closest_match("completely_unrelated_words", keys) == "");
  CHECK(core::closest_match("x", {}) == "");
}

TEST_CASE("trim, to_lower, starts_with") {
  CHECK(core::trim("  a b \t\r\n") == "a b");
  CHECK(core::trim(" \n ") == "");
  CHECK(core::to_lower("SKIP Todo") == "skip todo");
  CHECK(core::starts_with("not ok 1", "not ok"));
  CHECK_FALSE(core::starts_with("no", "not ok"));
  CHECK(core::starts_with("anything", ""));
}

TEST_CASE("join and replace_all") {
  CHECK(core::join({}) == "");
  CHECK(core::join({"a"}) == "a");
  CHECK(core::join({"a", "b", "c"}) == "a, b, c");
  CHECK(core::join({"a", "b"}, "; ") == "a; b");
  CHECK(core::replace_all("--file ${SCRIPT} ${SCRIPT}", "${SCRIPT}", "/x.sql") == "--file /x.sql /x.sql");
  // The replacement is not searched again.
  CHECK(core::replace_all("aa", "a", "aa") == "aaaa");
  CHECK(core::replace_all("abc", "", "x") == "abc");
}
