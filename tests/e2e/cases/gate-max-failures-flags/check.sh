#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
# Same report as gate-fail-levels (A 1, B 3), with the limits raised by two
# separate --max-failures flags: the gate passes.
r="$WORK/result.json"
expect_json "$r" .verdict '"pass"'
expect_json "$r" '.policy.max_failures' '{"A":1,"B":5,"C":0}'
expect_json "$r" '[.rules[] | select(.id | startswith("failures-")) | [.id, .status, .actual, .limit]]' '[["failures-A","pass","1","<= 1"],["failures-B","pass","3","<= 5"],["failures-C","pass","0","<= 0"]]'
