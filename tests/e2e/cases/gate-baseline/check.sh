#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
# Run 1 (the case's cmd) fails and writes the baseline. Run 2 on the same
# report with --baseline: every failure is known, so the gate passes.
# Run 3 against an edited baseline: one failure is new, one test is fixed.
R="tests/fixtures/producers/pytest-xunit1/report.xml"
expect_json "$WORK/baseline.json" '.failing_ids | length' 4

run_shipgate 0 gate-on-test-report --ci none -r "$R" --baseline "$WORK/baseline.json" --json "$WORK/second.json"
s="$WORK/second.json"
expect_json "$s" .verdict '"pass"'
expect_json "$s" '[.failures[] | .new] | unique' '[false]'
expect_json "$s" '[.failures[] | .counted] | unique' '[false]'
expect_json "$s" '.fixed' '[]'
expect_json "$s" '.rules[] | select(.id == "baseline") | [.status, .actual]' '["pass","4"]'
expect_json "$s" '.by_level' '{"A":0,"B":0,"C":0}'

# test_fail_compare was not failing in this baseline (so it is new), and
# test_pass_basic was failing then but passes now (so it is fixed).
jq '.failing_ids = (.failing_ids - ["test_suite::test_fail_compare"] + ["test_suite::test_pass_basic"])' \
  "$WORK/baseline.json" >"$WORK/edited.json"
run_shipgate 1 gate-on-test-report --ci none -r "$R" --baseline "$WORK/edited.json" --json "$WORK/third.json"
t="$WORK/third.json"
expect_json "$t" .verdict '"fail"'
expect_json "$t" '[.failures[] | select(.new) | .id]' '["test_suite::test_fail_compare"]'
expect_json "$t" '.fixed' '["test_suite::test_pass_basic"]'
expect_json "$t" '[.rules[] | select(.status == "fail") | .id]' '["failures-B"]'
expect_json "$t" '.by_level' '{"A":0,"B":1,"C":0}'
