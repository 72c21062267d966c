#pragma once
// The smoke-test model: what to check and what to expect, as plain data.
// Loaded from a checks file (docs/smoke-test.md) or built from --url flags;
// run by smoke::Runner. deploy-stage and rollback reuse the same model to
// verify every batch.
#include <chrono>
#include <optional>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace smoke {

using Duration = std::chrono::milliseconds;

// Status codes or ranges: 200, 200-299 (written "2xx" or "200-299").
struct StatusRange {
  int low = 200;
  int high = 299;
};

struct HeaderExpectation {
  enum class Op { equals, contains, regex, exists };
  std::string name; // case-insensitive
  Op op = Op::exists;
  std::string value;
  std::optional<std::regex> pattern; // for Op::regex
};

struct BodyExpectation {
  enum class Op { contains, not_contains, regex };
  Op op = Op::contains;
  std::string value;
  std::optional<std::regex> pattern;
};

// A field of a JSON body, addressed by JSON Pointer (RFC 6901).
struct JsonExpectation {
  enum class Op { equals, exists, type, regex, lt, le, gt, ge, ne };
  std::string pointer;
  Op op = Op::exists;
  nlohmann::json value;              // equals/ne: any JSON; lt..ge: number; type: "string", "number", ...
  std::optional<std::regex> pattern; // regex on the field's text
};

struct HttpCheck {
  std::string method = "GET";
  std::string url; // ${VAR} already interpolated
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool follow_redirects = false;
  int max_redirects = 5;
  std::vector<StatusRange> status = {{200, 299}};
  std::vector<HeaderExpectation> header_expectations;
  std::vector<BodyExpectation> body_expectations;
  std::vector<JsonExpectation> json_expectations;
  std::optional<Duration> max_response_time;
  std::optional<int> cert_valid_days; // certificate must stay valid this many more days
};

struct TcpCheck {
  std::string host;
  int port = 0;
};

struct CommandCheck {
  std::vector<std::string> argv; // run directly, never through a shell
  int exit_code = 0;
  std::vector<std::string> output_contains; // stdout+stderr must contain each
};

// Transient failures (connection refused, timeouts, 502/503/504) are retried;
// a failed expectation never is.
struct RetryPolicy {
  int attempts = 3;       // total attempts, >= 1
  Duration delay{500};    // before the 2nd attempt; doubles after that
};

struct Check {
  enum class Kind { http, tcp, command };
  std::string name;
  std::string location; // "checks.yml:12" for messages
  Kind kind = Kind::http;
  Duration timeout{10000};
  HttpCheck http;
  TcpCheck tcp;
  CommandCheck command;
  RetryPolicy retry;
};

// Readiness: poll `probe` until it has passed `successes` times in a row,
// or until `deadline`; only then do the checks run.
struct WaitSpec {
  Check probe;
  Duration interval{1000};
  Duration max_interval{10000};
  double backoff = 2.0; // interval multiplier after each failed poll
  double jitter = 0.2;  // +/- this fraction, so many pipelines don't poll in step
  Duration deadline{120000};
  int successes = 1;
};

struct TlsOptions {
  bool insecure = false; // never the default; flagged in every report
  std::string cacert;    // extra CA bundle file
};

struct Suite {
  std::vector<Check> checks; // reported in this order
  std::optional<WaitSpec> wait;
  int parallel = 8;
  TlsOptions tls;
};

} // namespace smoke
