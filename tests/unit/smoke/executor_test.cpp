#include <doctest/doctest.h>

#include <chrono>

#include "smoke/executor.hpp"

using smoke::Transport;

TEST_CASE("Transport names") {
  CHECK(smoke::to_string(Transport::ok) == "ok");
  CHECK(smoke::to_string(Transport::refused) == "refused");
  CHECK(smoke::to_string(Transport::dns) == "dns");
  CHECK(smoke::to_string(Transport::timeout) == "timeout");
  CHECK(smoke::to_string(Transport::tls) == "tls");
  CHECK(smoke::to_string(Transport::error) == "error");
}

TEST_CASE("only refused, dns and timeout are worth retrying") {
  CHECK(smoke::is_transient(Transport::refused));
  CHECK(smoke::is_transient(Transport::dns));
  CHECK(smoke::is_transient(Transport::timeout));
  CHECK_FALSE(smoke::is_transient(Transport::ok));
  CHECK_FALSE(smoke::is_transient(Transport::tls));
  CHECK_FALSE(smoke::is_transient(Transport::error));
}

TEST_CASE("the real clock sleeps and gives numbers from 0 up to but not including 1") {
  const auto clock = smoke::make_real_clock();
  const auto before = clock->now();
  clock->sleep_for(smoke::Duration(20));
  clock->sleep_for(smoke::Duration(-5)); // nothing to wait for
  CHECK(clock->now() - before >= std::chrono::milliseconds(20));
  double low = 1;
  double high = 0;
  for (int draw = 0; draw < 1000; ++draw) {
    const double value = clock->random_unit();
    REQUIRE(value >= 0.0);
    REQUIRE(value < 1.0);
    low = std::min(low, value);
    high = std::max(high, value);
  }
  CHECK(low < 0.1);
  CHECK(high > 0.9);
}
