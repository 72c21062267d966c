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
worker stop deploy
worker start deploy
worker health'
actual="$(cat "$ROOT/order.log")"
[[ "$actual" == "$expected" ]] || check_fail "order.log:
$(diff <(echo "$expected") <(echo "$actual"))"
release="$(jq -r .release "$WORK/r.json")"
for service in db api worker; do
  expect_eq "$(live_release test "$service")" "$release" "current of $service"
  expect_json "$(ledger_json test "$service")" '[.[] | [.event, .outcome, .version]]' '[["deploy","succeeded","1.0"]]'
done
expect_json "$WORK/r.json" '[.actions[] | select(.id | startswith("deploy/")) | .id | sub("^deploy/[0-9]+-"; "")]' \
  '["prepare-db","prepare-api","prepare-worker","switch-db","reload-db","verify-db","stop-worker","stop-api","switch-api","start-api","start-worker","verify-api","stop-worker","switch-worker","start-worker","verify-worker"]'
expect_json "$WORK/r.json" '.targets | length' 3
