#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
# '**' reaches every producer folder: one JUnit report.xml per producer.
r="$WORK/result.json"
mapfile -t files < <(cd "$REPO" && find tests/fixtures/producers -name report.xml -type f | sort)
expect_eq "$(jq '.reports | length' "$r")" "${#files[@]}" "number of reports read"
((${#files[@]} >= 15)) || check_fail "expected many report.xml fixtures, found ${#files[@]}"
expect_eq "$(jq -r '.reports[].path' "$r" | sort | tr '\n' ' ')" "$(printf '%s ' "${files[@]}")" "report paths"
expect_json "$r" '[.reports[] | .format] | unique' '["junit"]'
expect_json "$r" '[.reports[] | select(has("error"))] | length' 0
# Totals: the sum of the producers' expected.json, except that a failing test
# id found in several files counts once. Only the three pytest fixtures share
# a suite (test_suite.py): pytest-xunit2 repeats xunit1's 3 failures and 1
# error, pytest-rerun repeats the setup error => 3 failures, 2 errors fewer.
sum() { jq -s "map(select(.files == [\"report.xml\"]) | .totals.$1) | add" "$FIXTURES"/producers/*/expected.json; }
expect_json "$r" '.totals.passed' "$(sum passed)"
expect_json "$r" '.totals.skipped' "$(sum skipped)"
expect_json "$r" '.totals.flaky' "$(sum flaky)"
expect_json "$r" '.totals.failed' "$(($(sum failed) - 3))"
expect_json "$r" '.totals.errors' "$(($(sum errors) - 2))"
expect_json "$r" '.totals.tests' "$(($(sum tests) - 5))"
