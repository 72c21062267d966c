#pragma once
// Checking a launch plan as a whole, for `shipgate plan validate` and the
// deploy pre-flight: every environment resolved, so an unknown ${VAR}, a
// bad health check or a root that is empty once interpolated is found
// before anything runs.
#include <string>
#include <vector>

#include "core/error.hpp"
#include "deploy/plan.hpp"

namespace deploy {

// The run values a deploy passes to resolve_plan besides ENV (always set
// to the environment's name): VERSION, PREVIOUS_VERSION, RELEASE,
// RELEASE_DIR, BACKUP_DIR, COMMIT and BRANCH (docs/plan.md#run-values).
const std::vector<std::string>& run_value_names();

// Stand-ins for the run values ("0.0.0", a release id, folders under
// /nonexistent), for checking a plan outside a run.
Variables placeholder_run_values();
// Each run value standing for itself ("VERSION" -> "${VERSION}"), so that
// `plan show` prints the plan's own variables filled in and the run's
// values still as placeholders.
Variables symbolic_run_values();

// The values of the plan's and its environments' variables named like
// secrets (*_TOKEN, *_PASSWORD, ...), to be masked in every output. A value
// built from ${...} is left out: its parts come from the environment and
// are masked there.
std::vector<std::string> plan_secret_values(const Plan& plan);

// Resolves every environment of `plan` with `extra` (the process
// environment) and placeholder_run_values() with `overrides` (--var) on
// top; the first error found, with its location, or ok.
core::Status validate_environments(const Plan& plan, const Variables& extra, const Variables& overrides = {});

} // namespace deploy
