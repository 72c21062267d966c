#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
# Like every step, signoff gives its verdict to the pipeline's later jobs.
expect_file_contains "$WORK/o.env" "SHIPGATE_VERDICT=pass"
expect_file_contains "$WORK/o.env" "SHIPGATE_DECISION=approve"
expect_file_contains "$WORK/o.env" "SHIPGATE_ROLE=tester"
