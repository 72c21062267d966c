#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
r="$WORK/result.json"
expect_json "$r" .verdict '"inconclusive"'
expect_json "$r" '.rules[] | select(.id == "reports-readable") | .status' '"inconclusive"'
expect_json "$r" '.reports[0].error' "\"$WORK/empty.xml:1: the file is empty (no test report in it)\""
