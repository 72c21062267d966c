#!/usr/bin/env bash
# An empty backup stops the deploy before any switch: 1.0 stays live and
# untouched (no restart), 1.1 is not marked bad (it never ran).
source "$REPO/tests/e2e/lib.sh"
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
old="$(release_of test 1.0)"
expect_eq "$(live_release test)" "$old" "current after the failed backup"
expect_eq "$(grep -c 'web restart' "$ROOT/events.log")" 1 "restarts (only the 1.0 deploy's)"
expect_json "$WORK/r.json" '[.outcome, .rolled_back, .marked_bad]' '["failed",false,false]'
expect_json "$WORK/r.json" '[.actions[].id | select(test("^deploy/[0-9]+-switch-"))]' '[]'
expect_json "$(ledger_json test)" '[.[] | [.event, .outcome, .version]]' '[["deploy","succeeded","1.0"],["deploy","failed","1.1"]]'
expect_eq "$(releases_of test 1.1)" 0 "releases of 1.1 left in releases/"
# Not marked bad: with a real backup it goes through.
sg 0 deploy-stage --plan "$DEPLOY_E2E/backup.yml" --env test --version 1.1 --artifact "$ART/app-1.1.tar.gz" --var ROOT="$ROOT" || check_fail "1.1 was refused after a backup failure"
