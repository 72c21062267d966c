set -euo pipefail
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
"$MAKE_ARTIFACTS" "$ART" 1.0 1.1
fleet_plan "{type: canary, canary: 1, batch: 50%, pause: until-resume}"
env -i PATH="$PATH" HOME="${HOME:-/root}" LANG=C.UTF-8 TZ=UTC "$SHIPGATE" deploy-stage --ci none --plan "$FLEET_PLAN" \
  --env prod --version 1.0 --artifact "$ART/app-1.0.tar.gz" --var ROOT="$ROOT" --json "$WORK/paused.json" \
  </dev/null >"$WORK/paused.stdout" 2>"$WORK/paused.stderr" &
echo $! >"$WORK/paused.pid"
wait_for_line "$ROOT/h1/.shipgate/journal.jsonl" '"action":"pause"' 20
# While paused: only the canary serves 1.0, and the lock is held.
for n in 1 2 3 4 5; do fleet_version $n; done | tr '\n' ' ' >"$WORK/during-pause.txt"
[[ -e "$ROOT/h3/.shipgate/lock" ]] && echo held >"$WORK/lock-during-pause.txt"
exit 0
