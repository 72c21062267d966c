#pragma once
// Escaping for the XML that shipgate writes. Text that came from reports is
// attacker-controlled: it is sanitized to valid UTF-8 and characters that
// XML 1.0 forbids are replaced, so every file we write parses.
#include <string>
#include <string_view>

namespace render {

// For attribute values (quotes and newlines escaped too).
std::string xml_attr(std::string_view text);
// For element content.
std::string xml_text(std::string_view text);

} // namespace render
