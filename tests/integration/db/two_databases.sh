#!/usr/bin/env bash
# Two databases in one plan (docs/database.md), on a real PostgreSQL:
# `orders` (before the applications, the default) and `audit` (after them,
# so reverted before them on rollback), each with its own registry.
#   1. 1.0: both databases get their changes; the ledger names both heads.
#   2. 2.0: orders gets orders-status before the apps, then audit's
#      audit-log fails its verify after the apps went live: audit-log is
#      reverted, the apps go back to 1.0, and orders-status is reverted too;
#      exit 1, 2.0 marked bad.
#   3. 3.0: orders-status in orders, orders-table in audit: live. Rollback
#      to 1.0 reverts exactly those two, each in its own database.
#
#   bash tests/integration/db/two_databases.sh PATH/TO/shipgate
source "$(dirname "$0")/lib.sh"

db_setup 1.0 2.0 3.0
pg_create_db audit >/dev/null || setup_failed "cannot create the database audit"
SG_ENV=(AUDIT_DATABASE_URL="$(pg_url audit)")
qa() { pg_sql audit "$1"; }
audit_table_exists() { [[ "$(qa "SELECT to_regclass('public.$1') IS NOT NULL")" == t ]]; }
# two_plan FILE "ORDERS CHANGES" "AUDIT CHANGES": the orders plan of
# db_plan with a second database appended.
two_plan() {
  local file="$1" change script
  # shellcheck disable=SC2086 # the change lists split on purpose
  db_plan "$file" $2
  {
    printf '  - name: audit\n    connection_env: AUDIT_DATABASE_URL\n    order: after-apps\n    changes:\n'
    for change in $3; do
      printf '      - id: %s\n' "$change"
      for script in deploy verify revert; do
        [[ -f "$PLAN_DIR/sql/$change/$script.sql" ]] && printf '        %s: sql/%s/%s.sql\n' "$script" "$change" "$script"
      done
    done
  } >>"$file"
}
two_plan "$PLAN_DIR/v1.yml" "customers-table orders-table" "customers-table"
two_plan "$PLAN_DIR/v2.yml" "customers-table orders-table orders-status" "customers-table audit-log"
two_plan "$PLAN_DIR/v3.yml" "customers-table orders-table orders-status" "customers-table orders-table"
audit_changes() { qa "SELECT coalesce(string_agg(change_id || ':' || state, ' ' ORDER BY seq), '') FROM shipgate.changes"; }

begin "1.0 to both databases"
deploy "$PLAN_DIR/v1.yml" 1.0 --json "$WORK/v1.json"
check_rc 0 "deploy-stage 1.0"
check_eq "$(registry_changes)" "customers-table:deployed orders-table:deployed" "orders registry"
check_eq "$(audit_changes)" "customers-table:deployed" "audit registry"
check "table customers exists in audit" audit_table_exists customers
check_not "table orders does not exist in audit" audit_table_exists orders
check_json "$(ledger_array)" '.[-1].databases | [.orders.head, .audit.head]' '["orders-table","customers-table"]' \
  "the ledger names both heads"

begin "2.0: audit fails after the apps went live"
deploy "$PLAN_DIR/v2.yml" 2.0 --json "$WORK/v2.json"
check_rc 1 "deploy-stage 2.0"
check_output "the failure names audit-log" "audit-log"
check_not "table audit_log is gone from audit" audit_table_exists audit_log
check_not "column orders.status is gone from orders (reverted with the run)" column_exists orders status
check_eq "$(registry_changes)" "customers-table:deployed orders-table:deployed" "orders registry"
check_eq "$(audit_changes)" "customers-table:deployed" "audit registry"
check_eq "$(live_version)" 1.0 "live version"
check_json "$WORK/v2.json" '[.outcome, .marked_bad, .databases.orders.reverted, .databases.audit.reverted]' \
  '["rolled-back",true,["orders-status"],["audit-log"]]' "--json"
check "the apps started on 2.0 before audit's changes (after-apps)" grep -q -- "-2\.0 " "$ROOT/events.log"

begin "3.0, then rollback to 1.0"
deploy "$PLAN_DIR/v3.yml" 3.0
check_rc 0 "deploy-stage 3.0"
check "table orders exists in audit" audit_table_exists orders
check "column orders.status exists in orders" column_exists orders status
rollback "$PLAN_DIR/v3.yml" --json "$WORK/rollback.json"
check_rc 0 "rollback"
check_not "column orders.status is gone from orders" column_exists orders status
check_not "table orders is gone from audit" audit_table_exists orders
check "table customers is still in audit" audit_table_exists customers
check_eq "$(registry_changes)" "customers-table:deployed orders-table:deployed" "orders registry"
check_eq "$(audit_changes)" "customers-table:deployed" "audit registry"
check_json "$WORK/rollback.json" '[.databases.orders.reverted, .databases.audit.reverted]' \
  '[["orders-status"],["orders-table"]]' "--json"
check_eq "$(live_version)" 1.0 "live version"

db_finish
