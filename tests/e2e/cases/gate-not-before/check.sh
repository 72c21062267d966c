#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
# The only report is older than --not-before: it is ignored, so there is
# nothing to judge (inconclusive). With a fresh report next to it the gate
# passes but warns about the stale one.
r="$WORK/result.json"
expect_json "$r" .verdict '"inconclusive"'
expect_json "$r" '.reports' '[]'
expect_json "$r" '.rules[] | select(.id == "reports-found") | .status' '"inconclusive"'
expect_json "$r" ".rules[] | select(.id == \"reports-found\") | .explanation | contains(\"ignored as older than --not-before: $WORK/old.xml\")" true
now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
touch -d '+1 minute' "$WORK/fresh.xml"
run_shipgate 0 gate-on-test-report --ci none -r "$WORK/*.xml" --not-before "$now" --json "$WORK/both.json"
expect_json "$WORK/both.json" '[.reports[].path]' "[\"$WORK/fresh.xml\"]"
expect_json "$WORK/both.json" '.rules[] | select(.id == "reports-found") | .status' '"warn"'
