#!/usr/bin/env bash
# Canary deploys to 20 real ssh hosts: the canary batch, the pause after it,
# and a canary that fails its health check.
#
#   bash tests/integration/fleet/canary.sh [PATH/TO/shipgate]
#
#   1. deploy 1.0.0 (canary 1, pause 2s, then batches of 25% = 5 hosts):
#      exit 0, every host serves 1.0.0; the canary h01 was verified at least
#      2 s before the next batch (h02-h06) started, and the batches ran in
#      order (the hosts' own event logs);
#   2. deploy 2.0.0 while h01's 2.0.0 fails its health check (the app
#      answers 500 while h01's shared/fail-2.0.0 exists): exit 1, outcome
#      rolled-back, 2.0.0 marked bad; h01 back on 1.0.0 and answering it
#      (verified by the rollback); h02-h20 never switched (their `current`
#      link is the same inode, their app never stopped or started); h01
#      named in the result; nothing left (journal, lock, .partial-*); a new
#      deploy of 2.0.0 is refused (exit 4).
#
# Environment: SHIPGATE, KEEP_WORK=1, JOBS (default 10).
# Exit status: 0 every assertion held, 1 one failed, 2 set-up failed.
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=tests/integration/fleet/lib.sh
source "$HERE/lib.sh"

fleet_begin canary 20 "${1:-}"
PLAN="$WORK/plan.yml"
write_plan "$PLAN" STRATEGY=canary CANARY=1 BATCH=25% PAUSE=2s
OTHERS=("${HOST_NAMES[@]:1}")

SCENARIO="canary deploy of 1.0.0"
say "$SCENARIO"
mark_events
deploy "$PLAN" 1.0.0 --json "$WORK/deploy-1.0.0.json"
check_rc 0 "$SCENARIO"
say "$SCENARIO: exit $RC in $ELAPSED_MS ms"
check_all_live 1.0.0 "after $SCENARIO"
GAP_MS=2000 check_batches 1.0.0 "$SCENARIO (the pause after the canary)" "h01" "$(hosts_between 2 6)"
check_batches 1.0.0 "$SCENARIO" "h01" "$(hosts_between 2 6)" "$(hosts_between 7 11)" \
  "$(hosts_between 12 16)" "$(hosts_between 17 20)"

SCENARIO="canary h01 failing 2.0.0"
say "$SCENARIO"
touch "$(host_app h01)/shared/fail-2.0.0"
check_eq "$(host_answer h01)" "200 ok version=1.0.0; host=h01" "before the deploy: h01 serves 1.0.0 (the fault file is for 2.0.0 only)"
mark_events
mark_inodes
old_pids=()
for name in "${OTHERS[@]}"; do old_pids+=("$(host_app_pid "$name")"); done
deploy "$PLAN" 2.0.0 --json "$WORK/deploy-2.0.0.json"
check_rc 1 "$SCENARIO"
say "$SCENARIO: exit $RC in $ELAPSED_MS ms"
check_json "$WORK/deploy-2.0.0.json" '[.exit_code, .outcome, .rolled_back, .marked_bad]' '[1,"rolled-back",true,true]' "$SCENARIO result"
check_names "$WORK/deploy-2.0.0.json" h01 "$SCENARIO: the failing canary"
# h01 ran 2.0.0 (and answered 500), then was switched back and verified.
check "$SCENARIO: h01 started 2.0.0" grep -q ' start 2.0.0' <(events_since h01)
check "$SCENARIO: h01's 2.0.0 answered its health check with 500" grep -q ' health 2.0.0 500' <(events_since h01)
check "$SCENARIO: h01 was started on 1.0.0 again" grep -q ' start 1.0.0' <(events_since h01)
check "$SCENARIO: h01's 1.0.0 was verified after the rollback" verified_after_start h01 1.0.0
check "$SCENARIO: h01's current link was replaced (switched and back)" test "$(host_current_inode h01)" != "${INODE_MARK[h01]}"
check_all_live 1.0.0 "after $SCENARIO"
check_untouched "$SCENARIO (never switched)" "${OTHERS[@]}"
for i in "${!OTHERS[@]}"; do
  check_eq "$(host_app_pid "${OTHERS[i]}")" "${old_pids[i]}" "$SCENARIO: ${OTHERS[i]}'s app process (never restarted)"
done
check_eq "$(host_ledger_json h01 | jq -c '[.[] | select(.event == "deploy")][-1] | [.outcome, .version, .previous_version]')" \
  '["rolled-back","2.0.0","1.0.0"]' "$SCENARIO: h01's last deploy entry"
check_eq "$(state_of "$WORK/deploy-2.0.0.json" h01)" rolled-back "$SCENARIO: h01's state in the result"
for name in "${OTHERS[@]}"; do
  check_eq "$(state_of "$WORK/deploy-2.0.0.json" "$name")" untouched "$SCENARIO: $name's state in the result"
done
check_clean "after $SCENARIO"
status_json "$PLAN" "$WORK/status.json"
check_rc 0 "status after $SCENARIO"
check_json "$WORK/status.json" '.bad_versions' '["2.0.0"]' "versions marked bad"

SCENARIO="deploy 2.0.0 again"
rm -f "$(host_app h01)/shared/fail-2.0.0"
mark_inodes
mark_events
deploy "$PLAN" 2.0.0 --json "$WORK/deploy-again.json"
check_rc 4 "$SCENARIO (marked bad)"
check_untouched "$SCENARIO" "${HOST_NAMES[@]}"

fleet_end
