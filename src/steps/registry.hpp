#pragma once
// The registry of pipeline steps. Each step declares its own options
// through an OptionSink (the CLI layer maps them onto its parser) and runs
// from a filled options struct. Adding a step = one file + one line in
// registry.cpp.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ci/context.hpp"
#include "core/error.hpp"
#include "core/step_result.hpp"
#include "io/output.hpp"

namespace steps {

class OptionSink {
public:
  virtual ~OptionSink() = default;
  virtual void value(const std::string& flags, std::string& target, const std::string& help,
                     bool required = false) = 0;
  virtual void values(const std::string& flags, std::vector<std::string>& target, const std::string& help,
                      bool required = false) = 0;
  virtual void flag(const std::string& flags, bool& target, const std::string& help) = 0;
};

// What a running step may use: the CI context, the output (redacted) and
// the clock's reading at start.
struct RunContext {
  const ci::CiContext& ci;
  const ci::Environment& env; // for ${VAR} interpolation; read-only
  io::Output& output;
  core::SystemTime now;
  bool quiet = false; // --quiet: no progress lines either
};

class Step {
public:
  virtual ~Step() = default;
  virtual std::string name() const = 0;
  virtual std::string summary() const = 0;
  virtual void register_options(OptionSink& sink) = 0;
  // Validates the options and runs. A usage problem is an Error; a run that
  // reached a verdict (even "inconclusive") is a StepResult.
  virtual core::Result<core::StepResult> run(const RunContext& context) = 0;
};

std::vector<std::unique_ptr<Step>> make_steps();

// The values of repeatable --var NAME=VALUE flags; a secret-named one
// (docs/security.md) is masked in all output from then on.
core::Result<std::map<std::string, std::string>> parse_var_flags(const std::vector<std::string>& items,
                                                                 io::Output& output);

} // namespace steps
