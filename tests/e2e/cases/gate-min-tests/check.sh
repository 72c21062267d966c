#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
# 3 passing tests, but at least 5 are required.
r="$WORK/result.json"
expect_json "$r" .verdict '"fail"'
expect_json "$r" '[.rules[] | select(.status != "pass") | [.id, .status, .actual, .limit]]' '[["min-tests","fail","3",">= 5"]]'
