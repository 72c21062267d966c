#include "smoke/executor.hpp"

#include "core/interrupt.hpp"

#include <algorithm>
#include <random>
#include <thread>

namespace smoke {

std::string_view to_string(Transport transport) {
  switch (transport) {
  case Transport::ok:
    return "ok";
  case Transport::refused:
    return "refused";
  case Transport::dns:
    return "dns";
  case Transport::timeout:
    return "timeout";
  case Transport::tls:
    return "tls";
  case Transport::error:
    return "error";
  }
  return "error";
}

bool is_transient(Transport transport) {
  return transport == Transport::refused || transport == Transport::dns || transport == Transport::timeout;
}

namespace {

class RealClock final : public Clock {
public:
  // Seeded from the OS, so pipelines started together do not jitter in step.
  RealClock() : m_random(std::random_device{}()) {}

  std::chrono::steady_clock::time_point now() const override { return std::chrono::steady_clock::now(); }
  // Sleeps in short slices so that SIGINT/SIGTERM (an aborted CI job) ends a
  // long wait promptly instead of after the whole backoff.
  void sleep_for(Duration duration) override {
    const auto end = std::chrono::steady_clock::now() + duration;
    while (!core::interrupted()) {
      const auto left = std::chrono::ceil<Duration>(end - std::chrono::steady_clock::now());
      if (left.count() <= 0) return;
      std::this_thread::sleep_for(std::min(left, Duration(50)));
    }
  }
  double random_unit() override {
    // generate_canonical may round up to exactly 1.0 (LWG 2524); the contract is [0, 1).
    return std::min(std::generate_canonical<double, 53>(m_random), 0.9999999999999999);
  }

private:
  std::mt19937 m_random;
};

} // namespace

std::unique_ptr<Clock> make_real_clock() {
  return std::make_unique<RealClock>();
}

} // namespace smoke
