#pragma once
// The mail channel: a notification as an RFC 5322 message, sent over SMTP
// with libcurl.
//
// Transport security: smtp:// must upgrade with STARTTLS (CURLUSESSL_ALL,
// never a silent fallback to plaintext), smtps:// is TLS from the start;
// certificates and host names are always verified (`cacert` adds a CA file).
// Only a relay on the same machine (127.0.0.1, ::1, localhost) may be used
// without TLS, and only when `require_tls` is false.
//
// Delivery classification (the outbox decides retries, not this channel):
// - transient: connection refused, timeouts, resolution failures, TLS
//   handshake failures, SMTP 4xx replies (421, 450, 451, 452, 454);
// - permanent: SMTP 5xx replies (535 authentication, 550/553 recipient),
//   certificate verification failures, no STARTTLS when TLS is required,
//   bad settings, unreadable attachments;
// - delivered: the server accepted the message for at least one
//   recipient. Recipients the server refused are named in the detail (the
//   others still get the message; a retry would send them a duplicate).
// The detail never holds the password or the OAuth token.
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "notify/message.hpp"

namespace notify {

struct MailSettings {
  std::string url;         // smtp://host:587 (STARTTLS) or smtps://host:465
  bool require_tls = true; // false only for a local relay on 127.0.0.1/::1/localhost
  std::string username;
  std::string password;
  std::string oauth_token; // XOAUTH2 bearer token (username = the mailbox)
  std::string auth;        // "" (libcurl picks), PLAIN, LOGIN, XOAUTH2
  std::string from;        // "Release bot <release@example.com>"
  std::vector<std::string> to, cc, bcc;
  std::string cacert; // PEM file of extra trusted CAs; empty: the system's
  std::chrono::milliseconds timeout{30000};
  std::string domain; // right side of Message-IDs; default: the from address's domain
};

// "Name <local@domain>", "<local@domain>" or "local@domain"; the name may
// be a quoted string. Refused: line breaks or control characters anywhere,
// non-ASCII addresses, anything but exactly one "@" with text on both sides.
struct MailAddress {
  std::string name;    // UTF-8, may be empty
  std::string address; // local@domain
};
core::Result<MailAddress> parse_mail_address(std::string_view text);

// An attachment with its content, as the message builder takes it.
struct MailAttachment {
  std::string name;         // what recipients see (UTF-8)
  std::string content_type; // "type/subtype"
  std::string bytes;
};

// Reads each attachment's file; names default to the file name, content
// types to a guess from the name's extension (application/octet-stream
// when unknown). Fails naming the file that cannot be read.
core::Result<std::vector<MailAttachment>> load_attachments(const std::vector<Attachment>& attachments);

// "text/plain" for "notes.txt", "application/pdf" for "报告.PDF", ...
std::string guess_content_type(std::string_view file_name);

// The whole message, CRLF line endings, every line under 998 bytes, not
// dot-stuffed (the SMTP upload does that). Pure: same input, same bytes.
// Headers: Date (message.created, UTC), From, To (or
// "undisclosed-recipients:;"), Cc, never Bcc, Subject (RFC 2047 when not
// plain ASCII), Message-ID (<message.id@domain>, or <message.thread@domain>
// when message.thread_start), In-Reply-To and References
// (<message.thread@domain>) for the later messages of a thread,
// Auto-Submitted, MIME-Version. Body: multipart/mixed holding the text
// (text/plain, or multipart/alternative of text/plain and text/html when
// message.html is set; UTF-8, quoted-printable or base64, whichever is
// shorter) and one base64 part per attachment (Content-Disposition
// attachment, RFC 2231 file names).
// Fails when an address or the domain is invalid, there is no recipient,
// or message.id (or the thread) is empty. Subjects and display names
// cannot inject headers: their line breaks become spaces.
core::Result<std::string> build_mail(const MailSettings& settings, const Message& message,
                                     const std::vector<MailAttachment>& attachments);

// Builds and sends `message` (its attachments read from disk). A message
// without `created` is dated now.
Delivery send_mail(const MailSettings& settings, const Message& message);

} // namespace notify
