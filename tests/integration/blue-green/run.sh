#!/usr/bin/env bash
# Blue-green with real processes: a real nginx in front of two colours of a
# small app (blue and green, each on its own port), switched by shipgate
# through an nginx upstream file, under continuous load through nginx.
#
#   bash tests/integration/blue-green/run.sh [PATH/TO/shipgate]
#
# Steps:
#   1. artifacts 1.0.0, 2.0.0 and 3.0.0 (3.0.0 answers 503: its health check
#      fails); nginx on 127.0.0.1 with its own prefix, including the
#      upstream file the plan names;
#   2. deploy 1.0.0: it goes to blue, nginx sends traffic to blue;
#   3. under load (keep-alive and new-connection clients through nginx):
#      deploy 2.0.0: green is started and verified directly, then traffic
#      moves to green at once, blue keeps running;
#      deploy 3.0.0: blue is stopped, started on 3.0.0, fails its check, is
#      put back on 1.0.0 (running again); the deploy exits 1 and every
#      answer meanwhile comes from 2.0.0;
#      shipgate rollback: traffic goes back to blue (1.0.0), which was
#      running all along: no start, no stop;
#   4. the load's record: zero failed requests; the answers change version
#      only while the switching command runs and within a short window; the
#      switch back moves traffic in well under a second. Figures printed.
#
# Environment: SHIPGATE (binary, when not given as argument; default
# build/shipgate), KEEP_WORK=1 (keep the work folder even on success),
# SETTLE (seconds of load between the commands, default 1).
# Exit status: 0 all assertions held, 1 an assertion failed, 2 set-up failed.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=tests/integration/deploy/lib.sh
source "$HERE/../deploy/lib.sh"

SHIPGATE="${1:-${SHIPGATE:-$DEPLOY_REPO/build/shipgate}}"
SETTLE="${SETTLE:-1}"
CTL="$HERE/colourctl.py"
[[ -x "$SHIPGATE" ]] || { echo "blue-green: no shipgate binary at $SHIPGATE" >&2; exit 2; }
[[ -x "$NGINX" ]] || { echo "blue-green: $NGINX not found; install nginx-light" >&2; exit 2; }

WORK="$(mktemp -d /tmp/shipgate-blue-green.XXXXXX)"
SITE_ROOT="$WORK/target"
NGINX_DIR="$WORK/nginx"
NGINX_PID=""
LOAD_PID=""
ERRORS=0
T0=$EPOCHREALTIME

say() { printf '[blue-green %6.1fs] %s\n' "$(awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN{print b-a}')" "$*"; }
fail() { echo "FAIL: $*" >&2; ERRORS=$((ERRORS + 1)); }

cleanup() {
  local rc=$?
  if [[ -n "$LOAD_PID" ]]; then
    touch "$WORK/load.stop"
    wait "$LOAD_PID" 2>/dev/null || true
  fi
  for colour in blue green; do
    "$PYTHON" "$CTL" stop --pidfile "$SITE_ROOT/shared/$colour.pid" >/dev/null 2>&1 || true
  done
  stop_site_nginx
  if [[ $rc -ne 0 || "${KEEP_WORK:-0}" == 1 ]]; then
    echo "blue-green: work folder kept: $WORK (shipgate output: logs/, app logs: target/shared/, nginx: nginx/logs/)" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# run_shipgate NAME ARGS...: output to logs/NAME.log; sets RC, and PHASE_START
# and PHASE_END (epoch seconds), appended to phases.txt as a phase NAME.
run_shipgate() {
  local name="$1"; shift
  PHASE_START=$EPOCHREALTIME
  set +e
  "$SHIPGATE" "$@" --json "$WORK/logs/$name.json" >"$WORK/logs/$name.log" 2>&1
  RC=$?
  set -e
  PHASE_END=$EPOCHREALTIME
  echo "$name $PHASE_START $PHASE_END" >>"$WORK/phases.txt"
  say "shipgate ${1} ($name): exit $RC in $(awk -v a="$PHASE_START" -v b="$PHASE_END" 'BEGIN{printf "%.0f", (b-a)*1000}') ms"
}

# expect_rc WANT NAME: the last run_shipgate exited WANT.
expect_rc() {
  if [[ $RC -ne $1 ]]; then
    fail "$2 exited $RC, expected $1; last lines of logs/$2.log:"
    tail -n 15 "$WORK/logs/$2.log" | sed 's/^/    /' >&2
    return 1
  fi
}

# through_nginx: the body nginx answers on / ("-" when none).
through_nginx() { curl -s --max-time 5 "http://127.0.0.1:$NGINX_PORT/" 2>/dev/null || echo -; }
link_of() { local target; target=$(readlink "$SITE_ROOT/$1" 2>/dev/null) || { echo -; return; }; echo "${target#releases/}"; }
version_of_link() { cat "$SITE_ROOT/$1/VERSION" 2>/dev/null || echo -; }
colour_pid() { "$PYTHON" "$CTL" status --pidfile "$SITE_ROOT/shared/$1.pid" 2>/dev/null | sed -n 's/.*pid \([0-9]*\).*/\1/p'; }

# expect_state LIVE LIVE_VERSION BLUE_VERSION GREEN_VERSION WHEN
expect_state() {
  local live="$1" want="$2" blue="$3" green="$4" when="$5" got _
  # `nginx -s reload` returns once nginx got the signal; its new workers
  # take over a moment later (measured here, and by the load's record).
  for _ in $(seq 200); do
    got=$(through_nginx)
    [[ "$got" == "version $want" ]] && break
    sleep 0.01
  done
  NGINX_SETTLED_MS=$(awk -v a="$PHASE_END" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.0f", (b-a)*1000}')
  [[ "$got" == "version $want" ]] || fail "$when: nginx answers '$got', expected 'version $want'"
  [[ "$got" == "version $want" ]] && say "$when: nginx answers version $want (${NGINX_SETTLED_MS} ms after shipgate returned)"
  got=$(cat "$SITE_ROOT/.shipgate/live-colour" 2>/dev/null || echo -)
  [[ "$got" == "$live" ]] || fail "$when: live colour '$got', expected '$live'"
  got=$(version_of_link current)
  [[ "$got" == "$want" ]] || fail "$when: current is $got, expected $want"
  got=$(version_of_link blue)
  [[ "$got" == "$blue" ]] || fail "$when: blue is $got, expected $blue"
  got=$(version_of_link green)
  [[ "$got" == "$green" ]] || fail "$when: green is $got, expected $green"
  got=$(curl -s --max-time 5 "http://127.0.0.1:$BLUE_PORT/" 2>/dev/null || echo -)
  [[ "$blue" == - || "$got" == "version $blue" ]] || fail "$when: blue itself answers '$got', expected 'version $blue'"
  got=$(curl -s --max-time 5 "http://127.0.0.1:$GREEN_PORT/" 2>/dev/null || echo -)
  [[ "$green" == - || "$got" == "version $green" ]] || fail "$when: green itself answers '$got', expected 'version $green'"
}

# make_bg_artifact VERSION [broken]: artifacts/app-VERSION.tar.gz and its .sha256.
make_bg_artifact() {
  local version="$1" tree="$WORK/artifacts/tree-$1"
  mkdir -p "$tree"
  printf '%s\n' "$version" >"$tree/VERSION"
  cp "$HERE/app.py" "$tree/app.py"
  [[ "${2:-}" == broken ]] && echo "this release answers 503" >"$tree/BROKEN"
  tar -C "$tree" -czf "$WORK/artifacts/app-$version.tar.gz" .
  (cd "$WORK/artifacts" && sha256sum "app-$version.tar.gz" >"app-$version.tar.gz.sha256")
}
artifact() { echo "$WORK/artifacts/app-$1.tar.gz"; }

# start_nginx: nginx in the foreground of a background job, proxying / to
# the upstream `app` defined in upstream.conf (which shipgate rewrites).
start_nginx() {
  mkdir -p "$NGINX_DIR/temp" "$NGINX_DIR/logs"
  {
    [[ $(id -u) == 0 ]] && echo "user root root;"
    echo "worker_processes 2;"
    echo "daemon off;"
    echo "pid \"$NGINX_DIR/nginx.pid\";"
    echo "error_log \"$NGINX_DIR/logs/error.log\" notice;"
    echo "events { worker_connections 1024; }"
    echo "http {"
    echo "  access_log off;"
    nginx_temp_paths "$NGINX_DIR" | sed 's/^/  /'
    echo "  keepalive_requests 100000;"
    echo "  include \"$NGINX_DIR/upstream.conf\";"
    echo "  server {"
    echo "    listen 127.0.0.1:$NGINX_PORT;"
    echo "    location / { proxy_pass http://app; proxy_connect_timeout 5s; }"
    echo "  }"
    echo "}"
  } >"$NGINX_DIR/nginx.conf"
  # Before the first deploy: an upstream where nothing listens (502).
  echo "upstream app { server 127.0.0.1:$SPARE_PORT; }" >"$NGINX_DIR/upstream.conf"
  "$NGINX" -p "$NGINX_DIR/" -e "$NGINX_DIR/logs/error.log" -c "$NGINX_DIR/nginx.conf" \
    >"$NGINX_DIR/logs/stdout.log" 2>&1 &
  NGINX_PID=$!
  local _
  for _ in $(seq 100); do
    if curl -s -o /dev/null "http://127.0.0.1:$NGINX_PORT/" 2>/dev/null; then return 0; fi
    kill -0 "$NGINX_PID" 2>/dev/null || break
    sleep 0.05
  done
  tail -n 5 "$NGINX_DIR/logs/error.log" "$NGINX_DIR/logs/stdout.log" >&2 2>/dev/null || true
  return 1
}

write_plan() {
  # shellcheck disable=SC2016 # ${NAME} is for shipgate to replace, not the shell
  local nginx_args='-c, "${NGINX_DIR}/nginx.conf", -p, "${NGINX_DIR}/", -e, "${NGINX_DIR}/logs/error.log"'
  cat >"$1" <<EOF
version: 1
name: blue-green-test
environments: [{name: prod}]
deadline: 1m
keep_releases: 4
services:
  web:
    target: {type: local, roots: ["\${SITE_ROOT}"]}
    strategy:
      type: blue-green
      colours: {blue: {PORT: "\${BLUE_PORT}"}, green: {PORT: "\${GREEN_PORT}"}}
      nginx:
        upstream_file: "\${NGINX_DIR}/upstream.conf"
        upstream: app
        server: "127.0.0.1:\${PORT}"
        test: ["\${NGINX_BIN}", -t, -q, $nginx_args]
        reload: ["\${NGINX_BIN}", -s, reload, $nginx_args]
    stop: ["\${PYTHON}", "\${CTL}", stop, --pidfile, "\${SITE_ROOT}/shared/\${COLOUR}.pid"]
    start: ["\${PYTHON}", "\${CTL}", start, --app, "\${SITE_ROOT}/\${COLOUR}/app.py", --port, "\${PORT}",
            --pidfile, "\${SITE_ROOT}/shared/\${COLOUR}.pid", --log, "\${SITE_ROOT}/shared/\${COLOUR}.log"]
    health:
      wait:
        check: {url: "http://127.0.0.1:\${PORT}/", expect: {status: 200}}
        interval: 50ms
        backoff: 1
        deadline: 3s
      checks:
        - name: version
          url: "http://127.0.0.1:\${PORT}/"
          expect: {status: 200, body: {contains: "version \${VERSION}"}}
EOF
}

# switched_ms NAME: the driver's "traffic switched in N ms" of a run (- when absent).
switched_ms() {
  grep -o 'traffic switched in [0-9]* ms' "$WORK/logs/$1.json" 2>/dev/null | tail -n 1 | grep -o '[0-9]*' || echo -
}

# ---------------------------------------------------------------- set-up
mkdir -p "$WORK/artifacts" "$WORK/logs" "$SITE_ROOT"
make_bg_artifact 1.0.0
make_bg_artifact 2.0.0
make_bg_artifact 3.0.0 broken
read -r NGINX_PORT BLUE_PORT GREEN_PORT SPARE_PORT <<<"$(free_ports 4)"
NGINX_BIN="$NGINX"
# (not NGINX: nginx reads that variable for inherited sockets)
export SITE_ROOT NGINX_DIR NGINX_BIN PYTHON CTL BLUE_PORT GREEN_PORT
PLAN="$WORK/plan.yml"
write_plan "$PLAN"
: >"$WORK/phases.txt"
say "shipgate: $SHIPGATE; work: $WORK; nginx :$NGINX_PORT, blue :$BLUE_PORT, green :$GREEN_PORT"
start_nginx || { echo "blue-green: nginx did not start" >&2; exit 2; }

run_shipgate deploy-1.0.0 deploy-stage --plan "$PLAN" --env prod --version 1.0.0 --artifact "$(artifact 1.0.0)"
expect_rc 0 deploy-1.0.0 || exit 1
expect_state blue 1.0.0 1.0.0 - "after the first deploy"
((ERRORS == 0)) || exit 1

"$PYTHON" "$HERE/load.py" --url "http://127.0.0.1:$NGINX_PORT/" --keepalive 3 --fresh 3 \
  --stop-file "$WORK/load.stop" --started-file "$WORK/load.started" --events "$WORK/events.jsonl" \
  >"$WORK/logs/load.log" 2>&1 &
LOAD_PID=$!
for _ in $(seq 200); do [[ -e "$WORK/load.started" ]] && break; kill -0 "$LOAD_PID" 2>/dev/null || break; sleep 0.05; done
[[ -e "$WORK/load.started" ]] || { cat "$WORK/logs/load.log" >&2; echo "blue-green: the load did not start" >&2; exit 2; }
say "load running through nginx (3 keep-alive clients, 3 new-connection clients)"
sleep "$SETTLE"

# ---------------------------------------------------------------- under load
blue_pid=$(colour_pid blue)
run_shipgate deploy-2.0.0 deploy-stage --plan "$PLAN" --env prod --version 2.0.0 --artifact "$(artifact 2.0.0)"
expect_rc 0 deploy-2.0.0 || exit 1
expect_state green 2.0.0 1.0.0 2.0.0 "after deploying 2.0.0"
[[ "$(colour_pid blue)" == "$blue_pid" ]] || fail "deploying 2.0.0 restarted blue (pid $blue_pid -> $(colour_pid blue)): the old colour must stay as it was"
sleep "$SETTLE"

green_pid=$(colour_pid green)
run_shipgate deploy-3.0.0 deploy-stage --plan "$PLAN" --env prod --version 3.0.0 --artifact "$(artifact 3.0.0)"
expect_rc 1 deploy-3.0.0 || true
grep -q 'traffic was never switched' "$WORK/logs/deploy-3.0.0.json" ||
  fail "deploy-3.0.0: the result does not say that traffic was never switched (see logs/deploy-3.0.0.json)"
expect_state green 2.0.0 1.0.0 2.0.0 "after the failed deploy of 3.0.0"
[[ "$(colour_pid green)" == "$green_pid" ]] || fail "the failed deploy of 3.0.0 touched the live colour green"
blue_pid=$(colour_pid blue)
[[ -n "$blue_pid" ]] || fail "after the failed deploy of 3.0.0, blue (1.0.0) does not run: the switch back cannot be instant"
sleep "$SETTLE"

run_shipgate rollback rollback --plan "$PLAN" --env prod --reason "blue-green test: switch back"
expect_rc 0 rollback || exit 1
expect_state blue 1.0.0 1.0.0 2.0.0 "after the rollback"
[[ -n "$blue_pid" && "$(colour_pid blue)" == "$blue_pid" ]] || fail "the rollback restarted blue (pid $blue_pid -> $(colour_pid blue)): it must only switch traffic"
[[ -n "$(colour_pid green)" ]] || fail "the rollback stopped green: the colour left stays running"
sleep "$SETTLE"

touch "$WORK/load.stop"
load_rc=0
wait "$LOAD_PID" || load_rc=$?
LOAD_PID=""
sed 's/^/    /' "$WORK/logs/load.log"

# ---------------------------------------------------------------- the record
"$PYTHON" "$HERE/analyse.py" --events "$WORK/events.jsonl" --phases "$WORK/phases.txt" \
  --switch deploy-2.0.0 1.0.0 2.0.0 --hold deploy-3.0.0 2.0.0 --switch rollback 2.0.0 1.0.0 \
  --max-switch-seconds rollback 1.0 | sed 's/^/    /' || fail "the load's record (above)"
((load_rc == 0)) || fail "the load saw failed requests (see above and $WORK/events.jsonl)"

say "figures: the driver switched traffic in $(switched_ms deploy-2.0.0) ms (deploy 2.0.0) and $(switched_ms rollback) ms (rollback)"
say "figures: switch_seconds from the JSON results: deploy 2.0.0 $(jq -r '.switch_seconds // "-"' "$WORK/logs/deploy-2.0.0.json"), rollback $(jq -r '.switch_seconds // "-"' "$WORK/logs/rollback.json")"
((ERRORS == 0)) || exit 1
say "PASS: blue-green under load: zero failed requests, the failed release never got traffic, instant switch back"
