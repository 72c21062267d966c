#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
expect_json "$WORK/r.json" '[.outcome, .exit_code]' '["blocked",4]'
expect_json "$WORK/r.json" '[.actions[] | select(.id == "preflight/signoffs") | .status]' '["fail"]'
if [[ -e "$ROOT/prod/web/current" || -L "$ROOT/prod/web/current" ]]; then check_fail "prod has a current link"; fi
