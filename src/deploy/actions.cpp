#include "deploy/actions.hpp"

#include <algorithm>

namespace deploy {
namespace {

const ServiceSpec* find_service(const ResolvedPlan& plan, const std::string& name) {
  for (const auto& service : plan.services)
    if (service.name == name) return &service;
  return nullptr;
}

void add_command(std::vector<Action>& out, Action::Kind kind, const ServiceSpec& service, const CommandSpec& command) {
  if (command.empty()) return;
  Action action;
  action.kind = kind;
  action.service = service.name;
  action.command = &command;
  out.push_back(action);
}

// stop others; then either switch + reload (a service that can reload
// keeps running), or stop, switch, restart, start; then start the others.
void add_switch(std::vector<Action>& out, const ResolvedPlan& plan, const ServiceSpec& service, bool rolling_back) {
  std::vector<const ServiceSpec*> others;
  for (const auto& name : service.stop_during_switch)
    if (const ServiceSpec* other = find_service(plan, name)) others.push_back(other);
  for (const ServiceSpec* other : others) add_command(out, Action::Kind::stop, *other, other->stop);
  const bool reloads = !service.reload.empty();
  if (!reloads) add_command(out, Action::Kind::stop, service, service.stop);
  out.push_back(Action{Action::Kind::switch_current, service.name, nullptr, nullptr});
  if (rolling_back && !service.config_files.empty())
    out.push_back(Action{Action::Kind::restore_config, service.name, nullptr, nullptr});
  if (reloads) {
    add_command(out, Action::Kind::reload, service, service.reload);
  } else {
    add_command(out, Action::Kind::restart, service, service.restart);
    add_command(out, Action::Kind::start, service, service.start);
  }
  for (auto it = others.rbegin(); it != others.rend(); ++it) add_command(out, Action::Kind::start, **it, (*it)->start);
}

} // namespace

std::string_view to_string(Action::Kind kind) {
  switch (kind) {
  case Action::Kind::prepare: return "prepare";
  case Action::Kind::snapshot_config: return "snapshot-config";
  case Action::Kind::backup: return "backup";
  case Action::Kind::stop: return "stop";
  case Action::Kind::switch_current: return "switch";
  case Action::Kind::reload: return "reload";
  case Action::Kind::restart: return "restart";
  case Action::Kind::start: return "start";
  case Action::Kind::restore_config: return "restore-config";
  case Action::Kind::verify: return "verify";
  }
  return "?";
}

std::string Action::describe() const {
  std::string text = std::string(to_string(kind)) + " " + service;
  switch (kind) {
  case Kind::prepare: return text + ": fetch the artifact, verify it, unpack it into releases/<release>, link shared/";
  case Kind::snapshot_config: return text + ": copy its configuration files into the backup folder";
  case Kind::backup: return text + " (" + (backup ? backup->name : "") + "): " + (command ? command->display() : "") +
                            (backup && !backup->output.empty() ? " -> " + backup->output : "");
  case Kind::switch_current:
    return text + (rolling_back ? ": point `current` back at the earlier release (atomic rename)"
                                : ": point `current` at the new release (atomic rename)");
  case Kind::restore_config: return text + ": put back the configuration files snapshotted before the deploy";
  case Kind::verify: return text + ": wait until healthy, then run its health checks";
  default: return text + ": " + (command ? command->display() : "");
  }
}

std::vector<Action> deploy_actions(const ResolvedPlan& plan) {
  std::vector<Action> out;
  for (const auto& service : plan.services) out.push_back(Action{Action::Kind::prepare, service.name, nullptr, nullptr});
  for (const auto& service : plan.services) {
    if (!service.config_files.empty())
      out.push_back(Action{Action::Kind::snapshot_config, service.name, nullptr, nullptr});
    for (const auto& backup : service.backups)
      out.push_back(Action{Action::Kind::backup, service.name, &backup.command, &backup});
  }
  for (const auto& service : plan.services) {
    add_switch(out, plan, service, false);
    out.push_back(Action{Action::Kind::verify, service.name, nullptr, nullptr});
  }
  return out;
}

std::vector<Action> rollback_actions(const ResolvedPlan& plan, const std::vector<std::string>& switched_services) {
  std::vector<Action> out;
  std::vector<const ServiceSpec*> order;
  for (auto it = plan.services.rbegin(); it != plan.services.rend(); ++it)
    if (std::find(switched_services.begin(), switched_services.end(), it->name) != switched_services.end())
      order.push_back(&*it);
  for (const ServiceSpec* service : order) add_switch(out, plan, *service, true);
  for (auto& action : out) action.rolling_back = true;
  // Dependencies first again when verifying the old version.
  for (auto it = order.rbegin(); it != order.rend(); ++it)
    out.push_back(Action{Action::Kind::verify, (*it)->name, nullptr, nullptr});
  return out;
}

} // namespace deploy
