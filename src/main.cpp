#include <unistd.h>

#include "cli/app.hpp"
#include "core/interrupt.hpp"

extern char** environ;

int main(int argc, char** argv) {
  core::install_interrupt_handlers();
  cli::Process process;
  process.args.assign(argv + 1, argv + argc);
  process.env = ci::Environment::from_process(environ);
  process.terminal = {isatty(STDOUT_FILENO) == 1, isatty(STDERR_FILENO) == 1};
  return cli::run(process);
}
