#include "render/xml_writer.hpp"

#include "core/text.hpp"

namespace render {
namespace {

std::string escape(std::string_view raw, bool attribute) {
  // sanitize_utf8 already turned forbidden control characters into "\xNN".
  const std::string text = core::sanitize_utf8(raw);
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (const char c : text) {
    switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += attribute ? "&quot;" : "\""; break;
    case '\n': out += attribute ? "&#10;" : "\n"; break;
    case '\r': out += "&#13;"; break;
    case '\t': out += attribute ? "&#9;" : "\t"; break;
    default: out += c;
    }
  }
  return out;
}

} // namespace

std::string xml_attr(std::string_view text) { return escape(text, true); }
std::string xml_text(std::string_view text) { return escape(text, false); }

} // namespace render
