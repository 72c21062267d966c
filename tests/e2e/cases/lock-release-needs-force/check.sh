#!/usr/bin/env bash
# Without --force nothing is removed or recorded.
source "$REPO/tests/e2e/lib.sh"
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
jq -e '.owner.user == "bob"' "$ROOT/test/web/.shipgate/lock" >/dev/null 2>&1 || check_fail "bob's lock is gone"
expect_json "$(ledger_json test)" '[.[] | select(.event == "lock-force-release")]' '[]'
