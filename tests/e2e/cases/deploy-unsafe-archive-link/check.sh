#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
web="$ROOT/test/web"
found="$(find "$WORK" -name escape)"
[[ -z "$found" ]] || check_fail "the ../ entry was written: $found"
expect_eq "$(live_release test)" "$(release_of test 1.0)" "current after the refused archive"
expect_eq "$(releases_of test 1.1)" 0 "releases of 1.1 in releases/"
[[ -z "$(find "$web/releases" -maxdepth 1 -name '.partial-*')" ]] || check_fail "a .partial- folder was left"
expect_json "$WORK/r.json" '[.outcome, .rolled_back, .marked_bad]' '["blocked",false,false]'
expect_eq "$(grep -c 'web restart' "$ROOT/events.log")" 1 "restarts (only the 1.0 deploy's)"
