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
// The service's own actions carry the batch; the others' (stop_during_switch) act on all their targets.
void add_switch(std::vector<Action>& out, const ResolvedPlan& plan, const ServiceSpec& service, bool rolling_back,
                int batch = -1, const std::string& label = {}) {
  std::vector<const ServiceSpec*> others;
  for (const auto& name : service.stop_during_switch)
    if (const ServiceSpec* other = find_service(plan, name)) others.push_back(other);
  for (const ServiceSpec* other : others) add_command(out, Action::Kind::stop, *other, other->stop);
  const std::size_t own = out.size();
  const bool blue_green = service.strategy.kind == StrategySpec::Kind::blue_green;
  const bool reloads = !service.reload.empty();
  if (!reloads && !blue_green) add_command(out, Action::Kind::stop, service, service.stop);
  out.push_back(Action{Action::Kind::switch_current, service.name, nullptr, nullptr});
  if (rolling_back && !service.config_files.empty())
    out.push_back(Action{Action::Kind::restore_config, service.name, nullptr, nullptr});
  if (blue_green) {
    // The colours are stopped and started by the switch itself.
  } else if (reloads) {
    add_command(out, Action::Kind::reload, service, service.reload);
  } else {
    add_command(out, Action::Kind::restart, service, service.restart);
    add_command(out, Action::Kind::start, service, service.start);
  }
  for (std::size_t i = own; i < out.size(); ++i) {
    out[i].batch = batch;
    out[i].batch_label = label;
    out[i].in_batch = true;
  }
  for (auto it = others.rbegin(); it != others.rend(); ++it) add_command(out, Action::Kind::start, **it, (*it)->start);
}

// "2 queries (error-ratio, p95-latency), 5 samples 1 min apart; failed -> roll back, no data -> roll back"
std::string describe_analysis(const AnalysisSpec& spec) {
  std::string names;
  for (const auto& query : spec.queries) names += (names.empty() ? "" : ", ") + query.name;
  const long long seconds = spec.interval.count() / 1000;
  const std::string apart = spec.interval.count() % 1000 ? std::to_string(spec.interval.count()) + " ms"
                            : seconds % 60 == 0 && seconds > 0 ? std::to_string(seconds / 60) + " min"
                                                               : std::to_string(seconds) + " s";
  return "sample " + std::to_string(spec.queries.size()) + (spec.queries.size() == 1 ? " query (" : " queries (") +
         names + ") " + std::to_string(spec.count) + (spec.count == 1 ? " time" : " times") +
         (spec.count > 1 ? ", " + apart + " apart" : "") + ", from Prometheus; failed -> roll back, no data -> " +
         (spec.inconclusive_pause ? "wait for `shipgate deploy-stage --resume` (or --abort)" : "roll back");
}

std::string join_names(const std::vector<std::string>& names, const std::vector<int>& indexes) {
  std::string out;
  const std::size_t shown = indexes.size() > 8 ? 6 : indexes.size();
  for (std::size_t i = 0; i < shown; ++i) out += (i ? ", " : "") + names[static_cast<std::size_t>(indexes[i])];
  if (shown < indexes.size()) out += " and " + std::to_string(indexes.size() - shown) + " more";
  return out;
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
  case Action::Kind::pause: return "pause";
  case Action::Kind::analysis: return "analysis";
  }
  return "?";
}

std::string Action::describe() const {
  std::string text = std::string(to_string(kind)) + " " + service;
  if (!batch_label.empty()) text += " (" + batch_label + ")";
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
  case Kind::analysis: return text + ": " + (analysis ? describe_analysis(*analysis) : std::string());
  case Kind::pause:
    return text + (until_resume ? ": wait until `shipgate deploy-stage --resume` (or --abort to roll back)"
                                : ": wait " + std::to_string(pause.count() / 1000) + " s, then go on");
  default: return text + ": " + (command ? command->display() : "");
  }
}

std::vector<std::string> target_names(const ServiceSpec& service) {
  switch (service.target.kind) {
  case TargetSpec::Kind::local: return service.target.roots;
  case TargetSpec::Kind::ssh: {
    std::vector<std::string> out;
    for (const auto& host : effective_hosts(service.target.ssh)) out.push_back(host.name);
    return out;
  }
  case TargetSpec::Kind::plugin: return {service.target.plugin};
  }
  return {};
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
    const auto names = target_names(service);
    auto batches = make_batches(service.strategy, static_cast<int>(names.size()));
    if (batches.empty()) batches.emplace_back(); // no target known here: one step for all
    for (std::size_t b = 0; b < batches.size(); ++b) {
      const std::string label = batches.size() == 1 ? std::string()
                                                     : "batch " + std::to_string(b + 1) + "/" +
                                                           std::to_string(batches.size()) + ": " +
                                                           join_names(names, batches[b]);
      const int batch = batches.size() == 1 ? -1 : static_cast<int>(b);
      add_switch(out, plan, service, false, batch, label);
      Action verify{Action::Kind::verify, service.name, nullptr, nullptr};
      verify.batch = batch;
      verify.batch_label = label;
      verify.in_batch = true;
      out.push_back(verify);
      if (service.analysis) {
        Action analysis{Action::Kind::analysis, service.name, nullptr, nullptr};
        analysis.batch = batch;
        analysis.batch_label = label;
        analysis.analysis = &*service.analysis;
        out.push_back(analysis);
      }
      const StrategySpec& strategy = service.strategy;
      if (b == 0 && batches.size() > 1 && strategy.kind == StrategySpec::Kind::canary &&
          (strategy.pause || strategy.pause_until_resume)) {
        Action pause{Action::Kind::pause, service.name, nullptr, nullptr};
        pause.pause = strategy.pause.value_or(Duration(0));
        pause.until_resume = strategy.pause_until_resume;
        out.push_back(pause);
      }
    }
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
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Action verify{Action::Kind::verify, (*it)->name, nullptr, nullptr};
    verify.in_batch = true;
    verify.rolling_back = true;
    out.push_back(verify);
  }
  return out;
}

} // namespace deploy
