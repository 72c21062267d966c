#!/usr/bin/env bash
# Zero downtime of deploy-stage and rollback, with real processes: an nginx
# serving <root>/current/public (and proxying /app/ to the test app), the
# test app started and gracefully reloaded by the plan's own commands, and
# a load generator checking every answer while the releases switch.
#
#   bash tests/integration/deploy/zero_downtime.sh [PATH/TO/shipgate]
#
# Steps:
#   1. build artifacts of versions 1.0.0, 2.0.0 and 3.0.0 (each page 64 KiB,
#      the version named on its first and last line) with sha256sum files;
#   2. deploy 1.0.0 (the plan starts the app), start nginx and the load:
#      keep-alive and new-connection clients on / (static, nginx) and on
#      /app/ (nginx -> app);
#   3. CYCLES times: deploy 2.0.0 or 3.0.0 (the app reloads gracefully),
#      rollback to 1.0.0, release unblock; each command must exit 0 and
#      nginx and the app must then serve the expected version;
#   4. stop the load: zero failed requests (status other than 200,
#      connection errors, torn or unknown bodies) on both URLs, and both
#      URLs must have seen more than one version;
#   5. deploy once more with a plan whose stop and start commands replace
#      the app process: the old process must be gone, a new one serving;
#   6. the plan-managed app is stopped with its stop command.
#
# Environment: SHIPGATE (binary, when not given as argument; default
# build/shipgate), CYCLES (default 20), KEEP_WORK=1 (keep the work folder
# even on success), CYCLE_PLAN=restart (a negative control: the cycles use
# the plan that stops and starts the app; the test then passes only when the
# load saw that downtime as failed requests on /app/ and none on /).
# On failure the work folder is kept and its path printed.
# Exit status: 0 all assertions held, 1 an assertion failed, 2 set-up failed.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=tests/integration/deploy/lib.sh
source "$HERE/lib.sh"

SHIPGATE="${1:-${SHIPGATE:-$DEPLOY_REPO/build/shipgate}}"
CYCLES="${CYCLES:-20}"
[[ -x "$SHIPGATE" ]] || { echo "zero_downtime: no shipgate binary at $SHIPGATE" >&2; exit 2; }
[[ -x "$NGINX" ]] || { echo "zero_downtime: $NGINX not found; install nginx-light" >&2; exit 2; }
[[ "$CYCLES" =~ ^[1-9][0-9]*$ ]] || { echo "zero_downtime: CYCLES needs a positive integer" >&2; exit 2; }

WORK="$(mktemp -d /tmp/shipgate-zero-downtime.XXXXXX)"
SITE_ROOT="$WORK/target"
NGINX_PID=""
LOAD_PID=""
ERRORS=0
T0=$EPOCHREALTIME

say() { printf '[zero-downtime %6.1fs] %s\n' "$(awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN{print b-a}')" "$*"; }
fail() { echo "FAIL: $*" >&2; ERRORS=$((ERRORS + 1)); }

cleanup() {
  local rc=$?
  if [[ -n "$LOAD_PID" ]]; then
    touch "$WORK/load.stop"
    wait "$LOAD_PID" 2>/dev/null || true
  fi
  if [[ -d "$SITE_ROOT/shared" ]]; then "$PYTHON" "$APPCTL" stop --root "$SITE_ROOT" >/dev/null 2>&1 || true; fi
  stop_site_nginx
  if [[ $rc -ne 0 || "${KEEP_WORK:-0}" == 1 ]]; then
    echo "zero_downtime: work folder kept: $WORK (app log: target/shared/app.log, shipgate output: logs/)" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shipgate NAME ARGS...: runs shipgate, output to logs/NAME.log; prints the
# exit code and the time taken on the 'ran' line of the caller.
run_shipgate() {
  local name="$1"; shift
  local t0 rc
  t0=$EPOCHREALTIME
  set +e
  "$SHIPGATE" "$@" >"$WORK/logs/$name.log" 2>&1
  rc=$?
  set -e
  LAST_MS=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.0f", (b-a)*1000}')
  return $rc
}

# expect_ok NAME ARGS...: shipgate must exit 0.
expect_ok() {
  local name="$1" rc=0
  run_shipgate "$@" || rc=$?
  if [[ $rc -ne 0 ]]; then
    fail "shipgate ${*:2:1} ($name) exited $rc; last lines of logs/$name.log:"
    tail -n 15 "$WORK/logs/$name.log" | sed 's/^/    /' >&2
    return 1
  fi
}

# expect_serving VERSION WHEN: nginx's page, the app's page through nginx
# and `current` all show VERSION.
expect_serving() {
  local want="$1" when="$2" got
  got=$(page_version "http://127.0.0.1:$NGINX_PORT/")
  [[ "$got" == "$want" ]] || fail "$when: nginx serves version '$got', expected '$want'"
  got=$(page_version "http://127.0.0.1:$NGINX_PORT/app/")
  [[ "$got" == "$want" ]] || fail "$when: the app (through nginx) serves version '$got', expected '$want'"
  got=$(cat "$SITE_ROOT/current/VERSION" 2>/dev/null || echo -)
  [[ "$got" == "$want" ]] || fail "$when: current/VERSION is '$got', expected '$want'"
}

# pid_running PID: true while PID runs (a zombie counts as gone).
pid_running() {
  local state
  state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [[ -n "$state" && "$state" != Z ]]
}

app_pid() { "$PYTHON" "$APPCTL" status --root "$SITE_ROOT" 2>/dev/null | sed -n 's/.*pid \([0-9]*\).*/\1/p'; }

# ---------------------------------------------------------------- set-up
mkdir -p "$WORK/artifacts" "$WORK/logs" "$SITE_ROOT"
for version in 1.0.0 2.0.0 3.0.0; do make_artifact "$version" "$WORK/artifacts"; done
read -r NGINX_PORT APP_PORT <<<"$(free_ports 2)"
export SITE_ROOT APP_PORT PYTHON APPCTL
write_plan "$WORK/plan.yml" reload
write_plan "$WORK/plan-restart.yml" restart
PLAN="$WORK/plan.yml"
case "${CYCLE_PLAN:-reload}" in
  reload) CYCLE_PLAN_FILE="$PLAN" ;;
  restart) CYCLE_PLAN_FILE="$WORK/plan-restart.yml" ;;
  *) echo "zero_downtime: CYCLE_PLAN is reload or restart" >&2; exit 2 ;;
esac
artifact() { echo "$WORK/artifacts/site-$1.tar.gz"; }
say "shipgate: $SHIPGATE; work: $WORK; nginx port $NGINX_PORT, app port $APP_PORT"

say "deploy 1.0.0 (first release: the plan starts the app)"
expect_ok deploy-1.0.0 deploy-stage --plan "$PLAN" --env prod --version 1.0.0 --artifact "$(artifact 1.0.0)" \
  --json "$WORK/logs/deploy-1.0.0.json" || exit 1
start_site_nginx "$WORK/nginx" "$NGINX_PORT" "$SITE_ROOT" "$APP_PORT" || { echo "zero_downtime: nginx did not start" >&2; exit 2; }
expect_serving 1.0.0 "after the first deploy"
((ERRORS == 0)) || exit 1

pages=()
for version in 1.0.0 2.0.0 3.0.0; do pages+=(--page "$WORK/artifacts/page-$version.html"); done
"$PYTHON" "$HERE/load.py" --url "static=http://127.0.0.1:$NGINX_PORT/" --url "app=http://127.0.0.1:$NGINX_PORT/app/" \
  "${pages[@]}" --keepalive 2 --fresh 2 --stop-file "$WORK/load.stop" --started-file "$WORK/load.started" \
  --report "$WORK/load.json" >"$WORK/logs/load.log" 2>&1 &
LOAD_PID=$!
for _ in $(seq 200); do [[ -e "$WORK/load.started" ]] && break; kill -0 "$LOAD_PID" 2>/dev/null || break; sleep 0.05; done
[[ -e "$WORK/load.started" ]] || { cat "$WORK/logs/load.log" >&2; echo "zero_downtime: the load did not start" >&2; exit 2; }
say "load running (4 clients on /, 4 on /app/)"

# ---------------------------------------------------------------- cycles under load
for ((cycle = 1; cycle <= CYCLES; cycle++)); do
  version=$((cycle % 2 == 1 ? 2 : 3)).0.0
  expect_ok "deploy-$cycle" deploy-stage --plan "$CYCLE_PLAN_FILE" --env prod --version "$version" \
    --artifact "$(artifact "$version")" --json "$WORK/logs/deploy-$cycle.json" || break
  deploy_ms=$LAST_MS
  expect_serving "$version" "cycle $cycle, after deploying $version"
  expect_ok "rollback-$cycle" rollback --plan "$CYCLE_PLAN_FILE" --env prod --json "$WORK/logs/rollback-$cycle.json" || break
  rollback_ms=$LAST_MS
  expect_serving 1.0.0 "cycle $cycle, after the rollback of $version"
  expect_ok "unblock-$cycle" release unblock --plan "$PLAN" --version "$version" \
    --reason "zero-downtime test: $version was rolled back on purpose" || break
  say "cycle $cycle/$CYCLES: deploy $version ${deploy_ms} ms, rollback to 1.0.0 ${rollback_ms} ms"
  ((ERRORS == 0)) || break
done

touch "$WORK/load.stop"
load_rc=0
wait "$LOAD_PID" || load_rc=$?
LOAD_PID=""
sed 's/^/    /' "$WORK/logs/load.log"
if [[ "${CYCLE_PLAN:-reload}" == restart ]]; then
  # The negative control passes only when the test saw the downtime of a
  # stop + start: failed requests on /app/, none on the static page.
  if "$PYTHON" -c 'import json, sys; u = json.load(open(sys.argv[1]))["urls"]
sys.exit(0 if u["app"]["failed"] > 0 and u["static"]["failed"] == 0 else 1)' "$WORK/load.json"; then
    say "PASS (negative control): the stop + start downtime was seen as failed requests on /app/"
    exit 0
  fi
  fail "negative control: a stop + start under load was expected to fail requests on /app/ (and only there)"
  exit 1
fi
((load_rc == 0)) || fail "the load saw failed requests (see above and $WORK/load.json)"
"$PYTHON" - "$WORK/load.json" <<'PY' || fail "the load did not see both versions on both URLs"
import json, sys
report = json.load(open(sys.argv[1]))
for name, data in report["urls"].items():
    if len(data["versions"]) < 2 or data["version_changes"] < 2:
        print("    %s: versions %s, %d changes: the switches did not happen under load" %
              (name, data["versions"], data["version_changes"]), file=sys.stderr)
        sys.exit(1)
PY
((ERRORS == 0)) || exit 1

# ---------------------------------------------------------------- stop + start, for real
old_pid=$(app_pid)
say "deploy 2.0.0 with a plan that stops and starts the app (pid ${old_pid:-none})"
expect_ok deploy-restart deploy-stage --plan "$WORK/plan-restart.yml" --env prod --version 2.0.0 \
  --artifact "$(artifact 2.0.0)" --json "$WORK/logs/deploy-restart.json" || exit 1
new_pid=$(app_pid)
expect_serving 2.0.0 "after the stop/start deploy"
[[ -n "$old_pid" ]] || fail "no app was running before the stop/start deploy"
[[ -n "$old_pid" ]] && pid_running "$old_pid" && fail "the plan's stop command left the old app (pid $old_pid) running"
[[ -n "$new_pid" && "$new_pid" != "$old_pid" ]] || fail "the plan's start command started no new app (pid '${new_pid}')"
"$PYTHON" "$APPCTL" stop --root "$SITE_ROOT" >/dev/null
[[ -z "$(app_pid)" ]] || fail "the app did not stop"

((ERRORS == 0)) || exit 1
say "PASS: $CYCLES deploy/rollback cycles under load, zero failed requests"
