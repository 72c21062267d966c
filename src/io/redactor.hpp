#pragma once
// The one redactor. Every byte that leaves the process (terminal, artifacts,
// CI files) passes through a RedactingStream built on it.
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ci/context.hpp"

namespace io {

// True for names ending in _TOKEN, _PASSWORD, _SECRET or _KEY: the values
// of such variables are treated as secrets.
bool is_secret_name(std::string_view name);

class Redactor {
public:
  static constexpr std::string_view k_mask = "***";
  // Values shorter than this, and values such as "true" or "1", are not
  // treated as secrets: masking them would corrupt ordinary output.
  static constexpr std::size_t k_min_length = 4;

  Redactor() = default;
  // Secrets: the values of the variables named in `secret_names`, and of
  // every variable whose name ends in _TOKEN, _PASSWORD, _SECRET or _KEY.
  // Each secret is masked as it is and in the forms others encode it in:
  // JSON-escaped, HTML/XML-escaped, percent-encoded (with `%20` or `+`) and
  // inside Base64 text at each alignment (values of 8 bytes or more).
  static Redactor from_environment(const ci::Environment& env, const std::vector<std::string>& secret_names);

  void add_secret(std::string_view value);
  bool empty() const { return m_secrets.empty(); }
  std::size_t longest() const { return m_longest; }
  std::string redact(std::string_view text) const;
  // `cut`, or an earlier position if a cut there would split a secret:
  // where the secret starts, so it is dropped whole rather than in part.
  std::size_t safe_cut(std::string_view text, std::size_t cut) const;
  // Finds the earliest secret at or after `from`; returns npos if none.
  std::size_t find_next(std::string_view text, std::size_t from, std::size_t& length) const;

private:
  std::vector<std::string> m_secrets; // longest first, so overlapping secrets mask fully
  std::size_t m_longest = 0;
};

// Streaming redaction: holds back just enough bytes that a secret split
// across two writes is still masked.
class RedactingStream {
public:
  using Sink = std::function<void(std::string_view)>;
  RedactingStream(const Redactor& redactor, Sink sink) : m_redactor(redactor), m_sink(std::move(sink)) {}
  void write(std::string_view text);
  void flush(); // emits everything held back

private:
  void process(bool final);
  const Redactor& m_redactor;
  Sink m_sink;
  std::string m_pending;
};

} // namespace io
