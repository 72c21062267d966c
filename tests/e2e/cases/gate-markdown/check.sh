#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
md="$WORK/summary.md"
expect_file_contains "$md" "## "
expect_file_contains "$md" "FAIL"
expect_file_contains "$md" "| failures-A |"
expect_file_contains "$md" "| failures-B |"
expect_file_contains "$md" "|---"
# Markdown-special characters in test names are escaped.
expect_file_contains "$md" 'test\_suite::test\_fail\_total\[A\]'
rows="$(grep -c '^| .* | \(pass\|fail\|warn\|inconclusive\) |' "$md")"
expect_eq "$rows" 8 "rule rows in the Markdown table"
