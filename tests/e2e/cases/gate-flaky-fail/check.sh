#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
# gotestsum --rerun-fails: 2 tests failed and then passed on a rerun. With
# the failure limits out of the way, --flaky fail alone fails the gate;
# with the default (warn) the same run passes with a warning.
r="$WORK/result.json"
expect_json "$r" .verdict '"fail"'
expect_json "$r" '[.rules[] | select(.status == "fail") | .id]' '["flaky"]'
expect_json "$r" '.totals' '{"errors":0,"failed":2,"flaky":2,"passed":6,"skipped":1,"tests":11}'
expect_json "$r" '.flaky | length' 2
run_shipgate 0 gate-on-test-report --ci none -r tests/fixtures/producers/gotestsum/report.xml \
  --max-failures A=5 --max-failures B=5 --json "$WORK/warn.json"
expect_json "$WORK/warn.json" '.rules[] | select(.id == "flaky") | .status' '"warn"'
