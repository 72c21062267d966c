#pragma once
// The two dates an HTTP check reads from the wire: a Retry-After header and
// the leaf certificate's "Expire date" as libcurl reports it.
#include <optional>
#include <string_view>

#include "core/time.hpp"
#include "smoke/check.hpp"

namespace smoke {

// Retry-After is delta-seconds ("120") or an HTTP date ("Sun, 06 Nov 1994
// 08:49:37 GMT", also the obsolete RFC 850 and asctime forms). A date is
// turned into the wait from `now`; a date in the past means no wait (0).
// Empty for anything else, negative numbers included.
std::optional<Duration> parse_retry_after(std::string_view value, core::SystemTime now);

// libcurl's certificate dates: "Jan 27 10:20:30 2026 GMT" (OpenSSL builds)
// or "2026-01-27 10:20:30 GMT" (its own ASN.1 decoder). Empty if neither.
std::optional<core::SystemTime> parse_certificate_time(std::string_view text);

} // namespace smoke
