#!/usr/bin/env bash
# Irreversible changes (docs/database.md), on a real PostgreSQL:
#   1. 1.0 applies customers-table, orders-table.
#   2. 2.0 adds drop-order-notes (irreversible) and audit-log, whose verify
#      fails: audit-log is reverted, the revert stops at drop-order-notes,
#      which stays applied; the result names it in
#      databases.orders.left_applied and in a warning; exit 1, apps on 1.0.
#   3. 3.0 adds orders-coupon after drop-order-notes: applied.
#   4. rollback to 1.0 would revert drop-order-notes: refused, exit 4, the
#      message names the change and its reason; nothing changed. `db plan
#      --rollback` says the same (exit 4). --force-past-irreversible alone,
#      without --reason, changes nothing either.
#   5. rollback --force-past-irreversible --reason: orders-coupon (newer) is
#      reverted, drop-order-notes stays applied, the apps are on 1.0, the
#      ledger records the reason.
#   6. On a fresh database, 2.0 applies orders-status, then drop-order-notes
#      (irreversible), then audit-log, whose verify fails: the revert undoes
#      audit-log and stops at drop-order-notes, so orders-status, older than
#      it, stays applied too (never reverted from under it), both registered
#      as deployed and named in left_applied.
#
#   bash tests/integration/db/irreversible.sh PATH/TO/shipgate
source "$(dirname "$0")/lib.sh"

db_setup 1.0 2.0 3.0
REASON="drops the notes column and the text in it"
db_plan "$PLAN_DIR/v1.yml" customers-table orders-table
db_plan "$PLAN_DIR/v2.yml" customers-table orders-table drop-order-notes audit-log
db_plan "$PLAN_DIR/v3.yml" customers-table orders-table drop-order-notes orders-coupon
applied_rows() {
  q "SELECT coalesce(string_agg(change_id, ' ' ORDER BY seq), '') FROM shipgate.changes WHERE state IN ('deploying', 'applied', 'deployed', 'reverting')"
}

begin "1.0"
deploy "$PLAN_DIR/v1.yml" 1.0
check_rc 0 "deploy-stage 1.0"
check_eq "$(q "SELECT coalesce(irreversible::text, '') IN ('', 'false') FROM shipgate.changes WHERE change_id = 'orders-table'")" t "orders-table is not irreversible"

begin "2.0 fails after an irreversible change"
deploy "$PLAN_DIR/v2.yml" 2.0 --json "$WORK/v2.json"
check_rc 1 "deploy-stage 2.0"
check_not "table audit_log is gone (reverted)" table_exists audit_log
check_not "column orders.notes stays dropped (irreversible)" column_exists orders notes
check_eq "$(applied_rows)" "customers-table orders-table drop-order-notes" "changes the registry holds as applied"
check_eq "$(revert_order)" "audit-log" "revert events"
check_json "$WORK/v2.json" '.databases.orders.left_applied | map(if type == "object" then (.id // .change_id) else . end)' \
  '["drop-order-notes"]' "left_applied in the result"
check_json "$WORK/v2.json" '[.warnings[]? | select(contains("drop-order-notes"))] | length > 0' true \
  "a warning in the result names drop-order-notes"
check_eq "$(live_version)" 1.0 "live version"
check_eq "$(q "SELECT coalesce(irreversible::text, '') NOT IN ('', 'false') FROM shipgate.changes WHERE change_id = 'drop-order-notes'")" t \
  "drop-order-notes is recorded as irreversible"

begin "3.0 adds orders-coupon"
deploy "$PLAN_DIR/v3.yml" 3.0
check_rc 0 "deploy-stage 3.0"
check "column orders.coupon exists" column_exists orders coupon
check_eq "$(applied_rows)" "customers-table orders-table drop-order-notes orders-coupon" "changes the registry holds as applied"
r30="$(live_release)"

begin "rollback past the irreversible change: refused"
db_cmd plan "$PLAN_DIR/v3.yml" --rollback --to 1.0
check_rc 4 "db plan --rollback --to 1.0"
check_output "db plan names the irreversible change" "drop-order-notes"
rollback "$PLAN_DIR/v3.yml" --to 1.0
check_rc 4 "rollback --to 1.0"
check_output "the refusal names the change" "drop-order-notes"
check_output "the refusal gives its reason" "$REASON"
check_output "the refusal says how to go on" "--force-past-irreversible"
check "column orders.coupon is still there" column_exists orders coupon
check_eq "$(applied_rows)" "customers-table orders-table drop-order-notes orders-coupon" "changes the registry holds as applied"
check_eq "$(live_release)" "$r30" "live release"
rollback "$PLAN_DIR/v3.yml" --to 1.0 --force-past-irreversible
check_not "--force-past-irreversible without --reason is accepted (exit $RC)" test "$RC" = 0
check "column orders.coupon is still there" column_exists orders coupon
check_eq "$(live_release)" "$r30" "live release"

begin "rollback --force-past-irreversible --reason"
rollback "$PLAN_DIR/v3.yml" --to 1.0 --force-past-irreversible --reason "notes were exported to the archive" --json "$WORK/forced.json"
check_rc 0 "the forced rollback"
check_not "column orders.coupon is gone (newer than the irreversible change)" column_exists orders coupon
check_not "column orders.notes is still dropped" column_exists orders notes
check "table orders is still there" table_exists orders
check_eq "$(applied_rows)" "customers-table orders-table drop-order-notes" "changes the registry holds as applied"
check_eq "$(revert_order)" "audit-log orders-coupon" "revert events"
check_eq "$(live_version)" 1.0 "live version"
check_json "$(ledger_array)" '[.[] | select(.event == "rollback")][-1] | [.outcome, (.reason | contains("notes were exported to the archive"))]' \
  '["succeeded",true]' "the ledger's rollback entry records the reason"

begin "a failed run reverts down to its irreversible change, no further"
pg_sql postgres 'DROP DATABASE orders WITH (FORCE)' >/dev/null
pg_create_db orders >/dev/null
rm -rf "$ROOT/test"
db_plan "$PLAN_DIR/v2-status.yml" customers-table orders-table orders-status drop-order-notes audit-log
deploy "$PLAN_DIR/v1.yml" 1.0
check_rc 0 "deploy-stage 1.0 (fresh database)"
deploy "$PLAN_DIR/v2-status.yml" 2.0 --json "$WORK/v2-status.json"
check_rc 1 "deploy-stage 2.0"
check_not "table audit_log is gone (reverted)" table_exists audit_log
check "column orders.status stays (older than the irreversible change)" column_exists orders status
check_not "column orders.notes stays dropped" column_exists orders notes
check_eq "$(q "SELECT string_agg(change_id || ':' || state, ' ' ORDER BY seq) FROM shipgate.changes")" \
  "customers-table:deployed orders-table:deployed orders-status:deployed drop-order-notes:deployed" "registry rows"
check_eq "$(revert_order)" "audit-log" "revert events"
check_json "$WORK/v2-status.json" '.databases.orders.left_applied' '["drop-order-notes","orders-status"]' "left_applied"
check_eq "$(live_version)" 1.0 "live version"

db_finish
