#!/usr/bin/env bash
# Backups with `verify-restore: true` (docs/database.md, "Backups" and step
# 2), on a real PostgreSQL that logs every statement with its database:
#   1. 1.0 applies customers-table and orders-table; 2.0 adds orders-status.
#      Before 2.0's changes the dump is taken and restored into a scratch
#      database shipgate_restore_<run>, where the verify scripts of
#      customers-table and orders-table run; the scratch database is dropped.
#      The dump is under backups/<release>/db-orders.dump, non-empty, and its
#      size and sha256 are in the result's and the ledger's `backups`; it is
#      the database before 2.0 (no orders.status in it).
#   2. 3.0 adds orders-idle-timeout, an ALTER DATABASE ... SET. pg_dump does
#      not carry database settings into another database, so that change's
#      verify passes on the live database and fails on a restore of its dump
#      (the test shows both by hand first).
#   3. 4.0 adds orders-coupon: the restore check runs orders-idle-timeout's
#      verify on the scratch database, it fails, and the deploy stops before
#      anything changed: exit non-zero naming the change, no coupon column,
#      the registry and the apps as they were, the scratch database dropped.
#
#   bash tests/integration/db/restore.sh PATH/TO/shipgate
export PG_LOG_STATEMENT=all
source "$(dirname "$0")/lib.sh"

db_setup 1.0 2.0 3.0 4.0
db_plan "$PLAN_DIR/v1.yml" --verify-restore customers-table orders-table
db_plan "$PLAN_DIR/v2.yml" --verify-restore customers-table orders-table orders-status
db_plan "$PLAN_DIR/v3.yml" --verify-restore customers-table orders-table orders-status orders-idle-timeout
db_plan "$PLAN_DIR/v4.yml" --verify-restore customers-table orders-table orders-status orders-idle-timeout orders-coupon
scratch_dbs() { pg_sql postgres "SELECT coalesce(string_agg(datname, ' '), '') FROM pg_database WHERE datname LIKE 'shipgate_restore%'"; }
# log_since LINE: the server log after its first LINE lines.
log_since() { tail -n +"$(($1 + 1))" "$PG_LOG"; }

begin "1.0"
deploy "$PLAN_DIR/v1.yml" 1.0 --json "$WORK/v1.json"
check_rc 0 "deploy-stage 1.0 (verify-restore on a database without changes yet)"
check_eq "$(scratch_dbs)" "" "scratch databases left"

begin "2.0: dump, restore check, changes"
log_mark="$(wc -l <"$PG_LOG")"
deploy "$PLAN_DIR/v2.yml" 2.0 --json "$WORK/v2.json"
check_rc 0 "deploy-stage 2.0"
check "column orders.status exists" column_exists orders status
scratch="$(log_since "$log_mark" | grep -oE 'CREATE DATABASE "?shipgate_restore_[A-Za-z0-9_]+' | head -n 1 | grep -oE 'shipgate_restore_[A-Za-z0-9_]+')"
check "a scratch database shipgate_restore_<run> was created (server log)" test -n "$scratch"
if [[ -n "$scratch" ]]; then
  check "the scratch database was dropped (server log)" grep -qE "DROP DATABASE (IF EXISTS )?\"?$scratch" <(log_since "$log_mark")
  # Lines of the log start "<date> <time> <zone> [pid] <database> <user>".
  check "the verify of customers-table ran in $scratch" \
    grep -qE "\] $scratch [^ ]+ .*SELECT 1/\(count\(\*\) = 3\)::int FROM customers;" <(log_since "$log_mark")
  check "the verify of orders-table ran in $scratch" \
    grep -qE "\] $scratch [^ ]+ .*SELECT 1/\(count\(\*\) = 3\)::int FROM orders;" <(log_since "$log_mark")
  log_since "$log_mark" >"$WORK/server-2.0.log"
  created="$(grep -n "CREATE DATABASE \"\?$scratch" "$WORK/server-2.0.log" | head -n 1 | cut -d: -f1)"
  altered="$(grep -n "ALTER TABLE orders ADD COLUMN status" "$WORK/server-2.0.log" | head -n 1 | cut -d: -f1)"
  check "the restore check ran before the change (scratch created on log line $created, status added on line $altered)" \
    test -n "$created" -a -n "$altered" -a "${created:-0}" -lt "${altered:-0}"
fi
check_eq "$(scratch_dbs)" "" "scratch databases left"
dump="$(jq -r '[.backups[]? | select(.file | endswith("db-orders.dump"))][0].file // empty' "$WORK/v2.json")"
check "the result's backups name db-orders.dump" test -n "$dump"
if [[ -n "$dump" ]]; then
  [[ "$dump" == /* ]] || dump="$WEB/$dump"
  check "the dump is non-empty" test -s "$dump"
  check "the dump is under backups/<release of 2.0>/" bash -c '[[ "$1" == */backups/"$2"/db-orders.dump ]]' _ "$dump" "$(release_of 2.0)"
  sum="$(sha256sum "$dump" | cut -d' ' -f1)"
  check_json "$WORK/v2.json" '[.backups[] | select(.file | endswith("db-orders.dump")) | [.sha256, (.bytes // .size)]][0]' \
    "[\"$sum\",$(stat -c %s "$dump")]" "the dump's sha256 and size in the result"
  check_json "$(ledger_array)" '[.[-1].backups[]? | select(.file | endswith("db-orders.dump")) | .sha256][0]' "\"$sum\"" \
    "the dump's sha256 in the ledger"
  check_json "$WORK/v2.json" '[.backups[] | select(.file | endswith("db-orders.dump")) | .restore_verified][0]' true \
    "the result says the restore was verified"
  schema_of_dump="$(pg_restore --schema-only -t orders -f - "$dump" 2>/dev/null)"
  check "the dump holds table orders" grep -q "CREATE TABLE public.orders" <<<"$schema_of_dump"
  check_not "the dump was taken before orders-status (no status column in it)" grep -qw status <<<"$schema_of_dump"
fi

begin "3.0: a database setting (a dump does not carry it)"
deploy "$PLAN_DIR/v3.yml" 3.0
check_rc 0 "deploy-stage 3.0"
verify_as_app() { # DB: runs orders-idle-timeout's verify as the app role
  env -i PATH="$PATH" psql -X -q "$(pg_url "$1")" -v ON_ERROR_STOP=1 \
    -f "$PLAN_DIR/sql/orders-idle-timeout/verify.sql" >/dev/null 2>&1
}
check "orders-idle-timeout's verify passes on the live database" verify_as_app orders
pg_sql postgres "CREATE DATABASE by_hand OWNER app" >/dev/null
env -i PATH="$PATH" pg_dump -Fc -f "$WORK/by-hand.dump" "$(pg_url orders)"
env -i PATH="$PATH" pg_restore --no-owner -d "$(pg_url by_hand)" "$WORK/by-hand.dump" 2>/dev/null
check "the restored copy made by hand has the orders" test "$(pg_sql by_hand 'SELECT count(*) FROM orders')" = 3
check_not "orders-idle-timeout's verify passes on that restored copy" verify_as_app by_hand
pg_sql postgres "DROP DATABASE by_hand" >/dev/null
rm -f "$WORK/by-hand.dump"

begin "4.0: the restore check fails"
registry_before="$(registry_changes)"
r30="$(live_release)"
log_mark="$(wc -l <"$PG_LOG")"
deploy "$PLAN_DIR/v4.yml" 4.0 --json "$WORK/v4.json"
check_not "deploy-stage 4.0 succeeded although its backup does not restore to a verified state" test "$RC" = 0
check_not "deploy-stage 4.0 exit 5 (nothing had changed)" test "$RC" = 5
check_output "the failure names the change whose verify failed on the restored copy" "orders-idle-timeout"
check_not "column orders.coupon was not added" column_exists orders coupon
check_eq "$(registry_changes)" "$registry_before" "registry rows"
check_eq "$(q "SELECT count(*) FROM shipgate.events WHERE change_id = 'orders-coupon'")" 0 "events of orders-coupon"
check_eq "$(live_release)" "$r30" "live release"
check "a scratch database was created for the check" grep -q "CREATE DATABASE \"\\?shipgate_restore_" <(log_since "$log_mark")
check_eq "$(scratch_dbs)" "" "scratch databases left after the failed check"

db_finish
