#pragma once
// The ordered steps of a deploy and of its rollback, built from a resolved
// plan. The engine executes exactly these lists and `plan show` prints
// them, so what a tech lead reviews is what runs.
#include <string>
#include <vector>

#include "deploy/plan.hpp"

namespace deploy {

struct Action {
  enum class Kind {
    prepare,          // fetch, verify digest/signature, unpack into releases/<id>, link shared/
    snapshot_config,  // copy the listed configuration files into the backup folder
    backup,           // run a backup command and verify its output file
    stop,             // a service's stop command
    switch_current,   // `current` -> the new (or, rolling back, the old) release, atomically
    reload,           // the service's reload command
    restart,          // the service's restart command
    start,            // a service's start command
    restore_config,   // rolling back: put the snapshotted configuration files back
    verify,           // wait until healthy, then the service's health checks
    pause,            // canary: wait a while, or until `deploy-stage --resume`
    analysis,         // sample the plan's Prometheus queries and decide (docs/analysis.md)
  };
  Kind kind = Kind::prepare;
  std::string service;             // the service the action belongs to
  const CommandSpec* command = nullptr; // stop/reload/restart/start/backup
  const BackupSpec* backup = nullptr;   // backup
  bool rolling_back = false;            // part of a rollback: switch goes to the earlier release
  int batch = -1;                       // the batch of the service it acts on; -1: every target
  bool in_batch = false;                // the service's own switch/verify (max_failures applies)
  std::string batch_label;              // "batch 2/4: web03, web04" (empty with one batch)
  Duration pause{0};                    // pause
  bool until_resume = false;            // pause
  const AnalysisSpec* analysis = nullptr; // analysis
  std::string describe() const;    // "stop worker: systemctl stop worker"
};
std::string_view to_string(Action::Kind kind);

// The targets of a service, by name, in the order of the plan (one per
// local root, one per ssh host, one for a plugin).
std::vector<std::string> target_names(const ServiceSpec& service);

// Deploy: prepare every service (nothing live changes), then config
// snapshots and backups, then per service in dependency order and, within
// a service, batch by batch (its strategy): stop the services it names in
// stop_during_switch; switch and reload when it has a reload command (it
// keeps running), else stop it, switch, restart, start it; start the
// others again (reverse order); verify the batch. A canary pause follows
// the first batch. Blue-green services switch in one step (the idle colour
// is started and verified before traffic moves: deploy/blue_green.hpp).
// A service with an `analysis:` has it after the verify of each batch
// (before the canary pause).
std::vector<Action> deploy_actions(const ResolvedPlan& plan);

// Rollback of the switch part for the given services (those that were
// switched, or all): reverse dependency order, the same stop/switch/
// reload/start sequence towards the previous release, configuration
// restored, then each service verified on the old version.
std::vector<Action> rollback_actions(const ResolvedPlan& plan, const std::vector<std::string>& switched_services);

} // namespace deploy
