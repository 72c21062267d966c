#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "core/time.hpp"

namespace {

long long epoch_of(const std::string& text) {
  const auto time = core::parse_time(text);
  REQUIRE_MESSAGE(time.has_value(), text);
  return std::chrono::duration_cast<std::chrono::seconds>(time->time_since_epoch()).count();
}

constexpr long long k_2026_11_21_10h = 1795255200; // 2026-11-21T10:00:00Z

} // namespace

TEST_CASE("parse_time accepts RFC 3339 in UTC") {
  CHECK(epoch_of("2026-11-21T10:00:00Z") == k_2026_11_21_10h);
  CHECK(epoch_of("2026-11-21t10:00:00z") == k_2026_11_21_10h);
  CHECK(epoch_of("1970-01-01T00:00:00Z") == 0);
}

TEST_CASE("parse_time applies UTC offsets") {
  CHECK(epoch_of("2026-11-21T12:00:00+02:00") == k_2026_11_21_10h);
  CHECK(epoch_of("2026-11-21T05:30:00-04:30") == k_2026_11_21_10h);
}

TEST_CASE("parse_time ignores fractional seconds") {
  CHECK(epoch_of("2026-11-21T10:00:00.123456Z") == k_2026_11_21_10h);
  CHECK(epoch_of("2026-11-21T10:00:00.5+00:00") == k_2026_11_21_10h);
}

TEST_CASE("parse_time accepts a space separator, a bare date and @epoch") {
  CHECK(epoch_of("2026-11-21 10:00:00") == k_2026_11_21_10h);
  CHECK(epoch_of("2026-11-21") == k_2026_11_21_10h - 10 * 3600);
  CHECK(epoch_of("@1795255200") == k_2026_11_21_10h);
  CHECK(epoch_of("@0") == 0);
}

TEST_CASE("parse_time rejects malformed input") {
  for (const std::string text : {"", "yesterday", "2026-13-01", "2026-00-10", "2026-11-32", "2026-11-21T25:00:00Z",
                           "2026-11-21T10:61:00Z", "2026-11-21X10:00:00Z", "2026-11-21T10:00Z",
                           "2026-11-21T10:00:00+0200", "2026-11-21T10:00:00 UTC", "2026-11-21T10:00:00Zjunk",
                           "@", "@12abc", "2026-11-21trailing",
                           // an offset that is not made of digits must be refused, not throw
                           "2026-11-21T10:00:00+ab:cd", "2026-11-21T10:00:00+1x:00",
                           // days that do not exist in their month
                           "2026-02-30", "2026-02-29", "2026-04-31T10:00:00Z"}) {
    CAPTURE(text);
    CHECK_FALSE(core::parse_time(text).has_value());
  }
}

TEST_CASE("parse_date_end counts the whole day of a bare date") {
  const auto end = core::parse_date_end("2026-12-31");
  REQUIRE(end.has_value());
  CHECK(core::format_rfc3339(*end) == "2026-12-31T23:59:59Z");
  const auto exact = core::parse_date_end("2026-12-31T08:00:00Z");
  REQUIRE(exact.has_value());
  CHECK(core::format_rfc3339(*exact) == "2026-12-31T08:00:00Z");
  CHECK_FALSE(core::parse_date_end("31/12/2026").has_value());
}

TEST_CASE("format_rfc3339 round-trips") {
  for (const char* text : {"2026-11-21T10:00:00Z", "2000-02-29T23:59:59Z", "1970-01-01T00:00:00Z"}) {
    CAPTURE(text);
    const auto time = core::parse_time(text);
    REQUIRE(time.has_value());
    CHECK(core::format_rfc3339(*time) == text);
  }
}

TEST_CASE("parse_time_millis saturates at the end of the clock instead of wrapping into the past") {
  // The clock ends at 2262-04-11T23:47:16.854775807Z; the whole seconds
  // of these fit (or saturate), the fraction must not carry them over.
  for (const char* text : {"9999-12-31T23:59:59.999Z", "2262-04-11T23:47:16.999Z"}) {
    CAPTURE(text);
    const auto time = core::parse_time_millis(text);
    REQUIRE(time.has_value());
    CHECK(*time == core::SystemTime::max());
  }
  const auto before_end = core::parse_time_millis("2262-04-11T23:47:16.500Z");
  REQUIRE(before_end.has_value());
  CHECK(core::format_rfc3339_millis(*before_end) == "2262-04-11T23:47:16.500Z");
}

TEST_CASE("format_rfc3339_millis rounds instants before 1970 down, so they read back the same") {
  using std::chrono::milliseconds;
  CHECK(core::format_rfc3339_millis(core::SystemTime(milliseconds(-500))) == "1969-12-31T23:59:59.500Z");
  CHECK(core::format_rfc3339(core::SystemTime(milliseconds(-500))) == "1969-12-31T23:59:59Z");
  CHECK(core::format_rfc3339_millis(core::SystemTime(milliseconds(-1001))) == "1969-12-31T23:59:58.999Z");
  for (const long long millis : {-1500LL, -1LL, 0LL, 1LL, 1767225600123LL}) {
    CAPTURE(millis);
    const core::SystemTime time{milliseconds(millis)};
    const auto again = core::parse_time_millis(core::format_rfc3339_millis(time));
    REQUIRE(again.has_value());
    CHECK(*again == time);
  }
}

TEST_CASE("times past either end of the clock saturate, then read back the same") {
  for (const char* text : {"1013-01-02T03:04:05.678Z", "1677-09-21T00:12:43.823Z", "9999-12-31T23:59:59.999Z"}) {
    CAPTURE(text);
    const auto first = core::parse_time_millis(text);
    REQUIRE(first.has_value());
    const std::string written = core::format_rfc3339_millis(*first);
    const auto again = core::parse_time_millis(written);
    REQUIRE(again.has_value());
    CHECK(core::format_rfc3339_millis(*again) == written);
  }
  // The whole seconds at the ends are still on the clock.
  const auto start = core::parse_time_millis("1677-09-21T00:12:44.500Z");
  REQUIRE(start.has_value());
  CHECK(core::format_rfc3339_millis(*start) == "1677-09-21T00:12:44.500Z");
}
