#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
# JUnit + TAP + CTRF in one run: the totals are the sum of each producer's
# expected.json (their test ids do not overlap).
r="$WORK/result.json"
P="$FIXTURES/producers"
want="$(jq -s -c 'map(.totals) | {tests: (map(.tests)|add), passed: (map(.passed)|add), failed: (map(.failed)|add),
                   errors: (map(.errors)|add), skipped: (map(.skipped)|add), flaky: (map(.flaky)|add)}' \
        "$P/pytest-xunit1/expected.json" "$P/tap12-perl/expected.json" "$P/ctrf/expected.json")"
expect_json "$r" '.totals | {tests, passed, failed, errors, skipped, flaky}' "$want"
expect_json "$r" '.totals.tests' 26
expect_json "$r" '[.reports[] | .format]' '["junit","tap","ctrf"]'
expect_json "$r" '[.reports[] | .tests]' '[10,8,8]'
expect_json "$r" '[.reports[] | has("error")] | any' false
expect_json "$r" .verdict '"fail"'
