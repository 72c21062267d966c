#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
r="$WORK/result.json"
expect_json "$r" .verdict '"inconclusive"'
expect_json "$r" '.reports[0].error' "\"$WORK/report.xml:1: binary data, not a test report\""
expect_json "$r" '.totals.tests' 0
