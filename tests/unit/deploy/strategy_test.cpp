#include <doctest/doctest.h>

#include <string>

#include "deploy/actions.hpp"
#include "deploy/plan.hpp"
#include "deploy/plan_validate.hpp"

using deploy::Action;
using deploy::HostCount;
using deploy::Plan;
using deploy::ResolvedPlan;
using deploy::SshHost;
using deploy::StrategySpec;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

Plan parse_ok(const std::string& yaml) {
  auto plan = deploy::parse_plan(yaml, "plan.yml");
  REQUIRE_MESSAGE(plan.ok(), (plan.ok() ? std::string() : plan.error().describe()));
  return plan.value();
}

void check_error(const std::string& yaml, const std::string& location, const std::string& part) {
  auto plan = deploy::parse_plan(yaml, "plan.yml");
  REQUIRE_FALSE(plan.ok());
  CHECK(plan.error().location == location);
  CHECK_MESSAGE(contains(plan.error().message, part), plan.error().message);
}

ResolvedPlan resolve_ok(const Plan& plan, const deploy::Variables& run = deploy::placeholder_run_values()) {
  auto resolved = deploy::resolve_plan(plan, "prod", {}, run);
  REQUIRE_MESSAGE(resolved.ok(), (resolved.ok() ? std::string() : resolved.error().describe()));
  return resolved.value();
}

std::string fleet(const std::string& strategy, const std::string& hosts = "[h1, h2, h3, h4, h5, h6, h7, h8, h9, h10]") {
  return "version: 1\nname: shop\nenvironments: [prod]\nservices:\n  web:\n"
         "    target: {type: ssh, hosts: " + hosts + ", root: /srv/web, user: deploy}\n"
         "    start: [systemctl, start, web]\n"
         "    stop: [systemctl, stop, web]\n"
         "    health: {checks: [{url: \"http://${HOST_ADDRESS}:8080/health\"}]}\n" +
         (strategy.empty() ? "" : "    strategy: " + strategy + "\n");
}

std::vector<int> sizes(const std::vector<std::vector<int>>& batches) {
  std::vector<int> out;
  for (const auto& batch : batches) out.push_back(static_cast<int>(batch.size()));
  return out;
}

} // namespace

TEST_CASE("host counts: numbers and percentages, rounded up, at least one, at most all") {
  CHECK(HostCount{25, true}.of(20) == 5);
  CHECK(HostCount{25, true}.of(50) == 13);
  CHECK(HostCount{10, true}.of(3) == 1);
  CHECK(HostCount{100, true}.of(7) == 7);
  CHECK(HostCount{3, false}.of(2) == 2);
  CHECK(HostCount{1, false}.of(0) == 0);
  CHECK(HostCount{25, true}.display() == "25%");
}

TEST_CASE("batches per strategy cover every target once, in order") {
  StrategySpec all;
  CHECK(sizes(deploy::make_batches(all, 7)) == std::vector<int>{7});
  StrategySpec rolling;
  rolling.kind = StrategySpec::Kind::rolling;
  rolling.batch = {25, true};
  CHECK(sizes(deploy::make_batches(rolling, 20)) == std::vector<int>{5, 5, 5, 5});
  CHECK(sizes(deploy::make_batches(rolling, 50)) == std::vector<int>{13, 13, 13, 11});
  rolling.batch = {1, false};
  CHECK(sizes(deploy::make_batches(rolling, 3)) == std::vector<int>{1, 1, 1});
  StrategySpec canary;
  canary.kind = StrategySpec::Kind::canary;
  canary.canary = {1, false};
  canary.batch = {25, true};
  const auto batches = deploy::make_batches(canary, 20);
  CHECK(sizes(batches) == std::vector<int>{1, 5, 5, 5, 4});
  std::vector<int> seen;
  for (const auto& batch : batches) seen.insert(seen.end(), batch.begin(), batch.end());
  for (int i = 0; i < 20; ++i) CHECK(seen[static_cast<std::size_t>(i)] == i);
  CHECK(sizes(deploy::make_batches(canary, 1)) == std::vector<int>{1});
}

TEST_CASE("host text: user, address, port, IPv6") {
  SshHost host;
  CHECK(deploy::parse_host_text("deploy@10.0.0.2:2222", host).empty());
  CHECK(host.user == "deploy");
  CHECK(host.address == "10.0.0.2");
  CHECK(host.port == 2222);
  SshHost v6;
  CHECK(deploy::parse_host_text("[2001:db8::1]:22", v6).empty());
  CHECK(v6.address == "2001:db8::1");
  CHECK(v6.port == 22);
  SshHost bare;
  CHECK(deploy::parse_host_text("2001:db8::7", bare).empty());
  CHECK(bare.address == "2001:db8::7");
  SshHost bad;
  CHECK(contains(deploy::parse_host_text("-oProxyCommand=x", bad), "cannot start with '-'"));
  CHECK(contains(deploy::parse_host_text("web01:99999", bad), "port"));
  CHECK(contains(deploy::parse_host_text("web;rm", bad), "not a host name"));
  CHECK(contains(deploy::parse_host_text("@web", bad), "empty user"));
}

TEST_CASE("ssh target: hosts as text and as maps, defaults applied") {
  const Plan plan = parse_ok(fleet("", "[web01, \"deploy2@10.0.0.2:2200\", {name: db, address: 10.0.0.9, port: 2201, "
                                       "variables: {ROLE: primary}}]"));
  const auto hosts = deploy::effective_hosts(plan.services[0].target.ssh);
  REQUIRE(hosts.size() == 3);
  CHECK(hosts[0].name == "web01");
  CHECK(hosts[0].user == "deploy");
  CHECK(hosts[0].port == 22);
  CHECK(hosts[1].user == "deploy2");
  CHECK(hosts[1].port == 2200);
  CHECK(hosts[2].name == "db");
  CHECK(hosts[2].address == "10.0.0.9");
  CHECK(hosts[2].variables.at("ROLE") == "primary");
}

TEST_CASE("ssh target: hosts from one variable, split on spaces and commas") {
  const Plan plan = parse_ok(fleet("rolling", "\"${WEB_HOSTS}\""));
  deploy::Variables run = deploy::placeholder_run_values();
  run["WEB_HOSTS"] = "10.0.0.1, 10.0.0.2 10.0.0.3\n10.0.0.4";
  const ResolvedPlan resolved = resolve_ok(plan, run);
  const auto hosts = deploy::effective_hosts(resolved.services[0].target.ssh);
  REQUIRE(hosts.size() == 4);
  CHECK(hosts[3].address == "10.0.0.4");
  run["WEB_HOSTS"] = "10.0.0.1 10.0.0.1";
  auto twice = deploy::resolve_plan(plan, "prod", {}, run);
  REQUIRE_FALSE(twice.ok());
  CHECK(contains(twice.error().message, "lists '10.0.0.1' twice"));
}

TEST_CASE("ssh target: mistakes are named with their line") {
  check_error("version: 1\nname: shop\nenvironments: [prod]\nservices:\n  web:\n"
              "    target: {type: ssh, hosts: [web01], root: srv/web}\n",
              "plan.yml:6", "absolute folder");
  check_error("version: 1\nname: shop\nenvironments: [prod]\nservices:\n  web:\n"
              "    target: {type: ssh, root: /srv/web}\n",
              "plan.yml:6", "needs hosts");
  check_error("version: 1\nname: shop\nenvironments: [prod]\nservices:\n  web:\n"
              "    target: {type: ssh, hosts: [web01], root: /srv/web, roots: [/a]}\n",
              "plan.yml:6", "does not go with a ssh target");
  check_error("version: 1\nname: shop\nenvironments: [prod]\nservices:\n  web:\n"
              "    target: {type: ssh, hosts: [\"web01:0\"], root: /srv/web}\n",
              "plan.yml:6", "port");
}

TEST_CASE("strategies: shorthand, mapping, and keys that do not go together") {
  const Plan rolling = parse_ok(fleet("rolling"));
  CHECK(rolling.services[0].strategy.kind == StrategySpec::Kind::rolling);
  const Plan canary = parse_ok(fleet("{type: canary, canary: 2, batch: 50%, pause: 30s, max_failures: 1}"));
  const StrategySpec& spec = canary.services[0].strategy;
  CHECK(spec.kind == StrategySpec::Kind::canary);
  CHECK(spec.canary.value == 2);
  CHECK(spec.batch.percent);
  CHECK(spec.pause == deploy::Duration(30000));
  CHECK(spec.max_failures == 1);
  CHECK(contains(spec.display(), "canary 2, then batches of 50%"));
  const Plan manual = parse_ok(fleet("{type: canary, pause: until-resume}"));
  CHECK(manual.services[0].strategy.pause_until_resume);
  check_error(fleet("{type: rolling, canary: 1}"), "plan.yml:10", "does not go with strategy rolling");
  check_error(fleet("{type: rolling, batch: 0}"), "plan.yml:10", "number of hosts");
  check_error(fleet("{type: rolling, batch: 120%}"), "plan.yml:10", "percentage");
  check_error(fleet("canery"), "plan.yml:10", "did you mean 'canary'");
  check_error(fleet("blue-green"), "plan.yml:10", "needs its colours");
}

TEST_CASE("services inherit the plan's strategy unless they name their own") {
  const Plan plan = parse_ok("version: 1\nname: shop\nenvironments: [prod]\nstrategy: {type: rolling, batch: 2}\n"
                             "services:\n  a:\n    target: {type: local, roots: [/a, /b, /c]}\n"
                             "  b:\n    target: {type: local, roots: [/d]}\n    strategy: all-at-once\n");
  CHECK(plan.services[0].strategy.kind == StrategySpec::Kind::rolling);
  CHECK(plan.services[0].strategy.batch.value == 2);
  CHECK(plan.services[1].strategy.kind == StrategySpec::Kind::all_at_once);
}

TEST_CASE("blue-green: two colours and nginx, resolved per colour") {
  const std::string yaml =
      "version: 1\nname: shop\nenvironments: [prod]\nservices:\n  web:\n"
      "    target: {type: local, roots: [/srv/web]}\n"
      "    start: [/srv/web/start, \"${COLOUR}\", \"${PORT}\"]\n"
      "    strategy:\n      type: blue-green\n      colours: {blue: {PORT: \"8081\"}, green: {PORT: \"8082\"}}\n"
      "      nginx: {upstream_file: /etc/nginx/up.conf, upstream: web, server: \"127.0.0.1:${PORT}\", "
      "test: [nginx, -t], reload: [nginx, -s, reload]}\n";
  const Plan plan = parse_ok(yaml);
  const ResolvedPlan resolved = resolve_ok(plan);
  const auto& spec = resolved.services[0].strategy.blue_green;
  REQUIRE(spec.servers.size() == 2);
  CHECK(spec.servers[0] == "127.0.0.1:8081");
  CHECK(spec.servers[1] == "127.0.0.1:8082");
  // The environment-wide view shows stand-ins for the colour's own values.
  CHECK(resolved.services[0].start.argv[1] == "<COLOUR>");
  CHECK(resolved.services[0].start.argv[2] == "<PORT>");
  check_error("version: 1\nname: shop\nenvironments: [prod]\nservices:\n  web:\n"
              "    target: {type: local, roots: [/srv/web]}\n"
              "    strategy: {type: blue-green, colours: {blue: {}}, switch: [x]}\n",
              "plan.yml:7", "exactly two");
  check_error("version: 1\nname: shop\nenvironments: [prod]\nservices:\n  web:\n"
              "    target: {type: local, roots: [/srv/web]}\n"
              "    strategy: {type: blue-green, colours: {blue: {}, green: {}}}\n",
              "plan.yml:7", "needs nginx");
}

TEST_CASE("deploy actions: one switch and verify per batch, a pause after the canary, in order") {
  const Plan plan = parse_ok(fleet("{type: canary, canary: 1, batch: 50%, pause: 10s}", "[h1, h2, h3, h4, h5]"));
  const ResolvedPlan resolved = resolve_ok(plan);
  const auto actions = deploy::deploy_actions(resolved);
  std::vector<std::string> kinds;
  for (const auto& action : actions)
    kinds.push_back(std::string(deploy::to_string(action.kind)) + (action.batch >= 0 ? std::to_string(action.batch) : ""));
  CHECK(kinds == std::vector<std::string>{"prepare", "stop0", "switch0", "start0", "verify0", "pause", "stop1",
                                          "switch1", "start1", "verify1", "stop2", "switch2", "start2", "verify2"});
  CHECK(contains(actions[2].describe(), "batch 1/3: h1"));
  CHECK(contains(actions[7].describe(), "batch 2/3: h2, h3, h4"));
  CHECK(contains(actions[5].describe(), "wait 10 s"));
  // A single batch reads as before.
  const ResolvedPlan whole = resolve_ok(parse_ok(fleet("")));
  for (const auto& action : deploy::deploy_actions(whole)) CHECK(action.batch == -1);
}

TEST_CASE("per-host values: health checks use ${HOST_ADDRESS}, resolved per host") {
  const Plan plan = parse_ok(fleet("rolling", "[{name: a, address: 10.1.0.1}]"));
  const ResolvedPlan stand_in = resolve_ok(plan);
  REQUIRE(stand_in.services[0].health);
  CHECK(contains(stand_in.services[0].health->checks[0].http.url, "<HOST_ADDRESS>"));
  deploy::Variables run = deploy::placeholder_run_values();
  run["HOST"] = "a";
  run["HOST_ADDRESS"] = "10.1.0.1";
  const ResolvedPlan real = resolve_ok(plan, run);
  CHECK(real.services[0].health->checks[0].http.url == "http://10.1.0.1:8080/health");
  // A local target brings no host: ${HOST} there is an unknown variable.
  auto local = deploy::parse_plan("version: 1\nname: shop\nenvironments: [prod]\nservices:\n  web:\n"
                                  "    target: {type: local, roots: [/srv/web]}\n"
                                  "    start: [echo, \"${HOST}\"]\n",
                                  "plan.yml");
  REQUIRE(local.ok());
  auto resolved = deploy::resolve_plan(*local, "prod", {}, deploy::placeholder_run_values());
  REQUIRE_FALSE(resolved.ok());
  CHECK(contains(resolved.error().message, "unknown variable 'HOST'"));
}
