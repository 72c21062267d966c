#pragma once
// Collects text in bounded memory: keeps the head and the tail of a long
// text and notes how much was dropped in between.
#include <cstddef>
#include <string>
#include <string_view>

namespace report {

class BoundedText {
public:
  // `valid_utf8`: the appended text is known to be valid UTF-8 without
  // control characters (expat's output), so str() only repairs the cuts.
  explicit BoundedText(std::size_t head_bytes = 4096, std::size_t tail_bytes = 2048, bool valid_utf8 = false)
      : m_head_limit(head_bytes), m_tail_limit(tail_bytes), m_valid_utf8(valid_utf8) {}
  void append(std::string_view text);
  void clear();
  bool empty() const { return m_total == 0; }
  std::size_t total_bytes() const { return m_total; }
  // The kept text, sanitized, with a "[... N bytes truncated ...]" note.
  std::string str() const;

private:
  std::size_t m_head_limit;
  std::size_t m_tail_limit;
  bool m_valid_utf8;
  std::string m_head;
  std::string m_tail; // grows to 2x the limit before it is trimmed
  std::size_t m_total = 0;
};

} // namespace report
