#!/usr/bin/env bash
# `order: after-apps` (docs/database.md), on a real PostgreSQL:
#   1. 1.0 with after-apps: the application starts first (it saw no table),
#      then customers-table and orders-table run; the ledger names the head.
#   2. 2.0 adds orders-status and audit-log (whose verify fails) after the
#      apps: the changes are reverted (no column, no table), the deploy
#      fails (exit 1) and the applications are back on 1.0.
#   3. 3.0 adds orders-status alone; a rollback (rollback_order defaults to
#      db-first for after-apps) reverts it before switching the apps back:
#      1.0's restart does not see orders.status.
#
#   bash tests/integration/db/after_apps.sh PATH/TO/shipgate
source "$(dirname "$0")/lib.sh"

db_setup 1.0 2.0 3.0
db_plan "$PLAN_DIR/v1.yml" --order after-apps customers-table orders-table
db_plan "$PLAN_DIR/v2.yml" --order after-apps customers-table orders-table orders-status audit-log
db_plan "$PLAN_DIR/v3.yml" --order after-apps customers-table orders-table orders-status

begin "1.0, changes after the apps"
deploy "$PLAN_DIR/v1.yml" 1.0
check_rc 0 "deploy-stage 1.0"
start_line="$(grep -m1 -- "-1\.0 schema=" "$ROOT/events.log")"
check "the application started before the changes: it saw no table ('$start_line')" \
  bash -c '[[ -n "$1" && "$1" == *"schema=" ]]' _ "$start_line"
check "table orders exists after the run" table_exists orders
check_eq "$(registry_changes)" "customers-table:deployed orders-table:deployed" "registry rows"
check_json "$(ledger_array)" '.[-1] | [.outcome, .databases.orders.head]' '["succeeded","orders-table"]' "ledger entry"
r10="$(live_release)"

begin "2.0, a change fails after the apps went live"
deploy "$PLAN_DIR/v2.yml" 2.0
check_rc 1 "deploy-stage 2.0"
check_not "table audit_log is gone" table_exists audit_log
check_not "column orders.status is gone" column_exists orders status
check_eq "$(q "SELECT coalesce(string_agg(change_id, ' ' ORDER BY seq), '') FROM shipgate.changes WHERE state IN ('deploying', 'applied', 'deployed', 'reverting')")" \
  "customers-table orders-table" "changes the registry holds as applied"
check_eq "$(live_release)" "$r10" "live release after the failed 2.0"

begin "3.0, then a rollback (db-first by default)"
deploy "$PLAN_DIR/v3.yml" 3.0
check_rc 0 "deploy-stage 3.0"
check "column orders.status exists" column_exists orders status
lines_before="$(app_line_count)"
rollback "$PLAN_DIR/v3.yml"
check_rc 0 "rollback"
check_not "column orders.status is gone" column_exists orders status
check_eq "$(live_release)" "$r10" "live release"
back_line="$(tail -n +"$((lines_before + 1))" "$ROOT/events.log" | grep -m1 -- " $r10 schema=")"
check "1.0 was switched back after the revert (db-first): '$back_line'" \
  bash -c '[[ "$1" == *orders.notes* && "$1" != *orders.status* ]]' _ "$back_line"

db_finish
