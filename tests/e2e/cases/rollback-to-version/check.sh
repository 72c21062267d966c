#!/usr/bin/env bash
# --to 1.0 skips 1.1 (the default target) and returns to 1.0; 1.2 is marked bad, 1.1 is not.
source "$REPO/tests/e2e/lib.sh"
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
old="$(release_of test 1.0)"
expect_eq "$(live_release test)" "$old" "current after rollback --to 1.0"
l="$(ledger_json test)"
expect_json "$l" '.[3] | [.event, .outcome, .version, .release, .previous_version]' "[\"rollback\",\"succeeded\",\"1.0\",\"$old\",\"1.2\"]"
expect_json "$l" '[.[] | select(.event == "mark-bad") | .version]' '["1.2"]'
expect_json "$WORK/r.json" '[.version, .previous_version]' '["1.0","1.2"]'
# 1.1 is not bad: deploying it again is allowed.
deploy_web 0 test 1.1 || check_fail "1.1 was refused although only 1.2 was rolled back"
# --to a version never live here: 4.
sg 4 rollback --plan "$WEB_PLAN" --env test --to 0.9 --var ROOT="$ROOT" || check_fail "rollback --to 0.9 did not exit 4"
grep -qF "no intact release of 0.9 was ever live in test" "$WORK/sg.stdout" || check_fail "rollback --to 0.9 does not say why"
