#include "core/exit_code.hpp"

namespace core {

std::string_view to_string(ExitCode code) {
  switch (code) {
  case ExitCode::success: return "success";
  case ExitCode::negative_verdict: return "negative-verdict";
  case ExitCode::usage: return "usage-or-invalid-input";
  case ExitCode::runtime: return "runtime-failure";
  case ExitCode::blocked: return "blocked-by-policy";
  case ExitCode::rollback_failed: return "rollback-failed";
  case ExitCode::interrupted: return "interrupted";
  }
  return "unknown";
}

} // namespace core

#include "core/error.hpp"

namespace core {

ExitCode exit_code_for(ErrorKind kind) {
  switch (kind) {
  case ErrorKind::usage:
  case ErrorKind::invalid_input: return ExitCode::usage;
  case ErrorKind::runtime: return ExitCode::runtime;
  case ErrorKind::blocked: return ExitCode::blocked;
  case ErrorKind::interrupted: return ExitCode::interrupted;
  }
  return ExitCode::runtime;
}

} // namespace core
