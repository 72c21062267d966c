#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
web="$ROOT/test/web"
release="$(jq -r .release "$WORK/r.json")"
# 2.0's start really changed the file (else the test proves nothing) ...
expect_file_contains "$ROOT/events.log" "web start deploy $release"
expect_json "$WORK/r.json" '.actions[] | select(.id | test("^deploy/[0-9]+-start-web$")) | .transcript | contains("started 2.0")' true
# ... and the rollback put the original back.
cmp -s "$WORK/app.conf.original" "$web/config/app.conf" || check_fail "config/app.conf after the rollback: $(cat "$web/config/app.conf")"
expect_json "$WORK/r.json" '[.actions[] | select(.id | test("^rollback/[0-9]+-restore-config-web$")) | .status]' '["pass"]'
expect_json "$WORK/r.json" '.actions[] | select(.id | test("^rollback/[0-9]+-restore-config-web$")) | .transcript | contains("restored")' true
snapshot="$web/.shipgate/backups/$release/config"
[[ -f "$snapshot/manifest.json" ]] || check_fail "no snapshot manifest in $snapshot"
expect_json "$snapshot/manifest.json" '."config/app.conf"' "\"$(sha256sum "$WORK/app.conf.original" | cut -d' ' -f1)\""
expect_json "$(ledger_json test)" '.[1] | [.event, .outcome, (.config_sha256 | test("^[0-9a-f]{64}$"))]' '["deploy","rolled-back",true]'
expect_eq "$(live_release test)" "$(release_of test 1.0)" "current after the rollback"
