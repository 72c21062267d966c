#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
# The entry for test_fail_total[A] expired on 2020-01-31: the failure counts
# again and fails the A rule; the quarantine rule warns about the entry.
r="$WORK/result.json"
expect_json "$r" .verdict '"fail"'
expect_json "$r" '[.rules[] | select(.status == "fail") | .id]' '["failures-A"]'
expect_json "$r" '.rules[] | select(.id == "quarantine") | .status' '"warn"'
expect_json "$r" '.rules[] | select(.id == "quarantine") | .explanation | test("expired entries count again: test_suite::test_fail_total\\* \\(2020-01-31\\)")' true
expect_json "$r" '.failures[] | select(.id == "test_suite::test_fail_total[A]") | [.counted, has("quarantine")]' '[true,false]'
