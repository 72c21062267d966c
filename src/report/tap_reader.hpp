#pragma once
// Reads TAP 12, 13 and 14 streams. Top-level test points are the tests;
// indented subtests belong to their parent. "# SKIP" and "# TODO" directives
// count as skipped. A stream that bails out, has no plan, or stops short of
// its plan produces a suite error, which fails the gate.
#include <string>

#include "core/error.hpp"
#include "report/junit_reader.hpp"
#include "report/test_case.hpp"

namespace report {

core::Status read_tap(const std::string& path, ReportSink& sink, const ReadLimits& limits = {});

} // namespace report
