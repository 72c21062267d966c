#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
# tests/fixtures/e2e/policy.yaml on pytest-xunit1: the A failure is
# quarantined until 9999-12-31 (far beyond 2262, the end of a nanosecond
# system_clock), two failures are moved to C by rules, one stays B (limit 1),
# and only the pass rate (50% < 60%) fails the gate.
r="$WORK/result.json"
expect_json "$r" .verdict '"fail"'
expect_json "$r" '[.rules[] | {(.id): .status}] | add' '{"reports-found":"pass","reports-readable":"pass","min-tests":"pass","suite-errors":"pass","failures-A":"pass","failures-B":"pass","failures-C":"pass","pass-rate":"fail","flaky":"pass","quarantine":"pass"}'
expect_json "$r" '.by_level' '{"A":0,"B":1,"C":2}'
expect_json "$r" '.rules[] | select(.id == "pass-rate") | [.actual, .limit]' '["50.00%",">= 60.00%"]'
expect_json "$r" '.rules[] | select(.id == "min-tests") | .limit' '">= 5"'
expect_json "$r" '.failures[] | select(.id == "test_suite::test_fail_total[A]") | [.counted, .quarantine.ticket, .quarantine.expires]' '[false,"QA-123","9999-12-31"]'
expect_json "$r" '[.failures[] | select(.level == "C") | [.id, .level_source]]' '[["test_suite::test_fixture_error","rule 2"],["test_suite::test_xpass_strict","rule 1"]]'
expect_json "$r" '.policy | [.min_pass_rate, .min_tests, .max_failures]' '[60,5,{"A":0,"B":1,"C":5}]'
