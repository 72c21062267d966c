#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
web="$ROOT/test/web"
expect_json "$WORK/r.json" '[.outcome, .exit_code]' '["blocked",4]'
expect_json "$WORK/r.json" '[.actions[] | select(.id == "preflight/lock") | .status]' '["fail"]'
expect_json "$WORK/r.json" '[.actions[].id | select(startswith("deploy/"))]' '[]'
# bob's lock and run are untouched: his lease is still there, naming him,
# and 1.2 was neither unpacked nor recorded.
jq -e '.owner.user == "bob"' "$web/.shipgate/lock" >/dev/null 2>&1 || check_fail "the lock no longer names bob: $(cat "$web/.shipgate/lock" 2>&1)"
kill -0 "$(cat "$WORK/holder.pid")" 2>/dev/null || check_fail "bob's deploy is gone: $(cat "$WORK/holder.stderr")"
expect_eq "$(releases_of test 1.2)" 0 "releases of 1.2 in releases/"
expect_eq "$(releases_of test 1.1)" 1 "releases of 1.1 (bob's, being deployed)"
expect_json "$(ledger_json test)" '[.[] | select(.version == "1.2")]' '[]'
# --wait-lock waits, then still names the holder.
start="$(date +%s%N)"
sg 4 deploy-stage --plan "$WEB_PLAN" --env test --version 1.2 --artifact "$ART/app-1.2.tar.gz" --var ROOT="$ROOT" \
  --user carol --wait-lock 1s || check_fail "--wait-lock 1s did not end in 4"
waited=$((($(date +%s%N) - start) / 1000000))
((waited >= 900)) || check_fail "--wait-lock 1s returned after $waited ms"
grep -qF "held by bob" "$WORK/sg.stdout" || check_fail "--wait-lock: the holder is not named"
