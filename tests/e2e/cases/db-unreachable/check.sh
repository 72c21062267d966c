#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
expect_json "$WORK/r.json" '[.outcome, .exit_code]' '["blocked",4]'
for file in "$WORK/r.json" "$WORK/r.xml"; do
  if grep -qF Canary-p4ss-e2e "$file"; then check_fail "$file holds the password"; fi
done
if [[ -s "$ROOT/test/web/.shipgate/ledger.jsonl" ]]; then check_fail "the refused deploy wrote to the ledger"; fi
