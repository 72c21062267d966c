#!/usr/bin/env bash
# Pre-flight refusals (docs/database.md, "What deploy-stage does", step 1),
# on a real PostgreSQL; each changes nothing (no table, no registry row, no
# dump, the applications untouched):
#   1. a new change with neither a revert script nor `irreversible`
#      (customers-phone): exit 4 naming it; `db plan` exits 4 too;
#   2. the database holds a change the plan does not list (a plan without
#      orders-table): exit 4, and the message points to rollback;
#   3. the database is registered to another environment (the same database
#      given to prod): exit 4.
#
#   bash tests/integration/db/preflight.sh PATH/TO/shipgate
source "$(dirname "$0")/lib.sh"

db_setup 1.0 2.0
db_plan "$PLAN_DIR/v1.yml" customers-table orders-table
db_plan "$PLAN_DIR/no-revert.yml" customers-table orders-table customers-phone
db_plan "$PLAN_DIR/behind.yml" customers-table
dumps() { find "$ROOT" -name 'db-*.dump' | wc -l; }

begin "1.0"
deploy "$PLAN_DIR/v1.yml" 1.0
check_rc 0 "deploy-stage 1.0"
registry_before="$(registry_changes)"
dumps_before="$(dumps)"
lines_before="$(app_line_count)"
unchanged() { # WHAT
  check_eq "$(registry_changes)" "$registry_before" "registry rows ($1)"
  check_eq "$(dumps)" "$dumps_before" "dumps ($1)"
  check_eq "$(app_line_count)" "$lines_before" "application starts and restarts ($1)"
  check_eq "$(live_version)" 1.0 "live version ($1)"
}

begin "a change without revert"
deploy "$PLAN_DIR/no-revert.yml" 2.0 --json "$WORK/no-revert.json"
check_rc 4 "deploy-stage with customers-phone"
check_output "the refusal names the change" "customers-phone"
check_output "the refusal says what is missing" "revert"
check_not "column customers.phone was not added" column_exists customers phone
unchanged "no revert"
db_cmd plan "$PLAN_DIR/no-revert.yml"
check_rc 4 "db plan with customers-phone"
check_output "db plan names the change" "customers-phone"
check_not "column customers.phone was not added by db plan" column_exists customers phone

begin "the database is ahead of the plan"
deploy "$PLAN_DIR/behind.yml" 2.0
check_rc 4 "deploy-stage with a plan that does not list orders-table"
check_output "the refusal names the unknown change" "orders-table"
check_output "the refusal points to rollback" "rollback"
check "table orders is still there" table_exists orders
unchanged "ahead"
db_cmd status "$PLAN_DIR/behind.yml"
check_rc 0 "db status with a change the plan does not list"
check "db status flags orders-table [UNKNOWN]" grep -qE "orders-table.*\[UNKNOWN\]|\[UNKNOWN\].*orders-table" "$OUT.stdout"

begin "the database belongs to another environment"
plan_vars
sg deploy-stage --plan "$PLAN_DIR/v1.yml" --env prod --version 1.0 --artifact "$ART/app-1.0.tar.gz" "${PLAN_VARS[@]}"
check_rc 4 "deploy-stage 1.0 to prod with the database of test"
check_output "the refusal names the environment the database is registered to" "test"
check_not "prod was deployed" test -e "$ROOT/prod/web/current"
unchanged "other environment"

db_finish
