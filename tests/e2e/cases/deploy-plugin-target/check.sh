#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
state="$ROOT/test/site-state"
release="$(jq -r .release "$WORK/r.json")"
log="$ROOT/plugin.log"
[[ -f "$log" ]] || check_fail "the plugin was never run (no $log)"
ops="$(jq -r .operation "$log" | awk '!seen[$0]++' | tr '\n' ' ')"
for op in prepare switch verify; do
  [[ " $ops" == *" $op "* ]] || check_fail "the plugin never got a $op request (got: $ops)"
done
expect_json "$log" 'select(.operation == "prepare") | .protocol' 1
expect_json "$state/fake-plugin-state.json" '.current' "\"$release\""
expect_json "$WORK/r.json" '.outcome' '"succeeded"'
expect_json "$WORK/r.json" '.targets | length' 1
expect_json "$WORK/r.json" '.targets[0] | startswith("plugin:") and endswith("fake-plugin")' true
# shipgate keeps the plugin target's ledger in its state_dir.
expect_json "$state/ledger.jsonl" '[.event, .outcome, .version, .release]' "[\"deploy\",\"succeeded\",\"1.0\",\"$release\"]"
# status reads it back.
sg 0 status --plan "$DEPLOY_E2E/plugin.yml" --env test --var ROOT="$ROOT" --json "$WORK/status.json" || check_fail "status failed"
expect_json "$WORK/status.json" '[.live.version, .live.release]' "[\"1.0\",\"$release\"]"
expect_json "$WORK/status.json" '.targets[0].current' "\"$release\""
# A second version, then a rollback, through the plugin.
sg 0 deploy-stage --plan "$DEPLOY_E2E/plugin.yml" --env test --version 1.1 --artifact "$ART/app-1.1.tar.gz" --var ROOT="$ROOT" || check_fail "deploying 1.1 failed"
sg 0 rollback --plan "$DEPLOY_E2E/plugin.yml" --env test --var ROOT="$ROOT" || check_fail "the rollback failed"
expect_json "$state/fake-plugin-state.json" '.current' "\"$release\""
