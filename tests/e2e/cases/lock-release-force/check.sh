#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
web="$ROOT/test/web"
l="$(ledger_json test)"
expect_json "$l" '[.[] | select(.event == "lock-force-release")] | length' 1
expect_json "$l" '.[] | select(.event == "lock-force-release") | [.outcome, .user, .environment]' '["recorded","carol","test"]'
expect_json "$l" '.[] | select(.event == "lock-force-release") | .reason | startswith("job 8812 was killed") and contains("bob")' true
expect_json "$l" '.[] | select(.event == "lock-force-release") | .removed_lease.owner | [.user, .job_url]' '["bob","https://ci.example.com/job/8812"]'
expect_json "$l" '.[] | select(.event == "lock-force-release") | .removed_lease.owner.pid' "$(cat "$WORK/holder.pid")"
expect_json "$WORK/r.json" '.released | length' 1
[[ ! -e "$web/.shipgate/lock" ]] || check_fail "the lock file is still there: $(cat "$web/.shipgate/lock")"
# history shows it.
sg 0 history --plan "$WEB_PLAN" --env test --var ROOT="$ROOT" --json "$WORK/h.json" || check_fail "history failed"
expect_json "$WORK/h.json" '.entries[0].event' '"lock-force-release"'
# Nothing held any more: a second release finds nothing and records nothing.
sg 0 lock release --plan "$WEB_PLAN" --env test --force --reason again --var ROOT="$ROOT" || check_fail "a second lock release failed"
grep -qF "no lock was held in test" "$WORK/sg.stdout" || check_fail "a second release does not say no lock was held"
expect_json "$(ledger_json test)" '[.[] | select(.event == "lock-force-release")] | length' 1
