#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
r="$WORK/r.json"
old="$(release_of test 1.0)"
new="$(jq -r .release "$r")"

# Back on 1.0: the link, the files, the commands that ran last.
expect_eq "$(live_release test)" "$old" "current after the failed deploy"
expect_eq "$(cat "$ROOT/test/web/current/public/index.html")" "version 1.0" "the live index.html"
expect_eq "$(tail -n 2 "$ROOT/events.log" | cut -d' ' -f2,4 | tr '\n' ' ')" "restart $old start $old " "the last commands (restart and start of 1.0)"
expect_file_contains "$ROOT/events.log" "web start deploy $new"
[[ ! -e "$ROOT/test/web/.shipgate/journal.jsonl" ]] || check_fail "the journal was kept although the rollback succeeded"
[[ ! -e "$ROOT/test/web/.shipgate/lock" ]] || check_fail "the lock was not released"

# The ledger: deploy rolled-back, then mark-bad of 2.0.
l="$(ledger_json test)"
expect_json "$l" 'length' 3
expect_json "$l" '.[1] | [.event, .outcome, .version, .previous_version, .user]' '["deploy","rolled-back","2.0","1.0","alice"]'
expect_json "$l" '.[1].reason | contains("health checks of web failed")' true
expect_json "$l" '.[2] | [.event, .outcome, .version, .release]' "[\"mark-bad\",\"recorded\",\"2.0\",\"$new\"]"

# The JSON: the failing check, the rollback actions, the old version verified.
expect_json "$r" '.exit_code' 1
expect_json "$r" '[.outcome, .rolled_back, .marked_bad, .previous_version]' '["rolled-back",true,true,"1.0"]'
expect_json "$r" '[.actions[] | select(.id == "health/web/healthy") | .status]' '["fail","pass"]'
expect_json "$r" '[.actions[] | select(.id | test("^deploy/[0-9]+-verify-web$")) | .status]' '["fail"]'
expect_json "$r" '[.actions[] | select(.id | startswith("rollback/")) | (.id | sub("^rollback/[0-9]+-"; ""))]' '["switch-web","restore-config-web","restart-web","start-web","verify-web"]'
expect_json "$r" '[.actions[] | select(.id | startswith("rollback/")) | .status] | unique' '["pass"]'
xsd_valid "$WORK/r.xml"

# 2.0 is refused from now on, in every environment, until it is unblocked.
deploy_web 4 test 2.0 || check_fail "a second deploy of the bad 2.0 was not refused with 4"
grep -qF "2.0 is marked bad" "$WORK/sg.stdout" || check_fail "the refusal does not say 2.0 is marked bad: $(cat "$WORK/sg.stdout")"
expect_eq "$(live_release test)" "$old" "current after the refused deploy"
