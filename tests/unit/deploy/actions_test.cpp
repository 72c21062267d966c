#include <doctest/doctest.h>

#include "deploy/actions.hpp"

using deploy::Action;

namespace {

std::vector<std::string> kinds(const std::vector<Action>& actions) {
  std::vector<std::string> out;
  for (const auto& action : actions) out.push_back(std::string(deploy::to_string(action.kind)) + " " + action.service);
  return out;
}

deploy::ServiceSpec service(const std::string& name) {
  deploy::ServiceSpec spec;
  spec.name = name;
  return spec;
}

} // namespace

TEST_CASE("actions: prepare everything first, then back up, then switch each service in order and verify it") {
  deploy::ResolvedPlan plan;
  auto db = service("db");
  db.restart.argv = {"restart-db"};
  db.config_files = {"/etc/db.conf"};
  auto api = service("api");
  api.stop.argv = {"stop-api"};
  api.start.argv = {"start-api"};
  api.stop_during_switch = {"worker"};
  auto worker = service("worker");
  worker.stop.argv = {"stop-worker"};
  worker.start.argv = {"start-worker"};
  worker.reload.argv = {"reload-worker"};
  deploy::BackupSpec dump;
  dump.name = "dump";
  dump.command.argv = {"pg_dump"};
  api.backups = {dump};
  plan.services = {db, api, worker};
  const auto actions = deploy::deploy_actions(plan);
  CHECK(kinds(actions) == std::vector<std::string>{
                              "prepare db", "prepare api", "prepare worker", "snapshot-config db", "backup api",
                              "switch db", "restart db", "verify db",
                              "stop worker", "stop api", "switch api", "start api", "start worker", "verify api",
                              "switch worker", "reload worker", "verify worker"});
}

TEST_CASE("actions: a rollback undoes only the switched services, in reverse order, restoring configuration") {
  deploy::ResolvedPlan plan;
  auto db = service("db");
  db.restart.argv = {"restart-db"};
  db.config_files = {"/etc/db.conf"};
  auto api = service("api");
  api.reload.argv = {"reload-api"};
  auto web = service("web");
  plan.services = {db, api, web};
  const auto actions = deploy::rollback_actions(plan, {"db", "api"});
  CHECK(kinds(actions) == std::vector<std::string>{"switch api", "reload api", "switch db", "restore-config db",
                                                   "restart db", "verify db", "verify api"});
}
