#pragma once
// The encodings a mail message needs (RFC 2045, 2047, 2231, 5322), kept
// apart from the message layout (notify/mail_message.cpp). Every function
// produces CRLF line endings and lines far below the 998-byte limit.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace notify::mail_encoding {

// Printable ASCII and spaces only (no control characters, no 8-bit bytes).
bool is_printable_ascii(std::string_view text);

// Base64 of `bytes` in one piece, and in lines of 76 characters each ending
// in CRLF (a body part's content).
std::string base64(std::string_view bytes);
std::string base64_lines(std::string_view bytes);

// Quoted-printable (RFC 2045 6.7) of text whose line breaks are "\n": lines
// end in CRLF (none after the last line: a text without a final line break
// decodes to itself), are at most 76 characters (soft breaks "="), trailing
// white space and a leading "." are encoded.
std::string quoted_printable(std::string_view text);

// Text for a body part: CRLF and lone CR become "\n", invalid UTF-8 becomes
// U+FFFD, other control characters but tab are dropped.
std::string normalize_text(std::string_view text);

// A header value made of one line: CR, LF and other control characters
// become spaces, invalid UTF-8 becomes U+FFFD. This is what makes header
// injection through a subject or a display name impossible.
std::string single_line(std::string_view text);

// RFC 2047 encoded-words (UTF-8, B encoding) for `utf8`, each at most 64
// characters and never splitting a character, joined by spaces (which
// decoders drop between encoded-words).
std::vector<std::string> encoded_words(std::string_view utf8);

// Joins `atoms` with single spaces, turning a space into CRLF+space where a
// line would pass 78 characters; `used` is the length of the line before
// the first atom (e.g. "Subject: "). Empty atoms stand for repeated spaces.
std::string fold(std::size_t used, const std::vector<std::string>& atoms);

// An unstructured header value (Subject): plain when it is printable ASCII
// that folds cleanly and holds no "=?", else encoded-words; then folded.
std::string unstructured(std::size_t used, std::string_view text);

// A MIME parameter `name=value`: a quoted string when the value is short
// printable ASCII, else RFC 2231 `name*=UTF-8''%XX...` split into
// continuations (name*0*=, name*1*=...) of short lines. Starts with "; "
// and may contain CRLF+space folds.
std::string parameter(std::string_view name, std::string_view value);

// `text` as an RFC 5322 quoted-string ("a \"b\"").
std::string quoted_string(std::string_view text);

} // namespace notify::mail_encoding
