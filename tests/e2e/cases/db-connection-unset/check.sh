#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
expect_json "$WORK/r.json" '[.outcome, .exit_code]' '["blocked",2]'
expect_json "$WORK/r.json" '[.actions[] | select(.id == "preflight/db-orders") | .status]' '["fail"]'
expect_json "$WORK/r.json" '[.actions[].id | select(startswith("deploy/") or startswith("db/"))]' '[]'
if [[ -e "$ROOT/test/web/current" || -L "$ROOT/test/web/current" ]]; then check_fail "test has a current link"; fi
