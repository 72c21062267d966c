// The message builder of notify/mail.hpp: addresses, headers and the MIME
// tree. The encodings themselves are in notify/mail_encoding.cpp.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/text.hpp"
#include "notify/mail.hpp"
#include "notify/mail_encoding.hpp"

namespace notify {
namespace {

namespace enc = mail_encoding;

core::Error invalid(std::string message) {
  return core::make_error(core::ErrorKind::invalid_input, std::move(message));
}

bool is_address_char(char c) {
  // Dot-atom characters of RFC 5322 (no quoted local parts, no literals).
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-/=?^_`{|}~.").find(c) != std::string_view::npos;
}

bool is_domain(std::string_view domain) {
  if (domain.empty() || domain.size() > 253 || domain.front() == '.' || domain.back() == '.') return false;
  return std::all_of(domain.begin(), domain.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
  });
}

core::Status check_address(std::string_view address, std::string_view original) {
  const auto at = address.find('@');
  const bool shape = at != std::string_view::npos && at > 0 && address.find('@', at + 1) == std::string_view::npos &&
                     address.size() <= 254 &&
                     std::all_of(address.begin(), address.end(), [](char c) { return c == '@' || is_address_char(c); });
  if (!shape || !is_domain(address.substr(at + 1)))
    return invalid("\"" + enc::single_line(original) +
                   "\" is not a mail address: write local@domain or Name <local@domain> (ASCII, one @, no spaces)");
  return core::ok_status();
}

std::string unquote(std::string_view name) {
  if (name.size() < 2 || name.front() != '"' || name.back() != '"') return std::string(name);
  std::string out;
  for (std::size_t i = 1; i + 1 < name.size(); ++i) {
    if (name[i] == '\\' && i + 2 < name.size()) ++i;
    out += name[i];
  }
  return out;
}

// A display name as header atoms: itself when it is made of atext words,
// a quoted string when it is other ASCII, encoded-words otherwise.
std::vector<std::string> name_atoms(const std::string& name) {
  const bool atoms_only =
      std::all_of(name.begin(), name.end(), [](char c) { return c == ' ' || (is_address_char(c) && c != '.'); });
  if (!enc::is_printable_ascii(name) || name.find("=?") != std::string::npos) return enc::encoded_words(name);
  if (atoms_only && name.find("  ") == std::string::npos && name.front() != ' ' && name.back() != ' ') return {name};
  return {enc::quoted_string(name)};
}

// "Name <a@b>, <c@d>" folded after "Header: ".
std::string address_list(std::string_view header, const std::vector<MailAddress>& addresses) {
  std::vector<std::string> atoms;
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    if (!addresses[i].name.empty())
      for (auto& atom : name_atoms(addresses[i].name))
        atoms.push_back(std::move(atom));
    atoms.push_back("<" + addresses[i].address + ">" + (i + 1 < addresses.size() ? "," : ""));
  }
  return enc::fold(header.size() + 2, atoms);
}

core::Result<std::vector<MailAddress>> parse_all(const std::vector<std::string>& texts) {
  std::vector<MailAddress> addresses;
  for (const auto& text : texts) {
    auto parsed = parse_mail_address(text);
    if (!parsed) return parsed.error();
    addresses.push_back(std::move(*parsed));
  }
  return addresses;
}

// An id as the left side of a Message-ID: letters, digits, "-_+" and single
// inner dots stay, every other byte becomes "=XX", so different ids stay
// different and nothing can end the header.
std::string id_left(std::string_view id) {
  constexpr std::string_view hex = "0123456789ABCDEF";
  std::string out;
  for (std::size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    const bool dot_ok = c == '.' && i > 0 && i + 1 < id.size() && id[i - 1] != '.';
    const bool keep = dot_ok || (c != '.' && c != '=' && is_address_char(c) &&
                                 std::string_view("!#$%&'*/?^`{|}~").find(c) == std::string_view::npos);
    if (keep)
      out += c;
    else
      out += std::string{'=', hex[static_cast<unsigned char>(c) >> 4], hex[static_cast<unsigned char>(c) & 0xF]};
  }
  return out;
}

std::string rfc5322_date(std::chrono::system_clock::time_point when) {
  static constexpr std::array<const char*, 7> days{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> months{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t seconds = std::chrono::system_clock::to_time_t(when);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[utc.tm_wday], utc.tm_mday,
                months[utc.tm_mon], utc.tm_year + 1900, utc.tm_hour, utc.tm_min, utc.tm_sec);
  return buffer;
}

// Boundaries hold "=_", which neither base64 nor quoted-printable content
// can contain, so no part can end early. Derived from the ids so the same
// message always builds the same bytes.
std::string boundary(const Message& message, std::string_view kind) {
  std::uint64_t hash = 1469598103934665603ULL; // FNV-1a
  for (const char c : message.id + '\n' + message.thread) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  std::ostringstream out;
  out << "=_shipgate_" << kind << "_" << std::hex << hash;
  return out.str();
}

// A text part in the shorter of quoted-printable and base64.
std::string text_part(std::string_view subtype, std::string_view text) {
  const std::string normalized = enc::normalize_text(text);
  const std::string qp = enc::quoted_printable(normalized);
  std::string crlf = core::replace_all(normalized, "\n", "\r\n");
  const std::string b64 = enc::base64_lines(crlf);
  const bool use_qp = qp.size() <= b64.size();
  return "Content-Type: text/" + std::string(subtype) +
         "; charset=UTF-8\r\nContent-Transfer-Encoding: " + (use_qp ? "quoted-printable" : "base64") + "\r\n\r\n" +
         (use_qp ? qp : b64);
}

std::string multipart(std::string_view subtype, const std::string& separator, const std::vector<std::string>& parts) {
  std::string out = "Content-Type: multipart/" + std::string(subtype) + "; boundary=\"" + separator + "\"\r\n\r\n";
  for (const auto& part : parts)
    out += "--" + separator + "\r\n" + part + "\r\n";
  return out + "--" + separator + "--\r\n";
}

bool is_token(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return c > 0x20 && c < 0x7F && std::string_view("()<>@,;:\\\"/[]?=").find(c) == std::string_view::npos;
  });
}

core::Result<std::string> attachment_part(const MailAttachment& attachment) {
  const auto slash = attachment.content_type.find('/');
  if (slash == std::string::npos || !is_token(std::string_view(attachment.content_type).substr(0, slash)) ||
      !is_token(std::string_view(attachment.content_type).substr(slash + 1)))
    return invalid("attachment \"" + enc::single_line(attachment.name) + "\" has the content type \"" +
                   enc::single_line(attachment.content_type) + "\": write type/subtype, e.g. application/pdf");
  // Recipients' programs save under this name: no directories in it.
  std::string name = attachment.name;
  std::replace(name.begin(), name.end(), '/', '_');
  std::replace(name.begin(), name.end(), '\\', '_');
  return "Content-Type: " + attachment.content_type + enc::parameter("name", name) +
         "\r\nContent-Disposition: attachment" + enc::parameter("filename", name) +
         "\r\nContent-Transfer-Encoding: base64\r\n\r\n" + enc::base64_lines(attachment.bytes);
}

core::Result<std::string> body(const Message& message, const std::vector<MailAttachment>& attachments) {
  std::vector<std::string> parts;
  if (message.html.empty())
    parts.push_back(text_part("plain", message.text));
  else
    parts.push_back(multipart("alternative", boundary(message, "alternative"),
                              {text_part("plain", message.text), text_part("html", message.html)}));
  for (const auto& attachment : attachments) {
    auto part = attachment_part(attachment);
    if (!part) return part.error();
    parts.push_back(std::move(*part));
  }
  return "MIME-Version: 1.0\r\n" + multipart("mixed", boundary(message, "mixed"), parts);
}

struct Parties {
  MailAddress from;
  std::vector<MailAddress> to, cc;
  std::string domain;
};

core::Result<Parties> parties(const MailSettings& settings) {
  Parties parties;
  auto from = parse_mail_address(settings.from);
  if (!from) return core::make_error(from.error().kind, "mail from: " + from.error().message);
  parties.from = std::move(*from);
  auto to = parse_all(settings.to);
  if (!to) return core::make_error(to.error().kind, "mail to: " + to.error().message);
  auto cc = parse_all(settings.cc);
  if (!cc) return core::make_error(cc.error().kind, "mail cc: " + cc.error().message);
  parties.to = std::move(*to);
  parties.cc = std::move(*cc);
  if (parties.to.empty() && parties.cc.empty() && settings.bcc.empty())
    return invalid("the mail has no recipient: give at least one address in to, cc or bcc");
  parties.domain =
      settings.domain.empty() ? parties.from.address.substr(parties.from.address.find('@') + 1) : settings.domain;
  if (!is_domain(parties.domain))
    return invalid("mail domain \"" + enc::single_line(parties.domain) +
                   "\" is not a domain name: write letters, digits, dots and dashes, e.g. example.com");
  return parties;
}

std::string threading(const Message& message, const std::string& domain) {
  const std::string own = message.thread_start ? message.thread : message.id;
  std::string out = "Message-ID: <" + id_left(own) + "@" + domain + ">\r\n";
  if (!message.thread.empty() && !message.thread_start) {
    const std::string thread = "<" + id_left(message.thread) + "@" + domain + ">";
    out += "In-Reply-To: " + thread + "\r\nReferences: " + thread + "\r\n";
  }
  return out;
}

} // namespace

core::Result<MailAddress> parse_mail_address(std::string_view text) {
  // Checked before trimming: a trailing line break is an injection attempt too.
  for (const char c : text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F)
      return invalid("mail address \"" + enc::single_line(core::trim(text)) +
                     "\" contains a line break or control character: write it on one line");
  const std::string trimmed = core::trim(text);
  MailAddress parsed;
  std::string_view address = trimmed;
  if (!trimmed.empty() && trimmed.back() == '>') {
    const auto open = trimmed.rfind('<');
    if (open == std::string::npos) return invalid("mail address \"" + trimmed + "\" has \">\" without \"<\"");
    parsed.name = unquote(core::trim(std::string_view(trimmed).substr(0, open)));
    address = std::string_view(trimmed).substr(open + 1, trimmed.size() - open - 2);
  }
  if (auto checked = check_address(address, trimmed); !checked) return checked.error();
  parsed.address = std::string(address);
  return parsed;
}

std::string guess_content_type(std::string_view file_name) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 24> k_types{{
      {"txt", "text/plain"},        {"log", "text/plain"},       {"md", "text/markdown"},
      {"csv", "text/csv"},          {"html", "text/html"},       {"htm", "text/html"},
      {"json", "application/json"}, {"xml", "application/xml"},  {"yaml", "application/yaml"},
      {"yml", "application/yaml"},  {"pdf", "application/pdf"},  {"zip", "application/zip"},
      {"gz", "application/gzip"},   {"tgz", "application/gzip"}, {"tar", "application/x-tar"},
      {"png", "image/png"},         {"jpg", "image/jpeg"},       {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},         {"svg", "image/svg+xml"},    {"webp", "image/webp"},
      {"patch", "text/x-diff"},     {"diff", "text/x-diff"},     {"sql", "application/sql"},
  }};
  const auto dot = file_name.rfind('.');
  if (dot == std::string_view::npos) return "application/octet-stream";
  const std::string extension = core::to_lower(file_name.substr(dot + 1));
  for (const auto& [known, type] : k_types)
    if (extension == known) return std::string(type);
  return "application/octet-stream";
}

core::Result<std::vector<MailAttachment>> load_attachments(const std::vector<Attachment>& attachments) {
  std::vector<MailAttachment> loaded;
  for (const auto& attachment : attachments) {
    std::ifstream in(attachment.path, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    if (!in.good() && !in.eof())
      return core::make_error(core::ErrorKind::runtime, "cannot read the mail attachment " + attachment.path +
                                                            ": check that the file exists and is readable");
    MailAttachment mail;
    mail.name = attachment.name.empty() ? std::filesystem::path(attachment.path).filename().string() : attachment.name;
    mail.content_type = attachment.content_type.empty() ? guess_content_type(mail.name) : attachment.content_type;
    mail.bytes = std::move(bytes).str();
    loaded.push_back(std::move(mail));
  }
  return loaded;
}

core::Result<std::string> build_mail(const MailSettings& settings, const Message& message,
                                     const std::vector<MailAttachment>& attachments) {
  if (message.id.empty()) return invalid("the mail has no message id: every notification needs one");
  if (message.thread_start && message.thread.empty())
    return invalid("the mail opens a thread but names none: set the thread id");
  auto who = parties(settings);
  if (!who) return who.error();
  auto content = body(message, attachments);
  if (!content) return content.error();
  std::string out = "Date: " + rfc5322_date(message.created) + "\r\n";
  out += "From: " + address_list("From", {who->from}) + "\r\n";
  out += who->to.empty() && who->cc.empty() ? "To: undisclosed-recipients:;\r\n"
         : who->to.empty()                  ? ""
                                            : "To: " + address_list("To", who->to) + "\r\n";
  if (!who->cc.empty()) out += "Cc: " + address_list("Cc", who->cc) + "\r\n";
  out += "Subject: " + enc::unstructured(9, message.subject) + "\r\n";
  out += threading(message, who->domain);
  // RFC 3834: no vacation auto-replies to a release robot.
  out += "Auto-Submitted: auto-generated\r\n";
  return out + *content;
}

} // namespace notify
