#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
expect_json "$WORK/r.json" '[.outcome, .exit_code]' '["blocked",4]'
[[ ! -L "$ROOT/test/web/current" ]] || check_fail "current was created"
[[ ! -s "$ROOT/test/web/.shipgate/ledger.jsonl" ]] || check_fail "the refused rollback wrote to the ledger"
