#include "smoke/http_dates.hpp"

#include <charconv>
#include <string>

#include <curl/curl.h>

#include "core/text.hpp"

namespace smoke {
namespace {

// A cap, so a hostile "Retry-After: 99999999999" cannot overflow or park a
// pipeline for years; the wait phase has its own deadline anyway.
constexpr long long k_max_retry_after_seconds = 24LL * 3600;

std::optional<long long> parse_seconds(std::string_view text) {
  long long seconds = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (error == std::errc::result_out_of_range && end == text.data() + text.size()) return k_max_retry_after_seconds;
  if (error != std::errc() || end != text.data() + text.size() || seconds < 0) return std::nullopt;
  return seconds;
}

// curl_getdate knows every date form HTTP has used; -1 means it could not parse.
std::optional<core::SystemTime> parse_http_date(const std::string& text) {
  const time_t epoch = curl_getdate(text.c_str(), nullptr);
  if (epoch == -1) return std::nullopt;
  return std::chrono::system_clock::from_time_t(epoch);
}

} // namespace

std::optional<Duration> parse_retry_after(std::string_view value, core::SystemTime now) {
  const std::string text = core::trim(value);
  if (text.empty()) return std::nullopt;
  if (text.find_first_not_of("0123456789") == std::string::npos) {
    const auto seconds = parse_seconds(text);
    if (!seconds) return std::nullopt;
    return Duration(std::min(*seconds, k_max_retry_after_seconds) * 1000);
  }
  const auto when = parse_http_date(text);
  if (!when) return std::nullopt;
  if (*when <= now) return Duration(0);
  const auto wait = std::chrono::duration_cast<Duration>(*when - now);
  return std::min(wait, Duration(k_max_retry_after_seconds * 1000));
}

std::optional<core::SystemTime> parse_certificate_time(std::string_view text) {
  std::string trimmed = core::trim(text);
  if (trimmed.empty()) return std::nullopt;
  if (trimmed.size() > 4 && trimmed[4] == '-') {
    // "2026-01-27 10:20:30 GMT": core::parse_time reads the ISO part as UTC.
    if (trimmed.compare(trimmed.size() - 4, 4, " GMT") == 0) trimmed.resize(trimmed.size() - 4);
    return core::parse_time(trimmed);
  }
  return parse_http_date(trimmed);
}

} // namespace smoke
