#include <algorithm>
#include <atomic>
#include <system_error>
#include <thread>
#include <utility>

#include "smoke/command_probe.hpp"
#include "smoke/executor.hpp"
#include "smoke/http_client.hpp"
#include "smoke/tcp_probe.hpp"

namespace smoke {
namespace {

Attempt run_one(const Check& check) {
  try {
    return check.kind == Check::Kind::tcp ? probe_tcp(check) : run_command(check);
  } catch (const std::exception& failure) {
    Attempt attempt;
    attempt.transport = Transport::error;
    attempt.error = std::string("check failed: ") + failure.what();
    return attempt;
  }
}

// TCP and command checks each block a thread; `workers` threads take the
// next check until none is left, and write into the check's own slot.
void run_blocking(const std::vector<const Check*>& checks, const std::vector<std::size_t>& indexes, std::size_t workers,
                  std::vector<Attempt>& attempts) {
  if (indexes.empty()) return;
  workers = std::min(workers, indexes.size());
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t slot = next++; slot < indexes.size(); slot = next++)
      attempts[indexes[slot]] = run_one(*checks[indexes[slot]]);
  };
  std::vector<std::jthread> threads;
  try {
    for (std::size_t count = 1; count < workers; ++count)
      threads.emplace_back(work);
  } catch (const std::system_error&) {
    // No more threads to be had: the ones started and this one finish the work.
  }
  work();
}

// The `parallel` budget is shared: blocking checks get up to half of it
// while curl runs the HTTP checks with the rest. With a budget of 1, the
// two kinds run one after the other.
std::pair<int, std::size_t> split_budget(int parallel, std::size_t http_count, std::size_t blocking_count) {
  parallel = std::max(1, parallel);
  if (blocking_count == 0) return {parallel, 0};
  if (http_count == 0) return {0, std::min<std::size_t>(blocking_count, static_cast<std::size_t>(parallel))};
  const auto blocking = std::min<std::size_t>(blocking_count, static_cast<std::size_t>(parallel / 2));
  return {parallel - static_cast<int>(blocking), blocking};
}

// A thread for `work`, or none (not joinable) when the system has no more to give.
template <typename Work> std::jthread start(Work work) {
  try {
    return std::jthread(std::move(work));
  } catch (const std::system_error&) {
    return {};
  }
}

class RealExecutor final : public Executor {
public:
  std::vector<Attempt> execute(const std::vector<const Check*>& checks, int parallel, const TlsOptions& tls) override {
    std::vector<const Check*> http;
    std::vector<std::size_t> http_indexes;
    std::vector<std::size_t> blocking_indexes;
    for (std::size_t index = 0; index < checks.size(); ++index) {
      if (checks[index]->kind == Check::Kind::http) {
        http.push_back(checks[index]);
        http_indexes.push_back(index);
      } else {
        blocking_indexes.push_back(index);
      }
    }
    const auto budget = split_budget(parallel, http.size(), blocking_indexes.size());
    const int http_budget = budget.first;
    const std::size_t blocking_budget = budget.second;
    std::vector<Attempt> attempts(checks.size());
    {
      // This thread drives curl meanwhile; the helper is joined before the results are used.
      std::jthread blocking;
      if (blocking_budget > 0)
        blocking = start([&] { run_blocking(checks, blocking_indexes, blocking_budget, attempts); });
      std::vector<Attempt> answers = perform_http(http, std::max(1, http_budget), tls);
      for (std::size_t slot = 0; slot < answers.size(); ++slot)
        attempts[http_indexes[slot]] = std::move(answers[slot]);
      if (!blocking.joinable())
        run_blocking(checks, blocking_indexes, static_cast<std::size_t>(std::max(1, parallel)), attempts);
    }
    return attempts;
  }
};

} // namespace

std::unique_ptr<Executor> make_real_executor() {
  return std::make_unique<RealExecutor>();
}

} // namespace smoke
