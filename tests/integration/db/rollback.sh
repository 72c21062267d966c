#!/usr/bin/env bash
# `shipgate rollback` reverts the changes that came after the release it
# returns to (docs/database.md, "What rollback does"), on a real PostgreSQL:
#   1. 1.0 applies customers-table and orders-table, 2.0 adds orders-status
#      and orders-status-index. rollback: exactly the two 2.0 changes are
#      reverted, newest first (the index, then the column), the v1 tables and
#      their data stay, the verify of the new head runs, the applications are
#      back on 1.0, and the ledger's rollback entry names the head
#      orders-table. With the default rollback_order (apps-first for
#      before-apps) the application restarted before the revert: it still
#      saw orders.status.
#   2. 3.0 (same changes as 2.0) re-applies them; a rollback with
#      rollback_order: db-first reverts them before the switch: the
#      application's restart no longer saw orders.status.
#
#   bash tests/integration/db/rollback.sh PATH/TO/shipgate
source "$(dirname "$0")/lib.sh"

db_setup 1.0 2.0 3.0
db_plan "$PLAN_DIR/v1.yml" customers-table orders-table
db_plan "$PLAN_DIR/v2.yml" customers-table orders-table orders-status orders-status-index
db_plan "$PLAN_DIR/v2-db-first.yml" --rollback-order db-first customers-table orders-table orders-status orders-status-index

begin "1.0 then 2.0"
deploy "$PLAN_DIR/v1.yml" 1.0
check_rc 0 "deploy-stage 1.0"
r10="$(release_of 1.0)"
deploy "$PLAN_DIR/v2.yml" 2.0
check_rc 0 "deploy-stage 2.0"
check "column orders.status exists after 2.0" column_exists orders status
check "index orders_status_idx exists after 2.0" index_exists orders_status_idx
check_eq "$(registry_changes)" \
  "customers-table:deployed orders-table:deployed orders-status:deployed orders-status-index:deployed" "registry after 2.0"

begin "rollback to 1.0 (apps-first)"
lines_before="$(app_line_count)"
rollback "$PLAN_DIR/v2.yml" --reason "status column breaks the export" --json "$WORK/rollback.json"
check_rc 0 "rollback"
check_not "column orders.status is gone" column_exists orders status
check_not "index orders_status_idx is gone" index_exists orders_status_idx
check "table orders is still there" table_exists orders
check_eq "$(q "SELECT string_agg(notes, ';' ORDER BY id) FROM orders")" \
  "first order of Ada;first order of Grace;first order of Linus" "the v1 data"
check_eq "$(q "SELECT coalesce(string_agg(change_id, ' ' ORDER BY seq), '') FROM shipgate.changes WHERE state IN ('deploying', 'applied', 'deployed', 'reverting')")" \
  "customers-table orders-table" "changes the registry holds as applied"
check_eq "$(revert_order)" "orders-status-index orders-status" "revert events, in order"
check_eq "$(q "SELECT count(*) FROM shipgate.events WHERE event = 'revert' AND change_id IN ('customers-table', 'orders-table')")" 0 \
  "reverts of the 1.0 changes"
check_eq "$(q "SELECT count(*) > 0 FROM shipgate.events WHERE change_id = 'orders-table' AND event = 'verify' AND at >= (SELECT max(at) FROM shipgate.events WHERE event = 'revert')")" t \
  "the verify of the new head (orders-table) ran after the reverts"
check_json "$WORK/rollback.json" '[.actions[].id] | (map(endswith("verify/orders-table")) | rindex(true)) > (map(endswith("revert/orders-status")) | index(true))' true \
  "the result shows the verify of orders-table after the revert of orders-status"
check_eq "$(live_release)" "$r10" "live release"
check_eq "$(live_version)" 1.0 "live version"
check_json "$(ledger_array)" '[.[] | select(.event == "rollback")][-1] | [.outcome, .version, .databases.orders.head]' \
  '["succeeded","1.0","orders-table"]' "the ledger's rollback entry"
restart_line="$(tail -n +"$((lines_before + 1))" "$ROOT/events.log" | grep -m1 "$r10")"
check "the application was switched back before the revert (apps-first): it saw orders.status ('$restart_line')" \
  grep -q "orders\.status" <<<"$restart_line"

begin "3.0 then rollback with rollback_order: db-first"
deploy "$PLAN_DIR/v2.yml" 3.0
check_rc 0 "deploy-stage 3.0"
check "column orders.status exists again after 3.0" column_exists orders status
check_eq "$(q "SELECT string_agg(DISTINCT release_version, ' ') FROM shipgate.changes WHERE change_id IN ('orders-status', 'orders-status-index') AND state = 'deployed'")" \
  3.0 "release_version of the re-applied changes"
lines_before="$(app_line_count)"
rollback "$PLAN_DIR/v2-db-first.yml"
check_rc 0 "rollback (db-first)"
check_not "column orders.status is gone" column_exists orders status
check_not "index orders_status_idx is gone" index_exists orders_status_idx
check_eq "$(live_version)" 1.0 "live version (2.0 was marked bad)"
restart_line="$(tail -n +"$((lines_before + 1))" "$ROOT/events.log" | grep -m1 "$r10")"
check "the application was switched back after the revert (db-first): it did not see orders.status ('$restart_line')" \
  bash -c '[[ -n "$1" && "$1" == *orders.notes* && "$1" != *orders.status* ]]' _ "$restart_line"

db_finish
