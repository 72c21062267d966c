#include "smoke/regex_search.hpp"

#include <pthread.h>

#include <algorithm>

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

// The digits at `i` as a number (capped past the limit); moves `i` past them.
long repeat_count(std::string_view pattern, std::size_t& i) {
  long value = 0;
  for (; i < pattern.size() && pattern[i] >= '0' && pattern[i] <= '9'; ++i)
    value = std::min(value * 10 + (pattern[i] - '0'), k_max_regex_repeat + 1);
  return value;
}

} // namespace

std::string regex_problem(std::string_view pattern) {
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\') {
      // An escaped character ("\{" included), or a back-reference, whose
      // number overflows the same way.
      std::size_t at = i + 1;
      if (repeat_count(pattern, at) > k_max_regex_repeat)
        return "a back-reference number above " + std::to_string(k_max_regex_repeat) + " at byte " +
               std::to_string(i + 1);
      i = std::max(i + 1, at - 1);
      continue;
    }
    if (pattern[i] != '{') continue;
    std::size_t at = i + 1;
    long largest = repeat_count(pattern, at);
    if (at < pattern.size() && pattern[at] == ',') {
      ++at;
      largest = std::max(largest, repeat_count(pattern, at));
    }
    if (largest > k_max_regex_repeat)
      return "a repetition count above " + std::to_string(k_max_regex_repeat) + " at byte " + std::to_string(i + 1) +
             " (write a shorter count, or match the text in parts)";
  }
  return {};
}

RegexMatch regex_search_bounded(const std::optional<std::regex>& pattern, const std::string& source,
                                std::string_view subject) {
  std::optional<std::regex> compiled;
  if (!pattern) {
    if (const std::string problem = regex_problem(source); !problem.empty())
      return RegexMatch{false, "invalid regex: " + problem, 0};
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
