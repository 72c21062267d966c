#include "core/time.hpp"

#include <cstdio>
#include <ctime>
#include <utility>

namespace core {
namespace {

// system_clock counts nanoseconds in 64 bits, so it ends in April 2262. A later
// date (a quarantine that "expires: 9999-12-31") would overflow and wrap into
// the past, so it saturates at the end of the clock instead.
SystemTime from_epoch_seconds(long long seconds) {
  using std::chrono::duration_cast;
  constexpr long long k_max = duration_cast<std::chrono::seconds>(SystemTime::duration::max()).count();
  constexpr long long k_min = duration_cast<std::chrono::seconds>(SystemTime::duration::min()).count();
  // k_max and k_min themselves are whole seconds the clock still holds.
  if (seconds > k_max) return SystemTime::max();
  if (seconds < k_min) return SystemTime::min();
  return SystemTime(duration_cast<SystemTime::duration>(std::chrono::seconds(seconds)));
}

int days_in_month(int year, int month) {
  static constexpr int k_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : k_days[month - 1];
}

std::optional<SystemTime> from_fields(int year, int month, int day, int hour, int minute, int second,
                                      long offset_seconds) {
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
    return std::nullopt;
  // timegm would quietly turn 2026-02-30 into March 2nd.
  if (day > days_in_month(year, month)) return std::nullopt;
  std::tm fields{};
  fields.tm_year = year - 1900;
  fields.tm_mon = month - 1;
  fields.tm_mday = day;
  fields.tm_hour = hour;
  fields.tm_min = minute;
  fields.tm_sec = second;
  const std::time_t epoch = timegm(&fields);
  return from_epoch_seconds(static_cast<long long>(epoch) - offset_seconds);
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

} // namespace

std::optional<SystemTime> parse_time(std::string_view text) {
  const std::string value(text);
  if (!value.empty() && value[0] == '@') {
    char* end = nullptr;
    const long long seconds = std::strtoll(value.c_str() + 1, &end, 10);
    if (end == value.c_str() + 1 || *end != '\0') return std::nullopt;
    return from_epoch_seconds(seconds);
  }
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, consumed = 0;
  if (std::sscanf(value.c_str(), "%4d-%2d-%2d%n", &year, &month, &day, &consumed) != 3) return std::nullopt;
  if (static_cast<std::size_t>(consumed) == value.size()) return from_fields(year, month, day, 0, 0, 0, 0);
  const char separator = value[consumed];
  if (separator != 'T' && separator != 't' && separator != ' ') return std::nullopt;
  int more = 0;
  if (std::sscanf(value.c_str() + consumed + 1, "%2d:%2d:%2d%n", &hour, &minute, &second, &more) != 3)
    return std::nullopt;
  std::string_view rest = std::string_view(value).substr(consumed + 1 + more);
  if (!rest.empty() && rest[0] == '.') { // fractional seconds are ignored
    std::size_t i = 1;
    while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9') ++i;
    rest.remove_prefix(i);
  }
  long offset = 0;
  if (rest.empty() || rest == "Z" || rest == "z") {
    offset = 0;
  } else if ((rest[0] == '+' || rest[0] == '-') && rest.size() == 6 && rest[3] == ':' && is_digit(rest[1]) &&
             is_digit(rest[2]) && is_digit(rest[4]) && is_digit(rest[5])) {
    const int hours = std::stoi(std::string(rest.substr(1, 2)));
    const int minutes = std::stoi(std::string(rest.substr(4, 2)));
    offset = (hours * 3600L + minutes * 60L) * (rest[0] == '-' ? -1 : 1);
  } else {
    return std::nullopt;
  }
  return from_fields(year, month, day, hour, minute, second, offset);
}

std::optional<SystemTime> parse_date_end(std::string_view text) {
  auto time = parse_time(text);
  const auto rest_of_day = std::chrono::hours(24) - std::chrono::seconds(1);
  if (time && text.size() == 10 && *time < SystemTime::max() - rest_of_day) *time += rest_of_day;
  return time;
}

namespace {

// Milliseconds since the epoch rounded down, split into whole seconds and
// the rest (0..999). to_time_t rounds toward zero instead, which put an
// instant before 1970 up to a second late ("23:59:59.5" became "00:00:00").
std::pair<std::time_t, int> floor_seconds_millis(SystemTime time) {
  const long long millis = std::chrono::floor<std::chrono::milliseconds>(time.time_since_epoch()).count();
  long long seconds = millis / 1000;
  long long rest = millis % 1000;
  if (rest < 0) {
    rest += 1000;
    --seconds;
  }
  return {static_cast<std::time_t>(seconds), static_cast<int>(rest)};
}

} // namespace

std::string format_rfc3339(SystemTime time) {
  const std::time_t epoch = floor_seconds_millis(time).first;
  std::tm fields{};
  gmtime_r(&epoch, &fields);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &fields);
  return buffer;
}

std::string format_rfc3339_millis(SystemTime time) {
  std::string text = format_rfc3339(time);
  char fraction[8];
  std::snprintf(fraction, sizeof fraction, ".%03d", floor_seconds_millis(time).second);
  text.insert(text.size() - 1, fraction);
  return text;
}

std::optional<SystemTime> parse_time_millis(std::string_view text) {
  auto time = parse_time(text); // whole seconds
  if (!time) return std::nullopt;
  const auto dot = text.find('.');
  if (dot == std::string_view::npos) return time;
  long long millis = 0;
  for (std::size_t i = dot + 1, digits = 0; digits < 3; ++i, ++digits)
    millis = millis * 10 + (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) ? text[i] - '0' : 0);
  // A date past an end of the clock saturated at that end; the fraction
  // must not carry it over (and wrap into the past), nor move it off the
  // start, which would make the time differ each time it is written and read.
  if (*time == SystemTime::min()) return time;
  if (*time > SystemTime::max() - std::chrono::milliseconds(millis)) return SystemTime::max();
  return *time + std::chrono::milliseconds(millis);
}

} // namespace core
