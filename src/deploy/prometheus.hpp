#pragma once
// A small client of the Prometheus HTTP API (instant queries,
// POST /api/v1/query), for the metric analysis (docs/analysis.md), behind
// the MetricSource interface so the analysis is tested with a fake.
//
// What a query does: one POST of `query` and `time` (form-encoded), http
// or https only, no redirects, TLS verified, the whole exchange bounded by
// a timeout, at most k_max_prometheus_answer bytes of answer read, and
// stopped when the process is interrupted. Credentials in the URL
// (user:password@) are sent as HTTP basic authentication; messages name
// the server by display_url() only.
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace deploy {

constexpr std::size_t k_max_prometheus_answer = 1024 * 1024;

// What one instant query gave.
struct MetricAnswer {
  enum class Kind {
    value,   // one series or a scalar, with a number (maybe ±Inf)
    no_data, // an empty vector, or NaN: nothing to judge
    error,   // no usable answer this time (connection, timeout, 5xx): try again later
    invalid, // the query itself is wrong (bad PromQL, several series, a range vector): trying again cannot help
  };
  Kind kind = Kind::error;
  double value = 0;
  std::string message; // no_data, error, invalid: what came back, in words
};

// Turns Prometheus' answer (its HTTP status and JSON body) into a
// MetricAnswer. `truncated`: the body was cut at k_max_prometheus_answer.
MetricAnswer parse_query_answer(long http_status, std::string_view body, bool truncated = false);

class MetricSource {
public:
  virtual ~MetricSource() = default;
  // The value of `promql` at `at` (an instant query).
  virtual MetricAnswer query(const std::string& promql, std::chrono::system_clock::time_point at) = 0;
};

class PrometheusClient : public MetricSource {
public:
  // `url`: the server's base URL, such as http://127.0.0.1:9090 (a path
  // prefix is kept: http://host/prometheus).
  PrometheusClient(std::string url, std::chrono::milliseconds timeout);
  MetricAnswer query(const std::string& promql, std::chrono::system_clock::time_point at) override;

private:
  std::string m_url;
  std::chrono::milliseconds m_timeout;
};

} // namespace deploy
