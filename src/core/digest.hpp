#pragma once
// Digests used across the program (OpenSSL).
#include <string>
#include <string_view>

namespace core {

// The SHA-256 of `text`, as 64 lowercase hex digits.
std::string sha256_hex(std::string_view text);

} // namespace core
