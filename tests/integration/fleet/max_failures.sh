#!/usr/bin/env bash
# max_failures: 1 on 8 real ssh hosts, rolling batches of 25% (h01-h02,
# h03-h04, h05-h06, h07-h08).
#
#   bash tests/integration/fleet/max_failures.sh [PATH/TO/shipgate]
#
#   1. deploy 1.0.0 to all: exit 0;
#   2. two failing hosts in one batch (h05 and h06 answer 500 on 2.0.0):
#      more than max_failures, so the whole deploy is rolled back: exit 1,
#      outcome rolled-back, every host on 1.0.0 and answering it (h01-h06
#      started on 1.0.0 again and verified), h07-h08 never touched, h05 and
#      h06 named, 2.0.0 marked bad;
#   3. one failing host (h03 answers 500 on 3.0.0): within max_failures,
#      so the deploy goes on: h03 alone is rolled back (on 1.0.0, started
#      and verified again), h03 is named in the result, h04 (its batch) was
#      not rolled back, the batches after it ran, and every other host is on
#      3.0.0. Exit 0, outcome succeeded (every batch was reached within the
#      plan's tolerance), with h03 listed in hosts_failed and its state
#      failed-rolled-back in the result.
#
# Environment: SHIPGATE, KEEP_WORK=1, JOBS (default 10).
# Exit status: 0 every assertion held, 1 one failed, 2 set-up failed.
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=tests/integration/fleet/lib.sh
source "$HERE/lib.sh"

fleet_begin max-failures 8 "${1:-}"
PLAN="$WORK/plan.yml"
write_plan "$PLAN" STRATEGY=rolling BATCH=25% MAX_FAILURES=1

SCENARIO="deploy 1.0.0"
deploy "$PLAN" 1.0.0
check_rc 0 "$SCENARIO"
check_all_live 1.0.0 "after $SCENARIO"

SCENARIO="two failing hosts in batch 3 (max_failures 1)"
say "$SCENARIO"
touch "$(host_app h05)/shared/fail-2.0.0" "$(host_app h06)/shared/fail-2.0.0"
mark_events
mark_inodes
deploy "$PLAN" 2.0.0 --json "$WORK/deploy-2.0.0.json"
check_rc 1 "$SCENARIO"
say "$SCENARIO: exit $RC in $ELAPSED_MS ms"
check_json "$WORK/deploy-2.0.0.json" '[.exit_code, .outcome, .rolled_back, .marked_bad]' '[1,"rolled-back",true,true]' "$SCENARIO result"
for name in h05 h06; do
  check "$SCENARIO: $name's 2.0.0 answered its health check with 500" grep -q ' health 2.0.0 500' <(events_since "$name")
  check_names "$WORK/deploy-2.0.0.json" "$name" "$SCENARIO: the failing host $name"
done
for name in h01 h02 h03 h04 h05 h06; do
  check "$SCENARIO: $name was started on 2.0.0" grep -q ' start 2.0.0' <(events_since "$name")
  check "$SCENARIO: $name was started on 1.0.0 again" grep -q ' start 1.0.0' <(events_since "$name")
  check "$SCENARIO: $name was verified on 1.0.0 again" verified_after_start "$name" 1.0.0
done
check_all_live 1.0.0 "after $SCENARIO"
check_untouched "$SCENARIO (batch 4 never reached)" h07 h08
check_clean "after $SCENARIO"

SCENARIO="one failing host in batch 2 (max_failures 1)"
say "$SCENARIO"
touch "$(host_app h03)/shared/fail-3.0.0"
mark_events
deploy "$PLAN" 3.0.0 --json "$WORK/deploy-3.0.0.json"
say "$SCENARIO: exit $RC in $ELAPSED_MS ms"
check_rc 0 "$SCENARIO"
check_json "$WORK/deploy-3.0.0.json" '[.exit_code, .outcome, (.hosts_failed | length)]' '[0,"succeeded",1]' "$SCENARIO result"
check_json "$WORK/deploy-3.0.0.json" '.hosts_failed[0] | test("(^|[^0-9A-Za-z])h03([^0-9A-Za-z]|$)")' true "$SCENARIO: hosts_failed names h03"
check_eq "$(state_of "$WORK/deploy-3.0.0.json" h03)" failed-rolled-back "$SCENARIO: h03's state in the result"
for name in h01 h02 h04 h05 h06 h07 h08; do
  check_eq "$(state_of "$WORK/deploy-3.0.0.json" "$name")" live "$SCENARIO: $name's state in the result"
done
check_names "$WORK/deploy-3.0.0.json" h03 "$SCENARIO: the failing host"
check "$SCENARIO: h03's 3.0.0 answered its health check with 500" grep -q ' health 3.0.0 500' <(events_since h03)
started_back="$(events_since h03 | awk '$2 == "start" && $3 == "1.0.0" { print $1; exit }')"
check "$SCENARIO: h03 was started on 1.0.0 again" test -n "$started_back"
check "$SCENARIO: h03 was verified on 1.0.0 after that" test -n "$started_back" -a -n "$(verified_ms h03 1.0.0 "${started_back:-0}")"
check_live h03 1.0.0 "after $SCENARIO (rolled back alone)"
check_eq "$(events_since h04 | awk '$2 == "start" { print $3 }' | tr '\n' ' ')" "3.0.0 " "$SCENARIO: what h04 (h03's batch) started"
check_all_live 3.0.0 "after $SCENARIO" h01 h02 h04 h05 h06 h07 h08
check_batches 3.0.0 "$SCENARIO (the batches after the failure ran)" "h04" "h05 h06" "h07 h08"
check_clean "after $SCENARIO"

fleet_end
