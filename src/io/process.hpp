#pragma once
// Running a program: from an argv vector (never through a shell unless
// the caller passes /bin/sh -c itself), with a timeout, bounded output
// capture, optional standard input, extra environment and working
// directory. The only place that includes Boost.Process is process.cpp.
#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace io {

// Each of stdout and stderr is kept up to this size by default; the rest
// is drained and counted, so the child never blocks on a full pipe.
constexpr std::size_t k_max_process_output = 64 * 1024;

struct ProcessSpec {
  std::vector<std::string> argv; // argv[0] looked up on PATH unless it contains '/'
  std::chrono::milliseconds timeout{10000};
  std::optional<std::string> input;            // written to stdin, then closed; /dev/null when absent
  std::map<std::string, std::string> env_add;  // added to (or replacing in) the inherited environment
  std::string cwd;                             // empty: inherit
  std::size_t max_output = k_max_process_output;
  bool separate_streams = false; // keep stdout and stderr apart (plugins answer on stdout)
  // When false, SIGINT/SIGTERM to shipgate does not stop the child: used
  // for the rollback that an interruption itself started.
  bool stop_on_interrupt = true;
};

struct ProcessResult {
  enum class Outcome { exited, timed_out, interrupted, failed_to_start };
  Outcome outcome = Outcome::exited;
  int exit_code = -1;  // exit status, or 128 + N when signal N killed it
  std::string output;  // stdout then stderr (or stdout only with separate_streams), bounded
  std::string error_output; // stderr when separate_streams
  std::string error;   // why it did not run to completion, for messages
  std::chrono::milliseconds elapsed{0};
  bool ok() const { return outcome == Outcome::exited && exit_code == 0; }
};

// Never throws. The child runs in its own process group; on timeout or
// interruption the whole group is killed (SIGKILL). A background process
// the command leaves holding its output pipes is not waited for.
ProcessResult run_process(const ProcessSpec& spec);

} // namespace io
