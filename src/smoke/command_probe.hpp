#pragma once
// The command check of the real executor: run a program from an argv
// vector (never through a shell) and report its exit code and output.
// Internal to smoke/real_executor.cpp; io::run_process does the work.
#include <cstddef>

#include "smoke/check.hpp"
#include "smoke/executor.hpp"

namespace smoke {

// Each of stdout and stderr is kept up to this size; the rest is drained
// and counted, so the child never blocks on a full pipe.
constexpr std::size_t k_max_command_output = 64 * 1024;

// argv[0] is looked up on PATH unless it contains a '/'. The child gets
// /dev/null as stdin and its own process group. Attempt::output is stdout
// then stderr, each bounded, with a note when bytes were dropped;
// Attempt::exit_code is the exit status, or 128 + N when signal N killed it.
// Transport::timeout when the check's timeout ran out: the whole process
// group is killed (SIGKILL) and the output so far kept. Transport::error for
// an empty argv, a program that is not found or not executable, a failed
// start, or an interruption (SIGINT/SIGTERM to shipgate kills the group too).
// A background process the command leaves holding its output pipes is not
// waited for. Never throws.
Attempt run_command(const Check& check);

} // namespace smoke
