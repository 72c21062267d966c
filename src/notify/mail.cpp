// send_mail: one SMTP transaction with libcurl. The message is built
// first (notify/mail_message.cpp) and uploaded as it is; libcurl's SMTP
// upload dot-stuffs lines starting with "." and ends the DATA itself.
#include "notify/mail.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>

#include <curl/curl.h>

#include "core/text.hpp"
#include "io/redactor.hpp"

namespace notify {
namespace {

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

Delivery verdict(DeliveryStatus status, std::string detail) {
  Delivery delivery;
  delivery.status = status;
  delivery.detail = std::move(detail);
  return delivery;
}

std::string host_of(const std::string& url) {
  const auto start = url.find("://");
  std::string rest = start == std::string::npos ? url : url.substr(start + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (const auto at = rest.rfind('@'); at != std::string::npos) rest = rest.substr(at + 1);
  if (!rest.empty() && rest.front() == '[') return rest.substr(1, rest.find(']') - 1);
  return rest.substr(0, rest.find(':'));
}

// Settings that no server can fix: refused before connecting.
std::string settings_problem(const MailSettings& settings) {
  const bool smtp = core::starts_with(settings.url, "smtp://");
  const bool smtps = core::starts_with(settings.url, "smtps://");
  if (!smtp && !smtps)
    return "mail url \"" + settings.url + "\" is not smtp://host:587 (STARTTLS) or smtps://host:465 (TLS): fix the url";
  const std::string host = host_of(settings.url);
  const bool local = host == "127.0.0.1" || host == "::1" || host == "localhost";
  if (!settings.require_tls && !local)
    return "mail url " + settings.url +
           " without TLS is refused: require_tls may be false only for a relay on "
           "127.0.0.1 or localhost; use STARTTLS (smtp://) or smtps://";
  const std::string auth = core::to_lower(settings.auth);
  if (!auth.empty() && auth != "plain" && auth != "login" && auth != "xoauth2")
    return "mail auth \"" + settings.auth + "\" is unknown: write PLAIN, LOGIN, XOAUTH2 or leave it empty";
  if (auth == "xoauth2" && settings.oauth_token.empty())
    return "mail auth XOAUTH2 needs an OAuth token (and the mailbox as the username)";
  return {};
}

// What the SMTP conversation said about recipients, from libcurl's debug
// stream. Only RCPT commands and server replies are kept: the commands
// that carry credentials (AUTH) are never looked at.
class Conversation {
public:
  static int on_debug(CURL*, curl_infotype type, char* data, size_t size, void* self) {
    auto& conversation = *static_cast<Conversation*>(self);
    const std::string_view text(data, size);
    if (type == CURLINFO_HEADER_OUT && core::starts_with(text, "RCPT TO:"))
      conversation.m_pending_rcpt = core::trim(text.substr(8));
    else if (type == CURLINFO_HEADER_IN)
      conversation.reply(core::trim(text));
    return 0;
  }
  const std::vector<std::string>& refused() const { return m_refused; }
  const std::string& last_reply() const { return m_last_reply; }

private:
  void reply(const std::string& line) {
    m_last_reply = line;
    // Continuation lines ("250-...") are not the final answer.
    if (m_pending_rcpt.empty() || line.size() < 4 || line[3] == '-') return;
    if (line[0] != '2') m_refused.push_back(m_pending_rcpt + " (" + line + ")");
    m_pending_rcpt.clear();
  }
  std::string m_pending_rcpt;
  std::string m_last_reply;
  std::vector<std::string> m_refused;
};

struct Upload {
  const std::string& data;
  std::size_t offset = 0;
  static size_t read(char* buffer, size_t size, size_t count, void* self) {
    auto& upload = *static_cast<Upload*>(self);
    const std::size_t n = std::min(size * count, upload.data.size() - upload.offset);
    std::copy_n(upload.data.data() + upload.offset, n, buffer);
    upload.offset += n;
    return n;
  }
};

class Session {
public:
  Session() : m_curl(curl_easy_init()) {}
  ~Session() {
    curl_slist_free_all(m_recipients);
    if (m_curl) curl_easy_cleanup(m_curl);
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  Delivery send(const MailSettings& settings, const std::string& from, const std::vector<std::string>& recipients,
                const std::string& message);

private:
  void configure(const MailSettings& settings);
  void authenticate(const MailSettings& settings);
  Delivery classify(const MailSettings& settings, CURLcode code) const;

  CURL* m_curl;
  curl_slist* m_recipients = nullptr;
  char m_error[CURL_ERROR_SIZE] = {};
  Conversation m_conversation;
};

void Session::configure(const MailSettings& settings) {
  curl_easy_setopt(m_curl, CURLOPT_URL, settings.url.c_str());
  curl_easy_setopt(m_curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  // ALL, never TRY: TRY would send in plaintext when STARTTLS is missing.
  curl_easy_setopt(m_curl, CURLOPT_USE_SSL, settings.require_tls ? CURLUSESSL_ALL : CURLUSESSL_NONE);
  curl_easy_setopt(m_curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(m_curl, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!settings.cacert.empty()) curl_easy_setopt(m_curl, CURLOPT_CAINFO, settings.cacert.c_str());
  curl_easy_setopt(m_curl, CURLOPT_TIMEOUT_MS, static_cast<long>(settings.timeout.count()));
  curl_easy_setopt(m_curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(settings.timeout.count()));
  curl_easy_setopt(m_curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(m_curl, CURLOPT_ERRORBUFFER, m_error);
  // One refused recipient must not cost the others their mail.
#if LIBCURL_VERSION_NUM >= 0x080200
  curl_easy_setopt(m_curl, CURLOPT_MAIL_RCPT_ALLOWFAILS, 1L);
#else
  curl_easy_setopt(m_curl, CURLOPT_MAIL_RCPT_ALLLOWFAILS, 1L);
#endif
  curl_easy_setopt(m_curl, CURLOPT_VERBOSE, 1L);
  curl_easy_setopt(m_curl, CURLOPT_DEBUGFUNCTION, &Conversation::on_debug);
  curl_easy_setopt(m_curl, CURLOPT_DEBUGDATA, &m_conversation);
}

void Session::authenticate(const MailSettings& settings) {
  if (!settings.username.empty()) curl_easy_setopt(m_curl, CURLOPT_USERNAME, settings.username.c_str());
  if (!settings.password.empty()) curl_easy_setopt(m_curl, CURLOPT_PASSWORD, settings.password.c_str());
  if (!settings.oauth_token.empty()) curl_easy_setopt(m_curl, CURLOPT_XOAUTH2_BEARER, settings.oauth_token.c_str());
  if (!settings.auth.empty()) {
    std::string options = "AUTH=" + settings.auth;
    std::transform(options.begin(), options.end(), options.begin(), [](unsigned char c) { return std::toupper(c); });
    curl_easy_setopt(m_curl, CURLOPT_LOGIN_OPTIONS, options.c_str()); // libcurl copies strings
  }
}

Delivery Session::send(const MailSettings& settings, const std::string& from,
                       const std::vector<std::string>& recipients, const std::string& message) {
  if (!m_curl) return verdict(DeliveryStatus::transient, "cannot start libcurl (out of memory?): try again");
  configure(settings);
  authenticate(settings);
  const std::string envelope_from = "<" + from + ">";
  curl_easy_setopt(m_curl, CURLOPT_MAIL_FROM, envelope_from.c_str());
  for (const auto& recipient : recipients)
    m_recipients = curl_slist_append(m_recipients, ("<" + recipient + ">").c_str());
  curl_easy_setopt(m_curl, CURLOPT_MAIL_RCPT, m_recipients);
  Upload upload{message};
  curl_easy_setopt(m_curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(m_curl, CURLOPT_READFUNCTION, &Upload::read);
  curl_easy_setopt(m_curl, CURLOPT_READDATA, &upload);
  curl_easy_setopt(m_curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(message.size()));
  return classify(settings, curl_easy_perform(m_curl));
}

bool transient_code(CURLcode code) {
  switch (code) {
  case CURLE_COULDNT_CONNECT:
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_OPERATION_TIMEDOUT:
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_SSL_CONNECT_ERROR:
    return true;
  default:
    return false;
  }
}

Delivery Session::classify(const MailSettings& settings, CURLcode code) const {
  long reply = 0;
  curl_easy_getinfo(m_curl, CURLINFO_RESPONSE_CODE, &reply);
  const std::string said =
      m_conversation.last_reply().empty() ? "" : "; the server said: " + m_conversation.last_reply();
  if (code == CURLE_OK) {
    std::string detail = "SMTP " + std::to_string(reply) + ": accepted by " + host_of(settings.url);
    if (!m_conversation.refused().empty())
      detail += "; refused recipients (they did not get it): " + core::join(m_conversation.refused());
    return verdict(DeliveryStatus::delivered, detail);
  }
  const std::string error = m_error[0] ? m_error : curl_easy_strerror(code);
  if (code == CURLE_USE_SSL_FAILED)
    return verdict(DeliveryStatus::permanent, "the mail server at " + settings.url +
                                                  " does not offer STARTTLS, so the mail was not sent in "
                                                  "plaintext: use a server with STARTTLS or smtps://" +
                                                  said);
  if (code == CURLE_PEER_FAILED_VERIFICATION)
    return verdict(DeliveryStatus::permanent, "the mail server's certificate was not trusted (" + error +
                                                  "): give its CA in cacert or fix the server's certificate");
  std::string detail = (reply > 0 ? "SMTP " + std::to_string(reply) + ": " : "") + error;
  if (!m_conversation.refused().empty())
    detail += "; refused recipients: " + core::join(m_conversation.refused());
  else
    detail += said;
  if (reply >= 400 && reply < 500) return verdict(DeliveryStatus::transient, detail + " (temporary; retry later)");
  if (reply >= 500) {
    const bool auth = code == CURLE_LOGIN_DENIED || reply == 535;
    return verdict(DeliveryStatus::permanent,
                   detail + (auth ? " (check the mail username and password or token)" : " (check the addresses)"));
  }
  if (transient_code(code)) return verdict(DeliveryStatus::transient, detail + " (retry later)");
  return verdict(DeliveryStatus::permanent, detail);
}

std::vector<std::string> envelope_recipients(const MailSettings& settings, std::string& problem) {
  std::vector<std::string> all;
  for (const auto* list : {&settings.to, &settings.cc, &settings.bcc})
    for (const auto& text : *list) {
      auto parsed = parse_mail_address(text);
      if (!parsed)
        problem = parsed.error().message;
      else
        all.push_back(parsed->address);
    }
  return all;
}

} // namespace

Delivery send_mail(const MailSettings& settings, const Message& message) {
  io::Redactor redactor;
  redactor.add_secret(settings.password);
  redactor.add_secret(settings.oauth_token);
  const auto redacted = [&](Delivery delivery) {
    delivery.detail = redactor.redact(delivery.detail);
    return delivery;
  };
  if (const std::string problem = settings_problem(settings); !problem.empty())
    return redacted(verdict(DeliveryStatus::permanent, problem));
  Message dated = message;
  if (dated.created == std::chrono::system_clock::time_point{}) dated.created = std::chrono::system_clock::now();
  auto attachments = load_attachments(message.attachments);
  if (!attachments) return redacted(verdict(DeliveryStatus::permanent, attachments.error().message));
  auto built = build_mail(settings, dated, *attachments);
  if (!built) return redacted(verdict(DeliveryStatus::permanent, built.error().message));
  std::string problem;
  const auto recipients = envelope_recipients(settings, problem);
  if (!problem.empty()) return redacted(verdict(DeliveryStatus::permanent, "mail bcc: " + problem));
  init_curl_once();
  Session session;
  return redacted(session.send(settings, parse_mail_address(settings.from)->address, recipients, *built));
}

} // namespace notify
