#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
# truncated.xml is the first 700 bytes of the pytest-xunit1 report: the test
# cases before the cut are counted, but the verdict cannot be trusted.
r="$WORK/result.json"
expect_json "$r" .verdict '"inconclusive"'
expect_json "$r" '.rules[] | select(.id == "reports-readable") | .status' '"inconclusive"'
expect_json "$r" '.reports[0].error | test("^tests/fixtures/e2e/truncated.xml:1:[0-9]+: .*truncated")' true
