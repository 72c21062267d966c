#!/usr/bin/env bash
# A clean rolling deploy to 20 real ssh hosts, then a rollback of all 20.
#
#   bash tests/integration/fleet/rolling.sh [PATH/TO/shipgate]
#
#   1. deploy 1.0.0 (rolling, batches of 25% = 5 hosts, --jobs 10): exit 0,
#      every host serves 1.0.0;
#   2. deploy 2.0.0 the same way: exit 0; on every host current/VERSION is
#      2.0.0, its own app answers /health with 2.0.0 and its name, its ledger
#      ends with the deploy (succeeded, 2.0.0, the run id of the JSON result),
#      nothing is left (journal, lock, .partial-*); the batches ran in order:
#      each host of batch k answered its verification before any host of
#      batch k+1 was stopped (the hosts' own event logs, one clock);
#   3. rollback: exit 0; every host back on 1.0.0 and answering it, a
#      rollback entry in every ledger, 2.0.0 marked bad (status), and a
#      new deploy of 2.0.0 refused (exit 4).
#
# Negative control: NEGATIVE_CONTROL=all-at-once deploys with an all-at-once
# plan instead; the test then passes only when the batch-order checks of
# step 2 fail (all 20 hosts switched at once) and every other check holds.
#
# Environment: SHIPGATE, KEEP_WORK=1, JOBS (default 10), NEGATIVE_CONTROL.
# Exit status: 0 every assertion held, 1 one failed, 2 set-up failed.
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=tests/integration/fleet/lib.sh
source "$HERE/lib.sh"

fleet_begin rolling 20 "${1:-}"
PLAN="$WORK/plan.yml"
case "${NEGATIVE_CONTROL:-}" in
  "") write_plan "$PLAN" STRATEGY=rolling BATCH=25% ;;
  all-at-once) write_plan "$PLAN" STRATEGY=all-at-once ;;
  *) echo "rolling: NEGATIVE_CONTROL is all-at-once or empty" >&2; exit 2 ;;
esac
# check_order VERSION WHEN: the batch-order checks; under the negative
# control they must fail instead.
check_order() {
  local failed_before=$FAILED passed_before=$PASSED
  if [[ -z "${NEGATIVE_CONTROL:-}" ]]; then
    check_batches "$1" "$2" "${BATCHES[@]}"
    return
  fi
  check_batches "$1" "$2" "${BATCHES[@]}" 2>/dev/null
  local failures=$((FAILED - failed_before))
  FAILED=$failed_before
  PASSED=$passed_before
  if ((failures > 0)); then
    ok
  else
    bad "negative control: the batch-order checks of $2 held with an all-at-once plan"
  fi
}
BATCHES=("$(hosts_between 1 5)" "$(hosts_between 6 10)" "$(hosts_between 11 15)" "$(hosts_between 16 20)")

SCENARIO="deploy 1.0.0"
say "$SCENARIO to ${#HOST_NAMES[@]} hosts"
mark_events
deploy "$PLAN" 1.0.0 --json "$WORK/deploy-1.0.0.json"
check_rc 0 "$SCENARIO"
say "$SCENARIO: exit $RC in $ELAPSED_MS ms"
check_all_live 1.0.0 "after $SCENARIO"
check_order 1.0.0 "$SCENARIO"

SCENARIO="deploy 2.0.0"
say "$SCENARIO (rolling, batches of 25%)"
mark_events
deploy "$PLAN" 2.0.0 --json "$WORK/deploy-2.0.0.json"
check_rc 0 "$SCENARIO"
say "$SCENARIO: exit $RC in $ELAPSED_MS ms"
check_json "$WORK/deploy-2.0.0.json" '[.exit_code, .outcome, .version, .previous_version]' '[0,"succeeded","2.0.0","1.0.0"]' "$SCENARIO result"
run_id="$(jq -r '.run_id' "$WORK/deploy-2.0.0.json" 2>/dev/null)"
check "$SCENARIO: the JSON result has a run_id" test -n "$run_id" -a "$run_id" != null
check_all_live 2.0.0 "after $SCENARIO"
for name in "${HOST_NAMES[@]}"; do
  check_ledger_last "$name" '[.event, .outcome, .version, .previous_version, .id]' \
    "[\"deploy\",\"succeeded\",\"2.0.0\",\"1.0.0\",\"$run_id\"]" "$SCENARIO"
  check_eq "$(events_since "$name" | awk '$2 == "start" && $3 == "2.0.0"' | wc -l)" 1 "$SCENARIO: starts of 2.0.0 on $name"
  check_eq "$(events_since "$name" | awk '$2 == "stop" && $3 == "1.0.0"' | wc -l)" 1 "$SCENARIO: stops of 1.0.0 on $name"
done
check_clean "after $SCENARIO"
check_order 2.0.0 "$SCENARIO"

SCENARIO="rollback"
say "$SCENARIO of all ${#HOST_NAMES[@]} hosts"
mark_events
rollback "$PLAN" --reason "fleet test" --json "$WORK/rollback.json"
check_rc 0 "$SCENARIO"
say "$SCENARIO: exit $RC in $ELAPSED_MS ms"
check_json "$WORK/rollback.json" '[.exit_code, .version, .bad_version]' '[0,"1.0.0","2.0.0"]' "$SCENARIO result"
check_all_live 1.0.0 "after $SCENARIO"
for name in "${HOST_NAMES[@]}"; do
  check_eq "$(host_ledger_json "$name" | jq -c '[.[] | select(.event == "rollback") | [.outcome, .version, .previous_version]]')" \
    '[["succeeded","1.0.0","2.0.0"]]' "$SCENARIO: the rollback entries in $name's ledger"
  check_eq "$(events_since "$name" | awk '$2 == "start" && $3 == "1.0.0"' | wc -l)" 1 "$SCENARIO: starts of 1.0.0 on $name"
  check "$SCENARIO: $name's app was verified on 1.0.0 after the rollback's start" verified_after_start "$name" 1.0.0
done
check_clean "after $SCENARIO"
status_json "$PLAN" "$WORK/status.json"
check_rc 0 "status after the rollback"
check_json "$WORK/status.json" '.bad_versions' '["2.0.0"]' "versions marked bad after the rollback"

SCENARIO="deploy 2.0.0 again"
mark_inodes
mark_events
deploy "$PLAN" 2.0.0 --json "$WORK/deploy-again.json"
check_rc 4 "$SCENARIO (marked bad)"
check_untouched "$SCENARIO" "${HOST_NAMES[@]}"

fleet_end
