#include "report/bounded_text.hpp"

#include "core/text.hpp"

namespace report {

void BoundedText::append(std::string_view text) {
  m_total += text.size();
  if (m_head.size() < m_head_limit) {
    const std::size_t take = std::min(text.size(), m_head_limit - m_head.size());
    m_head.append(text.substr(0, take));
    text.remove_prefix(take);
  }
  if (text.empty()) return;
  m_tail.append(text);
  if (m_tail.size() > 2 * m_tail_limit) m_tail.erase(0, m_tail.size() - m_tail_limit);
}

void BoundedText::clear() {
  m_head.clear();
  m_tail.clear();
  m_total = 0;
}

std::string BoundedText::str() const {
  const std::size_t tail_kept = std::min(m_tail.size(), m_tail_limit);
  const std::size_t dropped = m_total - m_head.size() - tail_kept;
  if (dropped == 0) return m_valid_utf8 ? m_head + m_tail : core::sanitize_utf8(m_head + m_tail);
  if (m_valid_utf8) {
    // Only the cuts can split a character: drop the partial ones.
    std::string_view head(m_head);
    std::size_t end = head.size();
    std::size_t back = 0;
    while (back < 4 && back < end && (static_cast<unsigned char>(head[end - 1 - back]) & 0xC0) == 0x80) ++back;
    if (back < end && static_cast<unsigned char>(head[end - 1 - back]) >= 0xC0) {
      const auto lead = static_cast<unsigned char>(head[end - 1 - back]);
      const std::size_t needed = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
      if (back + 1 < needed) end -= back + 1;
    }
    std::string_view tail = std::string_view(m_tail).substr(m_tail.size() - tail_kept);
    while (!tail.empty() && (static_cast<unsigned char>(tail.front()) & 0xC0) == 0x80) tail.remove_prefix(1);
    return std::string(head.substr(0, end)) + "\n[... " + std::to_string(dropped) + " bytes truncated ...]\n" +
           std::string(tail);
  }
  // Cut the tail on a UTF-8 boundary so the note is not glued to half a character.
  std::string_view tail = std::string_view(m_tail).substr(m_tail.size() - tail_kept);
  while (!tail.empty() && (static_cast<unsigned char>(tail.front()) & 0xC0) == 0x80) tail.remove_prefix(1);
  return core::sanitize_utf8(m_head) + "\n[... " + std::to_string(dropped) + " bytes truncated ...]\n" +
         core::sanitize_utf8(tail);
}

} // namespace report
