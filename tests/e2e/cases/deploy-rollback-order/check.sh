#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
expected='db reload deploy
db health
worker stop deploy
api stop deploy
api start deploy
worker start deploy
api health
worker stop rollback
api stop rollback
api start rollback
worker start rollback
db reload rollback
db health
api health'
actual="$(cat "$ROOT/order.log")"
[[ "$actual" == "$expected" ]] || check_fail "order.log:
$(diff <(echo "$expected") <(echo "$actual"))"
for service in db api worker; do
  expect_eq "$(live_release test "$service")" "$(release_of test 1.0 "$service")" "current of $service"
done
expect_json "$WORK/r.json" '[.actions[] | select(.id | startswith("rollback/")) | .id | sub("^rollback/[0-9]+-"; "")]' \
  '["stop-worker","stop-api","switch-api","start-api","start-worker","switch-db","reload-db","verify-db","verify-api"]'
expect_json "$WORK/r.json" '[.outcome, .rolled_back, .marked_bad]' '["rolled-back",true,true]'
# The rollback's commands are told what they return to.
old_api="$(release_of test 1.0 api)"
old_db="$(release_of test 1.0 db)"
expect_file_contains "$ROOT/env.log" "api start 1.0 $old_api"
expect_file_contains "$ROOT/env.log" "db reload 1.0 $old_db"
# worker was not switched: no rollback entry for it beyond the stop/start around api.
expect_json "$(ledger_json test worker)" '.[-2] | [.event, .outcome]' '["deploy","rolled-back"]'
