#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
web="$ROOT/test/web"
expect_json "$WORK/r.json" '[.outcome, .rolled_back, .marked_bad]' '["blocked",false,false]'
expect_json "$WORK/r.json" '.reason | contains("has sha256 '"$(sha256sum "$ART/app-1.1.tar.gz" | cut -d' ' -f1)"'")' true
expect_eq "$(live_release test)" "$(release_of test 1.0)" "current after the refused artifact"
expect_eq "$(releases_of test 1.1)" 0 "releases of 1.1 in releases/"
[[ -z "$(find "$web/releases" -maxdepth 1 -name '.partial-*')" ]] || check_fail "a .partial- folder was left"
expect_eq "$(grep -c 'web restart' "$ROOT/events.log")" 1 "restarts (only the 1.0 deploy's)"
l="$(ledger_json test)"
expect_json "$l" '[.[] | select(.event == "mark-bad")]' '[]'
expect_json "$l" '[.[] | select(.version == "1.1") | .outcome]' '["blocked"]'
# The right digest is accepted (the failed attempt did not block the version).
deploy_web 0 test 1.1 || check_fail "1.1 with its right digest was refused"
