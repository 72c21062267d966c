#!/usr/bin/env bash
# `shipgate db status` and `shipgate db plan` (docs/database.md, "Commands"),
# on a real PostgreSQL:
#   1. An empty database: status exits 0 and lists both v1 changes as
#      pending; `db plan` exits 0, prints the dump and each script path in
#      order (customers-table's deploy and verify before orders-table's)
#      with the client (psql), and changes nothing: no table, no registry.
#   2. After 1.0, with the v2 plan: status shows the two applied changes
#      (with version 1.0) and the two pending ones; `db plan` prints only the
#      pending changes' scripts, in order, and what a failure would revert
#      (newest first); nothing changes.
#   3. After 2.0: `db plan --rollback` prints the revert scripts of the 2.0
#      changes, newest first, and not those of 1.0; nothing changes.
#   4. A database that cannot be reached: status exits 3 and names the
#      database; a connection variable that is not set: an error naming it.
#
#   bash tests/integration/db/status_plan.sh PATH/TO/shipgate
# shellcheck disable=SC2034 # DB_URL and SG_ENV are read by lib.sh
source "$(dirname "$0")/lib.sh"

db_setup 1.0 2.0
db_plan "$PLAN_DIR/v1.yml" customers-table orders-table
db_plan "$PLAN_DIR/v2.yml" customers-table orders-table orders-status orders-status-index
# line_no FILE FIXED_TEXT: the number of the first line holding it (empty if none).
line_no() { grep -nF -- "$2" "$1" | head -n 1 | cut -d: -f1; }
# in_order FILE TEXT...: each TEXT is on a line after the previous one's.
in_order() {
  local file="$1" last=0 n
  shift
  for text in "$@"; do
    n="$(line_no "$file" "$text")"
    [[ -n "$n" && "$n" -gt "$last" ]] || { echo "    '$text' is not after line $last of $(basename "$file")" >&2; return 1; }
    last="$n"
  done
}
database_state() { # everything a db command must not change
  q "SELECT coalesce(string_agg(n.nspname || '.' || c.relname, ',' ORDER BY n.nspname, c.relname), '')
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')"
  q "SELECT coalesce(string_agg(nspname, ',' ORDER BY nspname), '') FROM pg_namespace"
  registry_exists && q "SELECT count(*) FROM shipgate.events"
}

begin "an empty database"
state_before="$(database_state)"
db_cmd status "$PLAN_DIR/v1.yml"
check_rc 0 "db status"
check "status lists customers-table" grep -qF customers-table "$OUT.stdout"
check "status lists orders-table" grep -qF orders-table "$OUT.stdout"
check "status says they are pending" grep -qi pending "$OUT.stdout"
db_cmd plan "$PLAN_DIR/v1.yml"
check_rc 0 "db plan"
cp "$OUT.stdout" "$WORK/plan-v1.txt"
check "db plan prints the scripts in order" in_order "$WORK/plan-v1.txt" \
  sql/customers-table/deploy.sql sql/customers-table/verify.sql sql/orders-table/deploy.sql sql/orders-table/verify.sql
check "db plan prints the client" grep -qF psql "$WORK/plan-v1.txt"
check "db plan prints the dump" grep -qF pg_dump "$WORK/plan-v1.txt"
check "db plan prints the dump before the first script" in_order "$WORK/plan-v1.txt" pg_dump sql/customers-table/deploy.sql
check_not "table customers exists after db plan" table_exists customers
check_eq "$(database_state)" "$state_before" "the database after db status and db plan"

begin "after 1.0, with the v2 plan"
deploy "$PLAN_DIR/v1.yml" 1.0
check_rc 0 "deploy-stage 1.0"
state_before="$(database_state)"
db_cmd status "$PLAN_DIR/v2.yml" --json "$WORK/status.json"
check_rc 0 "db status"
check "status shows customers-table with version 1.0" grep -qE "customers-table.*1\.0" "$OUT.stdout"
check "status shows orders-table with version 1.0" grep -qE "orders-table.*1\.0" "$OUT.stdout"
check "status lists orders-status after the applied ones" in_order "$OUT.stdout" orders-table orders-status orders-status-index
check_not "status shows orders-status with a version" grep -qE "orders-status .*1\.0" "$OUT.stdout"
check_json "$WORK/status.json" '[.. | strings | select(. == "orders-status-index")] | length > 0' true "status --json names the pending change"
db_cmd plan "$PLAN_DIR/v2.yml"
check_rc 0 "db plan"
cp "$OUT.stdout" "$WORK/plan-v2.txt"
check "db plan prints the pending scripts in order" in_order "$WORK/plan-v2.txt" \
  sql/orders-status/deploy.sql sql/orders-status/verify.sql sql/orders-status-index/deploy.sql sql/orders-status-index/verify.sql
check_not "db plan prints the applied customers-table's deploy" grep -qF sql/customers-table/deploy.sql "$WORK/plan-v2.txt"
check "db plan prints what a failure would revert, newest first" \
  grep -qiE "revert.*orders-status-index.*orders-status([^-]|$)" "$WORK/plan-v2.txt"
check_eq "$(database_state)" "$state_before" "the database after db status and db plan"
check_not "column orders.status exists after db plan" column_exists orders status

begin "after 2.0: db plan --rollback"
deploy "$PLAN_DIR/v2.yml" 2.0
check_rc 0 "deploy-stage 2.0"
state_before="$(database_state)"
db_cmd plan "$PLAN_DIR/v2.yml" --rollback
check_rc 0 "db plan --rollback"
cp "$OUT.stdout" "$WORK/plan-rollback.txt"
check "db plan --rollback prints the reverts newest first" in_order "$WORK/plan-rollback.txt" \
  sql/orders-status-index/revert.sql sql/orders-status/revert.sql
check_not "db plan --rollback reverts orders-table" grep -qF sql/orders-table/revert.sql "$WORK/plan-rollback.txt"
db_cmd plan "$PLAN_DIR/v2.yml" --rollback --to 1.0
check_rc 0 "db plan --rollback --to 1.0"
check "db plan --rollback --to 1.0 prints the same reverts" in_order "$OUT.stdout" \
  sql/orders-status-index/revert.sql sql/orders-status/revert.sql
check "column orders.status is still there" column_exists orders status
check_eq "$(database_state)" "$state_before" "the database after db plan --rollback"

begin "a database that cannot be reached"
dead_port="$(pg_free_port)"
SG_ENV=(ORDERS_DATABASE_URL="postgresql://app:$PG_PASSWORD_ESCAPED@127.0.0.1:$dead_port/orders")
db_cmd status "$PLAN_DIR/v2.yml"
check_rc 3 "db status of an unreachable database"
check_output "the error names the database" "orders"
SG_ENV=()
DB_URL_SAVED="$DB_URL"
DB_URL=""
plan_vars
RUNS=$((RUNS + 1))
OUT="$WORK/run$RUNS"
(exec 2>"$OUT.stderr"; env -i PATH="$PATH" HOME="${HOME:-/root}" LANG=C.UTF-8 TZ=UTC \
  timeout 60 "$SHIPGATE" db status --ci none --plan "$PLAN_DIR/v2.yml" --env test "${PLAN_VARS[@]}" </dev/null >"$OUT.stdout")
RC=$?
DB_URL="$DB_URL_SAVED"
check_not "db status without ORDERS_DATABASE_URL exits 0" test "$RC" = 0
check_output "the error names the variable" "ORDERS_DATABASE_URL"

db_finish
