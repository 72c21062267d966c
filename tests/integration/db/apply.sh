#!/usr/bin/env bash
# deploy-stage applies a release's database changes (docs/database.md,
# "What deploy-stage does"), on a real PostgreSQL:
#   1. v1 with two changes (customers-table, orders-table) on an empty
#      database: both tables exist with their data; the registry rows are
#      `deployed` with the sha256 of their deploy scripts, release 1.0,
#      environment test and the run's id; the events show deploy and verify;
#      the changes ran before the application started (order: before-apps,
#      the default: the start saw the tables); the dump was taken and
#      recorded (backups, with its sha256); the ledger entry names the head.
#   2. 2.0 with the same plan: no change to run, the registry untouched, no
#      dump, the ledger entry still names the same head.
#
#   bash tests/integration/db/apply.sh PATH/TO/shipgate
source "$(dirname "$0")/lib.sh"

db_setup 1.0 2.0
PLAN="$PLAN_DIR/v1.yml"
db_plan "$PLAN" customers-table orders-table

begin "v1: two changes on an empty database"
check_not "the tables exist before the deploy" table_exists customers
deploy "$PLAN" 1.0 --json "$WORK/v1.json" --junit "$WORK/v1.xml"
check_rc 0 "deploy-stage 1.0"
check "table customers exists" table_exists customers
check "table orders exists" table_exists orders
check_eq "$(q 'SELECT count(*) FROM customers')" 3 "rows of customers"
check_eq "$(q "SELECT string_agg(notes, ';' ORDER BY id) FROM orders")" \
  "first order of Ada;first order of Grace;first order of Linus" "rows of orders (the deploy's data)"
check_eq "$(registry_changes)" "customers-table:deployed orders-table:deployed" "registry rows (change:state, by seq)"
for change in customers-table orders-table; do
  sum="$(sha256sum "$PLAN_DIR/sql/$change/deploy.sql" | cut -d' ' -f1)"
  check_eq "$(q "SELECT deploy_sha256 FROM shipgate.changes WHERE change_id = '$change'")" "$sum" \
    "deploy_sha256 of $change"
done
run_id="$(jq -r .run_id "$WORK/v1.json")"
check_eq "$(q "SELECT string_agg(DISTINCT project || '/' || database_name || '/' || release_version || '/' || environment || '/' || run_id, ' ') FROM shipgate.changes")" \
  "shop/orders/1.0/test/$run_id" "project/database/release_version/environment/run_id of the rows"
check_eq "$(q "SELECT bool_and(applied_at IS NOT NULL AND applied_by <> '' AND coalesce(irreversible::text, '') IN ('', 'false')) FROM shipgate.changes")" t \
  "applied_at, applied_by and irreversible of the rows"
check_eq "$(q "SELECT count(*) FROM shipgate.changes WHERE change_id = 'customers-table' AND seq < (SELECT seq FROM shipgate.changes WHERE change_id = 'orders-table')")" 1 \
  "seq follows the order of application"
check_eq "$(q "SELECT revert_script LIKE '%DROP TABLE customers%' FROM shipgate.changes WHERE change_id = 'customers-table'")" t \
  "the registry keeps a copy of the revert script"
for change in customers-table orders-table; do
  check_eq "$(q "SELECT string_agg(DISTINCT event, ' ' ORDER BY event) FROM shipgate.events WHERE change_id = '$change' AND event IN ('deploy', 'verify', 'revert')")" \
    "deploy verify" "deploy and verify events of $change"
done
check_eq "$(q "SELECT count(*) FROM shipgate.events WHERE release_version = '1.0' AND environment = 'test' AND run_id = '$run_id'")" \
  "$(q 'SELECT count(*) FROM shipgate.events')" "every event names the release, environment and run"

# The applications.
check_eq "$(live_version)" 1.0 "live version"
start_line="$(grep -m1 "^web start .* .*-1\.0 schema=" "$ROOT/events.log")"
check "the application started after the changes (before-apps): it saw orders.notes (start line: '$start_line')" \
  grep -q "orders\.notes" <<<"$start_line"

# The ledger entry.
ledger="$(ledger_array)"
check_json "$ledger" '.[-1] | [.event, .outcome, .version]' '["deploy","succeeded","1.0"]' "ledger entry"
check_json "$ledger" '.[-1].databases.orders.head' '"orders-table"' "ledger: the database head"
check_json "$ledger" '.[-1].databases.orders.head_seq' "$(q "SELECT seq FROM shipgate.changes WHERE change_id = 'orders-table'")" \
  "ledger: the head's seq"
check_json "$ledger" '[.[-1].databases.orders.applied[]? | if type == "object" then (.id // .change_id) else . end]' '["customers-table","orders-table"]' "ledger: the changes applied by the run"

# The dump (backup on by default): recorded with its size and sha256.
dump="$(jq -r '[.backups[]? | select(.file | endswith("db-orders.dump"))][0].file // empty' "$WORK/v1.json")"
check "the result's backups name db-orders.dump ($(jq -c .backups "$WORK/v1.json"))" test -n "$dump"
if [[ -n "$dump" ]]; then
  [[ "$dump" == /* ]] || dump="$WEB/$dump"
  check "the dump $dump exists and is not empty" test -s "$dump"
  check "the dump is under the state dir's backups/<release>/" \
    bash -c '[[ "$1" == */backups/"$2"/db-orders.dump ]]' _ "$dump" "$(live_release)"
  check_json "$WORK/v1.json" '[.backups[] | select(.file | endswith("db-orders.dump")) | .sha256][0]' \
    "\"$(sha256sum "$dump" 2>/dev/null | cut -d' ' -f1)\"" "the dump's sha256"
  check_json "$WORK/v1.json" '[.backups[] | select(.file | endswith("db-orders.dump")) | (.bytes // .size)][0]' \
    "$(stat -c %s "$dump" 2>/dev/null)" "the dump's size"
  check_json "$ledger" '[.[-1].backups[]? | select(.file | endswith("db-orders.dump")) | .sha256][0]' \
    "\"$(sha256sum "$dump" 2>/dev/null | cut -d' ' -f1)\"" "the ledger's record of the dump"
  check "pg_restore can read the dump" pg_restore -l "$dump" -f /dev/null
fi
check "the JUnit file is well-formed" python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' "$WORK/v1.xml"

begin "2.0 with the same plan: nothing to run"
before="$(q "SELECT string_agg(change_id || '/' || seq || '/' || state || '/' || release_version || '/' || applied_at, ' ' ORDER BY seq) FROM shipgate.changes")"
events_before="$(q 'SELECT count(*) FROM shipgate.events WHERE event IN ($$deploy$$, $$revert$$)')"
deploy "$PLAN" 2.0 --json "$WORK/v2.json"
check_rc 0 "deploy-stage 2.0"
check_eq "$(q "SELECT string_agg(change_id || '/' || seq || '/' || state || '/' || release_version || '/' || applied_at, ' ' ORDER BY seq) FROM shipgate.changes")" \
  "$before" "registry rows after a release without new changes"
check_eq "$(q 'SELECT count(*) FROM shipgate.events WHERE event IN ($$deploy$$, $$revert$$)')" "$events_before" "deploy and revert events"
check_json "$WORK/v2.json" '[.backups[]? | select(.file | endswith("db-orders.dump"))] | length' 0 "dumps taken without new changes"
check_eq "$(live_version)" 2.0 "live version"
check_json "$(ledger_array)" '.[-1] | [.version, .databases.orders.head, (.databases.orders.applied // [])]' '["2.0","orders-table",[]]' \
  "ledger entry of 2.0 (head, nothing applied)"

db_finish
