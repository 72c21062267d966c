#include "notify/signing.hpp"

#include <array>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/text.hpp"

namespace notify {
namespace {

constexpr std::string_view k_base64_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view k_whsec_prefix = "whsec_";
// Standard Webhooks asks for 24–64 random bytes; below 16 the secret is
// almost certainly a password or a typo rather than a generated key.
constexpr std::size_t k_min_webhook_key = 16;

int base64_value(char c) {
  const auto found = k_base64_alphabet.find(c);
  return found == std::string_view::npos ? -1 : static_cast<int>(found);
}

} // namespace

std::string hmac_sha256(std::string_view key, std::string_view message) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  // An empty key or message is legal (Feishu signs the empty message), but
  // OpenSSL wants non-null pointers.
  static const unsigned char k_empty = 0;
  const void* key_data = key.empty() ? static_cast<const void*>(&k_empty) : key.data();
  const auto* message_data = message.empty() ? &k_empty : reinterpret_cast<const unsigned char*>(message.data());
  HMAC(EVP_sha256(), key_data, static_cast<int>(key.size()), message_data, message.size(), digest.data(), &length);
  return std::string(reinterpret_cast<const char*>(digest.data()), length);
}

std::string to_hex(std::string_view bytes) {
  static constexpr char k_digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    out += k_digits[byte >> 4];
    out += k_digits[byte & 0x0F];
  }
  return out;
}

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t left = bytes.size() - i;
    std::uint32_t group = static_cast<unsigned char>(bytes[i]) << 16;
    if (left > 1) group |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    if (left > 2) group |= static_cast<unsigned char>(bytes[i + 2]);
    out += k_base64_alphabet[(group >> 18) & 0x3F];
    out += k_base64_alphabet[(group >> 12) & 0x3F];
    out += left > 1 ? k_base64_alphabet[(group >> 6) & 0x3F] : '=';
    out += left > 2 ? k_base64_alphabet[group & 0x3F] : '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 == 0 && !text.empty()) {
    if (text.back() == '=') text.remove_suffix(1);
    if (!text.empty() && text.back() == '=') text.remove_suffix(1);
  }
  if (text.size() % 4 == 1) return std::nullopt; // no byte ends after 6 bits
  std::string out;
  std::uint32_t group = 0;
  int bits = 0;
  for (const char c : text) {
    const int value = base64_value(c);
    if (value < 0) return std::nullopt;
    group = (group << 6) | static_cast<std::uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((group >> bits) & 0xFF);
    }
  }
  // Leftover bits must be zero, or two different texts would decode alike.
  if (bits > 0 && (group & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::string url_encode(std::string_view text) {
  static constexpr char k_digits[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    const bool unreserved = (byte >= 'A' && byte <= 'Z') || (byte >= 'a' && byte <= 'z') ||
                            (byte >= '0' && byte <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += c;
    } else {
      out += '%';
      out += k_digits[byte >> 4];
      out += k_digits[byte & 0x0F];
    }
  }
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

DingTalkSignature dingtalk_signature(std::string_view secret, std::int64_t timestamp_ms) {
  DingTalkSignature signature;
  signature.timestamp = std::to_string(timestamp_ms);
  const std::string to_sign = signature.timestamp + "\n" + std::string(secret);
  signature.base64 = base64_encode(hmac_sha256(secret, to_sign));
  signature.url_encoded = url_encode(signature.base64);
  return signature;
}

std::string feishu_signature(std::string_view secret, std::int64_t timestamp_s) {
  const std::string key = std::to_string(timestamp_s) + "\n" + std::string(secret);
  return base64_encode(hmac_sha256(key, ""));
}

core::Result<std::string> standard_webhook_signature(std::string_view secret, std::string_view id,
                                                     std::int64_t timestamp_s, std::string_view body) {
  std::string_view encoded = secret;
  if (core::starts_with(encoded, k_whsec_prefix)) encoded.remove_prefix(k_whsec_prefix.size());
  const auto key = base64_decode(encoded);
  if (!key || key->size() < k_min_webhook_key)
    return core::make_error(
        core::ErrorKind::invalid_input,
        "the generic webhook secret must be \"whsec_\" followed by the Base64 of at least " +
            std::to_string(k_min_webhook_key) +
            " random bytes (Standard Webhooks); make one with: echo whsec_$(openssl rand -base64 32)");
  std::string content(id);
  content.append(".").append(std::to_string(timestamp_s)).append(".").append(body);
  return "v1," + base64_encode(hmac_sha256(*key, content));
}

std::string github_signature(std::string_view secret, std::string_view body) {
  return "sha256=" + to_hex(hmac_sha256(secret, body));
}

} // namespace notify
