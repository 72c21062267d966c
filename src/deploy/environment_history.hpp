#pragma once
// The record of one environment, for commands that only read it
// (`shipgate metrics`): the ledgers of all its targets, merged and in time
// order (deploy::History). Nothing is locked or changed.
#include "core/error.hpp"
#include "deploy/engine.hpp"
#include "deploy/history.hpp"

namespace deploy {

// Fails when the plan cannot be read or the environment resolved; a
// target whose ledger cannot be read is a warning of the History.
core::Result<History> read_environment_history(const TargetOptions& options, const EngineContext& context);

} // namespace deploy
