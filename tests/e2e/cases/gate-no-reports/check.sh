#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
# A pattern that matches nothing is not a pass: inconclusive, exit 2, and the
# JSON is still written for the pipeline to archive.
r="$WORK/result.json"
expect_json "$r" .verdict '"inconclusive"'
expect_json "$r" .exit_code 2
expect_json "$r" '.rules[] | select(.id == "reports-found") | .status' '"inconclusive"'
expect_json "$r" '.totals.tests' 0
expect_json "$r" '.reports' '[]'
