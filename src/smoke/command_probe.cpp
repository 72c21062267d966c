#include "smoke/command_probe.hpp"

#include "io/process.hpp"

namespace smoke {

Attempt run_command(const Check& check) {
  io::ProcessSpec spec;
  spec.argv = check.command.argv;
  spec.timeout = check.timeout;
  spec.max_output = k_max_command_output;
  const io::ProcessResult result = io::run_process(spec);
  Attempt attempt;
  attempt.elapsed = result.elapsed;
  attempt.output = result.output;
  switch (result.outcome) {
  case io::ProcessResult::Outcome::exited:
    attempt.exit_code = result.exit_code;
    break;
  case io::ProcessResult::Outcome::timed_out:
    attempt.transport = Transport::timeout;
    attempt.error = result.error;
    break;
  case io::ProcessResult::Outcome::interrupted:
  case io::ProcessResult::Outcome::failed_to_start:
    attempt.transport = Transport::error;
    attempt.error = result.error;
    break;
  }
  return attempt;
}

} // namespace smoke
