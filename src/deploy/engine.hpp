#pragma once
// deploy-stage, rollback and the commands that read or repair the record
// (status, history, release unblock, lock release), on every target of an
// environment. docs/deploy.md describes the behaviour; the steps in
// src/steps/ only parse flags and call these.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "ci/context.hpp"
#include "core/error.hpp"
#include "core/step_result.hpp"
#include "deploy/plan.hpp"
#include "io/output.hpp"

namespace deploy {

struct EngineContext {
  const ci::CiContext& ci;
  const ci::Environment& env;
  io::Output& output;
  core::SystemTime now;
  bool quiet = false; // no progress lines on stderr
};

// Options shared by the commands that change a target.
struct TargetOptions {
  std::string plan_file;
  std::string environment;
  Variables vars;                        // --var NAME=VALUE
  std::chrono::milliseconds wait_lock{0}; // --wait-lock
  std::optional<std::chrono::milliseconds> lock_ttl;
  int jobs = 10;                          // --jobs: targets worked on at once
};

struct DeployRequest {
  TargetOptions target;
  std::string version;
  std::vector<std::string> artifacts;  // "PATH|URL" or "SERVICE=PATH|URL"
  std::vector<std::string> sha256;     // "HEX" or "SERVICE=HEX"
  std::vector<std::string> signatures; // "FILE" or "SERVICE=FILE"
  std::optional<std::chrono::milliseconds> deadline;
  std::string cacert;
  std::string level; // --level P0..P3 for the notifications (docs/notify.md)
};

struct RollbackRequest {
  TargetOptions target;
  std::optional<std::string> to; // --to VERSION
  std::string reason;
  bool force_past_irreversible = false; // revert database changes up to the newest irreversible one
  std::string level;                    // --level P0..P3 for the notifications (docs/notify.md)
};

core::Result<core::StepResult> run_deploy(const DeployRequest& request, const EngineContext& context);
// `deploy-stage --resume` / `--abort`: tells a deploy paused after its
// canary batch (`pause: until-resume`) to go on, or to roll back.
core::Result<core::StepResult> signal_paused_deploy(const TargetOptions& options, bool resume,
                                                    const EngineContext& context);
core::Result<core::StepResult> run_rollback(const RollbackRequest& request, const EngineContext& context);

core::Result<core::StepResult> show_status(const TargetOptions& options, const EngineContext& context);
core::Result<core::StepResult> show_history(const TargetOptions& options, int limit, const EngineContext& context);
core::Result<core::StepResult> unblock_release(const std::string& plan_file, const std::string& version,
                                               const std::string& reason, const Variables& vars,
                                               const EngineContext& context);
core::Result<core::StepResult> force_release_lock(const TargetOptions& options, const std::string& reason,
                                                  const EngineContext& context);

} // namespace deploy
