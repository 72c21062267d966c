#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
expect_eq "$(cat "$WORK/during-pause.txt")" "1.0 none none none none " "versions during the pause"
expect_eq "$(cat "$WORK/lock-during-pause.txt" 2>/dev/null)" "held" "the lock during the pause"
paused="$(cat "$WORK/paused.pid")"
rc=0
for _ in $(seq 100); do kill -0 "$paused" 2>/dev/null || break; sleep 0.1; done
wait "$paused" 2>/dev/null || rc=$?
if kill -0 "$paused" 2>/dev/null; then check_fail "the paused deploy did not finish after --resume"; fi
expect_json "$WORK/paused.json" '[.outcome, .exit_code]' '["succeeded",0]'
for n in 1 2 3 4 5; do expect_eq "$(fleet_version $n)" "1.0" "h$n after the resume"; done
expect_json "$WORK/r.json" '.signal' '"resume"'
expect_json "$WORK/paused.json" '[.actions[] | select(.id | test("pause-web")) | .explanation | test("resumed by rita")]' '[true]'
# --abort: the second deploy's canary goes back.
env -i PATH="$PATH" HOME="${HOME:-/root}" LANG=C.UTF-8 TZ=UTC "$SHIPGATE" deploy-stage --ci none --plan "$FLEET_PLAN" \
  --env prod --version 1.1 --artifact "$ART/app-1.1.tar.gz" --var ROOT="$ROOT" --json "$WORK/aborted.json" \
  </dev/null >"$WORK/aborted.stdout" 2>"$WORK/aborted.stderr" &
aborted=$!
sleep 0.3
wait_for_line "$ROOT/h1/.shipgate/journal.jsonl" '"action":"pause"' 20 || check_fail "the second deploy did not pause"
expect_eq "$(fleet_version 1)" "1.1" "the canary of 1.1"
sg 0 deploy-stage --plan "$FLEET_PLAN" --env prod --abort --var ROOT="$ROOT" || check_fail "--abort failed"
rc=0
wait "$aborted" || rc=$?
expect_eq "$rc" 1 "exit code of the aborted deploy"
for n in 1 2 3 4 5; do expect_eq "$(fleet_version $n)" "1.0" "h$n after the abort"; done
expect_json "$WORK/aborted.json" '.reason | test("aborted by")' true
# Nothing is paused any more.
sg 4 deploy-stage --plan "$FLEET_PLAN" --env prod --resume --var ROOT="$ROOT" || check_fail "a second --resume did not exit 4"
