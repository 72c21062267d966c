#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
r="$WORK/r.json"
for n in 1 2 3 4 5; do expect_eq "$(fleet_version $n)" "1.0" "the version h$n serves"; done
# Batches 1 and 2 were switched to 1.1 (and started), batch 3 never was.
release="$(jq -r .release "$r")"
for n in 1 2 3 4; do expect_file_contains "$ROOT/events.log" "start $ROOT/h$n $release"; done
if grep -qF "start $ROOT/h5 $release" "$ROOT/events.log"; then check_fail "h5 (batch 3) was started on 1.1"; fi
if [[ -e "$ROOT/h5/releases/$release" ]]; then check_fail "the prepared 1.1 release was left on h5"; fi
expect_json "$r" '[.outcome, .rolled_back, .marked_bad]' '["rolled-back",true,true]'
expect_json "$r" '[.target_states[] | .batch]' '[1,1,2,2,3]'
expect_json "$r" '[.target_states[] | .state]' '["rolled-back","rolled-back","rolled-back","rolled-back","untouched"]'
expect_json "$r" '[.actions[].id | select(test("^deploy/[0-9]+-switch-web-batch"))] | map(sub("^deploy/[0-9]+-"; ""))' '["switch-web-batch1","switch-web-batch2"]'
expect_json "$r" '[.actions[] | select(.id | test("^deploy/[0-9]+-verify-web-batch2")) | .status]' '["fail"]'
expect_json "$r" '.reason | test("h4")' true
expect_json "$r" '.jobs' 3
# Every target's ledger records the failed run and the bad mark.
for n in 1 2 3 4 5; do
  l="$ROOT/h$n/.shipgate/ledger.jsonl"
  jq -s -e '[.[] | select(.version == "1.1") | .event + ":" + .outcome] == ["deploy:rolled-back","mark-bad:recorded"]' "$l" >/dev/null ||
    check_fail "ledger of h$n: $(cat "$l")"
  if [[ -e "$ROOT/h$n/.shipgate/journal.jsonl" ]]; then check_fail "h$n kept a journal"; fi
done
