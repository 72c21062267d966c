#include <doctest/doctest.h>

#include "deploy/plan.hpp"
#include "deploy/signoff.hpp"

namespace {

deploy::LedgerEntry signoff(const std::string& version, const std::string& role, const std::string& by,
                            const std::string& decision, int second, const std::string& comment = {}) {
  deploy::LedgerEntry entry;
  entry.event = "signoff";
  entry.version = version;
  entry.extra["role"] = role;
  entry.extra["by"] = by;
  entry.extra["decision"] = decision;
  entry.extra["comment"] = comment;
  entry.finished_at = core::SystemTime{} + std::chrono::seconds(1700000000 + second);
  return entry;
}

deploy::EnvironmentSpec prod(bool self_approval = true) {
  deploy::EnvironmentSpec environment;
  environment.name = "prod";
  environment.required_signoffs = {"tech-lead", "tester"};
  environment.self_approval = self_approval;
  return environment;
}

} // namespace

TEST_CASE("check_signoffs: every required role's latest decision on this very version") {
  deploy::History history;
  history.entries = {signoff("1.0", "tech-lead", "alice", "approve", 1), signoff("0.9", "tester", "bob", "approve", 2)};
  auto verdict = deploy::check_signoffs(prod(), history, "1.0", "carol");
  CHECK_FALSE(verdict.ok());
  CHECK(verdict.missing == std::vector<std::string>{"tester"}); // 0.9's approval is not 1.0's
  CHECK(verdict.approved == std::vector<std::string>{"tech-lead (alice)"});

  history.entries.push_back(signoff("1.0", "tester", "bob", "reject", 3, "checkout crashes"));
  verdict = deploy::check_signoffs(prod(), history, "1.0", "carol");
  CHECK(verdict.rejected == std::vector<std::string>{"tester (bob: checkout crashes)"});

  // A later approval replaces the rejection; the order in the file does not matter, the time does.
  history.entries.insert(history.entries.begin(), signoff("1.0", "tester", "bob", "approve", 4));
  verdict = deploy::check_signoffs(prod(), history, "1.0", "carol");
  CHECK(verdict.ok());
}

TEST_CASE("check_signoffs: self-approval counts unless the plan says self_approval: false") {
  deploy::History history;
  history.entries = {signoff("1.0", "tech-lead", "alice", "approve", 1), signoff("1.0", "tester", "bob", "approve", 2)};
  CHECK(deploy::check_signoffs(prod(true), history, "1.0", "alice").ok());
  const auto verdict = deploy::check_signoffs(prod(false), history, "1.0", "alice");
  CHECK_FALSE(verdict.ok());
  CHECK(verdict.missing == std::vector<std::string>{"tech-lead"});
  CHECK(verdict.not_counted == std::vector<std::string>{"tech-lead (alice)"});
  // Nobody named as the deploying user: nothing to compare with.
  CHECK(deploy::check_signoffs(prod(false), history, "1.0", "").ok());
}

TEST_CASE("plan: environment sign-offs") {
  const std::string head = "version: 1\nname: shop\nservices:\n  web: {target: {type: local, roots: [/srv/web]}}\n";
  auto plan = deploy::parse_plan(head + "environments:\n  - test\n  - name: prod\n    signoffs: {required: [tech-lead, dba], self_approval: false}\n",
                                 "plan.yml");
  REQUIRE(plan.ok());
  CHECK(plan->environments[1].required_signoffs == std::vector<std::string>{"tech-lead", "dba"});
  CHECK_FALSE(plan->environments[1].self_approval);
  CHECK(plan->environments[0].self_approval);
  auto typo = deploy::parse_plan(head + "environments:\n  - name: prod\n    signoffs: {required: [techlead]}\n", "plan.yml");
  REQUIRE_FALSE(typo.ok());
  CHECK(typo.error().message.find("did you mean 'tech-lead'?") != std::string::npos);
  CHECK(typo.error().location == "plan.yml:7"); // the line of signoffs.required
}
