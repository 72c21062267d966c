#include <doctest/doctest.h>

#include "io/process.hpp"
#include "../support/temp_dir.hpp"

using io::ProcessResult;
using io::ProcessSpec;
using namespace std::chrono_literals;

TEST_CASE("process: the program's stdin receives the input and its stdout is captured") {
  ProcessSpec spec;
  spec.argv = {"cat"};
  spec.input = std::string(200000, 'x'); // more than a pipe holds: written while read
  const ProcessResult result = io::run_process(spec);
  CHECK(result.ok());
  CHECK(result.output.size() == io::k_max_process_output + std::string("\n[stdout: 134464 more bytes dropped]\n").size());
}

TEST_CASE("process: without input the child reads end of file at once") {
  ProcessSpec spec;
  spec.argv = {"cat"};
  spec.timeout = 5s;
  const ProcessResult result = io::run_process(spec);
  CHECK(result.ok());
  CHECK(result.output.empty());
}

TEST_CASE("process: environment additions and the working directory reach the child") {
  test_support::TempDir dir;
  ProcessSpec spec;
  spec.argv = {"sh", "-c", "printf '%s|%s' \"$SHIPGATE_TEST_VALUE\" \"$(pwd)\""};
  spec.env_add = {{"SHIPGATE_TEST_VALUE", "hello world"}};
  spec.cwd = dir.path().string();
  const ProcessResult result = io::run_process(spec);
  REQUIRE(result.ok());
  CHECK(result.output == "hello world|" + dir.path().string());
}

TEST_CASE("process: separate streams keep stderr apart, and the exit status is reported") {
  ProcessSpec spec;
  spec.argv = {"sh", "-c", "echo out; echo err >&2; exit 7"};
  spec.separate_streams = true;
  const ProcessResult result = io::run_process(spec);
  CHECK(result.outcome == ProcessResult::Outcome::exited);
  CHECK(result.exit_code == 7);
  CHECK_FALSE(result.ok());
  CHECK(result.output == "out\n");
  CHECK(result.error_output == "err\n");
}

TEST_CASE("process: a program past its timeout is killed with what it started") {
  ProcessSpec spec;
  spec.argv = {"sh", "-c", "sleep 30 & sleep 30"};
  spec.timeout = 300ms;
  const ProcessResult result = io::run_process(spec);
  CHECK(result.outcome == ProcessResult::Outcome::timed_out);
  CHECK(result.elapsed < 5s);
  CHECK(result.error.find("did not finish within 300 ms") != std::string::npos);
}

TEST_CASE("process: a missing program or working directory is reported, not thrown") {
  ProcessSpec spec;
  spec.argv = {"shipgate-no-such-program"};
  ProcessResult result = io::run_process(spec);
  CHECK(result.outcome == ProcessResult::Outcome::failed_to_start);
  CHECK(result.error.find("not found on PATH") != std::string::npos);
  spec.argv = {"true"};
  spec.cwd = "/nonexistent/shipgate";
  result = io::run_process(spec);
  CHECK(result.outcome == ProcessResult::Outcome::failed_to_start);
  CHECK(result.error.find("/nonexistent/shipgate") != std::string::npos);
}
