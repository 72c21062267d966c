#pragma once
// The signatures chat robots and webhook receivers check, and the encodings
// they are built from (OpenSSL inside). Every recipe differs in a detail
// that silently breaks delivery (ms vs s, key vs message, query vs body,
// URL-encoded or not), so each has its own function pinned by the vendor's
// test vector in tests/unit/notify/signing_test.cpp.
//
// Nothing here logs or returns a secret in an error message.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace notify {

// The raw 32-byte HMAC-SHA256 of `message` keyed by `key`.
std::string hmac_sha256(std::string_view key, std::string_view message);

// Lower-case hex of raw bytes.
std::string to_hex(std::string_view bytes);

// Standard Base64 (RFC 4648 alphabet, with "=" padding).
std::string base64_encode(std::string_view bytes);
// Standard Base64, padding optional; empty for anything else (URL-safe
// alphabet, whitespace, bad padding, stray characters).
std::optional<std::string> base64_decode(std::string_view text);

// Percent-encodes everything but RFC 3986's unreserved characters
// (A-Z a-z 0-9 - . _ ~), so "+", "/" and "=" survive a query string.
std::string url_encode(std::string_view text);

// Equality whose time depends only on the lengths, for comparing signatures.
bool constant_time_equal(std::string_view a, std::string_view b);

// DingTalk custom robot (加签): HMAC-SHA256 keyed by the secret ("SEC…")
// over "<timestamp_ms>\n<secret>", Base64. Sent as the query parameters
// `timestamp` and `sign` (the URL-encoded form).
struct DingTalkSignature {
  std::string timestamp;   // milliseconds since the epoch, decimal
  std::string base64;      // the signature
  std::string url_encoded; // what goes into the query string
};
DingTalkSignature dingtalk_signature(std::string_view secret, std::int64_t timestamp_ms);

// Feishu/Lark custom bot (签名校验): HMAC-SHA256 keyed by
// "<timestamp_s>\n<secret>" over the empty message, Base64 (not
// URL-encoded). Sent as the JSON body fields `timestamp` (a string) and `sign`.
std::string feishu_signature(std::string_view secret, std::int64_t timestamp_s);

// Standard Webhooks v1: "v1," + Base64(HMAC-SHA256(key, id "." ts "." body)).
// The secret is "whsec_<base64 key>" as the spec serialises it; the bare
// Base64 key without the prefix is accepted too, as the spec's reference
// libraries do. Fails (invalid_input) when the key is not Base64 or decodes
// to fewer than 16 bytes; the message says how to make a good secret and
// never repeats the secret.
core::Result<std::string> standard_webhook_signature(std::string_view secret, std::string_view id,
                                                     std::int64_t timestamp_s, std::string_view body);

// GitHub style (X-Hub-Signature-256): "sha256=" + hex HMAC-SHA256 of the body.
std::string github_signature(std::string_view secret, std::string_view body);

} // namespace notify
