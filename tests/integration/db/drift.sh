#!/usr/bin/env bash
# Checksum drift and changes out of order (docs/database.md, pre-flight),
# on a real PostgreSQL:
#   1. 1.0 applies customers-table and orders-table. Then the applied deploy
#      script of orders-table is edited. deploy-stage of 2.0 (adding
#      orders-status) exits 2 naming orders-table, and changes nothing: no
#      column, no registry row, no dump, the apps on 1.0. `db status` exits
#      0 and flags orders-table (only it) [DRIFT]; `db plan` exits 2.
#   2. A plan listing a new change (audit-log) before the applied
#      orders-table: exit 2, nothing applied.
#   3. With the script put back as it was, 2.0 deploys (the check is on the
#      content, not the file's time).
#
#   bash tests/integration/db/drift.sh PATH/TO/shipgate
source "$(dirname "$0")/lib.sh"

db_setup 1.0 2.0
db_plan "$PLAN_DIR/v1.yml" customers-table orders-table
db_plan "$PLAN_DIR/v2.yml" customers-table orders-table orders-status
db_plan "$PLAN_DIR/out-of-order.yml" customers-table audit-log orders-table orders-status
dumps() { find "$ROOT" -name 'db-orders.dump' | wc -l; }

begin "1.0"
deploy "$PLAN_DIR/v1.yml" 1.0
check_rc 0 "deploy-stage 1.0"
registry_before="$(registry_changes)"
dumps_before="$(dumps)"

begin "an applied deploy script was edited"
cp "$PLAN_DIR/sql/orders-table/deploy.sql" "$WORK/orders-table-deploy.sql.orig"
sed -i 's/first order of/first order for/' "$PLAN_DIR/sql/orders-table/deploy.sql"
deploy "$PLAN_DIR/v2.yml" 2.0 --json "$WORK/drift.json"
check_rc 2 "deploy-stage 2.0 with drift"
check_output "the refusal names the change" "orders-table"
check_not "column orders.status was not added" column_exists orders status
check_eq "$(registry_changes)" "$registry_before" "registry rows"
check_eq "$(q "SELECT count(*) FROM shipgate.events WHERE event IN ('deploy', 'revert')")" \
  "$(q "SELECT count(*) FROM shipgate.events WHERE event IN ('deploy', 'revert') AND release_version = '1.0'")" "deploy and revert events after 1.0"
check_eq "$(dumps)" "$dumps_before" "dumps (none taken when pre-flight refuses)"
check_eq "$(live_version)" 1.0 "live version"

db_cmd status "$PLAN_DIR/v2.yml"
check_rc 0 "db status with drift"
check "db status flags orders-table [DRIFT]" grep -qE "orders-table.*\[DRIFT\]|\[DRIFT\].*orders-table" "$OUT.stdout"
check_not "db status flags customers-table [DRIFT]" grep -qE "customers-table.*\[DRIFT\]|\[DRIFT\].*customers-table" "$OUT.stdout"
check "db status lists orders-status (pending)" grep -qF "orders-status" "$OUT.stdout"
db_cmd status "$PLAN_DIR/v2.yml" --json "$WORK/status.json"
check_rc 0 "db status --json"
check_json "$WORK/status.json" '[.. | strings | select(. == "orders-table")] | length > 0' true "db status --json names orders-table"
check_json "$WORK/status.json" '[.. | objects | select(has("drift")) | .drift | select(. == true or ((type == "array" or type == "string") and length > 0))] | length > 0' true \
  "db status --json marks the drift"
db_cmd plan "$PLAN_DIR/v2.yml"
check_rc 2 "db plan with drift"
check_output "db plan names the change" "orders-table"

begin "a new change before an applied one"
cp "$WORK/orders-table-deploy.sql.orig" "$PLAN_DIR/sql/orders-table/deploy.sql"
deploy "$PLAN_DIR/out-of-order.yml" 2.0
check_rc 2 "deploy-stage with audit-log before the applied orders-table"
check_output "the refusal names audit-log" "audit-log"
check_not "table audit_log was not created" table_exists audit_log
check_not "column orders.status was not added" column_exists orders status
check_eq "$(registry_changes)" "$registry_before" "registry rows"

begin "the script put back"
deploy "$PLAN_DIR/v2.yml" 2.0
check_rc 0 "deploy-stage 2.0 with the original script"
check "column orders.status exists" column_exists orders status
check_eq "$(registry_changes)" "$registry_before orders-status:deployed" "registry rows"
db_cmd status "$PLAN_DIR/v2.yml"
check_rc 0 "db status"
check_not "db status flags a drift" grep -qF "[DRIFT]" "$OUT.stdout"

db_finish
