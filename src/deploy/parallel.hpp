#pragma once
// Work on many targets at once (`--jobs N`): fn(0) … fn(count-1) on up to
// `jobs` threads, returning when every call has returned. Each call must
// only touch its own item and thread-safe shared state.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <functional>
#include <thread>
#include <vector>

namespace deploy {

inline void parallel_for(std::size_t count, int jobs, const std::function<void(std::size_t)>& fn) {
  const std::size_t threads = std::min<std::size_t>(count, static_cast<std::size_t>(std::max(1, jobs)));
  if (threads <= 1) {
    for (std::size_t i = 0; i < count; ++i) fn(i);
    return;
  }
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> workers;
  workers.reserve(threads);
  for (std::size_t t = 0; t < threads; ++t)
    workers.emplace_back([&] {
      for (std::size_t i = next++; i < count; i = next++) fn(i);
    });
  for (auto& worker : workers) worker.join();
}

} // namespace deploy
