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
// With milliseconds: "2026-11-21T21:50:00.250Z" (leases, the ledger).
std::string format_rfc3339_millis(SystemTime time);
// parse_time, keeping up to three digits of a fraction of a second.
std::optional<SystemTime> parse_time_millis(std::string_view text);

} // namespace core
