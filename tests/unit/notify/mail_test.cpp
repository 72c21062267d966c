// The mail message builder and its encodings (src/notify/mail_message.cpp,
// src/notify/mail_encoding.cpp): exact headers, RFC 2047 subjects decoded
// back, threading, MIME parts, attachments, no Bcc, no header injection.
#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "notify/mail.hpp"
#include "notify/mail_encoding.hpp"

namespace {

using notify::MailAttachment;
using notify::MailSettings;
using notify::Message;
namespace enc = notify::mail_encoding;

MailSettings settings() {
  MailSettings s;
  s.url = "smtp://mail.example.com:587";
  s.from = "Release bot <release@example.com>";
  s.to = {"Ops <ops@example.com>", "dev@example.com"};
  s.cc = {"\"Lead, QA\" <qa@example.com>"};
  s.bcc = {"audit@example.org"};
  return s;
}

Message message() {
  Message m;
  m.id = "rel-42.deploy-1";
  m.thread = "rel-42";
  m.subject = "Release 1.4.0 is live";
  m.text = "Hello\nworld";
  m.created = std::chrono::system_clock::time_point(std::chrono::seconds(1751364000)); // 2025-07-01 10:00:00 UTC
  return m;
}

std::string build(const MailSettings& s, const Message& m, const std::vector<MailAttachment>& attachments = {}) {
  auto built = notify::build_mail(s, m, attachments);
  REQUIRE_MESSAGE(built.ok(), (built.ok() ? "" : built.error().message));
  return *built;
}

// Unfolded header fields of the message head, by name.
std::multimap<std::string, std::string> headers(const std::string& mail) {
  std::multimap<std::string, std::string> out;
  const std::string head = mail.substr(0, mail.find("\r\n\r\n"));
  std::string current;
  const auto flush = [&] {
    if (current.empty()) return;
    const auto colon = current.find(':');
    out.emplace(current.substr(0, colon), current.substr(colon + 2));
  };
  for (std::size_t at = 0; at <= head.size();) {
    const auto end = std::min(head.find("\r\n", at), head.size());
    const std::string line = head.substr(at, end - at);
    if (!line.empty() && (line[0] == ' ' || line[0] == '\t'))
      current += line;
    else {
      flush();
      current = line;
    }
    at = end + 2;
  }
  flush();
  return out;
}

std::string header(const std::string& mail, const std::string& name) {
  const auto all = headers(mail);
  const auto found = all.find(name);
  return found == all.end() ? "<absent>" : found->second;
}

std::string base64_decode(std::string_view text) {
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (const char c : text) {
    const auto value = alphabet.find(c);
    if (value == std::string::npos) continue;
    buffer = (buffer << 6) | static_cast<unsigned>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFF);
    }
  }
  return out;
}

// RFC 2047 decoding as mail readers do it: encoded-words, white space
// between adjacent encoded-words dropped.
std::string decode_words(const std::string& value) {
  std::string out;
  std::size_t at = 0;
  bool previous_word = false;
  while (at < value.size()) {
    const auto start = value.find("=?", at);
    const std::string between = value.substr(at, start == std::string::npos ? std::string::npos : start - at);
    const bool blank = between.find_first_not_of(" \t") == std::string::npos;
    if (!(previous_word && blank)) out += between;
    if (start == std::string::npos) break;
    const auto end = value.find("?=", start + 10);
    const std::string word = value.substr(start, end + 2 - start);
    REQUIRE(word.rfind("=?UTF-8?B?", 0) == 0);
    out += base64_decode(word.substr(10, word.size() - 12));
    at = end + 2;
    previous_word = true;
  }
  return out;
}

std::string quoted_printable_decode(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '=')
      out += text[i];
    else if (text.compare(i + 1, 2, "\r\n") == 0)
      i += 2;
    else {
      out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
      i += 2;
    }
  }
  return out;
}

void check_lines(const std::string& mail) {
  std::size_t at = 0;
  while (at < mail.size()) {
    const auto end = mail.find('\n', at);
    REQUIRE(end != std::string::npos);
    CHECK_MESSAGE(end > at, "bare LF at " << at);
    CHECK_MESSAGE(mail[end - 1] == '\r', "bare LF at " << end);
    CHECK_MESSAGE(end - at - 1 <= 998, "line over 998 bytes at " << at);
    at = end + 1;
  }
  for (std::size_t cr = mail.find('\r'); cr != std::string::npos; cr = mail.find('\r', cr + 1))
    CHECK_MESSAGE(mail[cr + 1] == '\n', "bare CR at " << cr);
}

const std::string k_chinese_subject = "发布 1.4.0 已上线";

} // namespace

TEST_SUITE_BEGIN("notify mail");

TEST_CASE("headers of a plain ASCII message, exactly") {
  const std::string mail = build(settings(), message());
  CHECK(mail.rfind("Date: Tue, 01 Jul 2025 10:00:00 +0000\r\n"
                   "From: Release bot <release@example.com>\r\n"
                   "To: Ops <ops@example.com>, <dev@example.com>\r\n"
                   "Cc: \"Lead, QA\" <qa@example.com>\r\n"
                   "Subject: Release 1.4.0 is live\r\n"
                   "Message-ID: <rel-42.deploy-1@example.com>\r\n"
                   "In-Reply-To: <rel-42@example.com>\r\n"
                   "References: <rel-42@example.com>\r\n"
                   "Auto-Submitted: auto-generated\r\n"
                   "MIME-Version: 1.0\r\n"
                   "Content-Type: multipart/mixed; boundary=\"=_shipgate_mixed_",
                   0) == 0);
  check_lines(mail);
}

TEST_CASE("Bcc recipients are never in the message") {
  const std::string mail = build(settings(), message());
  CHECK(header(mail, "Bcc") == "<absent>");
  CHECK(mail.find("audit@example.org") == std::string::npos);
}

TEST_CASE("only Bcc recipients: To says undisclosed-recipients") {
  MailSettings s = settings();
  s.to.clear();
  s.cc.clear();
  const std::string mail = build(s, message());
  CHECK(header(mail, "To") == "undisclosed-recipients:;");
  CHECK(mail.find("audit@example.org") == std::string::npos);
}

TEST_CASE("a Chinese subject is encoded-words that decode back") {
  Message m = message();
  m.subject = k_chinese_subject;
  const std::string mail = build(settings(), m);
  const std::string subject = header(mail, "Subject");
  CHECK(subject.rfind("=?UTF-8?B?", 0) == 0);
  CHECK(enc::is_printable_ascii(subject));
  CHECK(decode_words(subject) == k_chinese_subject);
  check_lines(mail);
}

TEST_CASE("a long Chinese subject folds into short lines and never splits a character") {
  std::string subject;
  for (int i = 0; i < 30; ++i)
    subject += "发布已上线";
  Message m = message();
  m.subject = subject;
  const std::string mail = build(settings(), m);
  const std::string head = mail.substr(0, mail.find("\r\n\r\n"));
  for (std::size_t at = 0; at < head.size();) {
    const auto end = head.find("\r\n", at);
    CHECK(std::min(end, head.size()) - at <= 76);
    if (end == std::string::npos) break;
    at = end + 2;
  }
  const auto words = enc::encoded_words(subject);
  CHECK(words.size() > 5);
  for (const auto& word : words) {
    CHECK(word.size() <= 75);
    const std::string bytes = base64_decode(word.substr(10, word.size() - 12));
    CHECK(bytes.size() % 3 == 0); // whole three-byte characters
  }
  CHECK(decode_words(header(mail, "Subject")) == subject);
}

TEST_CASE("an ASCII subject holding =? or a very long word is encoded too") {
  Message m = message();
  m.subject = "looks =?like?= a word";
  CHECK(decode_words(header(build(settings(), m), "Subject")) == m.subject);
  m.subject = "x" + std::string(200, 'y');
  const std::string mail = build(settings(), m);
  CHECK(decode_words(header(mail, "Subject")) == m.subject);
  check_lines(mail);
}

TEST_CASE("a long ASCII subject folds at spaces and unfolds to itself") {
  Message m = message();
  m.subject.clear();
  for (int i = 0; i < 20; ++i)
    m.subject += "release word" + std::to_string(i) + " ";
  m.subject += "end";
  const std::string mail = build(settings(), m);
  CHECK(mail.find("Subject: release word0") != std::string::npos);
  std::string unfolded = header(mail, "Subject");
  CHECK(unfolded.find("=?") == std::string::npos);
  // Unfolding removes the CRLF only; the space after it is the original one.
  CHECK(unfolded == m.subject);
}

TEST_CASE("display names with non-ASCII are encoded") {
  MailSettings s = settings();
  s.from = "发布机器人 <release@example.com>";
  const std::string from = header(build(s, message()), "From");
  CHECK(from.find("=?UTF-8?B?") == 0);
  CHECK(from.find("<release@example.com>") != std::string::npos);
  CHECK(decode_words(from.substr(0, from.find(" <"))) == "发布机器人");
}

TEST_CASE("threading: the thread's first message carries the thread id, later ones point at it") {
  Message first = message();
  first.id = "rel-42.start";
  first.thread_start = true;
  const std::string opening = build(settings(), first);
  CHECK(header(opening, "Message-ID") == "<rel-42@example.com>");
  CHECK(header(opening, "In-Reply-To") == "<absent>");
  CHECK(header(opening, "References") == "<absent>");

  const std::string later = build(settings(), message());
  CHECK(header(later, "Message-ID") == "<rel-42.deploy-1@example.com>");
  CHECK(header(later, "In-Reply-To") == header(opening, "Message-ID"));
  CHECK(header(later, "References") == header(opening, "Message-ID"));

  Message alone = message();
  alone.thread.clear();
  const std::string single = build(settings(), alone);
  CHECK(header(single, "In-Reply-To") == "<absent>");
}

TEST_CASE("the domain setting names the Message-ID's right side; odd ids stay one token") {
  MailSettings s = settings();
  s.domain = "shipgate.example.net";
  Message m = message();
  m.id = "a b>\r\nBcc: x@y";
  const std::string mail = build(s, m);
  CHECK(header(mail, "Message-ID") == "<a=20b=3E=0D=0ABcc=3A=20x=40y@shipgate.example.net>");
  CHECK(header(mail, "Bcc") == "<absent>");
  CHECK(header(mail, "Message-ID").find(' ') == std::string::npos);
  CHECK(header(build(s, message()), "Message-ID") != header(mail, "Message-ID"));
}

TEST_CASE("text only: one text/plain part; text and HTML: multipart/alternative") {
  Message m = message();
  m.text = "发布 1.4.0 已上线\n详情见下";
  const std::string plain = build(settings(), m);
  CHECK(plain.find("multipart/alternative") == std::string::npos);
  CHECK(plain.find("Content-Type: text/plain; charset=UTF-8\r\n") != std::string::npos);

  m.html = "<p>发布 <b>1.4.0</b> 已上线</p>";
  const std::string both = build(settings(), m);
  const auto alternative = both.find("Content-Type: multipart/alternative; boundary=\"=_shipgate_alternative_");
  const auto text = both.find("Content-Type: text/plain; charset=UTF-8");
  const auto html = both.find("Content-Type: text/html; charset=UTF-8");
  REQUIRE(alternative != std::string::npos);
  CHECK(alternative < text);
  CHECK(text < html); // the richest part last (RFC 2046 5.1.4)
  // Chinese text is shorter in base64 than in quoted-printable.
  const auto body_start = both.find("\r\n\r\n", html) + 4;
  CHECK(both.find("Content-Transfer-Encoding: base64", html) < body_start);
  const std::string encoded = both.substr(body_start, both.find("\r\n--", body_start) - body_start);
  CHECK(base64_decode(encoded) == "<p>发布 <b>1.4.0</b> 已上线</p>");
  check_lines(both);
}

TEST_CASE("ASCII text goes quoted-printable and decodes to itself with CRLF") {
  Message m = message();
  m.text = "line one\n.\n.hidden dot\ntrailing space \nequals = sign\n" + std::string(120, 'a');
  const std::string mail = build(settings(), m);
  const auto start = mail.find("quoted-printable\r\n\r\n") + 20;
  REQUIRE(start > 20);
  const std::string encoded = mail.substr(start, mail.find("\r\n--=_shipgate", start) - start);
  CHECK(encoded.find("\r\n.") == std::string::npos); // no line starts with a dot
  CHECK(quoted_printable_decode(encoded) ==
        "line one\r\n.\r\n.hidden dot\r\ntrailing space \r\nequals = sign\r\n" + std::string(120, 'a'));
  check_lines(mail);
}

TEST_CASE("attachments: base64, disposition, RFC 2231 name for Chinese, type from the extension") {
  std::string bytes;
  for (int i = 0; i < 1000; ++i)
    bytes += static_cast<char>(i % 256);
  const std::vector<MailAttachment> attachments{{"发布报告.pdf", "application/pdf", bytes},
                                                {"notes.txt", "text/plain", "hi\n"}};
  const std::string mail = build(settings(), message(), attachments);
  CHECK(mail.find("Content-Type: application/pdf; name*=UTF-8''%E5%8F%91%E5%B8%83%E6%8A%A5%E5%91%8A.pdf\r\n"
                  "Content-Disposition: attachment; filename*=UTF-8''%E5%8F%91%E5%B8%83%E6%8A%A5%E5%91%8A.pdf\r\n"
                  "Content-Transfer-Encoding: base64\r\n\r\n") != std::string::npos);
  CHECK(mail.find("Content-Type: text/plain; name=\"notes.txt\"\r\n"
                  "Content-Disposition: attachment; filename=\"notes.txt\"\r\n") != std::string::npos);
  const auto start = mail.find("base64\r\n\r\n", mail.find("application/pdf")) + 10;
  CHECK(base64_decode(mail.substr(start, mail.find("\r\n--", start) - start)) == bytes);
  check_lines(mail);
}

TEST_CASE("a long Chinese file name uses RFC 2231 continuations") {
  std::string name;
  for (int i = 0; i < 20; ++i)
    name += "报告";
  const std::string parameter = enc::parameter("filename", name + ".pdf");
  CHECK(parameter.rfind(";\r\n filename*0*=UTF-8''%E6%8A%A5", 0) == 0);
  CHECK(parameter.find(";\r\n filename*1*=%") != std::string::npos);
  for (std::size_t at = 0; (at = parameter.find("\r\n", at)) != std::string::npos; at += 2)
    CHECK(std::min(parameter.find("\r\n", at + 2), parameter.size()) - at - 2 <= 78);
}

TEST_CASE("content types are guessed from the extension") {
  CHECK(notify::guess_content_type("report.PDF") == "application/pdf");
  CHECK(notify::guess_content_type("发布.txt") == "text/plain");
  CHECK(notify::guess_content_type("junit.xml") == "application/xml");
  CHECK(notify::guess_content_type("archive.tar.gz") == "application/gzip");
  CHECK(notify::guess_content_type("README") == "application/octet-stream");
  CHECK(notify::guess_content_type("x.unknown") == "application/octet-stream");
}

TEST_CASE("line breaks in the subject and names cannot add headers") {
  Message m = message();
  m.subject = "Release\r\nBcc: victim@example.net\r\n\r\nbody";
  MailSettings s = settings();
  s.to = {"\"Ops\r\nBcc: victim@example.net\" <ops@example.com>"};
  // The address list refuses it...
  CHECK_FALSE(notify::build_mail(s, m, {}).ok());
  // ...and the subject loses its line breaks.
  const std::string mail = build(settings(), m);
  CHECK(header(mail, "Bcc") == "<absent>");
  CHECK(header(mail, "Subject") == "Release  Bcc: victim@example.net    body");
  CHECK(mail.find("\r\nBcc:") == std::string::npos);
}

TEST_CASE("addresses with line breaks, spaces or no @ are refused with a fix") {
  for (const std::string bad : {"ops@example.com\r\nBcc: x@y.z", "ops@example.com\n", "no-at-sign", "a@b@c",
                                "two words@example.com", "<ops@example.com", "发布@example.com", "@example.com"}) {
    CAPTURE(bad);
    const auto parsed = notify::parse_mail_address(bad);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error().message.find('\n') == std::string::npos);
    CHECK(parsed.error().message.find("write") != std::string::npos);
  }
  MailSettings s = settings();
  s.from = "Release bot <release@example.com>\r\nBcc: x@y.z";
  const auto built = notify::build_mail(s, message(), {});
  REQUIRE_FALSE(built.ok());
  CHECK(built.error().message.rfind("mail from:", 0) == 0);
}

TEST_CASE("address forms parse") {
  const auto full = notify::parse_mail_address("  \"Bot \\\"x\\\"\" <bot@example.com> ");
  REQUIRE(full.ok());
  CHECK(full->name == "Bot \"x\"");
  CHECK(full->address == "bot@example.com");
  const auto bare = notify::parse_mail_address("bot@example.com");
  REQUIRE(bare.ok());
  CHECK(bare->name.empty());
  const auto angle = notify::parse_mail_address("<bot@example.com>");
  REQUIRE(angle.ok());
  CHECK(angle->address == "bot@example.com");
}

TEST_CASE("a message needs an id, a recipient and a valid domain") {
  Message m = message();
  m.id.clear();
  CHECK_FALSE(notify::build_mail(settings(), m, {}).ok());
  MailSettings s = settings();
  s.to.clear();
  s.cc.clear();
  s.bcc.clear();
  const auto none = notify::build_mail(s, message(), {});
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().message.find("no recipient") != std::string::npos);
  s = settings();
  s.domain = "bad domain>";
  CHECK_FALSE(notify::build_mail(s, message(), {}).ok());
}

TEST_CASE("a bad attachment content type is refused") {
  const auto built = notify::build_mail(settings(), message(), {{"a.bin", "text/plain\r\nBcc: x@y.z", "x"}});
  REQUIRE_FALSE(built.ok());
  CHECK(built.error().message.find("type/subtype") != std::string::npos);
}

TEST_CASE("the same message builds the same bytes") {
  CHECK(build(settings(), message()) == build(settings(), message()));
}

TEST_CASE("settings the channel refuses before connecting") {
  MailSettings s = settings();
  s.url = "http://mail.example.com";
  auto delivery = notify::send_mail(s, message());
  CHECK(delivery.status == notify::DeliveryStatus::permanent);
  CHECK(delivery.detail.find("smtps://") != std::string::npos);

  s = settings();
  s.require_tls = false;
  s.password = "hunter2-secret";
  delivery = notify::send_mail(s, message());
  CHECK(delivery.status == notify::DeliveryStatus::permanent);
  CHECK(delivery.detail.find("127.0.0.1") != std::string::npos);
  CHECK(delivery.detail.find("hunter2-secret") == std::string::npos);

  s = settings();
  s.auth = "CRAM-MD5";
  CHECK(notify::send_mail(s, message()).detail.find("PLAIN, LOGIN, XOAUTH2") != std::string::npos);
}

TEST_CASE("an unreadable attachment is permanent and names the file") {
  Message m = message();
  m.attachments.push_back({"/nonexistent/report.pdf", "", ""});
  const auto delivery = notify::send_mail(settings(), m);
  CHECK(delivery.status == notify::DeliveryStatus::permanent);
  CHECK(delivery.detail.find("/nonexistent/report.pdf") != std::string::npos);
}
