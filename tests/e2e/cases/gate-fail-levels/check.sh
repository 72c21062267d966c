#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
# pytest-xunit1: test_fail_total[A] is A by its name tag; the other three
# failing tests (2 failures, 1 setup error) default to B. Limits are 0.
r="$WORK/result.json"
expect_json "$r" .verdict '"fail"'
expect_json "$r" .exit_code 1
expect_json "$r" '.totals' '{"errors":1,"failed":3,"flaky":0,"passed":4,"skipped":2,"tests":10}'
expect_json "$r" '[.rules[] | select(.id | startswith("failures-")) | {(.id): .status}] | add' '{"failures-A":"fail","failures-B":"fail","failures-C":"pass"}'
expect_json "$r" '.by_level' '{"A":1,"B":3,"C":0}'
expect_json "$r" '.failures[0] | [.id, .level, .level_source, .status]' '["test_suite::test_fail_total[A]","A","tag [A]","failed"]'
expect_json "$r" '[.failures[] | select(.status == "error") | .id]' '["test_suite::test_fixture_error"]'
expect_json "$r" '.failing_ids | length' 4
