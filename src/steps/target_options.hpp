#pragma once
// The flags every command on an environment's targets shares: --plan,
// --env, --var, --wait-lock, --lock-ttl.
#include <string>
#include <vector>

#include "deploy/engine.hpp"
#include "steps/registry.hpp"

namespace steps {

class TargetFlags {
public:
  // `locking`: the command changes targets, so it takes the lock.
  void register_options(OptionSink& sink, bool locking);
  core::Result<deploy::TargetOptions> read(const RunContext& context) const;

private:
  std::string m_plan, m_env, m_wait_lock, m_lock_ttl, m_jobs;
  std::vector<std::string> m_vars;
};

} // namespace steps
