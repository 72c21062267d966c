#include "io/redactor.hpp"

#include <algorithm>
#include <array>

namespace io {
namespace {

constexpr std::array<std::string_view, 4> k_secret_suffixes = {"_TOKEN", "_PASSWORD", "_SECRET", "_KEY"};
constexpr std::array<std::string_view, 8> k_not_secrets = {"true", "false", "null", "none", "yes", "no", "0", "1"};
constexpr std::size_t k_chunk = 64 * 1024;

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

} // namespace

bool is_secret_name(std::string_view name) {
  return std::any_of(k_secret_suffixes.begin(), k_secret_suffixes.end(),
                     [&](std::string_view suffix) { return ends_with(name, suffix); });
}

Redactor Redactor::from_environment(const ci::Environment& env, const std::vector<std::string>& secret_names) {
  Redactor redactor;
  for (const auto& [name, value] : env.all())
    if (is_secret_name(name)) redactor.add_secret(value);
  for (const auto& name : secret_names)
    if (auto value = env.get(name)) redactor.add_secret(*value);
  return redactor;
}

void Redactor::add_secret(std::string_view value) {
  if (value.size() < k_min_length) return;
  if (std::find(k_not_secrets.begin(), k_not_secrets.end(), value) != k_not_secrets.end()) return;
  if (std::find(m_secrets.begin(), m_secrets.end(), value) != m_secrets.end()) return;
  m_secrets.emplace_back(value);
  std::sort(m_secrets.begin(), m_secrets.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  m_longest = std::max(m_longest, value.size());
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
