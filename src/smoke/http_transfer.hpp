#pragma once
// One HTTP request of a smoke check, as a libcurl easy handle: configured
// from the check and the suite's TLS options, filled by curl's callbacks
// while a multi handle drives it (smoke/http_client.cpp), then turned into
// an Attempt. Internal to the real executor.
//
// What the request does:
// - TLS peer and host verification are on unless TlsOptions::insecure;
//   TlsOptions::cacert becomes CURLOPT_CAINFO (it replaces libcurl's default
//   bundle file; the default CA directory, /etc/ssl/certs on Debian, stays).
// - Only http and https, for the URL and for every redirect.
// - Proxies: libcurl's own environment handling is left as it is
//   (http_proxy, https_proxy, no_proxy), so a CI runner behind a proxy works
//   like curl on the command line does.
// - User-Agent "shipgate/<version>" unless the check sets its own.
// - The check's timeout bounds the connect and the whole transfer.
// - When the check asks about the certificate (cert_valid_days), a fresh
//   connection is made, so the certificate is really seen.
#include <string>

#include <curl/curl.h>

#include "smoke/check.hpp"
#include "smoke/executor.hpp"

namespace smoke {

class HttpTransfer {
public:
  HttpTransfer(const Check& check, const TlsOptions& tls);
  ~HttpTransfer();
  HttpTransfer(const HttpTransfer&) = delete;
  HttpTransfer& operator=(const HttpTransfer&) = delete;

  // Empty when the request could not be set up (see failed_setup()).
  CURL* handle() const { return m_setup_error.empty() ? m_curl : nullptr; }
  // The attempt for a request that could not even be sent.
  Attempt failed_setup() const;
  // The attempt, once curl reports the transfer done with `code`.
  Attempt finish(CURLcode code);

private:
  static size_t on_body(char* data, size_t size, size_t count, void* self);
  static size_t on_header(char* data, size_t size, size_t count, void* self);
  void add_header_line(std::string_view line);
  void set_request(const HttpCheck& http);
  void set_headers(const HttpCheck& http);
  void set_limits(const Check& check);
  void set_tls(const Check& check, const TlsOptions& tls);
  void read_info(Attempt& attempt) const;
  void read_certificate(Attempt& attempt) const;

  CURL* m_curl = nullptr;
  curl_slist* m_headers = nullptr;
  std::string m_setup_error;
  char m_error[CURL_ERROR_SIZE] = {};
  Attempt m_attempt; // headers and body, as they arrive
};

// Which kind of failure a curl result is, so "down" is told from "broken":
// connection refused/reset and empty replies -> refused, name resolution ->
// dns, timeouts -> timeout, handshake and certificate problems -> tls,
// anything else -> error.
Transport transport_for(CURLcode code);

} // namespace smoke
