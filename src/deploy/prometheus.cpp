#include "deploy/prometheus.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>

#include <curl/curl.h>
#include <nlohmann/json.hpp>

#include "core/interrupt.hpp"
#include "core/text.hpp"
#include "deploy/plan_analysis.hpp"

#ifndef SHIPGATE_VERSION
#define SHIPGATE_VERSION "dev"
#endif

namespace deploy {
namespace {

using Kind = MetricAnswer::Kind;
using nlohmann::json;

constexpr std::size_t k_max_quoted = 300; // of a server's own words in a message

MetricAnswer answer(Kind kind, std::string message, double value = 0) {
  MetricAnswer out;
  out.kind = kind;
  out.value = value;
  out.message = std::move(message);
  return out;
}

// The server's words in a message: cut short and valid UTF-8 (an answer is
// untrusted bytes, and a cut may split a character).
std::string excerpt(std::string_view text) {
  return core::sanitize_utf8(core::trim(core::truncate(text, k_max_quoted)));
}

// A string field of an answer, or "" when it is missing or of another type
// (json::value would throw on a number where a string belongs).
std::string text_field(const json& object, const char* key) {
  if (!object.is_object()) return {};
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// A sample [<unix time>, "<value>"]; Prometheus writes the value as text
// because JSON has no NaN or Inf.
MetricAnswer sample_value(const json& pair) {
  if (!pair.is_array() || pair.size() != 2 || !pair[1].is_string())
    return answer(Kind::error, "Prometheus answered with a sample that is not [time, \"value\"]");
  const std::string text = pair[1].get<std::string>();
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0')
    return answer(Kind::error, "Prometheus answered with a value that is not a number: " + excerpt(text));
  if (std::isnan(value)) return answer(Kind::no_data, "the value is NaN (a division by zero: no traffic?)");
  return answer(Kind::value, "", value);
}

std::string labels_of(const json& series) {
  const json metric = series.is_object() ? series.value("metric", json::object()) : json::object();
  if (!metric.is_object()) return "{}";
  std::string out;
  for (auto it = metric.begin(); it != metric.end() && out.size() < 120; ++it)
    out += (out.empty() ? "" : ",") + it.key() + "=" +
           (it->is_string() ? it->get<std::string>() : it->dump(-1, ' ', false, json::error_handler_t::replace));
  return excerpt("{" + out + "}");
}

MetricAnswer from_data(const json& data) {
  const std::string type = text_field(data, "resultType");
  const json result = data.is_object() ? data.value("result", json()) : json();
  if (type == "scalar") return sample_value(result);
  if (type == "matrix")
    return answer(Kind::invalid, "the query gives a range vector (a [duration] selector without a function); "
                                 "wrap it in a function such as rate(...[1m]) so that it gives one value");
  if (type == "string") return answer(Kind::invalid, "the query gives a string, not a number");
  if (type != "vector" || !result.is_array())
    return answer(Kind::error, "Prometheus answered without a result vector (resultType '" + excerpt(type) + "')");
  if (result.empty()) return answer(Kind::no_data, "no series (empty vector)");
  if (result.size() > 1)
    return answer(Kind::invalid, "the query gives " + std::to_string(result.size()) + " series (such as " +
                                     labels_of(result[0]) + " and " + labels_of(result[1]) +
                                     ") where one value is needed; aggregate them, such as sum(...) or max(...)");
  if (!result[0].is_object() || !result[0].contains("value"))
    return answer(Kind::error, "Prometheus answered with a series without a value");
  return sample_value(result[0]["value"]);
}

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// One POST /api/v1/query: its status and up to k_max_prometheus_answer bytes.
class Exchange {
public:
  Exchange() : m_curl(curl_easy_init()) {}
  ~Exchange() {
    if (m_curl) curl_easy_cleanup(m_curl);
  }
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  CURLcode perform(const std::string& url, const std::string& form, std::chrono::milliseconds timeout);
  long status() const { return m_status; }
  const std::string& body() const { return m_body; }
  bool truncated() const { return m_truncated; }
  std::string error(CURLcode code) const { return m_error[0] ? std::string(m_error) : curl_easy_strerror(code); }
  std::string escape(const std::string& text) const;

private:
  static size_t on_body(char* data, size_t size, size_t count, void* self);
  static int on_progress(void*, curl_off_t, curl_off_t, curl_off_t, curl_off_t) { return core::interrupted() ? 1 : 0; }

  CURL* m_curl = nullptr;
  char m_error[CURL_ERROR_SIZE] = {};
  long m_status = 0;
  std::string m_body;
  bool m_truncated = false;
};

std::string Exchange::escape(const std::string& text) const {
  if (!m_curl) return {};
  std::unique_ptr<char, decltype(&curl_free)> escaped(
      curl_easy_escape(m_curl, text.c_str(), static_cast<int>(text.size())), &curl_free);
  return escaped ? std::string(escaped.get()) : std::string();
}

CURLcode Exchange::perform(const std::string& url, const std::string& form, std::chrono::milliseconds timeout) {
  if (!m_curl) return CURLE_OUT_OF_MEMORY;
  curl_easy_setopt(m_curl, CURLOPT_ERRORBUFFER, m_error);
  curl_easy_setopt(m_curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(m_curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(m_curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(m_curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(m_curl, CURLOPT_USERAGENT, "shipgate/" SHIPGATE_VERSION);
  curl_easy_setopt(m_curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(form.size()));
  curl_easy_setopt(m_curl, CURLOPT_POSTFIELDS, form.c_str());
  const long timeout_ms = std::max<long>(1, static_cast<long>(timeout.count()));
  curl_easy_setopt(m_curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(m_curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(m_curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(m_curl, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(m_curl, CURLOPT_WRITEFUNCTION, &Exchange::on_body);
  curl_easy_setopt(m_curl, CURLOPT_WRITEDATA, this);
  curl_easy_setopt(m_curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(m_curl, CURLOPT_XFERINFOFUNCTION, &Exchange::on_progress);
  const CURLcode code = curl_easy_perform(m_curl);
  curl_easy_getinfo(m_curl, CURLINFO_RESPONSE_CODE, &m_status);
  return code;
}

size_t Exchange::on_body(char* data, size_t size, size_t count, void* self) {
  auto& exchange = *static_cast<Exchange*>(self);
  const size_t bytes = size * count;
  const size_t room = k_max_prometheus_answer - exchange.m_body.size();
  exchange.m_body.append(data, std::min(bytes, room));
  if (bytes <= room) return bytes;
  exchange.m_truncated = true;
  return 0; // stops the transfer: nothing after the limit is read
}

// "1700000000.123": Prometheus takes a Unix time with a fraction.
std::string unix_time(std::chrono::system_clock::time_point at) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
  char text[40];
  std::snprintf(text, sizeof text, "%lld.%03lld", static_cast<long long>(ms / 1000), static_cast<long long>(ms % 1000));
  return text;
}

} // namespace

MetricAnswer parse_query_answer(long http_status, std::string_view body, bool truncated) {
  if (truncated)
    return answer(Kind::invalid, "Prometheus' answer is larger than " + std::to_string(k_max_prometheus_answer / 1024) +
                                     " KiB: the query gives far more than one series; aggregate it, such as sum(...)");
  const json document = json::parse(body.begin(), body.end(), nullptr, false);
  if (!document.is_object()) {
    const std::string status = "HTTP " + std::to_string(http_status);
    return answer(Kind::error,
                  "Prometheus answered " + status + " without a JSON body" +
                      (body.empty() ? std::string() : ": " + excerpt(body)) +
                      (http_status == 404 ? " (is the URL the Prometheus server's, without /api/v1?)" : ""));
  }
  const std::string status = text_field(document, "status");
  if (status == "error") {
    const std::string type = excerpt(text_field(document, "errorType"));
    const std::string text = excerpt(text_field(document, "error"));
    // A query Prometheus cannot parse will never work: stop at once.
    if (type == "bad_data") return answer(Kind::invalid, "Prometheus rejected the query: " + text);
    return answer(Kind::error, "Prometheus could not run the query (" +
                                   (type.empty() ? "HTTP " + std::to_string(http_status) : type) + "): " + text);
  }
  if (status != "success" || http_status / 100 != 2)
    return answer(Kind::error,
                  "Prometheus answered HTTP " + std::to_string(http_status) + " with status '" + excerpt(status) + "'");
  return from_data(document.value("data", json()));
}

PrometheusClient::PrometheusClient(std::string url, std::chrono::milliseconds timeout)
    : m_url(std::move(url)), m_timeout(timeout) {
  while (!m_url.empty() && m_url.back() == '/')
    m_url.pop_back();
}

MetricAnswer PrometheusClient::query(const std::string& promql, std::chrono::system_clock::time_point at) {
  init_curl_once();
  Exchange exchange;
  const std::string form = "query=" + exchange.escape(promql) + "&time=" + unix_time(at);
  const CURLcode code = exchange.perform(m_url + "/api/v1/query", form, m_timeout);
  const bool stopped_by_us = code == CURLE_WRITE_ERROR && exchange.truncated();
  if (code == CURLE_ABORTED_BY_CALLBACK) return answer(Kind::error, "interrupted");
  if (code != CURLE_OK && !stopped_by_us) {
    const std::string where = display_url(m_url);
    const bool timeout = code == CURLE_OPERATION_TIMEDOUT;
    return answer(Kind::error, (timeout ? "no answer from Prometheus at " : "cannot reach Prometheus at ") + where +
                                   ": " + exchange.error(code));
  }
  return parse_query_answer(exchange.status(), exchange.body(), exchange.truncated());
}

} // namespace deploy
