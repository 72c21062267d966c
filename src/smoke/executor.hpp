#pragma once
// The boundary between the smoke engine and the outside world. The real
// Executor (libcurl multi, sockets, Boost.Process) lives in
// smoke/real_executor.cpp; tests use a fake that records what was asked.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/time.hpp"
#include "smoke/check.hpp"

namespace smoke {

// Why an attempt did not get an answer to judge.
enum class Transport {
  ok,                 // an answer came back (any HTTP status, a TCP connect, a command exit)
  refused,            // connection refused / reset
  dns,                // name did not resolve
  timeout,            // no answer within the check's timeout
  tls,                // TLS handshake or certificate verification failed
  error,              // anything else (the message says what)
};
std::string_view to_string(Transport transport);
// Refused, DNS, timeout: the service may be starting; worth retrying.
bool is_transient(Transport transport);

struct Attempt {
  Transport transport = Transport::ok;
  std::string error; // human-readable cause when transport != ok
  Duration elapsed{0};
  // HTTP
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers; // names lower-case, in order
  std::string body;            // bounded (see k_max_body); body_truncated says so
  bool body_truncated = false;
  std::string effective_url;
  std::optional<core::SystemTime> cert_expiry; // HTTPS: leaf certificate notAfter
  std::string cert_subject;
  std::optional<Duration> retry_after; // from a Retry-After header (seconds or HTTP date)
  // Command
  int exit_code = -1;
  std::string output; // stdout then stderr, bounded
};

constexpr std::size_t k_max_body = 1024 * 1024;

class Executor {
public:
  virtual ~Executor() = default;
  // Runs one attempt of each check, at most `parallel` at a time, and
  // returns the attempts in the same order. Never throws.
  virtual std::vector<Attempt> execute(const std::vector<const Check*>& checks, int parallel,
                                       const TlsOptions& tls) = 0;
};

std::unique_ptr<Executor> make_real_executor();

// Time, injectable so the wait/retry logic is tested without sleeping.
class Clock {
public:
  virtual ~Clock() = default;
  virtual std::chrono::steady_clock::time_point now() const = 0;
  virtual void sleep_for(Duration duration) = 0;
  // A number in [0, 1) for jitter.
  virtual double random_unit() = 0;
};

std::unique_ptr<Clock> make_real_clock();

} // namespace smoke
