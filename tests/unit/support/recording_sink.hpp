#pragma once
// A ReportSink that keeps everything a reader emits, for assertions.
#include <string>
#include <vector>

#include "core/error.hpp"
#include "report/junit_reader.hpp"
#include "report/test_case.hpp"

namespace test_support {

class RecordingSink final : public report::ReportSink {
public:
  void on_case(const report::TestCase& test) override { cases.push_back(test); }
  void on_suite_error(const report::SuiteError& error) override { suite_errors.push_back(error); }
  void on_warning(const report::Diagnostic& warning) override { warnings.push_back(warning); }
  void on_suite(std::string_view name) override { suites.emplace_back(name); }

  long count(report::Outcome outcome) const {
    long n = 0;
    for (const auto& test : cases) n += test.outcome == outcome;
    return n;
  }
  const report::TestCase* find(const std::string& name) const {
    for (const auto& test : cases)
      if (test.name == name) return &test;
    return nullptr;
  }
  // Every text the reader produced, to check that something never leaks.
  std::string everything() const {
    std::string all;
    for (const auto& test : cases)
      all += test.suite + test.classname + test.name + test.file + test.message + test.details + test.output;
    for (const auto& error : suite_errors) all += error.suite + error.message + error.details + error.location;
    for (const auto& warning : warnings) all += warning.message + warning.location;
    return all;
  }

  std::vector<report::TestCase> cases;
  std::vector<report::SuiteError> suite_errors;
  std::vector<report::Diagnostic> warnings;
  std::vector<std::string> suites;
};

// What a reader did with one file: its status and everything it emitted.
struct Read {
  core::Status status = core::ok_status();
  RecordingSink sink;
  std::string path;
  std::string error() const { return status ? std::string() : status.error().describe(); }
};

// Runs a reader such as report::read_tap on `path`.
using ReaderFunction = core::Status (*)(const std::string&, report::ReportSink&, const report::ReadLimits&);
inline Read read_with(ReaderFunction reader, std::string path) {
  Read read;
  read.path = std::move(path);
  read.status = reader(read.path, read.sink, report::ReadLimits{});
  return read;
}

} // namespace test_support
