#include "notify/mail_encoding.hpp"

#include <array>

namespace notify::mail_encoding {
namespace {

constexpr std::string_view k_base64_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view k_hex = "0123456789ABCDEF";
constexpr std::string_view k_replacement = "\xEF\xBF\xBD"; // U+FFFD
// RFC 5322 recommends 78; folding aims there, the hard limit is 998.
constexpr std::size_t k_line_goal = 78;
// Bytes of text per encoded-word: 13*4 = 52 base64 characters, so
// "=?UTF-8?B?" + 52 + "?=" = 64, and "Subject: " + 64 stays under 76.
constexpr std::size_t k_word_bytes = 39;
// Percent-encoded characters per RFC 2231 continuation line.
// " filename*0*=UTF-8''" + 54 + ";" stays under 78.
constexpr std::size_t k_continuation_chars = 54;

// Length of the valid UTF-8 sequence starting at text[at], 0 if invalid.
std::size_t utf8_length(std::string_view text, std::size_t at) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(at);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned min = 0;
  if (lead >= 0xC2 && lead <= 0xDF)
    length = 2, min = 0x80;
  else if (lead >= 0xE0 && lead <= 0xEF)
    length = 3, min = 0x800;
  else if (lead >= 0xF0 && lead <= 0xF4)
    length = 4, min = 0x10000;
  else
    return 0;
  if (at + length > text.size()) return 0;
  unsigned code = lead & (0x7F >> length);
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(at + i) & 0xC0) != 0x80) return 0;
    code = (code << 6) | (byte(at + i) & 0x3F);
  }
  const bool surrogate = code >= 0xD800 && code <= 0xDFFF;
  return code < min || code > 0x10FFFF || surrogate ? 0 : length;
}

// Valid UTF-8 with control characters mapped by `control` (returns the
// replacement, possibly empty).
template <typename Control> std::string clean(std::string_view text, Control control) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t length = utf8_length(text, at);
    if (length == 0) {
      out += k_replacement;
      ++at;
      continue;
    }
    const unsigned char c = static_cast<unsigned char>(text[at]);
    if (length == 1 && (c < 0x20 || c == 0x7F))
      out += control(c);
    else
      out.append(text.substr(at, length));
    at += length;
  }
  return out;
}

std::vector<std::string> split_spaces(std::string_view text) {
  std::vector<std::string> atoms;
  std::size_t start = 0;
  for (std::size_t space; (space = text.find(' ', start)) != std::string_view::npos; start = space + 1)
    atoms.emplace_back(text.substr(start, space - start));
  atoms.emplace_back(text.substr(start));
  return atoms;
}

bool is_attribute_char(unsigned char c) {
  // RFC 2231 attribute-char: token characters without * ' %.
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$&+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

} // namespace

bool is_printable_ascii(std::string_view text) {
  for (const char c : text)
    if (c < 0x20 || c > 0x7E) return false;
  return true;
}

std::string base64(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t at = 0; at < bytes.size(); at += 3) {
    const std::size_t count = std::min<std::size_t>(3, bytes.size() - at);
    unsigned group = 0;
    for (std::size_t i = 0; i < 3; ++i)
      group = (group << 8) | (i < count ? static_cast<unsigned char>(bytes[at + i]) : 0U);
    for (std::size_t i = 0; i < 4; ++i)
      out += i <= count ? k_base64_alphabet[(group >> (18 - 6 * i)) & 0x3F] : '=';
  }
  return out;
}

std::string base64_lines(std::string_view bytes) {
  const std::string encoded = base64(bytes);
  std::string out;
  for (std::size_t at = 0; at < encoded.size(); at += 76)
    out.append(encoded, at, 76).append("\r\n");
  return out;
}

std::string quoted_printable(std::string_view text) {
  std::string out;
  std::string line;
  const auto flush = [&](bool soft) {
    out += line;
    out += soft ? "=\r\n" : "\r\n";
    line.clear();
  };
  const auto encoded = [](unsigned char c) { return std::string{'=', k_hex[c >> 4], k_hex[c & 0xF]}; };
  for (std::size_t at = 0; at <= text.size(); ++at) {
    if (at == text.size() || text[at] == '\n') {
      // White space before a line break would be dropped by transports.
      if (!line.empty() && (line.back() == ' ' || line.back() == '\t')) {
        const unsigned char last = static_cast<unsigned char>(line.back());
        line.pop_back();
        if (line.size() + 3 > 76) flush(true);
        line += encoded(last);
      }
      // The last line gets no CRLF: the one before the next boundary is the boundary's.
      if (at < text.size())
        flush(false);
      else
        out += line;
      continue;
    }
    const unsigned char c = static_cast<unsigned char>(text[at]);
    const bool literal = (c >= 0x20 && c <= 0x7E && c != '=') || c == '\t';
    std::string piece = literal ? std::string(1, static_cast<char>(c)) : encoded(c);
    if (piece == "." && line.empty()) piece = encoded(c); // never a line starting with "."
    // 75 leaves room for the soft break's "=".
    if (line.size() + piece.size() > 75) flush(true);
    line += piece;
  }
  return out;
}

std::string normalize_text(std::string_view text) {
  std::string unified;
  unified.reserve(text.size());
  for (std::size_t at = 0; at < text.size(); ++at) {
    if (text[at] != '\r')
      unified += text[at];
    else if (at + 1 >= text.size() || text[at + 1] != '\n')
      unified += '\n';
  }
  return clean(unified,
               [](unsigned char c) { return c == '\n' || c == '\t' ? std::string(1, static_cast<char>(c)) : ""; });
}

std::string single_line(std::string_view text) {
  return clean(text, [](unsigned char) { return std::string(" "); });
}

std::vector<std::string> encoded_words(std::string_view utf8) {
  const std::string text = single_line(utf8);
  std::vector<std::string> words;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = start;
    while (end < text.size()) {
      const std::size_t length = std::max<std::size_t>(1, utf8_length(text, end));
      if (end + length - start > k_word_bytes) break;
      end += length;
    }
    words.push_back("=?UTF-8?B?" + base64(std::string_view(text).substr(start, end - start)) + "?=");
    start = end;
  }
  return words;
}

std::string fold(std::size_t used, const std::vector<std::string>& atoms) {
  std::string out;
  std::size_t column = used;
  for (std::size_t i = 0; i < atoms.size(); ++i) {
    const std::string& atom = atoms[i];
    if (i > 0) {
      const bool wrap = !atom.empty() && column + 1 + atom.size() > k_line_goal && column > 1;
      out += wrap ? "\r\n " : " ";
      column = wrap ? 1 : column + 1;
    }
    out += atom;
    column += atom.size();
  }
  return out;
}

std::string unstructured(std::size_t used, std::string_view text) {
  const std::string line = single_line(text);
  std::vector<std::string> atoms = split_spaces(line);
  bool plain = is_printable_ascii(line) && line.find("=?") == std::string::npos;
  for (const auto& atom : atoms)
    plain = plain && atom.size() + 1 < k_line_goal;
  return fold(used, plain ? atoms : encoded_words(line));
}

std::string parameter(std::string_view name, std::string_view value) {
  const std::string line = single_line(value);
  if (is_printable_ascii(line) && line.size() <= k_continuation_chars)
    return "; " + std::string(name) + "=" + quoted_string(line);
  std::vector<std::string> pieces{""};
  for (const char c : line) {
    const unsigned char byte = static_cast<unsigned char>(c);
    std::string encoded =
        is_attribute_char(byte) ? std::string(1, c) : std::string{'%', k_hex[byte >> 4], k_hex[byte & 0xF]};
    // A continuation may not split a percent escape; UTF-8 sequences may be
    // split, decoders join the bytes before decoding.
    if (pieces.back().size() + encoded.size() > k_continuation_chars) pieces.emplace_back();
    pieces.back() += encoded;
  }
  const std::string prefix = "UTF-8''";
  if (pieces.size() == 1) return "; " + std::string(name) + "*=" + prefix + pieces.front();
  std::string out;
  for (std::size_t i = 0; i < pieces.size(); ++i)
    out += ";\r\n " + std::string(name) + "*" + std::to_string(i) + "*=" + (i == 0 ? prefix : "") + pieces[i];
  return out;
}

std::string quoted_string(std::string_view text) {
  std::string out = "\"";
  for (const char c : single_line(text)) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

} // namespace notify::mail_encoding
