#include "smoke/http_transfer.hpp"

#include <algorithm>

#include "core/text.hpp"
#include "smoke/http_dates.hpp"

#ifndef SHIPGATE_VERSION
#define SHIPGATE_VERSION "dev"
#endif

namespace smoke {
namespace {

// A server that sends thousands of header lines is not worth keeping in memory.
constexpr std::size_t k_max_headers = 200;

bool has_line_break(std::string_view text) {
  return text.find_first_of("\r\n") != std::string_view::npos;
}

} // namespace

Transport transport_for(CURLcode code) {
  switch (code) {
  case CURLE_OK:
    return Transport::ok;
  case CURLE_COULDNT_CONNECT:
  case CURLE_RECV_ERROR:
  case CURLE_SEND_ERROR:
  case CURLE_GOT_NOTHING: // the server closed the connection without a word
    return Transport::refused;
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
    return Transport::dns;
  case CURLE_OPERATION_TIMEDOUT:
    return Transport::timeout;
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_ENGINE_NOTFOUND:
  case CURLE_SSL_ENGINE_SETFAILED:
  case CURLE_SSL_ENGINE_INITFAILED:
  case CURLE_SSL_SHUTDOWN_FAILED:
  case CURLE_SSL_CRL_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_SSL_INVALIDCERTSTATUS:
  case CURLE_SSL_CLIENTCERT:
  case CURLE_USE_SSL_FAILED:
    return Transport::tls;
  default:
    return Transport::error;
  }
}

HttpTransfer::HttpTransfer(const Check& check, const TlsOptions& tls) : m_curl(curl_easy_init()) {
  if (!m_curl) {
    m_setup_error = "libcurl could not create a transfer (out of memory?)";
    return;
  }
  curl_easy_setopt(m_curl, CURLOPT_ERRORBUFFER, m_error);
  curl_easy_setopt(m_curl, CURLOPT_NOSIGNAL, 1L); // several threads; no SIGALRM tricks
  curl_easy_setopt(m_curl, CURLOPT_WRITEFUNCTION, &HttpTransfer::on_body);
  curl_easy_setopt(m_curl, CURLOPT_WRITEDATA, this);
  curl_easy_setopt(m_curl, CURLOPT_HEADERFUNCTION, &HttpTransfer::on_header);
  curl_easy_setopt(m_curl, CURLOPT_HEADERDATA, this);
  set_request(check.http);
  set_headers(check.http);
  set_limits(check);
  set_tls(check, tls);
}

HttpTransfer::~HttpTransfer() {
  if (m_curl) curl_easy_cleanup(m_curl);
  curl_slist_free_all(m_headers);
}

void HttpTransfer::set_request(const HttpCheck& http) {
  curl_easy_setopt(m_curl, CURLOPT_URL, http.url.c_str());
  curl_easy_setopt(m_curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(m_curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(m_curl, CURLOPT_USERAGENT, "shipgate/" SHIPGATE_VERSION);
  const bool has_body = !http.body.empty();
  if (http.method == "HEAD") curl_easy_setopt(m_curl, CURLOPT_NOBODY, 1L);
  if (has_body || http.method == "POST") {
    curl_easy_setopt(m_curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(http.body.size()));
    curl_easy_setopt(m_curl, CURLOPT_COPYPOSTFIELDS, http.body.c_str());
  }
  // CUSTOMREQUEST sticks to every redirect, so it is only set when curl's
  // own choice (GET, HEAD, POST with the body) would send the wrong method.
  const bool natural = (http.method == "GET" && !has_body) || http.method == "HEAD" || http.method == "POST";
  if (!natural) curl_easy_setopt(m_curl, CURLOPT_CUSTOMREQUEST, http.method.c_str());
}

void HttpTransfer::set_headers(const HttpCheck& http) {
  // Without this, curl waits up to a second for "100 Continue" before a large body.
  m_headers = curl_slist_append(m_headers, "Expect:");
  for (const auto& [name, value] : http.headers) {
    if (name.empty() || has_line_break(name) || has_line_break(value) || name.find(':') != std::string::npos) {
      m_setup_error = "header \"" + core::first_line(name, 80) + "\" has a line break or an invalid name; not sent";
      return;
    }
    // "Name;" is curl's spelling of a header sent with an empty value.
    std::string line = name;
    if (value.empty())
      line += ';';
    else
      line.append(": ").append(value);
    m_headers = curl_slist_append(m_headers, line.c_str());
  }
  curl_easy_setopt(m_curl, CURLOPT_HTTPHEADER, m_headers);
}

void HttpTransfer::set_limits(const Check& check) {
  const long timeout_ms = std::max<long>(1, static_cast<long>(check.timeout.count()));
  curl_easy_setopt(m_curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(m_curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(m_curl, CURLOPT_FOLLOWLOCATION, check.http.follow_redirects ? 1L : 0L);
  curl_easy_setopt(m_curl, CURLOPT_MAXREDIRS, static_cast<long>(check.http.max_redirects));
}

void HttpTransfer::set_tls(const Check& check, const TlsOptions& tls) {
  curl_easy_setopt(m_curl, CURLOPT_SSL_VERIFYPEER, tls.insecure ? 0L : 1L);
  curl_easy_setopt(m_curl, CURLOPT_SSL_VERIFYHOST, tls.insecure ? 0L : 2L);
  if (!tls.cacert.empty()) curl_easy_setopt(m_curl, CURLOPT_CAINFO, tls.cacert.c_str());
  curl_easy_setopt(m_curl, CURLOPT_CERTINFO, 1L);
  if (check.http.cert_valid_days) {
    // A reused connection or a resumed session has no certificate to report.
    curl_easy_setopt(m_curl, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(m_curl, CURLOPT_SSL_SESSIONID_CACHE, 0L);
  }
}

size_t HttpTransfer::on_body(char* data, size_t size, size_t count, void* self) {
  Attempt& attempt = static_cast<HttpTransfer*>(self)->m_attempt;
  const size_t bytes = size * count;
  const size_t room = k_max_body - attempt.body.size();
  if (bytes <= room) {
    attempt.body.append(data, bytes);
    return bytes;
  }
  // The rest would never be looked at: keep what fits and stop the download
  // (curl then reports a write error, which finish() knows to be ours).
  attempt.body.append(data, room);
  attempt.body_truncated = true;
  return 0;
}

size_t HttpTransfer::on_header(char* data, size_t size, size_t count, void* self) {
  static_cast<HttpTransfer*>(self)->add_header_line(std::string_view(data, size * count));
  return size * count;
}

void HttpTransfer::add_header_line(std::string_view line) {
  auto& headers = m_attempt.headers;
  // A status line starts a new response (after a redirect or "100 Continue"):
  // only the final response's headers are kept.
  if (core::starts_with(line, "HTTP/")) {
    headers.clear();
    return;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0 || headers.size() >= k_max_headers) return;
  headers.emplace_back(core::to_lower(core::trim(line.substr(0, colon))), core::trim(line.substr(colon + 1)));
}

Attempt HttpTransfer::failed_setup() const {
  Attempt attempt;
  attempt.transport = Transport::error;
  attempt.error = m_setup_error;
  return attempt;
}

Attempt HttpTransfer::finish(CURLcode code) {
  Attempt attempt = std::move(m_attempt);
  m_attempt = Attempt{};
  const bool stopped_by_us = code == CURLE_WRITE_ERROR && attempt.body_truncated;
  if (code != CURLE_OK && !stopped_by_us) {
    attempt.transport = transport_for(code);
    attempt.error = m_error[0] != '\0' ? std::string(m_error) : std::string(curl_easy_strerror(code));
  }
  read_info(attempt);
  return attempt;
}

void HttpTransfer::read_info(Attempt& attempt) const {
  long status = 0;
  curl_easy_getinfo(m_curl, CURLINFO_RESPONSE_CODE, &status);
  attempt.status = static_cast<int>(status);
  curl_off_t micros = 0;
  curl_easy_getinfo(m_curl, CURLINFO_TOTAL_TIME_T, &micros);
  attempt.elapsed = std::chrono::duration_cast<Duration>(std::chrono::microseconds(micros));
  const char* url = nullptr;
  if (curl_easy_getinfo(m_curl, CURLINFO_EFFECTIVE_URL, &url) == CURLE_OK && url) attempt.effective_url = url;
  for (const auto& [name, value] : attempt.headers)
    if (name == "retry-after") attempt.retry_after = parse_retry_after(value, std::chrono::system_clock::now());
  read_certificate(attempt);
}

void HttpTransfer::read_certificate(Attempt& attempt) const {
  curl_certinfo* info = nullptr;
  if (curl_easy_getinfo(m_curl, CURLINFO_CERTINFO, &info) != CURLE_OK || !info || info->num_of_certs < 1) return;
  // certinfo[0] is the leaf, as the server sent it; entries are "Key:value".
  for (const curl_slist* entry = info->certinfo[0]; entry; entry = entry->next) {
    const std::string_view text(entry->data);
    if (core::starts_with(text, "Subject:")) attempt.cert_subject = core::trim(text.substr(8));
    if (core::starts_with(text, "Expire date:")) attempt.cert_expiry = parse_certificate_time(text.substr(12));
  }
}

} // namespace smoke
