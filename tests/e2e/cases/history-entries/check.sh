#!/usr/bin/env bash
# The ledger newest first, every field kept; --limit cuts it.
source "$REPO/tests/e2e/lib.sh"
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
r="$WORK/r.json"
expect_json "$r" '[.entries[] | [.event, .outcome, .version]]' \
  '[["mark-bad","recorded","1.2"],["deploy","rolled-back","1.2"],["deploy","succeeded","1.1"],["deploy","succeeded","1.0"]]'
expect_json "$r" '[.entries[] | .user]' '["carol","carol","bob","alice"]'
expect_json "$r" '.entries[1].reason | contains("health checks of web failed")' true
expect_json "$r" '.entries[2].previous_version' '"1.0"'
expect_json "$r" '.entries' "$(jq -s -c 'reverse' "$(ledger test)")"
sg 0 history --plan "$WEB_PLAN" --env test --var ROOT="$ROOT" --limit 2 --json "$WORK/r2.json" || check_fail "history --limit 2 failed"
expect_json "$WORK/r2.json" '[.entries[] | .event]' '["mark-bad","deploy"]'
sg 2 history --plan "$WEB_PLAN" --env test --var ROOT="$ROOT" --limit 0 || check_fail "history --limit 0 did not exit 2"
sg 0 history --plan "$WEB_PLAN" --env prod --var ROOT="$ROOT" --json "$WORK/prod.json" || check_fail "history of the empty prod failed"
expect_json "$WORK/prod.json" '.entries' '[]'
grep -qF "(empty: nothing was deployed to prod yet)" "$WORK/sg.stdout" || check_fail "the empty history does not say so"
