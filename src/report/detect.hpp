#pragma once
// Detects a report's format from its first bytes and reads it with the
// matching reader. Any mix of formats can be passed in one run.
#include <string>

#include "core/error.hpp"
#include "report/junit_reader.hpp"
#include "report/test_case.hpp"

namespace report {

core::Result<Format> detect_format(const std::string& path);
core::Status read_report(const std::string& path, Format format, ReportSink& sink, const ReadLimits& limits = {});

} // namespace report
