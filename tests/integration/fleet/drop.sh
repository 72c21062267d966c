#!/usr/bin/env bash
# A host drops off the network in the middle of its batch: 8 real ssh hosts,
# rolling batches of 25% (h01-h02, h03-h04, h05-h06, h07-h08).
#
#   bash tests/integration/fleet/drop.sh [PATH/TO/shipgate]
#
#   1. deploy 1.0.0 to all: exit 0;
#   2. deploy 2.0.0; h04's start of 2.0.0 first takes h04's network down
#      (its shared/drop-2.0.0 hook runs `hosts.sh drop`): after the switch,
#      h04 stops answering anything. The run must end within the plan's
#      timeouts (well under 120 s), exit 5 (rollback-failed: h04's rollback
#      cannot reach it) and name h04 as unreachable; h01-h03 back on 1.0.0
#      and verified; h05-h08 never touched; h04's app does not answer;
#      h04 is listed in hosts_not_rolled_back (result) and in the failed
#      deploy's ledger entry of the other hosts;
#   3. while h04 is still down, deploy 3.0.0 stops at pre-flight: exit 4,
#      naming h04, nothing touched anywhere (docs/deploy.md: never skipped);
#   4. h04's network comes back (`hosts.sh restore`): h04 is still on 2.0.0,
#      with the failed run's journal; `status` shows the pending journal;
#   5. deploy 3.0.0: exit 0, the result reports the reconciliation; h04 was
#      put back on 1.0.0 from its journal (its app restarted on 1.0.0 and
#      verified, a reconcile entry in its ledger) before 3.0.0 went out;
#      then every host is on 3.0.0 with the same run in its ledger, and
#      nothing is left on any host.
#
# Environment: SHIPGATE, KEEP_WORK=1, JOBS (default 10).
# Exit status: 0 every assertion held, 1 one failed, 2 set-up failed.
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=tests/integration/fleet/lib.sh
source "$HERE/lib.sh"

fleet_begin drop 8 "${1:-}"
PLAN="$WORK/plan.yml"
write_plan "$PLAN" STRATEGY=rolling BATCH=25% CONNECT_TIMEOUT=3s TIMEOUT=15s COMMAND_TIMEOUT=10s
BOUND_MS=120000

SCENARIO="deploy 1.0.0"
deploy "$PLAN" 1.0.0
check_rc 0 "$SCENARIO"
check_all_live 1.0.0 "after $SCENARIO"

SCENARIO="h04 drops during its start of 2.0.0"
say "$SCENARIO"
jq -cn --arg harness "$HARNESS" --arg fleet "$FLEET" '[$harness, "drop", $fleet, "h04"]' >"$(host_app h04)/shared/drop-2.0.0"
mark_events
mark_inodes
deploy "$PLAN" 2.0.0 --json "$WORK/deploy-2.0.0.json"
say "$SCENARIO: exit $RC in $ELAPSED_MS ms"
check "$SCENARIO: the hook ran on h04 (shared/dropped-2.0.0)" test -e "$(host_app h04)/shared/dropped-2.0.0"
check "$SCENARIO: the run ended in ${ELAPSED_MS} ms, within ${BOUND_MS} ms" test "$ELAPSED_MS" -lt "$BOUND_MS"
check_rc 5 "$SCENARIO (h04's rollback cannot reach it)"
check_json "$WORK/deploy-2.0.0.json" '[.exit_code, .outcome]' '[5,"rollback-failed"]' "$SCENARIO result"
check_names_saying "$WORK/deploy-2.0.0.json" h04 'unreachable|not reachable|cannot be reached|cannot reach|could not reach|timed out|timeout|connect' \
  "$SCENARIO: h04 is named as unreachable"
check_eq "$(state_of "$WORK/deploy-2.0.0.json" h04)" not-rolled-back "$SCENARIO: h04's state in the result"
check_json "$WORK/deploy-2.0.0.json" '[.hosts_not_rolled_back[]? | test("(^|[^0-9A-Za-z])h04([^0-9A-Za-z]|$)")]' '[true]' \
  "$SCENARIO: hosts_not_rolled_back"
for name in h01 h05; do
  check_eq "$(host_ledger_json "$name" | jq -c '[.[] | select(.event == "deploy" and .version == "2.0.0")][-1] |
      [.outcome, ([.hosts_not_rolled_back[]? | test("(^|[^0-9A-Za-z])h04([^0-9A-Za-z]|$)")])]')" \
    '["rollback-failed",[true]]' "$SCENARIO: the failed deploy's entry in $name's ledger names h04"
done
check_eq "$(host_answer h04)" "000 " "$SCENARIO: h04's app while h04 is off the network"
# Batch 1 surely ran 2.0.0; h03 (h04's batch) may not have been reached.
for name in h01 h02 h03; do
  if [[ "$name" != h03 ]] || grep -q ' start 2.0.0' <(events_since "$name"); then
    check "$SCENARIO: $name was started on 2.0.0" grep -q ' start 2.0.0' <(events_since "$name")
    check "$SCENARIO: $name was started on 1.0.0 again" grep -q ' start 1.0.0' <(events_since "$name")
    check "$SCENARIO: $name was verified on 1.0.0 again" verified_after_start "$name" 1.0.0
  fi
done
check "$SCENARIO: batch 1 (h01, h02) had been verified on 2.0.0" test -n "$(verified_ms h01 2.0.0)" -a -n "$(verified_ms h02 2.0.0)"
check_all_live 1.0.0 "after $SCENARIO" h01 h02 h03
check_all_live 1.0.0 "after $SCENARIO (never reached)" h05 h06 h07 h08
check_untouched "$SCENARIO (never reached)" h05 h06 h07 h08
check_clean "after $SCENARIO" h01 h02 h03 h05 h06 h07 h08

SCENARIO="deploy 3.0.0 while h04 is down"
say "$SCENARIO"
mark_events
mark_inodes
deploy "$PLAN" 3.0.0 --json "$WORK/deploy-3.0.0-refused.json"
say "$SCENARIO: exit $RC in $ELAPSED_MS ms"
check_rc 4 "$SCENARIO (h04 cannot be locked or reconciled)"
check_names "$WORK/deploy-3.0.0-refused.json" h04 "$SCENARIO: the refusal names h04"
check_untouched "$SCENARIO" h01 h02 h03 h05 h06 h07 h08
check_all_live 1.0.0 "after $SCENARIO" h01 h02 h03 h05 h06 h07 h08

SCENARIO="h04 back"
"$HARNESS" restore "$FLEET" h04 || bad "hosts.sh restore h04 failed"
check_eq "$(host_version h04)" "2.0.0" "$SCENARIO: h04's current (the switch happened before it dropped)"
check "$SCENARIO: h04 keeps the journal of the failed run" test -s "$(host_journal h04)"
status_json "$PLAN" "$WORK/status.json"
check_rc 0 "status with h04 back"
check_json "$WORK/status.json" '[.targets[] | select(.journal_pending == true)] | length' 1 "status: targets with a pending journal"
check_names "$WORK/status.json" h04 "status: the pending journal's host"

SCENARIO="deploy 3.0.0 reconciles h04"
say "$SCENARIO"
mark_events
deploy "$PLAN" 3.0.0 --json "$WORK/deploy-3.0.0.json"
check_rc 0 "$SCENARIO"
say "$SCENARIO: exit $RC in $ELAPSED_MS ms"
check_json "$WORK/deploy-3.0.0.json" '.reconciled | length > 0' true "$SCENARIO: the result reports a reconciliation"
# What the run reports about the reconciliation (.reconciled, the
# preflight/reconcile check, the "reconcile:" lines on stderr) says which
# host it brought back.
reconcile_report="$(jq -r '(.reconciled[]?, (.actions[]? | select(.id == "preflight/reconcile") | .explanation)) | tostring' \
  "$WORK/deploy-3.0.0.json"; grep 'reconcile' "$OUT.stderr")"
check "$SCENARIO: the report of the reconciliation names h04 (got: $(head -c 300 <<<"$reconcile_report" | tr '\n' '|'))" \
  grep -qE "(^|[^0-9A-Za-z])(h04|$(host_address h04 | sed 's/\./\\./g'))([^0-9A-Za-z]|$)" <<<"$reconcile_report"
# On h04: 2.0.0 stopped, 1.0.0 started and verified (the reconciliation), then 3.0.0.
reconciled_start="$(events_since h04 | awk '$2 == "start" && $3 == "1.0.0" { print $1; exit }')"
new_start="$(events_since h04 | awk '$2 == "start" && $3 == "3.0.0" { print $1; exit }')"
check "$SCENARIO: h04 was started on 1.0.0 by the reconciliation" test -n "$reconciled_start"
check "$SCENARIO: ... before 3.0.0 ($reconciled_start < $new_start)" test "${reconciled_start:-9}" -lt "${new_start:-0}"
check "$SCENARIO: h04's 1.0.0 was verified" verified_after_start h04 1.0.0
check_eq "$(host_ledger_json h04 | jq -c '[.[] | select(.event == "reconcile") | [.outcome, .version]]')" \
  '[["succeeded","1.0.0"]]' "$SCENARIO: the reconcile entries of h04's ledger"
run_id="$(jq -r '.run_id' "$WORK/deploy-3.0.0.json" 2>/dev/null)"
check_all_live 3.0.0 "after $SCENARIO"
for name in "${HOST_NAMES[@]}"; do
  check_ledger_last "$name" '[.event, .outcome, .version, .id]' "[\"deploy\",\"succeeded\",\"3.0.0\",\"$run_id\"]" "$SCENARIO"
done
check_clean "after $SCENARIO"

fleet_end
