#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
signoff 2 1.0 tester bob maybe || check_fail "decision maybe"
grep -qF -- "--decision must be approve or reject, got 'maybe'" "$WORK/sg.stderr" || check_fail "decision message: $(cat "$WORK/sg.stderr")"
signoff 2 1.0 tester bob reject || check_fail "reject without comment"
grep -qF -- "a reject needs --comment TEXT" "$WORK/sg.stderr" || check_fail "reject message: $(cat "$WORK/sg.stderr")"
if [[ -s "$ROOT/prod/web/.shipgate/ledger.jsonl" ]]; then check_fail "a refused sign-off wrote to the ledger"; fi
