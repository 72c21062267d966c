#pragma once
// A baseline is the JSON result of an earlier gate run (--json). Its
// `failing_ids` are the tests that already failed then: with --baseline,
// only new failures count against the limits, and fixed ones are listed.
#include <string>
#include <vector>

#include "core/error.hpp"

namespace gate {

struct Baseline {
  std::string path;
  std::vector<std::string> failing_ids;
};

// Streams the file (a baseline of a huge run stays cheap to read).
core::Result<Baseline> load_baseline(const std::string& path);

} // namespace gate
