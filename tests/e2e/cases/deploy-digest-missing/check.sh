#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
expect_json "$WORK/r.json" '[.actions[] | select(.id == "preflight/artifacts") | .status]' '["fail"]'
expect_json "$WORK/r.json" '.outcome' '"blocked"'
[[ ! -L "$ROOT/test/web/current" ]] || check_fail "current was created"
[[ -z "$(find "$ROOT/test/web/releases" -mindepth 1 2>/dev/null)" ]] || check_fail "something was unpacked"
[[ ! -f "$ROOT/events.log" ]] || check_fail "a plan command ran"
