#include <doctest/doctest.h>

#include <chrono>

#include "core/time.hpp"
#include "smoke/http_dates.hpp"

namespace {

core::SystemTime at(const char* text) {
  const auto time = core::parse_time(text);
  REQUIRE(time.has_value());
  return *time;
}

} // namespace

TEST_CASE("parse_retry_after reads delta-seconds") {
  const auto now = at("2026-11-21T10:00:00Z");
  CHECK(smoke::parse_retry_after("120", now) == smoke::Duration(120000));
  CHECK(smoke::parse_retry_after(" 0 ", now) == smoke::Duration(0));
}

TEST_CASE("parse_retry_after caps absurd waits at a day") {
  const auto now = at("2026-11-21T10:00:00Z");
  CHECK(smoke::parse_retry_after("99999999", now) == smoke::Duration(24 * 3600 * 1000));
  CHECK(smoke::parse_retry_after("99999999999999999999999", now) == smoke::Duration(24 * 3600 * 1000));
}

TEST_CASE("parse_retry_after turns an HTTP date into the wait from now") {
  const auto now = at("2026-11-21T10:00:00Z");
  CHECK(smoke::parse_retry_after("Sat, 21 Nov 2026 10:00:30 GMT", now) == smoke::Duration(30000));
  CHECK(smoke::parse_retry_after("Saturday, 21-Nov-26 10:01:00 GMT", now) == smoke::Duration(60000));
  CHECK(smoke::parse_retry_after("Sat Nov 21 10:00:05 2026", now) == smoke::Duration(5000));
}

TEST_CASE("parse_retry_after: a date in the past means no wait") {
  CHECK(smoke::parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", at("2026-11-21T10:00:00Z")) == smoke::Duration(0));
}

TEST_CASE("parse_retry_after rejects what is neither") {
  const auto now = at("2026-11-21T10:00:00Z");
  for (const char* text : {"", "  ", "-5", "1.5", "soon", "12abc"}) {
    CAPTURE(text);
    CHECK_FALSE(smoke::parse_retry_after(text, now).has_value());
  }
}

TEST_CASE("parse_certificate_time reads OpenSSL's form") {
  CHECK(smoke::parse_certificate_time("Jan 27 10:20:30 2026 GMT") == at("2026-01-27T10:20:30Z"));
  CHECK(smoke::parse_certificate_time("Jan  7 10:20:30 2026 GMT") == at("2026-01-07T10:20:30Z"));
  CHECK(smoke::parse_certificate_time(" Dec 31 23:59:59 2049 GMT") == at("2049-12-31T23:59:59Z"));
}

TEST_CASE("parse_certificate_time reads libcurl's ISO form") {
  CHECK(smoke::parse_certificate_time("2026-01-27 10:20:30 GMT") == at("2026-01-27T10:20:30Z"));
}

TEST_CASE("parse_certificate_time rejects garbage") {
  for (const char* text : {"", "GMT", "2026-13-01 00:00:00 GMT", "not a date"}) {
    CAPTURE(text);
    CHECK_FALSE(smoke::parse_certificate_time(text).has_value());
  }
}
