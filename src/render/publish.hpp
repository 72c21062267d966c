#pragma once
// Writes every output a step asked for: the terminal summary, --json,
// --junit, --markdown (+ $GITHUB_STEP_SUMMARY), CI annotations/sections,
// $GITHUB_OUTPUT and --dotenv. All through the redacting Output.
#include <string>
#include <vector>

#include "ci/context.hpp"
#include "core/error.hpp"
#include "core/step_result.hpp"
#include "io/output.hpp"

namespace render {

enum class ColorMode { auto_detect, always, never };

struct PublishOptions {
  std::string json_path;
  std::string junit_path;
  std::string markdown_path;
  std::string dotenv_path;
  ColorMode color = ColorMode::auto_detect;
  bool quiet = false; // only the headline on the terminal
};

// Returns the errors of the artifacts that could not be written; the step's
// exit code is then raised to at least 3 by the caller.
std::vector<core::Error> publish(const core::StepResult& result, const ci::CiContext& context,
                                 const PublishOptions& options, io::Output& output);

} // namespace render
