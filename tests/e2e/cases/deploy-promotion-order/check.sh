#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
prod="$ROOT/prod/web"
expect_json "$WORK/r.json" '[.outcome, .exit_code]' '["blocked",4]'
expect_json "$WORK/r.json" '[.actions[] | select(.id == "preflight/promotion-order") | .status]' '["fail"]'
expect_json "$WORK/r.json" '[.actions[].id | select(startswith("deploy/"))]' '[]'
# Nothing was created in prod: no release, no link, no record.
[[ ! -e "$prod/current" && ! -L "$prod/current" ]] || check_fail "prod has a current link"
[[ -z "$(find "$prod/releases" -mindepth 1 2>/dev/null)" ]] || check_fail "prod/releases is not empty: $(ls -A "$prod/releases")"
[[ ! -s "$prod/.shipgate/ledger.jsonl" ]] || check_fail "the refused deploy wrote to the prod ledger"
[[ ! -e "$prod/.shipgate/lock" ]] || check_fail "the refused deploy left its lock"
[[ ! -e "$prod/.shipgate/journal.jsonl" ]] || check_fail "the refused deploy left a journal"
[[ ! -f "$ROOT/events.log" ]] || ! grep -qF -- "-1.1" "$ROOT/events.log" || check_fail "a command ran for 1.1"
# The version that passed test is accepted in prod.
deploy_web 0 prod 1.0 || check_fail "1.0, verified in test, was refused in prod"
expect_eq "$(live_release prod)" "$(release_of prod 1.0)" "prod current after deploying 1.0"
