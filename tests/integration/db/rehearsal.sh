#!/usr/bin/env bash
# Revert rehearsals (rehearse_revert_in) and a revert that fails during a
# deploy's own revert (docs/database.md), on a real PostgreSQL:
#   1. 1.0 with rehearse_revert_in: [test]: each change is deployed,
#      verified, reverted (its verify then fails, as it must), deployed and
#      verified again: the tables hold their data once, the events show the
#      rehearsal, the JSON has a passing rehearsal check per change.
#   2. 2.0 adds orders-region-noop-revert, whose revert does not undo it: the
#      rehearsal fails the deploy with exit 5 (the database is not back where
#      the run found it), names the change, leaves it applied and
#      registered; the applications were not touched.
#   3. Without rehearsal (a fresh database): 2.0 adds
#      orders-channel-broken-revert and then audit-log, whose verify fails;
#      the deploy's revert of orders-channel-broken-revert fails: exit 5, the
#      ledger says rollback-failed, the row stays for a person.
#
#   bash tests/integration/db/rehearsal.sh PATH/TO/shipgate
source "$(dirname "$0")/lib.sh"

db_setup 1.0 2.0
db_plan "$PLAN_DIR/v1.yml" --rehearse "[test]" customers-table orders-table
db_plan "$PLAN_DIR/v2.yml" --rehearse "[test]" customers-table orders-table orders-region-noop-revert
db_plan "$PLAN_DIR/v1-plain.yml" customers-table orders-table
db_plan "$PLAN_DIR/v2-broken.yml" customers-table orders-table orders-channel-broken-revert audit-log

begin "1.0, rehearsed"
deploy "$PLAN_DIR/v1.yml" 1.0 --json "$WORK/v1.json"
check_rc 0 "deploy-stage 1.0"
check_eq "$(q 'SELECT count(*) FROM customers')" 3 "rows of customers (inserted once, not twice)"
check_eq "$(q 'SELECT count(*) FROM orders')" 3 "rows of orders"
check_eq "$(registry_changes)" "customers-table:deployed orders-table:deployed" "registry rows"
for change in customers-table orders-table; do
  check_eq "$(events_of "$change")" "deploy verify rehearse-revert" "events of $change"
  check_json "$WORK/v1.json" "[.actions[] | select(.id == \"db/orders/rehearsal/$change\") | .status]" '["pass"]' \
    "the rehearsal check of $change"
  check_json "$WORK/v1.json" "[.actions[] | select(.id == \"db/orders/deploy/$change@again\") | .status]" '["pass"]' \
    "the second deploy of $change"
done
check_eq "$(live_version)" 1.0 "live version"

begin "2.0: a revert that does not undo its change"
app_lines_before="$(app_line_count)"
deploy "$PLAN_DIR/v2.yml" 2.0 --json "$WORK/v2.json"
check_rc 5 "deploy-stage 2.0"
check_output "the failure names the change and why" "orders-region-noop-revert still passes"
check_json "$WORK/v2.json" '[.actions[] | select(.id == "db/orders/rehearsal/orders-region-noop-revert") | .status]' \
  '["fail"]' "the rehearsal check"
check_json "$WORK/v2.json" '[.outcome, .exit_code]' '["rollback-failed",5]' "--json"
check "column orders.region is still there" column_exists orders region
check_eq "$(q "SELECT count(*) FROM shipgate.changes WHERE change_id = 'orders-region-noop-revert'")" 1 \
  "the change is still registered"
check_eq "$(live_version)" 1.0 "live version"
check_eq "$(app_line_count)" "$app_lines_before" "starts and restarts of the application"

begin "2.0 without rehearsal: the deploy's own revert fails"
pg_sql postgres 'DROP DATABASE orders WITH (FORCE)' >/dev/null
pg_create_db orders >/dev/null
rm -rf "$ROOT/test"
deploy "$PLAN_DIR/v1-plain.yml" 1.0
check_rc 0 "deploy-stage 1.0 (no rehearsal)"
check_eq "$(q 'SELECT count(*) FROM shipgate.events WHERE event = $$rehearse-revert$$')" 0 "rehearsals outside rehearse_revert_in"
deploy "$PLAN_DIR/v2-broken.yml" 2.0 --json "$WORK/v2-broken.json"
check_rc 5 "deploy-stage 2.0 (broken revert)"
check_output "the headline says the rollback failed" "ROLLBACK FAILED"
check_output "it names the change whose revert failed" "orders-channel-broken-revert"
check_not "table audit_log is gone (reverted)" table_exists audit_log
check "column orders.channel is still there (its revert failed)" column_exists orders channel
check_eq "$(q "SELECT state FROM shipgate.changes WHERE change_id = 'orders-channel-broken-revert'")" reverting \
  "the row of the change whose revert failed"
ledger="$(ledger_array)"
check_json "$ledger" '.[-1] | [.version, .outcome]' '["2.0","rollback-failed"]' "ledger entry"
check_eq "$(live_version)" 1.0 "live version"

db_finish
