#include "smoke/regex_search.hpp"

#include <pthread.h>

namespace smoke {
namespace {

// Measured: "(a|b)*z" needs about 420 bytes of stack per subject byte, so
// 64 KiB of subject stays far below this. Only touched pages are committed.
constexpr std::size_t k_match_stack = std::size_t{256} * 1024 * 1024;
// Used only if no thread could be made: small enough for a default stack.
constexpr std::size_t k_fallback_subject = std::size_t{4} * 1024;

struct Job {
  const std::regex* pattern = nullptr;
  std::string_view subject;
  RegexMatch result;
};

void match(Job& job) {
  try {
    job.result.matched = std::regex_search(job.subject.begin(), job.subject.end(), *job.pattern);
  } catch (const std::exception& error) {
    job.result.error = std::string("matching failed: ") + error.what();
  }
}

void* match_on_thread(void* argument) {
  match(*static_cast<Job*>(argument));
  return nullptr;
}

bool run_on_big_stack(Job& job) {
  pthread_attr_t attributes;
  if (pthread_attr_init(&attributes) != 0) return false;
  pthread_t thread;
  const bool started = pthread_attr_setstacksize(&attributes, k_match_stack) == 0 &&
                       pthread_create(&thread, &attributes, match_on_thread, &job) == 0;
  pthread_attr_destroy(&attributes);
  if (started) pthread_join(thread, nullptr);
  return started;
}

} // namespace

RegexMatch regex_search_bounded(const std::optional<std::regex>& pattern, const std::string& source,
                                std::string_view subject) {
  std::optional<std::regex> compiled;
  if (!pattern) {
    try {
      compiled.emplace(source, std::regex::ECMAScript);
    } catch (const std::regex_error& error) {
      return RegexMatch{false, std::string("invalid regex: ") + error.what(), 0};
    }
  }
  Job job;
  job.pattern = pattern ? &*pattern : &*compiled;
  job.subject = subject.substr(0, k_max_regex_subject);
  if (!run_on_big_stack(job)) {
    job.subject = job.subject.substr(0, k_fallback_subject);
    match(job);
  }
  job.result.searched = job.subject.size();
  return job.result;
}

} // namespace smoke
