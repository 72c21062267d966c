#pragma once
// The command-line edge: parses arguments (CLI11 lives only in app.cpp),
// runs the chosen step, publishes its outputs and picks the exit code.
// The only place that prints errors.
#include <cstdio>
#include <string>
#include <vector>

#include "ci/context.hpp"

namespace cli {

struct Process {
  std::vector<std::string> args; // argv without the program name
  ci::Environment env;
  ci::Terminal terminal;
  std::FILE* out = stdout;
  std::FILE* err = stderr;
};

int run(const Process& process);

} // namespace cli
