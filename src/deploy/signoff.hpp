#pragma once
// Sign-offs (docs/signoff.md): a role's approve or reject of one version
// for one environment, recorded in that environment's ledger; the plan can
// require some before deploy-stage runs there.
#include <string>
#include <vector>

#include "deploy/engine.hpp"
#include "deploy/history.hpp"
#include "deploy/plan.hpp"

namespace deploy {

struct SignoffRequest {
  std::string plan_file, environment, version, role, by, decision, comment;
  Variables vars;
};
core::Result<core::StepResult> record_signoff(const SignoffRequest& request, const EngineContext& context);

struct SignoffVerdict {
  std::vector<std::string> approved;    // "tech-lead (alice)"
  std::vector<std::string> missing;     // roles with no approval that counts
  std::vector<std::string> rejected;    // "tester (bob: crashes on checkout)"
  std::vector<std::string> not_counted; // approvals refused as self-approval
  bool ok() const { return missing.empty() && rejected.empty(); }
};
// The latest decision of each required role on `version` in `history`;
// `deploying_user` is who triggered the deploy (self_approval: false).
SignoffVerdict check_signoffs(const EnvironmentSpec& environment, const History& history, const std::string& version,
                              const std::string& deploying_user);

} // namespace deploy
