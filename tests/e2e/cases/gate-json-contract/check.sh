#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
# The documented shape of --json (what pipelines and dashboards read).
r="$WORK/result.json"
expect_json "$r" '.schema_version | type' '"number"'
expect_json "$r" '.schema' '"shipgate/step-result"'
expect_json "$r" '.step' '"gate-on-test-report"'
expect_json "$r" '.verdict | IN("pass", "fail", "inconclusive")' true
expect_json "$r" '.exit_code' 1
expect_json "$r" '.totals | keys' '["errors","failed","flaky","passed","skipped","tests"]'
expect_json "$r" '[.totals[] | type] | unique' '["number"]'
expect_json "$r" '.totals | .tests == .passed + .failed + .errors + .skipped + .flaky' true
expect_json "$r" '.totals' "$(jq -c '.totals' "$FIXTURES/producers/surefire/expected.json" | jq -c -S .)"
expect_json "$r" '.rules | type' '"array"'
expect_json "$r" '[.rules[] | (.id | type), (.status | type)] | unique' '["string"]'
expect_json "$r" '[.rules[] | .status | IN("pass", "fail", "warn", "inconclusive", "skip")] | all' true
expect_json "$r" '.failures | type' '"array"'
expect_json "$r" '[.failures[] | has("id") and has("status") and has("level") and has("counted")] | all' true
expect_json "$r" '.failures | length' 3
expect_json "$r" '.flaky | length' 2
# Non-ASCII test names survive as UTF-8.
expect_json "$r" '[.failing_ids[] | select(contains("测试"))] | length' 1
