#include "io/redactor.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include "core/text.hpp"

namespace io {
namespace {

constexpr std::array<std::string_view, 4> k_secret_suffixes = {"_TOKEN", "_PASSWORD", "_SECRET", "_KEY"};
constexpr std::array<std::string_view, 8> k_not_secrets = {"true", "false", "null", "none", "yes", "no", "0", "1"};
constexpr std::size_t k_chunk = 64 * 1024;

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// Base64 text that `value` becomes inside any longer Base64 string: it is
// encoded as if preceded by `offset` (0 to 2) other bytes, then the
// characters that also depend on those bytes, or on the bytes after it,
// are cut off. Three of these cover every alignment.
std::string base64_core(std::string_view value, std::size_t offset) {
  std::string input(offset, '\0');
  input.append(value);
  std::string encoded(4 * ((input.size() + 2) / 3) + 1, '\0');
  const int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                                     reinterpret_cast<const unsigned char*>(input.data()), static_cast<int>(input.size()));
  encoded.resize(static_cast<std::size_t>(std::max(length, 0)));
  const std::size_t skip = offset == 0 ? 0 : 4;
  const std::size_t whole = input.size() / 3 * 4; // characters of complete 3-byte groups
  if (whole <= skip) return {};
  return encoded.substr(skip, whole - skip);
}

std::string percent_encode(std::string_view value, bool plus_for_space, bool lower) {
  static constexpr char upper_digits[] = "0123456789ABCDEF";
  static constexpr char lower_digits[] = "0123456789abcdef";
  const char* digits = lower ? lower_digits : upper_digits;
  std::string out;
  for (const unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else if (c == ' ' && plus_for_space) {
      out += '+';
    } else {
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 15];
    }
  }
  return out;
}

std::string replace_each(std::string_view value, const std::vector<std::pair<char, std::string_view>>& table) {
  std::string out;
  for (const char c : value) {
    const auto it = std::find_if(table.begin(), table.end(), [&](const auto& entry) { return entry.first == c; });
    if (it == table.end()) out += c;
    else out.append(it->second);
  }
  return out;
}

// The forms a secret takes once something other than shipgate has encoded
// it: a service echoing it in JSON or HTML, a URL carrying it, a mail or a
// Basic credential in Base64. Each is masked as the secret itself is.
std::vector<std::string> encoded_forms(std::string_view value) {
  std::vector<std::string> forms;
  auto json_escape = [](std::string_view text) {
    const std::string json =
        nlohmann::json(std::string(text)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return json.substr(1, json.size() - 2);
  };
  const std::string json = json_escape(value);
  forms.push_back(json);
  forms.push_back(replace_each(json, {{'/', "\\/"}})); // JSON writers that escape '/'
  forms.push_back(json_escape(json));                   // JSON text inside a JSON string (a body echoed back)
  forms.push_back(replace_each(value, {{'&', "&amp;"}, {'<', "&lt;"}, {'>', "&gt;"}})); // XML text
  forms.push_back(replace_each(value, {{'&', "&amp;"}, {'<', "&lt;"}, {'>', "&gt;"}, {'"', "&quot;"}, {'\'', "&apos;"}}));
  forms.push_back(replace_each(value, {{'&', "&amp;"}, {'<', "&lt;"}, {'>', "&gt;"}, {'"', "&#34;"}, {'\'', "&#39;"}}));
  forms.push_back(replace_each(value, {{'&', "&amp;"}, {'<', "&lt;"}, {'>', "&gt;"}, {'"', "&quot;"}, {'\'', "&#x27;"}}));
  for (const bool plus : {false, true})
    for (const bool lower : {false, true}) forms.push_back(percent_encode(value, plus, lower));
  forms.push_back(core::markdown_escape(value));
  // Base64 of a short value is too short to be told from other Base64 text.
  if (value.size() >= 8)
    for (std::size_t offset = 0; offset < 3; ++offset) forms.push_back(base64_core(value, offset));
  return forms;
}

// The password of `scheme://user:password@host...`, as written.
std::optional<std::string> url_password(std::string_view value) {
  const auto scheme = value.find("://");
  if (scheme == std::string_view::npos || scheme == 0) return std::nullopt;
  for (const char c : value.substr(0, scheme))
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') return std::nullopt;
  std::string_view authority = value.substr(scheme + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  const auto at = authority.rfind('@');
  if (at == std::string_view::npos) return std::nullopt;
  const std::string_view userinfo = authority.substr(0, at);
  const auto colon = userinfo.find(':');
  if (colon == std::string_view::npos || colon + 1 == userinfo.size()) return std::nullopt;
  return std::string(userinfo.substr(colon + 1));
}

std::string percent_decode(std::string_view value) {
  std::string out;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '%' && i + 2 < value.size() && std::isxdigit(static_cast<unsigned char>(value[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(value[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(value.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += value[i];
    }
  }
  return out;
}

} // namespace

bool is_secret_name(std::string_view name) {
  return std::any_of(k_secret_suffixes.begin(), k_secret_suffixes.end(),
                     [&](std::string_view suffix) { return ends_with(name, suffix); });
}

Redactor Redactor::from_environment(const ci::Environment& env, const std::vector<std::string>& secret_names) {
  Redactor redactor;
  for (const auto& [name, value] : env.all()) {
    if (is_secret_name(name)) redactor.add_secret(value);
    // DATABASE_URL=postgres://app:PASSWORD@db/orders: whatever the name,
    // the password of a URL is a secret.
    if (const auto password = url_password(value)) {
      redactor.add_secret(*password);
      redactor.add_secret(percent_decode(*password));
    }
  }
  for (const auto& name : secret_names)
    if (auto value = env.get(name)) redactor.add_secret(*value);
  return redactor;
}

void Redactor::add_secret(std::string_view value) {
  if (value.size() < k_min_length) return;
  if (std::find(k_not_secrets.begin(), k_not_secrets.end(), value) != k_not_secrets.end()) return;
  if (std::find(m_secrets.begin(), m_secrets.end(), value) != m_secrets.end()) return;
  m_secrets.emplace_back(value);
  for (auto& form : encoded_forms(value))
    if (form.size() >= k_min_length && std::find(m_secrets.begin(), m_secrets.end(), form) == m_secrets.end())
      m_secrets.push_back(std::move(form));
  std::sort(m_secrets.begin(), m_secrets.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  for (const auto& secret : m_secrets) m_longest = std::max(m_longest, secret.size());
}

std::size_t Redactor::find_next(std::string_view text, std::size_t from, std::size_t& length) const {
  std::size_t best = std::string_view::npos;
  for (const auto& secret : m_secrets) {
    const std::size_t found = text.find(secret, from);
    if (found < best) { // longest-first order breaks ties toward the longer secret
      best = found;
      length = secret.size();
    }
  }
  if (best == std::string_view::npos) return best;
  // Secrets that overlap the match ("abcdefgh" then "efghijkl") extend it, so
  // no part of either is left in clear.
  std::size_t end = best + length;
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& secret : m_secrets)
      for (std::size_t at = text.find(secret, best + 1); at != std::string_view::npos && at < end;
           at = text.find(secret, at + 1))
        if (at + secret.size() > end) {
          end = at + secret.size();
          grew = true;
        }
  }
  length = end - best;
  return best;
}

std::size_t Redactor::safe_cut(std::string_view text, std::size_t cut) const {
  cut = std::min(cut, text.size());
  for (bool moved = true; moved;) {
    moved = false;
    for (const auto& secret : m_secrets) {
      const std::size_t first = cut >= secret.size() ? cut - secret.size() + 1 : 0;
      for (std::size_t at = first; at < cut; ++at)
        if (text.compare(at, secret.size(), secret) == 0) {
          cut = at;
          moved = true;
          break;
        }
    }
  }
  return cut;
}

std::string Redactor::redact(std::string_view text) const {
  if (m_secrets.empty()) return std::string(text);
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t length = 0;
    const std::size_t found = find_next(text, i, length);
    if (found == std::string_view::npos) break;
    out.append(text.substr(i, found - i));
    out.append(k_mask);
    i = found + length;
  }
  out.append(text.substr(std::min(i, text.size())));
  return out;
}

void RedactingStream::write(std::string_view text) {
  if (m_redactor.empty()) {
    m_sink(text);
    return;
  }
  m_pending.append(text);
  if (m_pending.size() >= k_chunk) process(false);
}

void RedactingStream::flush() {
  if (!m_pending.empty()) process(true);
}

void RedactingStream::process(bool final) {
  // Any secret that starts before `limit` lies wholly inside m_pending, so it
  // can be masked now; the bytes from `limit` on wait for more input.
  const std::size_t keep = final ? 0 : m_redactor.longest() - 1;
  if (m_pending.size() <= keep) return;
  const std::size_t limit = m_pending.size() - keep;
  std::string out;
  std::size_t i = 0;
  while (i < limit) {
    std::size_t length = 0;
    const std::size_t found = m_redactor.find_next(m_pending, i, length);
    if (found >= limit) {
      out.append(m_pending, i, limit - i);
      i = limit;
      break;
    }
    out.append(m_pending, i, found - i);
    out.append(Redactor::k_mask);
    i = found + length;
  }
  m_pending.erase(0, i);
  m_sink(out);
}

} // namespace io
