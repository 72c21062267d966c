#pragma once
// Reads CTRF JSON (Common Test Report Format) with a SAX parser: one test
// object is held at a time. Status "failed" is a failure, "skipped",
// "pending" and "other" are skipped, and a passed test with `flaky: true` or
// retries > 0 is flaky.
#include <string>

#include "core/error.hpp"
#include "report/junit_reader.hpp"
#include "report/test_case.hpp"

namespace report {

core::Status read_ctrf(const std::string& path, ReportSink& sink, const ReadLimits& limits = {});

} // namespace report
