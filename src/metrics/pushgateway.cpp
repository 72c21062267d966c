#include "metrics/pushgateway.hpp"

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>

#include <curl/curl.h>

#include "core/interrupt.hpp"
#include "core/text.hpp"

#ifndef SHIPGATE_VERSION
#define SHIPGATE_VERSION "dev"
#endif

namespace metrics {
namespace {

constexpr std::size_t k_max_answer = 64 * 1024;
constexpr std::size_t k_max_quoted = 300; // of the server's own words in a message

struct UrlParts {
  std::string scheme, userinfo, rest, query; // rest: host[:port][/path]
};

UrlParts split(const std::string& url) {
  UrlParts parts;
  const auto colon = url.find("://");
  if (colon == std::string::npos) return parts;
  parts.scheme = core::to_lower(url.substr(0, colon));
  std::string tail = url.substr(colon + 3);
  const auto hash = tail.find('#');
  if (hash != std::string::npos) tail.resize(hash);
  const auto question = tail.find('?');
  if (question != std::string::npos) {
    parts.query = tail.substr(question + 1);
    tail.resize(question);
  }
  const auto slash = tail.find('/');
  const auto at = tail.rfind('@', slash);
  if (at != std::string::npos) {
    parts.userinfo = tail.substr(0, at);
    tail = tail.substr(at + 1);
  }
  parts.rest = tail;
  return parts;
}

bool unreserved(unsigned char c) {
  return std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~';
}

std::string percent_encode(std::string_view text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (unreserved(c))
      out += static_cast<char>(c);
    else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Answer {
  std::string body;
  static size_t on_body(char* data, size_t size, size_t count, void* self) {
    auto& answer = *static_cast<Answer*>(self);
    const size_t bytes = size * count;
    // The rest is read and dropped: only the start goes into a message.
    answer.body.append(data, std::min(bytes, k_max_answer - answer.body.size()));
    return bytes;
  }
};

int on_progress(void*, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return core::interrupted() ? 1 : 0;
}

using Curl = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;
using Headers = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;

} // namespace

std::string base64url(std::string_view bytes) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned n = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    for (int shift : {18, 12, 6, 0})
      out += alphabet[(n >> shift) & 63];
  }
  const std::size_t left = bytes.size() - i;
  if (left == 1) {
    const unsigned n = static_cast<unsigned char>(bytes[i]) << 16;
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += "==";
  } else if (left == 2) {
    const unsigned n = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string grouping_path(const Labels& grouping) {
  std::string path;
  for (const auto& [name, value] : grouping) {
    // "=" is the Pushgateway's spelling of an empty value in base64.
    if (value.empty())
      path += "/" + name + "@base64/=";
    else if (value.find('/') != std::string::npos)
      path += "/" + name + "@base64/" + base64url(value);
    else
      path += "/" + name + "/" + percent_encode(value);
  }
  return path;
}

std::string pushgateway_url_problem(const std::string& url) {
  const UrlParts parts = split(url);
  if (parts.scheme != "http" && parts.scheme != "https")
    return "'" + display_url(url) + "' is not an http:// or https:// URL (such as http://pushgateway:9091)";
  if (parts.rest.empty() || parts.rest[0] == '/' || parts.rest[0] == ':')
    return "'" + display_url(url) + "' has no host";
  return {};
}

std::string display_url(const std::string& url) {
  const UrlParts parts = split(url);
  if (parts.scheme.empty()) return "(not a URL)";
  return parts.scheme + "://" + parts.rest;
}

std::vector<std::string> url_secrets(const std::string& url) {
  const UrlParts parts = split(url);
  std::vector<std::string> out;
  if (!parts.userinfo.empty()) {
    out.push_back(parts.userinfo);
    const auto colon = parts.userinfo.find(':');
    if (colon != std::string::npos && colon + 1 < parts.userinfo.size())
      out.push_back(parts.userinfo.substr(colon + 1));
  }
  std::string_view rest = parts.query;
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    const auto equals = pair.find('=');
    if (equals != std::string_view::npos && equals + 1 < pair.size()) out.emplace_back(pair.substr(equals + 1));
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
  }
  return out;
}

core::Status push(const std::string& url, const Labels& grouping, const std::string& body,
                  std::chrono::milliseconds timeout) {
  init_curl_once();
  std::string base = url;
  const auto question = base.find('?');
  const std::string query = question == std::string::npos ? std::string() : base.substr(question);
  if (question != std::string::npos) base.resize(question);
  while (!base.empty() && base.back() == '/')
    base.pop_back();
  const std::string target = base + "/metrics" + grouping_path(grouping) + query;
  const std::string where = "the Pushgateway at " + display_url(url);
  Curl curl(curl_easy_init(), &curl_easy_cleanup);
  Headers headers(curl_slist_append(nullptr, "Content-Type: text/plain; version=0.0.4; charset=utf-8"),
                  &curl_slist_free_all);
  if (!curl || !headers)
    return core::make_error(core::ErrorKind::runtime, "cannot push to " + where + ": out of memory");
  char error[CURL_ERROR_SIZE] = {};
  Answer answer;
  CURL* handle = curl.get();
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(handle, CURLOPT_URL, target.c_str());
  curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(handle, CURLOPT_USERAGENT, "shipgate/" SHIPGATE_VERSION);
  curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, "PUT");
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(handle, CURLOPT_POSTFIELDS, body.c_str());
  const long timeout_ms = std::max<long>(1, static_cast<long>(timeout.count()));
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(handle, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(handle, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, &Answer::on_body);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &answer);
  curl_easy_setopt(handle, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, &on_progress);
  const CURLcode code = curl_easy_perform(handle);
  if (code == CURLE_ABORTED_BY_CALLBACK)
    return core::make_error(core::ErrorKind::interrupted, "interrupted while pushing to " + where);
  if (code != CURLE_OK) {
    const bool slow = code == CURLE_OPERATION_TIMEDOUT;
    return core::make_error(core::ErrorKind::runtime,
                            (slow ? "no answer within " + std::to_string(timeout.count() / 1000) + " s from "
                                  : std::string("cannot reach ")) +
                                where + ": " + (error[0] ? std::string(error) : curl_easy_strerror(code)) +
                                "; the step's own result is above, only its metrics were not pushed");
  }
  long status = 0;
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
  if (status / 100 == 2) return core::ok_status();
  const std::string said = core::sanitize_utf8(core::trim(core::truncate(answer.body, k_max_quoted)));
  return core::make_error(core::ErrorKind::runtime,
                          where + " refused the metrics: HTTP " + std::to_string(status) +
                              (said.empty() ? std::string() : " (" + said + ")") +
                              (status == 404 ? " (give the Pushgateway's base URL, without /metrics)" : "") +
                              "; the step's own result is above, only its metrics were not pushed");
}

} // namespace metrics
