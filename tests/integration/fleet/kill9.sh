#!/usr/bin/env bash
# kill -9 of shipgate in the middle of batch 2 of a rolling deploy to 20 real
# ssh hosts (batches of 25%: h01-h05, h06-h10, ...), then a re-run.
#
#   bash tests/integration/fleet/kill9.sh [PATH/TO/shipgate]
#
#   1. deploy 1.0.0 to all: exit 0;
#   2. deploy 2.0.0 in the background, its own process group; the start of
#      2.0.0 on batch 2's hosts sleeps 3 s (shared/slow-2.0.0) so the test
#      can see the middle of the batch: as soon as one host of batch 2 has
#      switched `current` to 2.0.0, the whole process group (shipgate and
#      its ssh clients) gets SIGKILL, as a CI runner killing the job does;
#   3. after the kill: batch 1 had been verified on 2.0.0, batches 3 and 4
#      never touched; every host whose `current` was switched keeps a
#      journal, so the next run can find out what was half-done;
#   4. deploy 2.0.0 again (the killed run did not mark it bad): exit 0, the
#      result reports the reconciliation; every host that the killed run had
#      switched was put back on 1.0.0 first (started on 1.0.0 and verified,
#      a reconcile entry in its ledger); then every host is on 2.0.0, its
#      app answering it, its ledger ending with this run's succeeded deploy,
#      no entry of the killed run claiming success, every ledger line valid
#      JSON, and nothing left (journal, lock, .partial-*).
#
# Environment: SHIPGATE, KEEP_WORK=1, JOBS (default 10).
# Exit status: 0 every assertion held, 1 one failed, 2 set-up failed.
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=tests/integration/fleet/lib.sh
source "$HERE/lib.sh"

fleet_begin kill9 20 "${1:-}"
PLAN="$WORK/plan.yml"
write_plan "$PLAN" STRATEGY=rolling BATCH=25%
read -r -a BATCH1 <<<"$(hosts_between 1 5)"
read -r -a BATCH2 <<<"$(hosts_between 6 10)"
read -r -a LATER <<<"$(hosts_between 11 20)"

SCENARIO="deploy 1.0.0"
deploy "$PLAN" 1.0.0
check_rc 0 "$SCENARIO"
check_all_live 1.0.0 "after $SCENARIO"

SCENARIO="kill -9 in the middle of batch 2"
say "$SCENARIO"
for name in "${BATCH2[@]}"; do echo 3 >"$(host_app "$name")/shared/slow-2.0.0"; done
mark_events
mark_inodes
sg_background deploy-stage --plan "$PLAN" --env prod --version 2.0.0 --jobs "${JOBS:-10}"
killed_pid=$BG_PID
hit=""
deadline=$(($(now_ms) + 120000))
while [[ -z "$hit" ]] && (($(now_ms) < deadline)) && kill -0 "$killed_pid" 2>/dev/null; do
  for name in "${BATCH2[@]}"; do
    [[ "$(host_version "$name")" == 2.0.0 ]] && { hit="$name"; break; }
  done
  [[ -n "$hit" ]] || sleep 0.02
done
if [[ -z "$hit" ]]; then
  bad "$SCENARIO: no host of batch 2 switched to 2.0.0 (run still alive: $(kill -0 "$killed_pid" 2>/dev/null && echo yes || echo no))"
  sed 's/^/    stderr| /' "$OUT.stderr" | tail -n 20 >&2
  fleet_end
  exit 1
fi
kill -KILL -- "-$killed_pid"
wait "$killed_pid" 2>/dev/null
say "$SCENARIO: killed when $hit had switched"
# The starts on the hosts may outlive their ssh clients; let them finish
# (at most the 3 s sleep and a start) so what the re-run finds is settled.
for _ in $(seq 100); do
  pgrep -f "$FLEET_APP start" >/dev/null || break
  sleep 0.1
done
killed_run="$(jq -r '.owner.run_id' "$(host_app h01)/.shipgate/lock" 2>/dev/null)"
say "$SCENARIO: the killed run was $killed_run"
check "$SCENARIO: the killed run's lease names its run id" test -n "$killed_run" -a "$killed_run" != null
for name in "${BATCH1[@]}"; do
  check "$SCENARIO: batch 1's $name had been verified on 2.0.0" test -n "$(verified_ms "$name" 2.0.0)"
done
switched=()
for name in "${HOST_NAMES[@]}"; do
  [[ "$(host_current_inode "$name")" != "${INODE_MARK[$name]}" ]] && switched+=("$name")
done
say "$SCENARIO: switched by the killed run: ${switched[*]}"
check "$SCENARIO: hosts of batch 2 were reached (${switched[*]})" grep -q "$hit" <<<"${switched[*]}"
for name in "${switched[@]}"; do
  check "$SCENARIO: $name (switched by the killed run) keeps a journal" test -s "$(host_journal "$name")"
done
check_untouched "$SCENARIO (batches 3 and 4)" "${LATER[@]}"

SCENARIO="deploy 2.0.0 again"
say "$SCENARIO"
for name in "${BATCH2[@]}"; do rm -f "$(host_app "$name")/shared/slow-2.0.0"; done
mark_events
deploy "$PLAN" 2.0.0 --json "$WORK/deploy-again.json"
check_rc 0 "$SCENARIO"
say "$SCENARIO: exit $RC in $ELAPSED_MS ms"
check_json "$WORK/deploy-again.json" '.reconciled | length > 0' true "$SCENARIO: the result reports the reconciliation"
run_id="$(jq -r '.run_id' "$WORK/deploy-again.json" 2>/dev/null)"
for name in "${switched[@]}"; do
  back="$(events_since "$name" | awk '$2 == "start" && $3 == "1.0.0" { print $1; exit }')"
  new="$(events_since "$name" | awk '$2 == "start" && $3 == "2.0.0" { print $1; exit }')"
  check "$SCENARIO: $name was put back on 1.0.0 (started) by the reconciliation" test -n "$back"
  check "$SCENARIO: ... before 2.0.0 was started again ($back < $new)" test "${back:-9}" -lt "${new:-0}"
  check "$SCENARIO: $name's 1.0.0 was verified" verified_after_start "$name" 1.0.0
  check_eq "$(host_ledger_json "$name" | jq -c '[.[] | select(.event == "reconcile") | [.outcome, .version]]')" \
    '[["succeeded","1.0.0"]]' "$SCENARIO: the reconcile entries of $name's ledger"
done
check_all_live 2.0.0 "after $SCENARIO"
for name in "${HOST_NAMES[@]}"; do
  check "$SCENARIO: every line of $name's ledger is a JSON object of schema 1" \
    bash -c 'jq -e -s "all(.[]; type == \"object\" and .schema == 1)" "$1" >/dev/null' sh "$(host_ledger "$name")"
  check_ledger_last "$name" '[.event, .outcome, .version, .id]' "[\"deploy\",\"succeeded\",\"2.0.0\",\"$run_id\"]" "$SCENARIO"
  check_eq "$(host_ledger_json "$name" | jq -c --arg id "$killed_run" '[.[] | select(.id == $id and .outcome == "succeeded")]')" \
    '[]' "$SCENARIO: entries of the killed run claiming success in $name's ledger"
done
check_clean "after $SCENARIO"

fleet_end
