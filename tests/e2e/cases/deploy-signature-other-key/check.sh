#!/usr/bin/env bash
# Signed by a key the plan does not trust: refused before anything is unpacked.
source "$REPO/tests/e2e/lib.sh"
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
expect_json "$WORK/r.json" '[.outcome, .marked_bad]' '["blocked",false]'
[[ ! -L "$ROOT/test/web/current" ]] || check_fail "current was created"
[[ -z "$(find "$ROOT/test/web/releases" -mindepth 1 2>/dev/null)" ]] || check_fail "something was unpacked: $(ls -A "$ROOT/test/web/releases")"
