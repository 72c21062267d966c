#!/usr/bin/env bash
# The applications fail after the database changes ran (docs/database.md,
# step 4), on a real PostgreSQL:
#   1.0 applies customers-table and orders-table. 2.0 (a :broken artifact
#   that fails its health checks) adds orders-status. The changes run, the
#   application is switched and fails: it is rolled back to 1.0 and the
#   change of this run is reverted too: exit 1, no orders.status, the
#   registry's applied changes are v1's, 1.0 live. With the default
#   rollback_order (apps-first) the old release restarted before the
#   revert: it still saw orders.status.
#
#   bash tests/integration/db/apps_failure.sh PATH/TO/shipgate
source "$(dirname "$0")/lib.sh"

db_setup 1.0 2.0:broken
db_plan "$PLAN_DIR/v1.yml" customers-table orders-table
db_plan "$PLAN_DIR/v2.yml" customers-table orders-table orders-status

begin "1.0"
deploy "$PLAN_DIR/v1.yml" 1.0
check_rc 0 "deploy-stage 1.0"
r10="$(live_release)"

begin "2.0 fails its health checks"
lines_before="$(app_line_count)"
deploy "$PLAN_DIR/v2.yml" 2.0 --json "$WORK/v2.json"
check_rc 1 "deploy-stage 2.0"
new_start="$(tail -n +"$((lines_before + 1))" "$ROOT/events.log" | grep -m1 -- "-2\.0 schema=")"
check "the broken release started with the new schema (changes before apps): '$new_start'" grep -q "orders\.status" <<<"$new_start"
check_not "column orders.status is gone (reverted with the application)" column_exists orders status
check_eq "$(q "SELECT coalesce(string_agg(change_id, ' ' ORDER BY seq), '') FROM shipgate.changes WHERE state IN ('deploying', 'applied', 'deployed', 'reverting')")" \
  "customers-table orders-table" "changes the registry holds as applied"
check_eq "$(q "SELECT count(*) FROM shipgate.changes WHERE state IN ('deploying', 'applied', 'reverting')")" 0 "rows left unsettled"
check_eq "$(revert_order)" "orders-status" "revert events"
check_eq "$(live_release)" "$r10" "live release"
check_json "$WORK/v2.json" '[.rolled_back, .marked_bad]' '[true,true]' "--json"
old_again="$(tail -n +"$((lines_before + 1))" "$ROOT/events.log" | grep -- " $r10 schema=" | tail -n 1)"
check "1.0 was started again before the revert (apps-first): '$old_again'" grep -q "orders\.status" <<<"$old_again"

db_finish
