#include "smoke/http_client.hpp"

#include <algorithm>
#include <memory>
#include <mutex>

#include <curl/curl.h>

#include "core/interrupt.hpp"
#include "smoke/http_transfer.hpp"

namespace smoke {
namespace {

// How often the loop wakes to look at the interrupt flag when curl has
// nothing to say.
constexpr int k_poll_ms = 200;

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

Attempt error_attempt(std::string message) {
  Attempt attempt;
  attempt.transport = Transport::error;
  attempt.error = std::move(message);
  return attempt;
}

class Batch {
public:
  Batch(const std::vector<const Check*>& checks, int parallel, const TlsOptions& tls)
      : m_checks(checks), m_tls(tls), m_parallel(static_cast<std::size_t>(std::max(1, parallel))),
        m_multi(curl_multi_init()), m_transfers(checks.size()), m_attempts(checks.size()) {}
  ~Batch();
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;

  std::vector<Attempt> run();

private:
  void fill();
  void start(std::size_t index);
  void collect();
  void finish(std::size_t index, CURLcode code);
  void abandon(const std::string& reason);

  const std::vector<const Check*>& m_checks;
  const TlsOptions& m_tls;
  std::size_t m_parallel;
  CURLM* m_multi;
  std::vector<std::unique_ptr<HttpTransfer>> m_transfers; // non-null while in flight
  std::vector<Attempt> m_attempts;
  std::size_t m_next = 0;
  std::size_t m_in_flight = 0;
};

Batch::~Batch() {
  // An easy handle must leave the multi handle before it is cleaned up.
  for (auto& transfer : m_transfers)
    if (transfer && m_multi) curl_multi_remove_handle(m_multi, transfer->handle());
  m_transfers.clear();
  if (m_multi) curl_multi_cleanup(m_multi);
}

std::vector<Attempt> Batch::run() {
  if (!m_multi) {
    abandon("libcurl could not create a multi handle (out of memory?)");
    return std::move(m_attempts);
  }
  fill();
  while (m_in_flight > 0) {
    if (core::interrupted()) {
      abandon("interrupted before an answer came");
      break;
    }
    int running = 0;
    curl_multi_perform(m_multi, &running);
    collect();
    fill();
    // curl_multi_poll also wakes for curl's own timers (timeouts, retries of connect).
    if (m_in_flight > 0) curl_multi_poll(m_multi, nullptr, 0, k_poll_ms, nullptr);
  }
  return std::move(m_attempts);
}

void Batch::fill() {
  while (m_in_flight < m_parallel && m_next < m_checks.size())
    start(m_next++);
}

void Batch::start(std::size_t index) {
  auto transfer = std::make_unique<HttpTransfer>(*m_checks[index], m_tls);
  CURL* handle = transfer->handle();
  if (!handle) {
    m_attempts[index] = transfer->failed_setup();
    return;
  }
  curl_easy_setopt(handle, CURLOPT_PRIVATE, static_cast<void*>(&m_transfers[index])); // the slot says which check
  if (curl_multi_add_handle(m_multi, handle) != CURLM_OK) {
    m_attempts[index] = error_attempt("libcurl refused to start the transfer");
    return;
  }
  m_transfers[index] = std::move(transfer);
  ++m_in_flight;
}

void Batch::collect() {
  int queued = 0;
  while (CURLMsg* message = curl_multi_info_read(m_multi, &queued)) {
    if (message->msg != CURLMSG_DONE) continue;
    char* slot = nullptr;
    curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &slot);
    const auto* transfer = reinterpret_cast<const std::unique_ptr<HttpTransfer>*>(slot);
    finish(static_cast<std::size_t>(transfer - m_transfers.data()), message->data.result);
  }
}

void Batch::finish(std::size_t index, CURLcode code) {
  auto& transfer = m_transfers[index];
  m_attempts[index] = transfer->finish(code);
  curl_multi_remove_handle(m_multi, transfer->handle());
  transfer.reset();
  --m_in_flight;
}

void Batch::abandon(const std::string& reason) {
  for (std::size_t index = 0; index < m_checks.size(); ++index) {
    if (index < m_next && !m_transfers[index]) continue; // already answered
    m_attempts[index] = error_attempt(reason);
  }
  m_next = m_checks.size();
}

} // namespace

std::vector<Attempt> perform_http(const std::vector<const Check*>& checks, int parallel, const TlsOptions& tls) {
  if (checks.empty()) return {};
  init_curl_once();
  try {
    return Batch(checks, parallel, tls).run();
  } catch (const std::exception& failure) { // only allocation can throw here
    return std::vector<Attempt>(checks.size(), error_attempt(std::string("HTTP checks failed: ") + failure.what()));
  }
}

} // namespace smoke
