#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
old="$(release_of test 1.0)"
expect_eq "$(live_release test)" "$old" "current after the refused deploy"
expect_json "$WORK/r.json" '[.exit_code, .outcome]' '[4,"blocked"]'
expect_json "$WORK/r.json" '[.actions[] | select(.id == "preflight/rollback-possible") | .status]' '["fail"]'
[[ -z "$(ls "$ROOT/test/web/releases" | grep -- '-1.1$')" ]] || check_fail "a 1.1 release was created"
expect_json "$(ledger_json test)" 'length' 1
