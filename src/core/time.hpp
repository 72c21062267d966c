#pragma once
// Wall-clock helpers. Timestamps are parsed and printed in UTC, RFC 3339.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace core {

using SystemTime = std::chrono::system_clock::time_point;

// Accepts "2026-11-21T10:00:00Z", "2026-11-21T10:00:00+02:00",
// "2026-11-21 10:00:00" (UTC), "2026-11-21" (midnight UTC) and "@<epoch seconds>".
std::optional<SystemTime> parse_time(std::string_view text);
// Accepts "2026-12-31" (the whole day counts) and full timestamps.
std::optional<SystemTime> parse_date_end(std::string_view text);
std::string format_rfc3339(SystemTime time);

} // namespace core
