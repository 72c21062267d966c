#!/usr/bin/env bash
# A change whose verify script fails (docs/database.md, "What deploy-stage
# does", step 3), on a real PostgreSQL:
#   v1 (customers-table, orders-table) is live. 2.0 adds orders-status (a
#   column, backfilled) and audit-log, whose verify looks for a column the
#   deploy did not create. deploy-stage exits 1 naming audit-log; audit-log
#   and then orders-status are reverted (the table and the column are gone,
#   the v1 data intact), the registry's applied changes are v1's again, the
#   verify of the head (orders-table) ran again, and the applications were
#   never touched (no start or restart, 1.0 live).
#   Then the verify script is fixed and 2.0 is deployed again: it succeeds
#   (a database failure before any switch does not mark the version bad).
#
#   bash tests/integration/db/verify_failure.sh PATH/TO/shipgate
source "$(dirname "$0")/lib.sh"

db_setup 1.0 2.0
db_plan "$PLAN_DIR/v1.yml" customers-table orders-table
db_plan "$PLAN_DIR/v2.yml" customers-table orders-table orders-status audit-log

begin "v1"
deploy "$PLAN_DIR/v1.yml" 1.0
check_rc 0 "deploy-stage 1.0"
live_before="$(live_release)"
app_lines_before="$(app_line_count)"

begin "2.0: the verify of audit-log fails"
deploy "$PLAN_DIR/v2.yml" 2.0 --json "$WORK/v2.json"
check_rc 1 "deploy-stage 2.0"
check_output "the failure names the change" "audit-log"
check_not "table audit_log is gone (reverted)" table_exists audit_log
check_not "column orders.status is gone (reverted)" column_exists orders status
check "column orders.notes is still there" column_exists orders notes
check_eq "$(q 'SELECT count(*) FROM orders')" 3 "rows of orders"
check_eq "$(q "SELECT coalesce(string_agg(change_id, ' ' ORDER BY seq), '') FROM shipgate.changes WHERE state IN ('deploying', 'applied', 'deployed', 'reverting')")" \
  "customers-table orders-table" "changes the registry holds as applied"
check_eq "$(q "SELECT string_agg(change_id || ':' || state, ' ' ORDER BY seq) FROM shipgate.changes WHERE change_id IN ('customers-table', 'orders-table')")" \
  "customers-table:deployed orders-table:deployed" "the v1 rows"
check_eq "$(q "SELECT count(*) FROM shipgate.changes WHERE state IN ('deploying', 'applied', 'reverting')")" 0 "rows left unsettled"
check_eq "$(revert_order)" "audit-log orders-status" "revert events, in order"
check "audit-log has a deploy event" grep -qw deploy <<<"$(events_of audit-log)"
check "audit-log has a failure event (events: $(events_of audit-log))" \
  bash -c '[[ $(tr " " "\n" <<<"$1" | grep -cvxE "deploy|verify|revert") -ge 1 ]]' _ "$(events_of audit-log)"
check_eq "$(q "SELECT count(*) > 0 FROM shipgate.events WHERE change_id = 'orders-table' AND event = 'verify' AND release_version = '2.0'")" t \
  "the verify of the head (orders-table) ran again in the 2.0 run"
check_json "$WORK/v2.json" '[.actions[].id] | (map(endswith("verify/orders-table")) | rindex(true)) > (map(endswith("revert/orders-status")) | index(true))' true \
  "the result shows the verify of orders-table after the revert of orders-status"
check_eq "$(q "SELECT count(*) FROM shipgate.events WHERE change_id = 'orders-table' AND event = 'revert'")" 0 \
  "reverts of orders-table (applied before this run)"
check_eq "$(live_release)" "$live_before" "live release"
check_eq "$(live_version)" 1.0 "live version"
check_eq "$(app_line_count)" "$app_lines_before" "starts and restarts of the application during the failed run"
check_json "$(ledger_array)" '[.[] | select(.event == "deploy" and .version == "2.0") | .outcome == "succeeded"] | any' false \
  "no succeeded ledger entry for 2.0"
check_json "$(ledger_array)" '[.[] | select(.event == "mark-bad")] | length' 0 "versions marked bad"

begin "2.0 again, with the verify script fixed"
sed -i 's/actor_id/actor/' "$PLAN_DIR/sql/audit-log/verify.sql"
deploy "$PLAN_DIR/v2.yml" 2.0
check_rc 0 "deploy-stage 2.0 with the fixed verify"
check "table audit_log exists" table_exists audit_log
check "column orders.status exists" column_exists orders status
check_eq "$(registry_changes)" \
  "customers-table:deployed orders-table:deployed orders-status:deployed audit-log:deployed" "registry rows"
check_eq "$(live_version)" 2.0 "live version"

db_finish
