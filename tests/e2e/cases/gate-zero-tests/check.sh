#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
# A valid JUnit file with no test case: zero tests is never a pass.
r="$WORK/result.json"
expect_json "$r" .verdict '"inconclusive"'
expect_json "$r" '[.rules[] | select(.status != "pass") | [.id, .status]]' '[["min-tests","inconclusive"]]'
expect_json "$r" '.reports[0] | [.format, .tests, has("error")]' '["junit",0,false]'
