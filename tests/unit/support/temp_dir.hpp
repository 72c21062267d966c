#pragma once
// A fresh directory under /tmp for one test, removed when the test passed
// and kept (its path printed) when an assertion in the test failed, so the
// inputs that broke it can be looked at. Set SHIPGATE_KEEP_TEST_DIRS=1 to
// keep every directory.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace test_support {

// Notices failed assertions, so a TempDir knows whether its test failed.
class FailureListener final : public doctest::IReporter {
public:
  explicit FailureListener(const doctest::ContextOptions&) {}
  static bool& current_test_failed() {
    static bool failed = false;
    return failed;
  }
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData&) override { current_test_failed() = false; }
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override { current_test_failed() = true; }
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData& data) override {
    if (data.m_failed) current_test_failed() = true;
  }
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};

// One registration for the whole binary, whichever test files include this.
inline const int k_failure_listener_registered =
    doctest::registerReporter<FailureListener>("shipgate-temp-dirs", 1, false);

class TempDir {
public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "shipgate-unit-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed for " + pattern);
    m_path = pattern;
  }
  ~TempDir() {
    const char* keep = std::getenv("SHIPGATE_KEEP_TEST_DIRS");
    if (FailureListener::current_test_failed() || (keep && *keep && std::string_view(keep) != "0")) {
      std::cerr << "test directory kept: " << m_path.string() << "\n";
      return;
    }
    std::error_code ignored;
    std::filesystem::remove_all(m_path, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return m_path; }
  std::string file(std::string_view name) const { return (m_path / std::string(name)).string(); }

  // Writes `content` byte for byte to `name` (parent directories created);
  // returns the full path.
  std::string write(std::string_view name, std::string_view content) const {
    const std::filesystem::path target = m_path / std::string(name);
    std::filesystem::create_directories(target.parent_path());
    std::ofstream out(target, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!out) throw std::runtime_error("cannot write " + target.string());
    return target.string();
  }

private:
  std::filesystem::path m_path;
};

} // namespace test_support
