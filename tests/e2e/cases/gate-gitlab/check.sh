#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
# Findings in a collapsible log section; outputs as a dotenv artifact.
esc=$'\e'
grep -qE "^${esc}\[0Ksection_start:[0-9]+:shipgate_findings\[collapsed=true\]"$'\r'"${esc}\[0Kshipgate findings$" "$STDOUT" \
  || check_fail "no section_start marker in stdout"
grep -qE "^${esc}\[0Ksection_end:[0-9]+:shipgate_findings"$'\r'"${esc}\[0K$" "$STDOUT" \
  || check_fail "no section_end marker in stdout"
expect_file_contains "$WORK/gate.env" "SHIPGATE_VERDICT=fail"
expect_file_contains "$WORK/gate.env" "SHIPGATE_EXIT_CODE=1"
expect_file_contains "$WORK/gate.env" "SHIPGATE_FAILURES_A=1"
bad="$(grep -cvE '^SHIPGATE_[A-Z0-9_]+=' "$WORK/gate.env")"
expect_eq "$bad" 0 "dotenv lines that are not SHIPGATE_NAME=value"
