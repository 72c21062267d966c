#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
expect_eq "$(live_release test)" "$(release_of test 1.0)" "current after the refused rollback"
expect_json "$(ledger_json test)" '[.[].event]' '["deploy"]'
