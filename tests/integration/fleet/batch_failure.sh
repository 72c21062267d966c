#!/usr/bin/env bash
# A host of the third batch fails its health check: 20 real ssh hosts,
# rolling batches of 25% (h01-h05, h06-h10, h11-h15, h16-h20).
#
#   bash tests/integration/fleet/batch_failure.sh [PATH/TO/shipgate]
#
#   1. deploy 1.0.0 to all: exit 0;
#   2. deploy 2.0.0 while h13's 2.0.0 answers 500 (shared/fail-2.0.0):
#      exit 1, outcome rolled-back, h13 named; batches 1-3 (h01-h15) back on
#      1.0.0, each started again on 1.0.0 and verified by the rollback (a
#      /health 200 for 1.0.0 after it), their apps answering 1.0.0; batches
#      1 and 2 had been live on 2.0.0 and verified before batch 3 started;
#      batch 4 (h16-h20) never touched (same `current` inode, no stop or
#      start, the same app process); nothing left on any host.
#
# Environment: SHIPGATE, KEEP_WORK=1, JOBS (default 10).
# Exit status: 0 every assertion held, 1 one failed, 2 set-up failed.
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=tests/integration/fleet/lib.sh
source "$HERE/lib.sh"

fleet_begin batch-failure 20 "${1:-}"
PLAN="$WORK/plan.yml"
write_plan "$PLAN" STRATEGY=rolling BATCH=25%
read -r -a SWITCHED <<<"$(hosts_between 1 15)"
read -r -a LAST_BATCH <<<"$(hosts_between 16 20)"

SCENARIO="deploy 1.0.0"
deploy "$PLAN" 1.0.0
check_rc 0 "$SCENARIO"
check_all_live 1.0.0 "after $SCENARIO"

SCENARIO="h13 (batch 3) failing 2.0.0"
say "$SCENARIO"
touch "$(host_app h13)/shared/fail-2.0.0"
mark_events
mark_inodes
old_pids=()
for name in "${LAST_BATCH[@]}"; do old_pids+=("$(host_app_pid "$name")"); done
deploy "$PLAN" 2.0.0 --json "$WORK/deploy-2.0.0.json"
check_rc 1 "$SCENARIO"
say "$SCENARIO: exit $RC in $ELAPSED_MS ms"
check_json "$WORK/deploy-2.0.0.json" '[.exit_code, .outcome, .rolled_back, .marked_bad]' '[1,"rolled-back",true,true]' "$SCENARIO result"
check_names "$WORK/deploy-2.0.0.json" h13 "$SCENARIO: the failing host"
check "$SCENARIO: h13's 2.0.0 answered its health check with 500" grep -q ' health 2.0.0 500' <(events_since h13)
# Batches 1 and 2 went live and were verified on 2.0.0, in order, before batch 3.
check_batches 2.0.0 "$SCENARIO" "$(hosts_between 1 5)" "$(hosts_between 6 10)"
for name in $(hosts_between 6 10); do
  check "$SCENARIO: batch 2's $name was verified on 2.0.0 before batch 3 began" \
    test "$(verified_ms "$name" 2.0.0)" -lt "$(first_change_ms h11 || echo 0)"
done
for name in "${SWITCHED[@]}"; do
  # Batches 1 and 2 and h13 surely ran 2.0.0; the other hosts of batch 3
  # may or may not have been reached when h13 failed, but each one that ran
  # 2.0.0 must have been put back and verified.
  if [[ " $(hosts_between 1 10) h13 " == *" $name "* ]]; then
    check "$SCENARIO: $name was started on 2.0.0" grep -q ' start 2.0.0' <(events_since "$name")
  elif ! grep -q ' start 2.0.0' <(events_since "$name"); then
    say "$SCENARIO: $name (batch 3) was not started on 2.0.0"
    check_eq "$(host_current_inode "$name")" "${INODE_MARK[$name]}" "$SCENARIO: $name (not started on 2.0.0): its current link"
    # Never stopped either: nothing to put back.
    grep -q ' stop ' <(events_since "$name") || continue
  fi
  # The rollback's own start of 1.0.0, then its verification.
  started="$(events_since "$name" | awk '$2 == "start" && $3 == "1.0.0" { print $1 }' | tail -n 1)"
  check "$SCENARIO: $name was started on 1.0.0 again by the rollback" test -n "$started"
  check "$SCENARIO: $name was verified on 1.0.0 after that start" test -n "$started" -a -n "$(verified_ms "$name" 1.0.0 "${started:-0}")"
done
check_all_live 1.0.0 "after $SCENARIO (batches 1-3)" "${SWITCHED[@]}"
check_all_live 1.0.0 "after $SCENARIO (batch 4)" "${LAST_BATCH[@]}"
check_untouched "$SCENARIO (batch 4 never reached)" "${LAST_BATCH[@]}"
for i in "${!LAST_BATCH[@]}"; do
  check_eq "$(host_app_pid "${LAST_BATCH[i]}")" "${old_pids[i]}" "$SCENARIO: ${LAST_BATCH[i]}'s app process (never restarted)"
done
for name in "${LAST_BATCH[@]}"; do
  check_eq "$(state_of "$WORK/deploy-2.0.0.json" "$name")" untouched "$SCENARIO: $name's state in the result"
done
check_clean "after $SCENARIO"

fleet_end
