#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
old="$(release_of test 1.0)"
bad="$(release_of test 1.1)"
expect_eq "$(live_release test)" "$old" "current after the rollback"
expect_eq "$(cat "$ROOT/test/web/current/public/index.html")" "version 1.0" "the live index.html"
# The plan's commands ran in rollback mode, for the release returned to.
expect_file_contains "$ROOT/events.log" "web restart rollback $old"
expect_file_contains "$ROOT/events.log" "web start rollback $old"
l="$(ledger_json test)"
expect_json "$l" 'length' 4
expect_json "$l" '.[2] | [.event, .outcome, .version, .release, .previous_version, .previous_release, .reason, .user]' \
  "[\"rollback\",\"succeeded\",\"1.0\",\"$old\",\"1.1\",\"$bad\",\"checkout errors\",\"alice\"]"
expect_json "$l" '.[2].artifact_sha256' "\"$(sha256sum "$ART/app-1.0.tar.gz" | cut -d' ' -f1)\""
expect_json "$l" '.[3] | [.event, .outcome, .version, .release]' "[\"mark-bad\",\"recorded\",\"1.1\",\"$bad\"]"
expect_json "$WORK/r.json" '[.exit_code, .outcome, .version, .previous_version, .marked_bad, .bad_version]' '[0,"succeeded","1.0","1.1",true,"1.1"]'
expect_json "$WORK/r.json" '[.actions[] | select(.id | startswith("health/web/")) | .status] | unique' '["pass"]'
xsd_valid "$WORK/r.xml"
[[ -d "$ROOT/test/web/releases/$bad" ]] || check_fail "the rolled-back release was deleted (kept for forensics until pruned)"
[[ ! -e "$ROOT/test/web/.shipgate/journal.jsonl" ]] || check_fail "the journal was not removed"
# 1.1 is refused now; and a second rollback finds nothing older to go to.
deploy_web 4 test 1.1 || check_fail "1.1 was not refused after the rollback"
sg 4 rollback --plan "$WEB_PLAN" --env test --var ROOT="$ROOT" || check_fail "a rollback with nothing older did not exit 4"
expect_eq "$(live_release test)" "$old" "current after the refused second rollback"
