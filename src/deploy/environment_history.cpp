#include "deploy/environment_history.hpp"

#include "deploy/run.hpp"

namespace deploy {

core::Result<History> read_environment_history(const TargetOptions& options, const EngineContext& context) {
  const ConnectionsClosed closed;
  auto opened = open_environment(options.plan_file, options.environment, options.vars,
                                 placeholder_run_values(options.environment, "0.0.0"), context);
  if (!opened) return opened.error();
  return read_history(opened->units, options.jobs);
}

} // namespace deploy
