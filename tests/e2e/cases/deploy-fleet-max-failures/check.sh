#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
r="$WORK/r.json"
for n in 1 2 4 5; do expect_eq "$(fleet_version $n)" "1.1" "the version h$n serves"; done
expect_eq "$(fleet_version 3)" "1.0" "the version h3 serves (rolled back alone)"
expect_json "$r" '.outcome' '"succeeded"'
expect_json "$r" '.hosts_failed' "[\"local:$ROOT/h3\"]"
expect_json "$r" '[.target_states[] | .state]' '["live","live","failed-rolled-back","live","live"]'
expect_json "$r" '[.warnings[] | select(contains("h3"))] | length > 0' true
expect_json "$(jq -s . "$ROOT/h1/.shipgate/ledger.jsonl" > "$WORK/l.json"; echo "$WORK/l.json")" \
  '[.[] | select(.version == "1.1" and .event == "deploy") | .hosts_failed]' "[[\"local:$ROOT/h3\"]]"
# status names the target that is not on the recorded version.
sg 0 status --plan "$FLEET_PLAN" --env prod --var ROOT="$ROOT" --json "$WORK/s.json" || check_fail "status failed"
expect_json "$WORK/s.json" '.drift' "[\"local:$ROOT/h3\"]"
expect_json "$WORK/s.json" '[.targets[] | .drift]' '[false,false,true,false,false]'
grep -qF "[DRIFT]" "$WORK/sg.stdout" || check_fail "status text does not flag the drift: $(cat "$WORK/sg.stdout")"
# Two failures in one batch are one too many: everything goes back.
touch "$ROOT/h1/fail-1.2" "$ROOT/h2/fail-1.2"
"$MAKE_ARTIFACTS" "$ART" 1.2
deploy_fleet 1 1.2 --json "$WORK/r2.json" || check_fail "two failures in a batch did not roll back"
for n in 1 2 4 5; do expect_eq "$(fleet_version $n)" "1.1" "h$n after the failed 1.2"; done
