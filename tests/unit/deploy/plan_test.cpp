#include <doctest/doctest.h>

#include <string>

#include "../support/temp_dir.hpp"
#include "deploy/plan.hpp"
#include "deploy/plan_validate.hpp"

using deploy::CommandSpec;
using deploy::Duration;
using deploy::Plan;
using deploy::ResolvedPlan;
using deploy::ServiceSpec;
using deploy::TargetSpec;
using deploy::Variables;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

Plan parse_ok(const std::string& yaml, const std::string& origin = "plan.yml") {
  auto plan = deploy::parse_plan(yaml, origin);
  REQUIRE_MESSAGE(plan.ok(), (plan.ok() ? std::string() : plan.error().describe()));
  return plan.value();
}

core::Error parse_error(const std::string& yaml) {
  auto plan = deploy::parse_plan(yaml, "plan.yml");
  REQUIRE_FALSE(plan.ok());
  CHECK(plan.error().kind == core::ErrorKind::invalid_input);
  return plan.error();
}

// The error is at `location` and its message contains `part`.
void check_error(const std::string& yaml, const std::string& location, const std::string& part) {
  const core::Error error = parse_error(yaml);
  CHECK(error.location == location);
  CHECK_MESSAGE(contains(error.message, part), error.message);
}

ResolvedPlan resolve_ok(const Plan& plan, const std::string& environment, const Variables& extra = {},
                        const Variables& run = deploy::placeholder_run_values()) {
  auto resolved = deploy::resolve_plan(plan, environment, extra, run);
  REQUIRE_MESSAGE(resolved.ok(), (resolved.ok() ? std::string() : resolved.error().describe()));
  return resolved.value();
}

core::Error resolve_error(const Plan& plan, const std::string& environment, const Variables& extra = {}) {
  auto resolved = deploy::resolve_plan(plan, environment, extra, deploy::placeholder_run_values());
  REQUIRE_FALSE(resolved.ok());
  return resolved.error();
}

std::vector<std::string> names(const ResolvedPlan& resolved) {
  std::vector<std::string> out;
  for (const auto& service : resolved.services)
    out.push_back(service.name);
  return out;
}

// The smallest valid plan, with `services` appended under `services:`.
std::string minimal(const std::string& services = "  api:\n    target: {type: local, roots: [/srv/api]}\n") {
  return "version: 1\nname: shop\nenvironments: [dev, prod]\nservices:\n" + services;
}

const std::string k_digest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

const std::string k_full = R"(version: 1
name: shop
variables: {APP_ROOT: /srv/shop, PIDFILE: /run/api.pid}
environments:
  - name: dev
    variables: {APP_ROOT: /tmp/shop-dev}
  - test
  - name: prod
    deadline: 10m
    paused: true
    pause_reason: "freeze until Monday"
strategy: all-at-once
deadline: 20m
keep_releases: 3
lock_ttl: 2m
signing: {public_key: keys/release.pub.pem, required: true}
services:
  api:
    artifact: {source: "dist/api-${VERSION}.tar.gz", sha256: ")" +
                           k_digest + R"(", max_size: 500MB}
    target: {type: local, roots: ["${APP_ROOT}/api", relative/api]}
    depends_on: [db-proxy]
    stop_during_switch: [worker]
    stop: [systemctl, stop, api]
    start: {shell: "./bin/start &", timeout: 30s}
    reload: [kill, -HUP, "${PIDFILE}"]
    health:
      checks:
        - name: api-up
          url: "http://127.0.0.1:8080/${ENV}/health"
    shared: [config/app.env, storage/]
    config_files: [/etc/shop/api.conf]
    backups:
      - name: uploads
        run: [tar, czf, "${BACKUP_DIR}/uploads.tgz", /srv/uploads]
        output: "${BACKUP_DIR}/uploads.tgz"
  db-proxy:
    target: {type: plugin, plugin: example, settings: {region: "${ENV}-1", replicas: 2, tls: true, note: "3"}, state_dir: state}
    restart: {argv: [systemctl, restart, db-proxy]}
  worker:
    target: {type: local, roots: [/srv/worker]}
    stop: [systemctl, stop, worker]
    start: [systemctl, start, worker]
)";

} // namespace

TEST_CASE("a full plan is read into the model, nothing interpolated yet") {
  const Plan plan = parse_ok(k_full, "/plans/shop/plan.yml");
  CHECK(plan.file == "/plans/shop/plan.yml");
  CHECK(plan.schema_version == 1);
  CHECK(plan.name == "shop");
  CHECK(plan.variables == Variables{{"APP_ROOT", "/srv/shop"}, {"PIDFILE", "/run/api.pid"}});
  REQUIRE(plan.environments.size() == 3);
  CHECK(plan.environments[0].name == "dev");
  CHECK(plan.environments[0].variables.at("APP_ROOT") == "/tmp/shop-dev");
  CHECK_FALSE(plan.environments[0].requires_previous);
  CHECK(plan.environments[1].name == "test");
  CHECK(plan.environments[1].location == "/plans/shop/plan.yml:7");
  CHECK(plan.environments[1].requires_previous);
  CHECK(plan.environments[2].deadline == Duration(600000));
  CHECK(plan.environments[2].paused);
  CHECK(plan.environments[2].pause_reason == "freeze until Monday");
  CHECK_FALSE(plan.environments[0].deadline.has_value());
  CHECK(plan.strategy.kind == deploy::StrategySpec::Kind::all_at_once);
  CHECK(plan.deadline == Duration(1200000));
  CHECK(plan.keep_releases == 3);
  CHECK(plan.lock_ttl == "2m");
  CHECK(plan.lock_ttl_duration == Duration(120000));
  CHECK(plan.signing.required);
  CHECK(plan.signing.public_key == "/plans/shop/keys/release.pub.pem");

  REQUIRE(plan.services.size() == 3); // file order
  const ServiceSpec& api = plan.services[0];
  CHECK(api.name == "api");
  CHECK(api.location == "/plans/shop/plan.yml:18");
  CHECK(api.artifact.source == "dist/api-${VERSION}.tar.gz");
  CHECK(api.artifact.sha256 == k_digest);
  CHECK(api.artifact.max_size == 500000000ull);
  CHECK(api.target.kind == TargetSpec::Kind::local);
  CHECK(api.target.roots == std::vector<std::string>{"${APP_ROOT}/api", "relative/api"});
  CHECK(api.depends_on == std::vector<std::string>{"db-proxy"});
  CHECK(api.stop_during_switch == std::vector<std::string>{"worker"});
  CHECK(api.stop.argv == std::vector<std::string>{"systemctl", "stop", "api"});
  CHECK(api.stop.shell.empty());
  CHECK(api.stop.timeout == Duration(300000)); // the default: 5m
  CHECK(api.stop.location == "/plans/shop/plan.yml:23");
  CHECK(api.start.argv.empty());
  CHECK(api.start.shell == "./bin/start &");
  CHECK(api.start.timeout == Duration(30000));
  CHECK(api.reload.argv == std::vector<std::string>{"kill", "-HUP", "${PIDFILE}"});
  CHECK(api.restart.empty());
  CHECK(api.health_node.IsMap());
  CHECK_FALSE(api.health.has_value()); // parsed by resolve_plan
  CHECK(api.shared == std::vector<std::string>{"config/app.env", "storage/"});
  CHECK(api.config_files == std::vector<std::string>{"/etc/shop/api.conf"});
  REQUIRE(api.backups.size() == 1);
  CHECK(api.backups[0].name == "uploads");
  CHECK(api.backups[0].command.argv[2] == "${BACKUP_DIR}/uploads.tgz");
  CHECK(api.backups[0].output == "${BACKUP_DIR}/uploads.tgz");
  CHECK(api.backups[0].location == "/plans/shop/plan.yml:33");

  const ServiceSpec& proxy = plan.services[1];
  CHECK(proxy.target.kind == TargetSpec::Kind::plugin);
  CHECK(proxy.target.plugin == "example");
  CHECK(proxy.target.settings == nlohmann::json{{"region", "${ENV}-1"}, {"replicas", 2}, {"tls", true}, {"note", "3"}});
  CHECK(proxy.target.state_dir == "state");
  CHECK(proxy.restart.argv == std::vector<std::string>{"systemctl", "restart", "db-proxy"});
  CHECK(proxy.artifact.max_size == 2ull * 1024 * 1024 * 1024); // the default
}

TEST_CASE("plan defaults: strategy, deadline, keep, lock ttl, no signing") {
  const Plan plan = parse_ok(minimal());
  CHECK(plan.strategy.kind == deploy::StrategySpec::Kind::all_at_once);
  CHECK(plan.deadline == Duration(900000));
  CHECK(plan.keep_releases == 5);
  CHECK(plan.lock_ttl == "5m");
  CHECK(plan.lock_ttl_duration == Duration(300000));
  CHECK_FALSE(plan.signing.required);
  CHECK(plan.signing.public_key.empty());
  CHECK_FALSE(plan.services[0].health_node.IsMap());
}

TEST_CASE("a mistyped key is an error at its line, with a suggestion") {
  check_error("version: 1\nname: shop\nenvironments: [dev]\nservces: {}\n", "plan.yml:4",
              "unknown key 'servces'; did you mean 'services'?");
  check_error(minimal("  api:\n    target: {type: local, roots: [/a]}\n    depnds_on: [db]\n"), "plan.yml:7",
              "unknown key 'services.api.depnds_on'; did you mean 'depends_on'?");
  check_error(minimal("  api:\n    target:\n      type: local\n      rots: [/a]\n"), "plan.yml:8",
              "did you mean 'roots'?");
  check_error("version: 1\nname: shop\nenvironments:\n  - name: dev\n    deadlin: 5m\nservices: {}\n", "plan.yml:5",
              "did you mean 'deadline'?");
  check_error(minimal("  api:\n    target: {type: local, roots: [/a]}\n    start: {argv: [a], timout: 5s}\n"),
              "plan.yml:7", "did you mean 'timeout'?");
}

TEST_CASE("version, name, environments and services are required") {
  check_error("name: shop\nenvironments: [dev]\nservices: {}\n", "plan.yml:1", "version: 1");
  check_error("version: 2\nname: shop\n", "plan.yml:1", "unsupported plan version '2'");
  check_error("version: 1\nenvironments: [dev]\n", "plan.yml:1", "no name");
  check_error("version: 1\nname: shop\nservices: {}\n", "plan.yml:1", "no environments");
  check_error("version: 1\nname: shop\nenvironments: []\nservices: {}\n", "plan.yml:3", "non-empty list");
  check_error("version: 1\nname: shop\nenvironments: [dev]\n", "plan.yml:1", "no services");
  check_error("version: 1\nname: shop\nenvironments: [dev]\nservices: {}\n", "plan.yml:4", "one service at least");
  check_error("", "plan.yml", "the plan is empty");
  check_error("- a\n- b\n", "plan.yml:1", "a plan is a mapping");
}

TEST_CASE("invalid YAML is reported at its line") {
  const core::Error error = parse_error("version: 1\nname: shop\nenvironments: [dev\nservices: {}\n");
  CHECK(contains(error.message, "invalid YAML"));
  CHECK(contains(error.location, "plan.yml:"));
}

TEST_CASE("names are lowercase words and unique") {
  check_error(minimal("  Api:\n    target: {type: local, roots: [/a]}\n"), "plan.yml:5", "not a valid service name");
  check_error(
      minimal("  api:\n    target: {type: local, roots: [/a]}\n  api:\n    target: {type: local, roots: [/b]}\n"),
      "plan.yml:7", "two services are named 'api' (the other is at plan.yml:5)");
  check_error("version: 1\nname: shop\nenvironments: [dev, test, dev]\nservices: {}\n", "plan.yml:3",
              "two environments are named 'dev'");
  check_error("version: 1\nname: Shop Front\nenvironments: [dev]\nservices: {}\n", "plan.yml:2",
              "not a valid plan name");
  check_error(minimal("  api:\n    target: {type: local, roots: [/a]}\n    backups:\n      - {name: db, run: [a]}\n"
                      "      - {name: db, run: [b]}\n"),
              "plan.yml:9", "two backups are named 'db'");
}

TEST_CASE("depends_on and stop_during_switch name other, known services") {
  const std::string db = "  db:\n    target: {type: local, roots: [/db]}\n";
  check_error(minimal("  api:\n    target: {type: local, roots: [/a]}\n    depends_on: [dbb]\n" + db), "plan.yml:5",
              "services.api.depends_on: unknown service 'dbb'; did you mean 'db'?");
  check_error(minimal("  api:\n    target: {type: local, roots: [/a]}\n    depends_on: [api]\n"), "plan.yml:5",
              "names the service itself");
  check_error(minimal("  api:\n    target: {type: local, roots: [/a]}\n    stop_during_switch: [worker]\n" + db),
              "plan.yml:5", "stop_during_switch: unknown service 'worker'");
  // A service stopped during another's switch must be startable again.
  check_error(minimal("  api:\n    target: {type: local, roots: [/a]}\n    stop_during_switch: [db]\n"
                      "  db:\n    target: {type: local, roots: [/db]}\n    stop: [systemctl, stop, db]\n"),
              "plan.yml:5", "'db' needs both stop: and start:");
  check_error(minimal("  api:\n    target: {type: local, roots: [/a]}\n    depends_on: [db, db]\n" + db), "plan.yml:7",
              "names 'db' twice");
}

TEST_CASE("a dependency cycle is named") {
  const std::string two = "  api:\n    target: {type: local, roots: [/a]}\n    depends_on: [db]\n"
                          "  db:\n    target: {type: local, roots: [/d]}\n    depends_on: [api]\n";
  check_error(minimal(two), "plan.yml:5", "depends_on forms a cycle: api -> db -> api");

  const std::string three = "  web:\n    target: {type: local, roots: [/w]}\n"
                            "  api:\n    target: {type: local, roots: [/a]}\n    depends_on: [web, db]\n"
                            "  db:\n    target: {type: local, roots: [/d]}\n    depends_on: [cache]\n"
                            "  cache:\n    target: {type: local, roots: [/c]}\n    depends_on: [api]\n";
  check_error(minimal(three), "plan.yml:7", "cycle: api -> db -> cache -> api");
}

TEST_CASE("targets: local needs roots, plugin needs plugin, keys belong to their type") {
  check_error(minimal("  api:\n    target: {type: local}\n"), "plan.yml:6", "needs roots");
  check_error(minimal("  api:\n    target: {type: local, roots: []}\n"), "plan.yml:6", "needs roots");
  check_error(minimal("  api:\n    target: {type: plugin}\n"), "plan.yml:6", "needs plugin");
  check_error(minimal("  api:\n    target: {type: plugin, plugin: x, roots: [/a]}\n"), "plan.yml:6",
              "services.api.target.roots does not go with a plugin target");
  check_error(minimal("  api:\n    target: {type: locl, roots: [/a]}\n"), "plan.yml:6",
              "unknown target type 'locl'; did you mean 'local'?");
  check_error(minimal("  api:\n    depends_on: []\n"), "plan.yml:5", "needs target:");
  // type defaults to local
  CHECK(parse_ok(minimal("  api:\n    target: {roots: /a}\n")).services[0].target.roots ==
        std::vector<std::string>{"/a"});
}

TEST_CASE("commands: an argv list, or argv/shell with a timeout; never a bare string") {
  const Plan plan = parse_ok(minimal("  api:\n    target: {type: local, roots: [/a]}\n"
                                     "    stop: [systemctl, stop, api]\n"
                                     "    start: {argv: [./run, --port, 80], timeout: 1m30s}\n"
                                     "    reload: {shell: \"kill -HUP $(cat pid) && echo ok\"}\n"));
  const ServiceSpec& api = plan.services[0];
  CHECK(api.stop.argv.size() == 3);
  CHECK(api.start.argv == std::vector<std::string>{"./run", "--port", "80"});
  CHECK(api.start.timeout == Duration(90000));
  CHECK(api.reload.shell == "kill -HUP $(cat pid) && echo ok");
  CHECK(api.reload.argv.empty());

  const std::string head = "  api:\n    target: {type: local, roots: [/a]}\n";
  check_error(minimal(head + "    stop: systemctl stop api\n"), "plan.yml:7", "must be an argv list");
  check_error(minimal(head + "    stop: []\n"), "plan.yml:7", "services.api.stop is empty");
  check_error(minimal(head + "    stop: {shell: \"  \"}\n"), "plan.yml:7", "is empty");
  check_error(minimal(head + "    stop: {argv: [a], shell: b}\n"), "plan.yml:7", "either argv or shell, not both");
  check_error(minimal(head + "    stop: {timeout: 5s}\n"), "plan.yml:7", "must be an argv list");
  check_error(minimal(head + "    stop: {argv: [a], timeout: soon}\n"), "plan.yml:7", "must be a duration");
  check_error(minimal(head + "    stop: [\"\", x]\n"), "plan.yml:7", "is empty");
}

TEST_CASE("settings: keep_releases, durations, sizes, strategy, signing") {
  const std::string tail = "environments: [dev]\nservices:\n  api:\n    target: {roots: [/a]}\n";
  check_error("version: 1\nname: shop\nkeep_releases: 1\n" + tail, "plan.yml:3", "from 2 to 1000");
  check_error("version: 1\nname: shop\ndeadline: 0s\n" + tail, "plan.yml:3", "more than zero");
  check_error("version: 1\nname: shop\nlock_ttl: forever\n" + tail, "plan.yml:3", "must be a duration");
  check_error("version: 1\nname: shop\nstrategy: all-at-onse\n" + tail, "plan.yml:3",
              "unknown strategy 'all-at-onse'; did you mean 'all-at-once'?");
  check_error("version: 1\nname: shop\nsigning: {required: true}\n" + tail, "plan.yml:3", "needs signing.public_key");

  auto size = [](const std::string& written) {
    return parse_ok(minimal("  api:\n    target: {roots: [/a]}\n    artifact: {max_size: " + written + "}\n"))
        .services[0]
        .artifact.max_size;
  };
  CHECK(size("500MB") == 500000000ull);
  CHECK(size("2GiB") == 2ull * 1024 * 1024 * 1024);
  CHECK(size("64kib") == 65536ull);
  CHECK(size("1048576") == 1048576ull);
  CHECK(size("10 B") == 10ull);
  check_error(minimal("  api:\n    target: {roots: [/a]}\n    artifact: {max_size: 5XB}\n"), "plan.yml:7",
              "must be a size such as 500MB");
  check_error(minimal("  api:\n    target: {roots: [/a]}\n    artifact: {max_size: 0}\n"), "plan.yml:7",
              "more than zero");
  check_error(minimal("  api:\n    target: {roots: [/a]}\n    artifact: {sha256: abc}\n"), "plan.yml:7",
              "not a sha256 digest");
}

TEST_CASE("${VAR} syntax is checked while parsing, values only when resolving") {
  check_error(minimal("  api:\n    target: {roots: [\"${APP_ROOT/api\"]}\n"), "plan.yml:6", "'${' is not closed");
  check_error(minimal("  api:\n    target: {roots: [/a]}\n    stop: [kill, \"${PID-FILE}\"]\n"), "plan.yml:7",
              "'${PID-FILE}' is not a variable");
  check_error("version: 1\nname: shop\nvariables: {ROOT: \"${HOME\"}\nenvironments: [dev]\nservices: {}\n",
              "plan.yml:3", "variables.ROOT");
  // Unknown names are fine here: they may come from the environment or the run.
  CHECK(parse_ok(minimal("  api:\n    target: {roots: [\"${NOT_YET}/api\"]}\n    stop: [echo, \"$${literal}\"]\n"))
            .services[0]
            .target.roots[0] == "${NOT_YET}/api");
}

TEST_CASE("shared paths stay inside the release") {
  check_error(minimal("  api:\n    target: {roots: [/a]}\n    shared: [/etc/passwd]\n"), "plan.yml:7",
              "must be relative to the release folder");
  check_error(minimal("  api:\n    target: {roots: [/a]}\n    shared: [config/../../x]\n"), "plan.yml:7", "no '..'");
}

TEST_CASE("resolve: services in deploy order, dependencies first, ties in file order") {
  const Plan plan = parse_ok(minimal("  web:\n    target: {roots: [/w]}\n    depends_on: [api]\n"
                                     "  api:\n    target: {roots: [/a]}\n    depends_on: [db, cache]\n"
                                     "  db:\n    target: {roots: [/d]}\n"
                                     "  cache:\n    target: {roots: [/c]}\n"
                                     "  docs:\n    target: {roots: [/docs]}\n"));
  const ResolvedPlan resolved = resolve_ok(plan, "dev");
  CHECK(names(resolved) == std::vector<std::string>{"db", "cache", "api", "web", "docs"});
  CHECK(resolved.plan == &plan);
  CHECK(resolved.environment == &plan.environments[0]);
  CHECK(resolved.previous_environment == nullptr);
  CHECK(resolve_ok(plan, "prod").previous_environment == &plan.environments[0]);
}

TEST_CASE("resolve: variables by priority, environment overrides, ENV and run values") {
  const Plan plan = parse_ok(R"(version: 1
name: shop
variables: {ROOT: "${HOME}/shop", MODE: plan, PORT: "80"}
environments:
  - name: dev
    variables: {MODE: dev, LOG: "${ROOT}/log", VERSION: "from-env"}
    deadline: 2m
  - name: prod
services:
  api:
    target: {roots: ["${ROOT}/${ENV}"]}
    start: {shell: "echo ${MODE} ${PORT} ${VERSION} > ${LOG}", timeout: 5s}
    stop: [echo, "${HOME}", "$${HOME}"]
    backups:
      - {name: db, run: [dump, "${BACKUP_DIR}/db.sql"], output: "${BACKUP_DIR}/db.sql"}
)",
                             "/plans/plan.yml");
  const Variables extra = {{"HOME", "/home/ci"}, {"MODE", "process"}, {"PORT", "1"}};
  const Variables run = {{"VERSION", "1.2.3"}, {"BACKUP_DIR", "/b/1"}};
  const ResolvedPlan dev = resolve_ok(plan, "dev", extra, run);
  const ServiceSpec& api = dev.services[0];
  CHECK(api.target.roots == std::vector<std::string>{"/home/ci/shop/dev"});
  // environment over plan over process; run values over everything
  CHECK(api.start.shell == "echo dev 80 1.2.3 > /home/ci/shop/log");
  CHECK(api.stop.argv == std::vector<std::string>{"echo", "/home/ci", "${HOME}"});
  CHECK(api.backups[0].command.argv[1] == "/b/1/db.sql");
  CHECK(api.backups[0].output == "/b/1/db.sql");
  CHECK(dev.deadline == Duration(120000));
  // The plan itself is untouched.
  CHECK(plan.services[0].start.shell == "echo ${MODE} ${PORT} ${VERSION} > ${LOG}");

  const core::Error error = resolve_error(plan, "prod", extra); // LOG is dev's only
  CHECK(error.location == "/plans/plan.yml:12");
  CHECK(contains(error.message, "services.api.start: unknown variable 'LOG'"));
  CHECK(contains(error.message, "environment 'prod'"));
}

TEST_CASE("resolve: an unknown variable is named with its line and a suggestion") {
  const Plan plan =
      parse_ok(minimal("  api:\n    target: {roots: [/a]}\n    artifact: {source: \"dist/api-${VERSOIN}.tgz\"}\n"
                       "    reload: [kill, -HUP, \"${PIDFILE}\"]\n"));
  core::Error error = resolve_error(plan, "dev");
  CHECK(error.kind == core::ErrorKind::invalid_input);
  CHECK(error.location == "plan.yml:7");
  CHECK(contains(error.message, "services.api.artifact.source: unknown variable 'VERSOIN' (did you mean 'VERSION'?)"));

  const Plan reload =
      parse_ok(minimal("  api:\n    target: {roots: [/a]}\n    reload: [kill, -HUP, \"${PIDFILE}\"]\n"));
  error = resolve_error(reload, "dev");
  CHECK(error.location == "plan.yml:7");
  CHECK(contains(error.message, "services.api.reload: unknown variable 'PIDFILE'"));
  CHECK(resolve_ok(reload, "dev", {{"PIDFILE", "/run/api.pid"}}).services[0].reload.argv[2] == "/run/api.pid");

  const Plan shared =
      parse_ok(minimal("  api:\n    target: {roots: [/a]}\n    config_files:\n      - /etc/a\n      - \"${CONF}\"\n"));
  CHECK(resolve_error(shared, "dev").location == "plan.yml:9"); // the item itself
}

TEST_CASE("resolve: roots and plugin state folders are made absolute from the plan's folder") {
  test_support::TempDir dir;
  const std::string path =
      dir.write("ops/plan.yml", minimal("  api:\n    target: {roots: [releases/api, \"/abs/x/../y\"]}\n"
                                        "  db:\n    target: {type: plugin, plugin: example, state_dir: st,"
                                        " settings: {zone: \"${ENV}-a\", size: 3}}\n"));
  auto plan = deploy::load_plan(path);
  REQUIRE(plan.ok());
  const ResolvedPlan resolved = resolve_ok(*plan, "prod");
  CHECK(resolved.services[0].target.roots ==
        std::vector<std::string>{(dir.path() / "ops/releases/api").string(), "/abs/y"});
  CHECK(resolved.services[1].target.state_dir == (dir.path() / "ops/st").string());
  CHECK(resolved.services[1].target.settings == nlohmann::json{{"zone", "prod-a"}, {"size", 3}});
}

TEST_CASE("resolve: health checks are parsed with the variables, errors at their line") {
  const std::string health = "    health:\n"
                             "      wait: {url: \"${BASE}/ready\", deadline: 30s}\n"
                             "      checks:\n"
                             "        - name: up\n"
                             "          url: \"${BASE}/health\"\n"
                             "          expect: {status: 200, body: {contains: \"${VERSION}\"}}\n";
  const Plan plan = parse_ok(minimal("  api:\n    target: {roots: [/a]}\n" + health));
  const ResolvedPlan resolved = resolve_ok(plan, "dev", {{"BASE", "http://127.0.0.1:8080"}}, {{"VERSION", "2.0.1"}});
  REQUIRE(resolved.services[0].health.has_value());
  const smoke::Suite& suite = *resolved.services[0].health;
  REQUIRE(suite.checks.size() == 1);
  CHECK(suite.checks[0].http.url == "http://127.0.0.1:8080/health");
  CHECK(suite.checks[0].location == "plan.yml:10");
  CHECK(suite.checks[0].http.body_expectations[0].value == "2.0.1");
  REQUIRE(suite.wait.has_value());
  CHECK(suite.wait->deadline == Duration(30000));

  const core::Error missing = resolve_error(plan, "dev");
  CHECK(missing.location == "plan.yml:8");
  CHECK(contains(missing.message, "services.api.health: "));
  CHECK(contains(missing.message, "unknown variable 'BASE'"));

  const Plan typo =
      parse_ok(minimal("  api:\n    target: {roots: [/a]}\n    health:\n      chekcs:\n        - tcp: a:1\n"));
  const core::Error error = resolve_error(typo, "dev");
  CHECK(error.location == "plan.yml:8");
  CHECK(contains(error.message, "did you mean 'checks'?"));

  check_error(minimal("  api:\n    target: {roots: [/a]}\n    health: [a]\n"), "plan.yml:7",
              "health must be a mapping");
  CHECK_FALSE(resolve_ok(parse_ok(minimal()), "dev").services[0].health.has_value());
}

TEST_CASE("an unknown environment is an error with a suggestion and the list") {
  const Plan plan = parse_ok("version: 1\nname: shop\nenvironments: [dev, test, staging, prod]\nservices:\n"
                             "  api:\n    target: {roots: [/a]}\n");
  const core::Error error = resolve_error(plan, "prd");
  CHECK(error.kind == core::ErrorKind::invalid_input);
  CHECK(error.message == "unknown environment 'prd'; did you mean 'prod'? The plan defines: dev, test, staging, prod");
  CHECK_FALSE(contains(deploy::unknown_environment(plan, "qa").message, "did you mean"));
}

TEST_CASE("validate_environments finds a problem that only one environment has") {
  const Plan plan = parse_ok(R"(version: 1
name: shop
environments:
  - name: dev
    variables: {ROOT: /tmp/dev}
  - name: prod
services:
  api:
    target: {roots: ["${ROOT}/api"]}
    stop: [rm, "${RELEASE_DIR}/pid", "${BACKUP_DIR}", "${VERSION}", "${RELEASE}", "${COMMIT}", "${BRANCH}"]
)");
  auto status = deploy::validate_environments(plan, {});
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().location == "plan.yml:9");
  CHECK(contains(status.error().message, "in environment 'prod': services.api.target.roots: unknown variable 'ROOT'"));
  CHECK(deploy::validate_environments(plan, {{"ROOT", "/srv"}}).ok()); // the process environment fills it
  for (const auto& name : deploy::run_value_names())
    CHECK(deploy::placeholder_run_values().count(name) == 1);
  CHECK(deploy::symbolic_run_values().at("VERSION") == "${VERSION}");
}

TEST_CASE("a command is displayed on one line, quoted where a shell would need it") {
  CommandSpec argv;
  argv.argv = {"systemctl", "restart", "api.service"};
  CHECK(argv.display() == "systemctl restart api.service");
  argv.argv = {"echo", "two words", "it's", "", "a=b,c:d/e"};
  CHECK(argv.display() == "echo 'two words' 'it'\\''s' '' a=b,c:d/e");
  CommandSpec shell;
  shell.shell = "cd /srv && ./start\n";
  CHECK(shell.display() == "sh -c 'cd /srv && ./start\\n'");
  CHECK(CommandSpec{}.display() == "(none)");
}

TEST_CASE("load_plan reports a missing file") {
  auto plan = deploy::load_plan("/nonexistent/plan.yml");
  REQUIRE_FALSE(plan.ok());
  CHECK(plan.error().location == "/nonexistent/plan.yml");
  CHECK(contains(plan.error().message, "cannot read the plan file"));
}

TEST_CASE("the example plan is valid in every environment") {
  const std::string path = SHIPGATE_SOURCE_DIR "/examples/plans/shop.yml";
  auto plan = deploy::load_plan(path);
  REQUIRE_MESSAGE(plan.ok(), (plan.ok() ? std::string() : plan.error().describe()));
  CHECK(plan->environments.size() == 4);
  const auto status = deploy::validate_environments(*plan, {});
  REQUIRE_MESSAGE(status.ok(), (status.ok() ? std::string() : status.error().describe()));
  const ResolvedPlan staging = resolve_ok(*plan, "staging", {}, {{"VERSION", "1.4.0"}, {"BACKUP_DIR", "/b"}});
  CHECK(names(staging) == std::vector<std::string>{"db-proxy", "api", "worker"});
  CHECK(staging.services[1].target.roots == std::vector<std::string>{"/tmp/shipgate-example/shop-staging/api"});
  for (const auto& service : staging.services)
    CHECK(service.health.has_value());
}
