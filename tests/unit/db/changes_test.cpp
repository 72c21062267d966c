#include <doctest/doctest.h>

#include <fstream>

#include "../support/temp_dir.hpp"
#include "db/changes.hpp"
#include "db/postgres.hpp"
#include "deploy/plan.hpp"
#include "deploy/plan_validate.hpp"

using db::AppliedChange;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

deploy::DatabaseSpec spec_of(const std::vector<std::string>& ids) {
  deploy::DatabaseSpec spec;
  spec.name = "orders";
  for (const auto& id : ids) {
    deploy::DbChangeSpec change;
    change.id = id;
    change.deploy = id + ".sql";
    change.revert = id + ".revert.sql";
    spec.changes.push_back(change);
  }
  return spec;
}

AppliedChange row(const std::string& id, long long seq, const std::string& state = "deployed",
                  const std::string& irreversible = {}) {
  AppliedChange change;
  change.change_id = id;
  change.seq = seq;
  change.state = state;
  change.deploy_sha256 = "sum-" + id;
  change.irreversible = irreversible;
  change.environment = "prod";
  change.release_version = "1.0";
  return change;
}

std::map<std::string, std::string> sums(const std::vector<std::string>& ids) {
  std::map<std::string, std::string> out;
  for (const auto& id : ids) out[id] = "sum-" + id;
  return out;
}

std::vector<std::string> ids(const std::vector<AppliedChange>& rows) {
  std::vector<std::string> out;
  for (const auto& change : rows) out.push_back(change.change_id);
  return out;
}

} // namespace

TEST_CASE("compare: the plan's changes after the applied ones are pending, in plan order") {
  const auto spec = spec_of({"a", "b", "c"});
  const auto c = db::compare(spec, {row("a", 1)}, sums({"a", "b", "c"}), "prod");
  REQUIRE(c.pending.size() == 2);
  CHECK(c.pending[0]->id == "b");
  CHECK(c.pending[1]->id == "c");
  CHECK(c.drift.empty());
  CHECK(c.unknown.empty());
  CHECK(c.out_of_order.empty());
  CHECK(c.missing_revert.empty());
}

TEST_CASE("compare: a changed deploy script of an applied change is drift, named") {
  const auto spec = spec_of({"a", "b"});
  auto checksums = sums({"a", "b"});
  checksums["a"] = "edited";
  const auto c = db::compare(spec, {row("a", 1), row("b", 2)}, checksums, "prod");
  CHECK(c.drift == std::vector<std::string>{"a"});
  CHECK(c.pending.empty());
}

TEST_CASE("compare: a new change inserted before an applied one is out of order") {
  const auto spec = spec_of({"a", "new", "b"});
  const auto c = db::compare(spec, {row("a", 1), row("b", 2)}, sums({"a", "new", "b"}), "prod");
  CHECK(contains(c.out_of_order, "'new'"));
  CHECK(contains(c.out_of_order, "'b'"));
}

TEST_CASE("compare: applied changes the plan does not list, another environment's rows, unsettled rows") {
  const auto spec = spec_of({"a"});
  auto other = row("z", 3);
  other.environment = "staging";
  const auto c = db::compare(spec, {row("a", 1), row("gone", 2), other, row("half", 4, "deploying")},
                             sums({"a"}), "prod");
  CHECK(ids(c.unknown) == std::vector<std::string>{"gone", "z"});
  CHECK(c.foreign == std::vector<std::string>{"z"});
  CHECK(ids(c.unsettled) == std::vector<std::string>{"half"});
  CHECK(ids(c.applied) == std::vector<std::string>{"a", "gone", "z"});
}

TEST_CASE("compare: a pending change with neither revert nor irreversible is listed; an applied one is not") {
  auto spec = spec_of({"old", "new", "gone-for-good"});
  spec.changes[0].revert.clear(); // applied long ago, before reverts were required
  spec.changes[1].revert.clear();
  spec.changes[2].revert.clear();
  spec.changes[2].irreversible = "drops a column";
  const auto c = db::compare(spec, {row("old", 1)}, sums({"old", "new", "gone-for-good"}), "prod");
  CHECK(c.missing_revert == std::vector<std::string>{"new"});
}

TEST_CASE("plan_revert: the changes after the head, newest first") {
  const std::vector<AppliedChange> applied = {row("a", 1), row("b", 4), row("c", 9)};
  CHECK(ids(db::plan_revert(applied, 1, false).revert) == std::vector<std::string>{"c", "b"});
  CHECK(ids(db::plan_revert(applied, 9, false).revert).empty());
  CHECK(ids(db::plan_revert(applied, 0, false).revert) == std::vector<std::string>{"c", "b", "a"});
}

TEST_CASE("plan_revert: an irreversible change blocks; forced, the revert stops at it") {
  const std::vector<AppliedChange> applied = {row("a", 1), row("b", 2), row("drop", 3, "deployed", "drops notes"),
                                              row("d", 4)};
  const auto refused = db::plan_revert(applied, 1, false);
  CHECK(ids(refused.irreversible) == std::vector<std::string>{"drop"});
  const auto forced = db::plan_revert(applied, 1, true);
  CHECK(ids(forced.revert) == std::vector<std::string>{"d"});
  CHECK(ids(forced.left_applied) == std::vector<std::string>{"drop", "b"});
  // Nothing irreversible after the head: nothing blocks.
  CHECK(db::plan_revert(applied, 3, false).irreversible.empty());
}

TEST_CASE("head_of: the last applied change") {
  CHECK(db::head_of({}).seq == 0);
  const auto head = db::head_of({row("a", 1), row("b", 7)});
  CHECK(head.change_id == "b");
  CHECK(head.seq == 7);
}

TEST_CASE("client_environment: a connection string becomes libpq variables; the password is a secret") {
  auto env = db::client_environment("postgresql://app:s%40cret@db01:6543/orders?sslmode=require");
  REQUIRE(env.ok());
  CHECK(env->at("PGHOST") == "db01");
  CHECK(env->at("PGPORT") == "6543");
  CHECK(env->at("PGUSER") == "app");
  CHECK(env->at("PGPASSWORD") == "s@cret");
  CHECK(env->at("PGDATABASE") == "orders");
  CHECK(env->at("PGSSLMODE") == "require");
  const auto secrets = db::conninfo_secrets("host=db01 dbname=orders user=app password=hunter2");
  CHECK(std::find(secrets.begin(), secrets.end(), "hunter2") != secrets.end());
  auto bad = db::client_environment("postgresql://app:hunter2@[broken");
  REQUIRE_FALSE(bad.ok());
  CHECK(contains(bad.error().message, "not valid"));
  CHECK_FALSE(contains(bad.error().message, "hunter2"));
}

// ---------------------------------------------------------------- the plan section

namespace {

const char* k_plan_head = R"(version: 1
name: shop
environments: [test, prod]
services:
  web: {target: {type: local, roots: [/srv/web]}}
)";

deploy::Plan parse_ok(const std::string& yaml) {
  auto plan = deploy::parse_plan(yaml, "plan.yml");
  REQUIRE_MESSAGE(plan.ok(), (plan.ok() ? std::string() : plan.error().describe()));
  return plan.value();
}

std::string parse_fails(const std::string& yaml) {
  auto plan = deploy::parse_plan(yaml, "plan.yml");
  REQUIRE_FALSE(plan.ok());
  return plan.error().describe();
}

} // namespace

TEST_CASE("plan: databases with changes, defaults and orders") {
  const auto plan = parse_ok(std::string(k_plan_head) + R"(databases:
  - name: orders
    connection_env: ORDERS_URL
    order: after-apps
    backup: {verify-restore: true}
    changes:
      - {id: t1, deploy: db/t1.sql, verify: db/t1.verify.sql, revert: db/t1.revert.sql}
      - {id: drop-notes, deploy: db/drop.sql, irreversible: "drops the notes column"}
  - name: audit
    connection_env: AUDIT_URL
    backup: false
    changes: []
)");
  REQUIRE(plan.databases.size() == 2);
  const auto& orders = plan.databases[0];
  CHECK(orders.after_apps);
  CHECK(orders.rollback_db_first); // the reverse of after-apps
  CHECK(orders.backup.verify_restore);
  CHECK(orders.client.front() == "psql");
  REQUIRE(orders.changes.size() == 2);
  CHECK(orders.changes[1].irreversible == "drops the notes column");
  CHECK(orders.changes[1].revert.empty());
  CHECK_FALSE(plan.databases[1].backup.enabled);
  CHECK_FALSE(plan.databases[1].after_apps);
  CHECK_FALSE(plan.databases[1].rollback_db_first);
}

TEST_CASE("plan: database mistakes are refused with their line") {
  const std::string head = k_plan_head;
  CHECK(contains(parse_fails(head + "databases:\n  - name: orders\n    changes: []\n"), "connection_env"));
  CHECK(contains(parse_fails(head + "databases:\n  - name: orders\n    connection_env: postgresql://u:p@h/db\n    changes: []\n"),
                 "never in the plan"));
  CHECK(contains(parse_fails(head + "databases:\n  - name: orders\n    connection_env: U\n    changes:\n      - {id: a, deploy: a.sql}\n      - {id: a, deploy: b.sql}\n"),
                 "plan.yml:11"));
  CHECK(contains(parse_fails(head + "databases:\n  - name: orders\n    connection_env: U\n    changes:\n      - {id: a, deploy: a.sql, revert: r.sql, irreversible: \"x\"}\n"),
                 "both revert and irreversible"));
  CHECK(contains(parse_fails(head + "databases:\n  - name: orders\n    connection_env: U\n    changes:\n      - {id: a, deploy: a.sql, irreversible: true}\n"),
                 "needs the reason"));
  CHECK(contains(parse_fails(head + "databases:\n  - name: orders\n    connection_env: U\n    order: first\n    changes: []\n"),
                 "before-apps or after-apps"));
  CHECK(contains(parse_fails(head + "databases:\n  - name: orders\n    connection_env: U\n    changes:\n      - {id: \"bad id\", deploy: a.sql}\n"),
                 "not a valid change id"));
  CHECK(contains(parse_fails(head + "databases:\n  - name: orders\n    connection_env: U\n    chnages: []\n"),
                 "did you mean"));
}

TEST_CASE("resolve: script paths become absolute and must exist; psql needs ON_ERROR_STOP=1") {
  test_support::TempDir dir;
  std::filesystem::create_directories(dir.path() / "db");
  std::ofstream(dir.path() / "db" / "t1.sql") << "CREATE TABLE t1 (id int);\n";
  const std::string plan_file = (dir.path() / "plan.yml").string();
  const std::string good = std::string(k_plan_head) + R"(databases:
  - name: orders
    connection_env: URL_${ENV}
    changes:
      - {id: t1, deploy: db/t1.sql, irreversible: "keeps data"}
)";
  auto plan = deploy::parse_plan(good, plan_file);
  REQUIRE(plan.ok());
  auto resolved = deploy::resolve_plan(*plan, "prod", {}, deploy::placeholder_run_values());
  REQUIRE_MESSAGE(resolved.ok(), (resolved.ok() ? std::string() : resolved.error().describe()));
  REQUIRE(resolved->databases.size() == 1);
  CHECK(resolved->databases[0].connection_env == "URL_prod");
  CHECK(resolved->databases[0].changes[0].deploy == (dir.path() / "db" / "t1.sql").string());
  CHECK(resolved->databases[0].client.back() == "${SCRIPT}"); // filled in per script at run time

  auto missing = deploy::parse_plan(good + "      - {id: t2, deploy: db/t2.sql, revert: db/t2.revert.sql}\n", plan_file);
  REQUIRE(missing.ok());
  auto error = deploy::resolve_plan(*missing, "prod", {}, deploy::placeholder_run_values());
  REQUIRE_FALSE(error.ok());
  CHECK(contains(error.error().message, "no such script file"));
  CHECK(contains(error.error().message, "t2.sql"));

  auto no_stop = deploy::parse_plan(std::string(k_plan_head) + R"(databases:
  - name: orders
    connection_env: URL
    client: [psql, --file, "${SCRIPT}"]
    changes: []
)", plan_file);
  REQUIRE(no_stop.ok());
  auto refused = deploy::resolve_plan(*no_stop, "prod", {}, deploy::placeholder_run_values());
  REQUIRE_FALSE(refused.ok());
  CHECK(contains(refused.error().message, "ON_ERROR_STOP=1"));
}

TEST_CASE("resolve: rehearse_revert_in applies to the environments it names, and names known ones only") {
  test_support::TempDir dir;
  std::filesystem::create_directories(dir.path() / "db");
  std::ofstream(dir.path() / "db" / "t1.sql") << "CREATE TABLE t1 (id int);\n";
  const std::string plan_file = (dir.path() / "plan.yml").string();
  auto plan_with = [&](const std::string& list) {
    return std::string(k_plan_head) + "databases:\n  - name: orders\n    connection_env: URL\n    rehearse_revert_in: " +
           list + "\n    changes:\n      - {id: t1, deploy: db/t1.sql, irreversible: \"keeps data\"}\n";
  };
  auto plan = deploy::parse_plan(plan_with("[test]"), plan_file);
  REQUIRE(plan.ok());
  auto test = deploy::resolve_plan(*plan, "test", {}, deploy::placeholder_run_values());
  auto prod = deploy::resolve_plan(*plan, "prod", {}, deploy::placeholder_run_values());
  REQUIRE(test.ok());
  REQUIRE(prod.ok());
  CHECK(test->databases[0].rehearse_revert);
  CHECK_FALSE(prod->databases[0].rehearse_revert);

  auto typo = deploy::parse_plan(plan_with("[tset]"), plan_file);
  REQUIRE(typo.ok());
  auto refused = deploy::resolve_plan(*typo, "prod", {}, deploy::placeholder_run_values());
  REQUIRE_FALSE(refused.ok());
  CHECK(contains(refused.error().message, "unknown environment 'tset'; did you mean 'test'?"));
}
