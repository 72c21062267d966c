#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
expect_json "$WORK/r.json" '.version' '"2.0"'
expect_json "$WORK/r.json" '.environments' '["test"]'
l="$(ledger_json test)"
expect_json "$l" '.[-1] | [.event, .outcome, .version, .reason, .user]' '["unblock","recorded","2.0","fixed in the 2.0 rebuild","bob"]'
sg 0 status --plan "$WEB_PLAN" --env test --var ROOT="$ROOT" --json "$WORK/status.json" || check_fail "status failed"
expect_json "$WORK/status.json" '.bad_versions' '[]'

# Now allowed: the fixed build of 2.0 goes live.
deploy_web 0 test 2.0 --artifact "$WORK/fixed/app-2.0.tar.gz" || check_fail "2.0 is still refused after release unblock"
expect_eq "$(live_release test)" "$(release_of test 2.0)" "current after deploying the unblocked 2.0"

# Unblocking a version that is not marked bad changes nothing.
before="$(wc -l <"$(ledger test)")"
sg 0 release unblock --plan "$WEB_PLAN" --version 1.0 --reason "nothing to do" --var ROOT="$ROOT" || check_fail "unblocking a good version failed"
grep -qF "1.0 is not marked bad" "$WORK/sg.stdout" || check_fail "unblocking 1.0 does not say it is not marked bad"
expect_eq "$(wc -l <"$(ledger test)")" "$before" "ledger lines after unblocking a good version"

# --reason is required.
sg 2 release unblock --plan "$WEB_PLAN" --version 2.0 --var ROOT="$ROOT" || check_fail "unblock without --reason did not exit 2"
