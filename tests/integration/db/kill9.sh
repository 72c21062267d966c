#!/usr/bin/env bash
# kill -9 in the middle of a release's changes, then a re-run that settles
# the registry (docs/database.md, "An interrupted run"), on a real PostgreSQL:
#   1.0 applies customers-table, orders-table. 2.0 adds orders-status and
#   orders-status-index, whose deploy script waits (the database parameter
#   shipgate_test.pause_seconds). While it waits, the whole job (shipgate and
#   its psql, one process group) is killed with SIGKILL, as a CI runner
#   does. Then:
#     - no psql or shipgate process of the job is left, the server ends the
#       dead client's transaction (no index), the advisory lock is gone with
#       the connection; orders.status is in place (committed before the
#       kill); the registry holds orders-status `applied` and
#       orders-status-index `deploying`; the apps are on 1.0;
#     - while the script waited, no process's command line held the password,
#       and a second deploy-stage on the same database (its applications
#       elsewhere) was refused with exit 4: the database's lock is held;
#     - 2.0 again (the pause removed): the interrupted run's rows are settled
#       first (orders-status reverted: a revert event; orders-status-index not
#       in place, so not reverted), then both changes are applied: the
#       registry holds the four changes `deployed`, nothing unsettled, the
#       column and the index exist, the apps are on 2.0 and the ledger names
#       the head orders-status-index.
#
#   bash tests/integration/db/kill9.sh PATH/TO/shipgate
source "$(dirname "$0")/lib.sh"

db_setup 1.0 2.0
db_plan "$PLAN_DIR/v1.yml" customers-table orders-table
db_plan "$PLAN_DIR/v2.yml" customers-table orders-table orders-status orders-status-index
sleeping() { q "SELECT count(*) FROM pg_stat_activity WHERE datname = 'orders' AND query LIKE '%pg_sleep%' AND pid <> pg_backend_pid()"; }
script_waits() { [[ "$(sleeping)" -ge 1 ]]; }
script_gone() { [[ "$(sleeping)" == 0 ]]; }
# The psql running the slow deploy script (anchored on the command, so
# that no shell whose arguments name the script matches).
SCRIPT="$PLAN_DIR/sql/orders-status-index/deploy.sql"
SCRIPT_PSQL="^[^ ]*psql .*$SCRIPT"
script_psql() { pgrep -f -- "$SCRIPT_PSQL" >/dev/null; }
no_script_psql() { ! script_psql; }
wait_until() { # SECONDS COMMAND...
  local tries=$(($1 * 10))
  shift
  while ((tries-- > 0)); do
    "$@" && return 0
    sleep 0.1
  done
  return 1
}

begin "1.0"
deploy "$PLAN_DIR/v1.yml" 1.0
check_rc 0 "deploy-stage 1.0"
r10="$(live_release)"

begin "2.0 killed while orders-status-index runs"
pg_sql postgres "ALTER DATABASE orders SET shipgate_test.pause_seconds = '60'" >/dev/null
plan_vars
sg_background deploy-stage --plan "$PLAN_DIR/v2.yml" --env test --version 2.0 --artifact "$ART/app-2.0.tar.gz" "${PLAN_VARS[@]}"
job="$BG_PID"
if ! wait_until 60 script_waits; then
  bad "the deploy script of orders-status-index never started waiting"
  sed 's/^/    stderr| /' "$OUT.stderr" | tail -n 20 >&2
else
  ok
  check "a psql runs the deploy script" script_psql
  canary="${PG_PASSWORD##*\\}"
  ps -eo pid=,args= >"$WORK/ps.txt"
  check_eq "$(grep -cF -- "$canary" "$WORK/ps.txt")" 0 "command lines holding the password while the script runs"
  check_eq "$(q "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")" 1 "advisory locks held during the run"
  # A second run on the same database while the first holds its lock: its
  # applications are elsewhere (another ROOT, another file lock), so only
  # the database's advisory lock stands in its way.
  saved_out="$OUT"
  sg deploy-stage --plan "$PLAN_DIR/v2.yml" --env test --version 2.0 --artifact "$ART/app-2.0.tar.gz" \
    --var ROOT="$WORK/root2" --var PGSOCK="$PG_SOCKET_DIR" --var PGPORT="$PG_PORT"
  check_rc 4 "a second deploy-stage while the first holds the database's lock"
  check_output "the refusal says the database is locked by another run" "lock"
  check_not "the second run deployed its application" test -e "$WORK/root2/test/web/current"
  OUT="$saved_out"
  kill -KILL -- "-$job"
  wait "$job" 2>/dev/null
  # The job's processes: shipgate, and the psql it started. A psql left
  # running would go on with the script, unsupervised, and could commit it
  # behind the back of the next run.
  check "no shipgate of the killed job is left" wait_until 5 bash -c '! kill -0 "$1" 2>/dev/null' _ "$job"
  if wait_until 5 no_script_psql; then
    ok
  else
    bad "the psql running $SCRIPT outlived the kill -9 of its shipgate (pid $(pgrep -f -- "$SCRIPT_PSQL" | tr '\n' ' ')): it is not in the job's process group and does not die with its parent"
    pkill -KILL -f -- "$SCRIPT_PSQL"
  fi
  check "the server ended the dead client's statement" wait_until 10 script_gone
  check_eq "$(q "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")" 0 "advisory locks left by the killed run"
  check "column orders.status is in place (committed before the kill)" column_exists orders status
  check_not "index orders_status_idx exists (its transaction never committed)" index_exists orders_status_idx
  check_eq "$(registry_changes)" \
    "customers-table:deployed orders-table:deployed orders-status:applied orders-status-index:deploying" "registry rows left by the kill"
  check_eq "$(live_release)" "$r10" "live release after the kill"
fi
pg_sql postgres "ALTER DATABASE orders RESET shipgate_test.pause_seconds" >/dev/null

begin "2.0 again: the interrupted run is settled, then applied"
db_cmd status "$PLAN_DIR/v2.yml"
check_rc 0 "db status after the kill"
deploy "$PLAN_DIR/v2.yml" 2.0 --json "$WORK/rerun.json"
check_rc 0 "deploy-stage 2.0 after the kill"
check_eq "$(registry_changes)" \
  "customers-table:deployed orders-table:deployed orders-status:deployed orders-status-index:deployed" "registry rows"
check_eq "$(q "SELECT count(*) FROM shipgate.changes WHERE state IN ('deploying', 'applied', 'reverting')")" 0 "rows left unsettled"
check "column orders.status exists" column_exists orders status
check "index orders_status_idx exists" index_exists orders_status_idx
check "orders-status: deployed, reverted when settled, deployed again (events: $(events_of orders-status))" \
  grep -qE "(^| )deploy .*revert .*deploy( |$)" <<<"$(events_of orders-status)"
check_not "orders-status-index (not in place) was reverted when settled (events: $(events_of orders-status-index))" \
  grep -qw revert <<<"$(events_of orders-status-index)"
check_eq "$(q "SELECT count(*) FROM shipgate.events WHERE event = 'revert' AND change_id IN ('customers-table', 'orders-table')")" 0 \
  "reverts of the 1.0 changes"
check_eq "$(live_version)" 2.0 "live version"
check_json "$(ledger_array)" '[.[] | select(.event == "deploy" and .outcome == "succeeded")][-1] | [.version, .databases.orders.head]' \
  '["2.0","orders-status-index"]' "the ledger entry of 2.0"

db_finish
