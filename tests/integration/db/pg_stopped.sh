#!/usr/bin/env bash
# PostgreSQL stopped in the middle of a release's database changes
# (docs/database.md, "Server lost mid-change"), on a real server stopped
# with `pg_ctl stop -m fast` while one of shipgate's scripts waits (the
# database parameter shipgate_test.pause_seconds):
#
#   1. 1.0 applies customers-table, orders-table. 1.5 adds one change whose
#      deploy script waits; the server stops: exit 1 (nothing of the run was
#      applied), the message names the change and the lost server, the apps
#      untouched, the ledger records `failed`; with the server back its row
#      is `deploying` and its column absent.
#   2. 2.0 adds orders-status, orders-status-index (whose deploy script
#      waits) and orders-coupon; the server stops while orders-status-index
#      runs. deploy-stage exits 5 (orders-status, applied by this run,
#      cannot be reverted), names the change that was running, the lost
#      server and the change that stays applied; the applications were
#      never touched, the ledger records rollback-failed with orders-status
#      applied, the lock is released.
#   3. While the server is down: `db status` exits 3, and a deploy-stage is
#      refused in pre-flight (exit 4) with the applications still on 1.0.
#   4. The server is back: the registry shows the truth (orders-status
#      applied and orders.status in place; orders-status-index deploying but
#      no index; orders-coupon never ran; 1.5's row settled away), and
#      `db status` says so. 2.0 again settles the interrupted rows and
#      applies the three changes: one registry row each, deployed;
#      orders-status-index and orders-coupon deployed exactly once,
#      orders-status once more after its revert; the objects exist, the apps
#      are on 2.0.
#   5. A rollback to 1.0, with orders-coupon's revert script waiting: the
#      server stops during it; exit 5 naming the change and the lost server,
#      the applications already back on 1.0 (apps-first), the registry row
#      `reverting` and the column still there. With the server back, the
#      next rollback finishes the job: the three changes reverted once each,
#      the registry back at orders-table.
#   Throughout, the connection string's password is in no output or file.
#
#   bash tests/integration/db/pg_stopped.sh PATH/TO/shipgate
source "$(dirname "$0")/lib.sh"

# Every check printed as "ok - …" / "not ok - …" (lib.sh's checks only
# count and report failures).
say_ok() { PASSED=$((PASSED + 1)); echo "ok - [$SCENARIO] $1"; }
say_bad() { FAILED=$((FAILED + 1)); echo "not ok - [$SCENARIO] $1"; }
check() { local what="$1"; shift; if "$@"; then say_ok "$what"; else say_bad "$what"; fi; }
check_not() { local what="$1"; shift; if "$@"; then say_bad "$what"; else say_ok "$what"; fi; }
check_eq() { if [[ "$1" == "$2" ]]; then say_ok "$3"; else say_bad "$3: got '$1', expected '$2'"; fi; }
check_json() { check_eq "$(jq -c "$2" "$1" 2>&1)" "$3" "$4"; }
check_rc() {
  if [[ "$RC" == "$1" ]]; then
    say_ok "$2 (exit $RC)"
  else
    say_bad "$2: exit $RC, expected $1"
    sed 's/^/    stdout| /' "$OUT.stdout" | head -n 30
    sed 's/^/    stderr| /' "$OUT.stderr" | tail -n 15
  fi
}
check_output() {
  if grep -qF -- "$2" "$OUT.stdout" "$OUT.stderr"; then say_ok "$1"; else say_bad "$1: '$2' is not in the output"; fi
}

db_setup 1.0 1.5 2.0
db_plan "$PLAN_DIR/v1.yml" customers-table orders-table
# 1.5's only change waits before it adds a column.
mkdir -p "$PLAN_DIR/sql/orders-slow-note"
echo "SELECT pg_sleep(coalesce(nullif(current_setting('shipgate_test.pause_seconds', true), ''), '0')::float8);
ALTER TABLE orders ADD COLUMN slow_note text;" >"$PLAN_DIR/sql/orders-slow-note/deploy.sql"
echo "SELECT slow_note FROM orders LIMIT 0;" >"$PLAN_DIR/sql/orders-slow-note/verify.sql"
echo "ALTER TABLE orders DROP COLUMN slow_note;" >"$PLAN_DIR/sql/orders-slow-note/revert.sql"
db_plan "$PLAN_DIR/v15.yml" customers-table orders-table orders-slow-note
db_plan "$PLAN_DIR/v2.yml" customers-table orders-table orders-status orders-status-index orders-coupon

waiting() { q "SELECT count(*) FROM pg_stat_activity WHERE datname = 'orders' AND query LIKE '%pg_sleep%' AND pid <> pg_backend_pid()"; }
script_waits() { [[ "$(waiting)" -ge 1 ]]; }
wait_until() { # SECONDS COMMAND...
  local tries=$(($1 * 10))
  shift
  while ((tries-- > 0)); do
    "$@" && return 0
    sleep 0.1
  done
  return 1
}
pause_scripts() { pg_sql postgres "ALTER DATABASE orders SET shipgate_test.pause_seconds = '$1'" >/dev/null; }
# A fast shutdown: the server ends every connection (rolling back their
# transactions) and stops; what an operator's restart or a failover does.
stop_server() { pg_as_server_user "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -s -w -t 30 stop -m fast; }
# run_while_server_stops ARGS...: shipgate ARGS in the background; once a
# script waits in pg_sleep, the server is stopped; RC is shipgate's exit code.
run_while_server_stops() {
  sg_background "$@"
  local job="$BG_PID"
  if wait_until 60 script_waits; then
    say_ok "a script waits in the database"
    check "the server stopped (pg_ctl stop -m fast)" stop_server
  else
    say_bad "no script of shipgate ever waited in the database"
    sed 's/^/    stderr| /' "$OUT.stderr" | tail -n 20
  fi
  RC=0
  wait "$job" || RC=$?
}
events_count() { # CHANGE EVENT [RUN_ID]
  q "SELECT count(*) FROM shipgate.events WHERE change_id = '$1' AND event = '$2'${3:+ AND run_id = '$3'}"
}
no_lock() { [[ ! -e "$WEB/.shipgate/lock" ]]; }
last_entry() { tail -n 1 "$(ledger_file)" | jq -c "$1"; }
plan_vars

# ---------------------------------------------------------------- 1. during a deploy

begin "1.0"
deploy "$PLAN_DIR/v1.yml" 1.0
check_rc 0 "deploy-stage 1.0"
r10="$(live_release)"

begin "1.5: the server stops while its first new change runs"
apps_before="$(app_line_count)"
pause_scripts 60
run_while_server_stops deploy-stage --plan "$PLAN_DIR/v15.yml" --env test --version 1.5 \
  --artifact "$ART/app-1.5.tar.gz" "${PLAN_VARS[@]}" --json "$WORK/first.json"
check_rc 1 "deploy-stage 1.5 (nothing of this run was applied: docs/database.md)"
check_output "the message names the change that was running" "the deploy script of change orders-slow-note failed"
check_output "the message says the server's connection was lost" "the connection to the server of database orders was lost"
check_json "$WORK/first.json" '[.exit_code, .outcome, .rolled_back]' '[1,"failed",false]' "--json exit_code, outcome, rolled_back"
check_eq "$(live_version)" 1.0 "live version"
check_eq "$(app_line_count)" "$apps_before" "starts and restarts of the application"
check_eq "$(last_entry '[.event, .outcome, .version]')" '["deploy","failed","1.5"]' "the ledger's entry"
check "the lock is released" no_lock
check "the server starts again" pg_restart
check_eq "$(registry_changes)" "customers-table:deployed orders-table:deployed orders-slow-note:deploying" "registry rows"
check_not "no column orders.slow_note (its transaction was rolled back)" column_exists orders slow_note

begin "2.0: the server stops while orders-status-index's deploy script runs"
pause_scripts 60
run_while_server_stops deploy-stage --plan "$PLAN_DIR/v2.yml" --env test --version 2.0 \
  --artifact "$ART/app-2.0.tar.gz" "${PLAN_VARS[@]}" --json "$WORK/stopped.json"
check_rc 5 "deploy-stage 2.0 (orders-status, applied by this run, cannot be reverted: docs/database.md)"
check_output "the message names the change that was running" "the deploy script of change orders-status-index failed"
check_output "the message says the server's connection was lost" "the connection to the server of database orders was lost"
check_output "the message names the change that stays applied" "cannot revert orders-status, applied by this run"
check_output "the message says what happens next" "the next deploy-stage or rollback settles what this run left"
check_json "$WORK/stopped.json" '[.exit_code, .outcome, .rolled_back]' '[5,"rollback-failed",false]' "--json exit_code, outcome, rolled_back"
check_json "$WORK/stopped.json" '.databases.orders.applied' '["orders-status"]' "--json: what this run applied"
check_json "$WORK/stopped.json" '[.actions[] | select(.status == "fail") | .id]' '["db/orders/deploy/orders-status-index"]' "--json: the failed check"
check_eq "$(live_release)" "$r10" "live release (the applications come after the databases)"
check_eq "$(live_version)" 1.0 "live version"
check_eq "$(app_line_count)" "$apps_before" "starts and restarts of the application"
check_eq "$(last_entry '[.event, .outcome, .version, .databases.orders.applied]')" '["deploy","rollback-failed","2.0",["orders-status"]]' \
  "the ledger's entry"
check "the lock is released" no_lock

# ---------------------------------------------------------------- 2. while it is down

begin "while the server is down"
db_cmd status "$PLAN_DIR/v2.yml"
check_rc 3 "db status"
check_output "db status says it cannot connect" "cannot connect to the database"
deploy "$PLAN_DIR/v2.yml" 2.0
check_rc 4 "deploy-stage 2.0 (pre-flight: the database cannot be reached)"
check_output "the refusal names the database" "database orders"
check_eq "$(live_version)" 1.0 "live version"
check_eq "$(app_line_count)" "$apps_before" "starts and restarts of the application"

# ---------------------------------------------------------------- 3. back

begin "the server is back"
check "the server starts again" pg_restart
pause_scripts 0
check_eq "$(registry_changes)" \
  "customers-table:deployed orders-table:deployed orders-status:applied orders-status-index:deploying" "registry rows"
check "orders.status is in place (its transaction committed before the stop)" column_exists orders status
check_not "no index orders_status_idx (its transaction was rolled back)" index_exists orders_status_idx
check_not "no column orders.coupon (its change never ran)" column_exists orders coupon
check_eq "$(q "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")" 0 "advisory locks left"
db_cmd status "$PLAN_DIR/v2.yml" --json "$WORK/status.json"
check_rc 0 "db status"
check_json "$WORK/status.json" '.databases[0].head' '"orders-table"' "db status: head"
check_json "$WORK/status.json" '[.databases[0].unsettled[] | .id + ":" + .state]' \
  '["orders-status:applied","orders-status-index:deploying"]' "db status: the interrupted run's rows"
check_output "db status flags them" "[INTERRUPTED]"

deploy "$PLAN_DIR/v2.yml" 2.0 --json "$WORK/rerun.json"
check_rc 0 "deploy-stage 2.0 again"
rerun="$(jq -r .run_id "$WORK/rerun.json")"
check_eq "$(registry_changes)" \
  "customers-table:deployed orders-table:deployed orders-status:deployed orders-status-index:deployed orders-coupon:deployed" "registry rows"
check_eq "$(q "SELECT count(*) FROM (SELECT change_id FROM shipgate.changes GROUP BY change_id HAVING count(*) > 1) d")" 0 \
  "changes with more than one registry row"
for change in orders-status orders-status-index orders-coupon; do
  check_eq "$(events_count "$change" deploy "$rerun")" 1 "deploy events of $change in the re-run"
done
check_eq "$(events_count orders-status-index deploy)" 1 "deploy events of orders-status-index in all (the stopped run's never committed)"
check_eq "$(events_count orders-coupon deploy)" 1 "deploy events of orders-coupon in all"
check_eq "$(events_count orders-status revert "$rerun")" 1 "reverts of orders-status when the re-run settled it"
check "orders.status exists" column_exists orders status
check "index orders_status_idx exists" index_exists orders_status_idx
check "orders.coupon exists" column_exists orders coupon
check_eq "$(q "SELECT count(*) FROM orders WHERE coupon IS NOT NULL")" 1 "orders with a coupon"
check_eq "$(live_version)" 2.0 "live version"
check_json "$(ledger_array)" '[.[] | select(.event == "deploy" and .outcome == "succeeded")][-1] | [.version, .databases.orders.head]' \
  '["2.0","orders-coupon"]' "the ledger entry of 2.0"

# ---------------------------------------------------------------- 4. during a rollback

begin "rollback: the server stops while orders-coupon's revert script runs"
revert="$PLAN_DIR/sql/orders-coupon/revert.sql"
{
  echo "SELECT pg_sleep(coalesce(nullif(current_setting('shipgate_test.pause_seconds', true), ''), '0')::float8);"
  cat "$revert"
} >"$WORK/slow-revert.sql"
mv "$WORK/slow-revert.sql" "$revert"
declare -A reverts_before
for change in orders-coupon orders-status-index orders-status; do reverts_before[$change]="$(events_count "$change" revert)"; done
pause_scripts 60
run_while_server_stops rollback --plan "$PLAN_DIR/v2.yml" --env test "${PLAN_VARS[@]}" --json "$WORK/rollback.json"
check_rc 5 "rollback"
check_output "the message names the change" "the revert script of change orders-coupon failed"
check_output "the message says the server's connection was lost" "the connection to the server of database orders was lost"
check_json "$WORK/rollback.json" '[.exit_code, .outcome]' '[5,"rollback-failed"]' "--json exit_code, outcome"
check_eq "$(live_version)" 1.0 "live version (apps-first: switched back before the databases)"
check_json "$(ledger_array)" '[.[] | select(.event == "rollback")][-1] | [.outcome, .version]' '["rollback-failed","1.0"]' "the ledger's rollback entry"
check "the lock is released" no_lock
check "the server starts again" pg_restart
pause_scripts 0
check_eq "$(registry_changes)" \
  "customers-table:deployed orders-table:deployed orders-status:deployed orders-status-index:deployed orders-coupon:reverting" "registry rows"
check "orders.coupon is still there (the revert's transaction was rolled back)" column_exists orders coupon
rollback "$PLAN_DIR/v2.yml" --json "$WORK/rollback-again.json"
check_rc 0 "the next rollback"
check_eq "$(live_version)" 1.0 "live version"
check "registry rows after the next rollback: $(registry_changes)" \
  test "$(registry_changes)" == "customers-table:deployed orders-table:deployed"
schema_of_1_0() { ! column_exists orders coupon && ! index_exists orders_status_idx && ! column_exists orders status; }
check "orders.coupon, index orders_status_idx and orders.status are gone" schema_of_1_0
for change in orders-coupon orders-status-index orders-status; do
  check "revert events of $change since the rollback began: one" \
    test "$(($(events_count "$change" revert) - ${reverts_before[$change]}))" == 1
done

db_finish
