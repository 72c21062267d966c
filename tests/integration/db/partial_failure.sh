#!/usr/bin/env bash
# A deploy script failing in the middle of a release's changes
# (docs/database.md, step 3), on a real PostgreSQL:
#   v1 (customers-table, orders-table) is live. 2.0 adds orders-status,
#   invoices (whose backfill names a column that does not exist) and
#   orders-status-index. deploy-stage exits 1 naming invoices: orders-status
#   is reverted, invoices' own transaction left nothing (no table, and no
#   revert ran for it: its deploy had failed), orders-status-index never
#   ran (no index, no row, no event); the applications were not touched.
#
#   bash tests/integration/db/partial_failure.sh PATH/TO/shipgate
source "$(dirname "$0")/lib.sh"

db_setup 1.0 2.0
db_plan "$PLAN_DIR/v1.yml" customers-table orders-table
db_plan "$PLAN_DIR/v2.yml" customers-table orders-table orders-status invoices orders-status-index

begin "v1"
deploy "$PLAN_DIR/v1.yml" 1.0
check_rc 0 "deploy-stage 1.0"
app_lines_before="$(app_line_count)"

begin "2.0: change 2 of 3 fails its deploy"
deploy "$PLAN_DIR/v2.yml" 2.0 --json "$WORK/v2.json"
check_rc 1 "deploy-stage 2.0"
check_output "the failure names the change" "invoices"
check_not "column orders.status is gone (change 1 reverted)" column_exists orders status
check_not "table invoices does not exist" table_exists invoices
check_not "index orders_status_idx does not exist (change 3 never ran)" index_exists orders_status_idx
check_eq "$(events_of orders-status-index)" "" "events of orders-status-index"
check_eq "$(q "SELECT count(*) FROM shipgate.changes WHERE change_id = 'orders-status-index'")" 0 "registry rows of orders-status-index"
check_eq "$(revert_order)" "orders-status" "revert events, in order (none for invoices, whose deploy failed)"
check "orders-status was deployed, then reverted (events: $(events_of orders-status))" \
  bash -c '[[ " $1 " == *" deploy "*" revert "* ]]' _ "$(events_of orders-status)"
check "invoices has a deploy failure event (events: $(events_of invoices))" \
  bash -c '[[ -n "$1" && "$1" != *revert* ]]' _ "$(events_of invoices)"
check_eq "$(q "SELECT coalesce(string_agg(change_id, ' ' ORDER BY seq), '') FROM shipgate.changes WHERE state IN ('deploying', 'applied', 'deployed', 'reverting')")" \
  "customers-table orders-table" "changes the registry holds as applied"
check_eq "$(q "SELECT count(*) FROM shipgate.changes WHERE state IN ('deploying', 'applied', 'reverting')")" 0 "rows left unsettled"
check_eq "$(q 'SELECT count(*) FROM orders')" 3 "rows of orders"
check_eq "$(live_version)" 1.0 "live version"
check_eq "$(app_line_count)" "$app_lines_before" "starts and restarts of the application during the failed run"
check_json "$WORK/v2.json" '[.exit_code, .outcome == "succeeded"]' '[1,false]' "--json"

db_finish
