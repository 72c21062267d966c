#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
# One ::error annotation per counted failure; outputs in $GITHUB_OUTPUT
# (heredoc syntax); a Markdown table in the step summary.
expect_eq "$(grep -c '^::error ' "$STDOUT")" 4 "::error annotations"
python3 - "$WORK/out" <<'PY' || check_fail "GITHUB_OUTPUT content (see above)"
import re, sys
text = open(sys.argv[1]).read()
outputs = {m[0]: m[2] for m in re.findall(r"^([a-z_]+)<<(\S+)\n(.*?)\n\2$", text, re.M | re.S)}
want = {"verdict": "fail", "exit_code": "1", "tests": "10", "failures_a": "1", "failures_b": "3"}
for key, value in want.items():
    if outputs.get(key) != value:
        sys.exit(f"GITHUB_OUTPUT {key}={outputs.get(key)!r}, expected {value!r}; file:\n{text}")
PY
expect_file_contains "$WORK/summary" "| failures-A |"
expect_file_contains "$WORK/summary" "|---"
expect_file_contains "$WORK/summary" "https://github.com/acme/shop/actions/runs/4242"
