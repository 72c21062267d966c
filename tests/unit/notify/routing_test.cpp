#include <doctest/doctest.h>

#include "deploy/plan.hpp"
#include "notify/routing.hpp"

namespace {

deploy::NotifySpec plan_notify() {
  const std::string yaml = R"(version: 1
name: shop
environments: [test, prod]
services:
  web: {target: {type: local, roots: [/srv/web]}}
notify:
  lang: zh
  channels:
    mail: {type: smtp, url: "smtps://smtp.example.com:465", from: "Release <release@example.com>", password_env: SMTP_PASSWORD}
    ops-robot: {type: dingtalk, url_env: OPS_ROBOT_URL, secret_env: OPS_ROBOT_SECRET}
    audit: {type: webhook, url: "https://audit.example.com/hooks", secret_env: AUDIT_SECRET}
  roles:
    developer: [dev@example.com]
    tech-lead: [lead@example.com, ops-robot]
    ops: [ops@example.com, ops-robot]
    tester: [qa@example.com]
  chain:
    deploy-failed: [developer, ops]
    released: {roles: [tester], template: final-signoff}
)";
  auto plan = deploy::parse_plan(yaml, "plan.yml");
  REQUIRE_MESSAGE(plan.ok(), (plan.ok() ? "" : plan.error().describe()));
  return plan->notify;
}

std::string refusal(const std::string& notify_yaml) {
  const std::string yaml = "version: 1\nname: shop\nenvironments: [test]\nservices:\n  web: {target: {type: local, roots: [/srv/web]}}\nnotify:\n" + notify_yaml;
  auto plan = deploy::parse_plan(yaml, "plan.yml");
  REQUIRE_FALSE(plan.ok());
  return plan.error().message;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

} // namespace

TEST_CASE("routing: the plan's chain, else the default chain; addresses and channels once each") {
  const auto notify = plan_notify();
  CHECK(notify.language == "zh");
  auto route = notify::route(notify, "deploy-failed", "P1");
  CHECK(route.roles == std::vector<std::string>{"developer", "ops"});
  CHECK(route.mail_to == std::vector<std::string>{"dev@example.com", "ops@example.com"});
  CHECK(route.channels == std::vector<std::string>{"ops-robot"});
  CHECK_FALSE(route.everyone);
  // A chain entry may name the template to use instead of the event's.
  CHECK(notify.chain_templates.at("released") == "final-signoff");
  CHECK(notify::route(notify, "released", "P3").mail_to == std::vector<std::string>{"qa@example.com"});
  CHECK(notify.chain_templates.count("deploy-failed") == 0);
  // Not in the plan's chain: the default one (developer, tech-lead, tester, ops).
  route = notify::route(notify, "rolled-back", "P1");
  CHECK(route.mail_to == std::vector<std::string>{"dev@example.com", "lead@example.com", "qa@example.com", "ops@example.com"});
  CHECK(route.channels == std::vector<std::string>{"ops-robot"});
}

TEST_CASE("routing: P0 and rollback-failed reach every role on every channel") {
  const auto notify = plan_notify();
  for (const auto& [event, level] : {std::pair<std::string, std::string>{"rollback-failed", "P0"}, {"deploy-started", "P0"}}) {
    const auto route = notify::route(notify, event, level);
    CHECK(route.everyone);
    CHECK(route.mail_to.size() == 4);
    CHECK(route.channels == std::vector<std::string>{"ops-robot", "audit"});
  }
}

TEST_CASE("urgency: from the event, raised by the fault level") {
  CHECK(notify::default_urgency("rollback-failed") == "P0");
  CHECK(notify::default_urgency("deploy-failed") == "P1");
  CHECK(notify::default_urgency("test-report", "fail") == "P2");
  CHECK(notify::default_urgency("test-report", "pass") == "P3");
  CHECK(notify::default_urgency("released") == "P3");
  CHECK(notify::more_urgent("P3", "P1") == "P1");
  CHECK(notify::more_urgent("P0", "P2") == "P0");
  CHECK(notify::more_urgent("", "P2") == "P2");
  CHECK_FALSE(notify::valid_level("P4"));
  CHECK_FALSE(notify::valid_level("p1"));
}

TEST_CASE("plan: notify mistakes are refused with a hint") {
  CHECK(contains(refusal("  lang: fr\n"), "unknown language 'fr'"));
  CHECK(contains(refusal("  channels:\n    robot: {type: dingtalk, url: \"https://oapi.dingtalk.com/robot/send?access_token=abc\"}\n"),
                 "carries the robot's token"));
  CHECK(contains(refusal("  channels:\n    robot: {type: dingtlak, url_env: X}\n"), "did you mean 'dingtalk'?"));
  CHECK(contains(refusal("  channels:\n    mail: {type: smtp, url: \"http://x\", from: a@b}\n"), "smtp://host:587"));
  CHECK(contains(refusal("  channels:\n    mail: {type: smtp, url: \"smtp://x:587\", from: a@b, password_env: \"hunter2!\"}\n"),
                 "names an environment variable"));
  CHECK(contains(refusal("  roles:\n    qa: [qa@example.com]\n"), "unknown role 'qa'"));
  CHECK(contains(refusal("  roles:\n    tester: [qa@example.com]\n"), "no channel has type smtp"));
  CHECK(contains(refusal("  channels:\n    robot: {type: wecom, url_env: X}\n  roles:\n    ops: [robto]\n"),
                 "did you mean 'robot'?"));
  CHECK(contains(refusal("  chain:\n    deploy-fialed: [ops]\n"), "did you mean 'deploy-failed'?"));
}
