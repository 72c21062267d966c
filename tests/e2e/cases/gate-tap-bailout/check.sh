#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
# "Bail out!" is an error outside any test case: the suite-errors rule fails
# even though the A-level failure is within the (raised) limit.
r="$WORK/result.json"
expect_json "$r" .verdict '"fail"'
expect_json "$r" '[.rules[] | select(.status == "fail") | .id]' '["suite-errors"]'
expect_json "$r" '.suite_errors | length' 1
expect_json "$r" '.suite_errors[0].message | test("bailed out: database went away")' true
expect_json "$r" '.suite_errors[0].location' '"tests/fixtures/producers/tap12-bailout/report.tap:9"'
expect_json "$r" '.totals' '{"errors":0,"failed":1,"flaky":0,"passed":2,"skipped":0,"tests":3}'
