// The launch plan (src/deploy/plan.cpp, docs/plan.md) read from text, then
// checked and shown as `shipgate plan validate` and `plan show` do: every
// environment resolved (src/deploy/plan_resolve.cpp), rendered as text,
// Markdown and JSON.
#include <set>

#include "deploy/plan.hpp"
#include "deploy/plan_validate.hpp"
#include "fuzz_support.hpp"

namespace {

constexpr std::size_t k_max_environments = 4; // resolving each one is the slow part

void check_structure(const deploy::Plan& plan) {
  FUZZ_CHECK(!plan.environments.empty());
  FUZZ_CHECK(!plan.services.empty());
  std::set<std::string> services;
  for (const auto& service : plan.services) FUZZ_CHECK(services.insert(service.name).second);
  std::set<std::string> environments;
  for (const auto& environment : plan.environments) FUZZ_CHECK(environments.insert(environment.name).second);
  for (const auto& service : plan.services)
    for (const auto& dependency : service.depends_on) FUZZ_CHECK(services.count(dependency) == 1);
  FUZZ_CHECK(plan.keep_releases >= 2 && plan.keep_releases <= 1000);
}

// What the process environment gives the seed plans (as a CI job would),
// so that they resolve past their ${VAR}s.
deploy::Variables job_environment() {
  deploy::Variables values;
  for (const char* name : {"ROOT", "APP_ROOT", "TARGET_ROOT", "RULES_ROOT", "RULES_DIST", "DEMO_DIR", "DEMO_APP_ROOT",
                           "DEMO_OUT", "DEMO_CA", "DEMO_FLEET", "HOOK", "KILL_AT", "SLOW", "SLEEP", "DUMP", "CLIENT",
                           "SCRATCH_DATABASE", "BACKUP_FILE"})
    values[name] = std::string("/srv/") + name;
  for (const char* name : {"API_PORT", "APP_PORT", "PORT", "PROXY_PORT", "WORKER_PORT", "DEMO_HOOK_PORT", "DEMO_SMTP_PORT"})
    values[name] = "8080";
  for (const char* name : {"PROD_HOSTS", "STAGING_HOSTS", "TEST_HOSTS", "WEB_HOSTS"}) values[name] = "web01,web02:2222";
  values["NAME"] = "shop";
  return values;
}

void show(const deploy::Plan& plan) {
  static const deploy::Variables extra = job_environment();
  (void)deploy::plan_secret_values(plan);
  (void)deploy::validate_environments(plan, extra, {});
  const deploy::Variables run_values = deploy::symbolic_run_values();
  for (std::size_t i = 0; i < plan.environments.size() && i < k_max_environments; ++i) {
    auto resolved = deploy::resolve_plan(plan, plan.environments[i].name, extra, run_values);
    if (!resolved) {
      FUZZ_CHECK(!resolved.error().message.empty());
      continue;
    }
    // Dependencies first: every service comes after the ones it depends on.
    std::set<std::string> placed;
    for (const auto& service : resolved->services) {
      for (const auto& dependency : service.depends_on) FUZZ_CHECK(placed.count(dependency) == 1);
      placed.insert(service.name);
    }
    FUZZ_CHECK(placed.size() == plan.services.size());
    (void)deploy::render_plan_text(*resolved);
    (void)deploy::render_plan_markdown(*resolved);
    // As the JSON renderer writes it (render/json.cpp dump_json).
    (void)deploy::plan_to_json(*resolved).dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > fuzz::k_max_input) return 0;
  // Relative paths of the plan (scripts, keys, templates) start in the scratch folder.
  static const std::string origin = (fuzz::scratch() / "plan.yml").string();
  auto plan = deploy::parse_plan(fuzz::text(data, size), origin);
  if (!plan) {
    FUZZ_CHECK(!plan.error().message.empty());
    return 0;
  }
  check_structure(*plan);
  show(*plan);
  return 0;
}
