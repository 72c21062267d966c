#pragma once
// Reads JUnit XML in all the dialects listed in docs/report-formats.md
// (pytest, Surefire/Failsafe reruns, GoogleTest, ctest, jest, PHPUnit nested
// suites, libtest multi-document files, ...), streaming test cases to a sink.
// Counts come from the test cases; suite attributes are only compared with
// them, and a contradiction becomes a warning.
#include <string>

#include "core/error.hpp"
#include "report/test_case.hpp"

namespace report {

struct ReadLimits {
  std::size_t message_bytes = 1024;
  std::size_t details_head_bytes = 4096;
  std::size_t details_tail_bytes = 2048;
  int max_properties = 64;
  int max_depth = 64;
};

// Returns an error naming the file and line for anything that is not a
// readable JUnit report (empty, truncated, binary, DOCTYPE, too deep).
core::Status read_junit(const std::string& path, ReportSink& sink, const ReadLimits& limits = {});

} // namespace report
