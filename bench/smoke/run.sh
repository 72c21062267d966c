#!/usr/bin/env bash
# Benchmark: `shipgate smoke-test` making N HTTP checks against a local nginx,
# beside the same N requests made by `xargs -P curl`, by newman (npm) and by
# hurl (when installed), plus the server's capacity measured with wrk.
#
#   bash bench/smoke/run.sh [--requests N] [--parallel P] [--no-build]
#
# --requests N   number of checks / requests (default 2000)
# --parallel P   concurrency for shipgate, xargs curl, hurl and wrk (default 32)
# --no-build     never (re)build shipgate; use build-release/shipgate as is
#                (or SHIPGATE=/path/to/shipgate), skip it if absent
#
# Environment: RUNS (best of, default 3), NEWMAN_RUNS (best of for newman,
# default 1: one newman run takes ~30 s), WRK_DURATION (default 5s),
# TOOL_TIMEOUT (seconds per tool run, default 600), SHIPGATE (binary to
# measure instead of build-release/shipgate; never rebuilt).
# Exit status: 0 = it ran and every tool that ran made N correct requests
# (whether or not the goals are met); 2 = a tool failed or miscounted, or the
# set-up failed.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
RUNS="${RUNS:-3}"
NEWMAN_RUNS="${NEWMAN_RUNS:-1}"
WRK_DURATION="${WRK_DURATION:-5s}"
TOOL_TIMEOUT="${TOOL_TIMEOUT:-600}"
N=2000
P=32
NO_BUILD=0
GOAL_WRK_RATIO=1.5
GOAL_NEWMAN_SPEEDUP=5

usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --requests) N="$2"; shift 2 ;;
    --requests=*) N="${1#--requests=}"; shift ;;
    --parallel) P="$2"; shift 2 ;;
    --parallel=*) P="${1#--parallel=}"; shift ;;
    --no-build) NO_BUILD=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ "$N" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --requests needs a positive integer" >&2; exit 2; }
[[ "$P" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --parallel needs a positive integer" >&2; exit 2; }
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: RUNS needs a positive integer" >&2; exit 2; }
[[ "$NEWMAN_RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: NEWMAN_RUNS needs a positive integer" >&2; exit 2; }

log() { printf '[smoke-bench] %s\n' "$*" >&2; }
source "$HERE/../lib.sh"

# ---------------------------------------------------------------- dependencies
apt_need=(nginx-light wrk curl time)
command -v node >/dev/null 2>&1 || apt_need+=(nodejs npm)
bench_apt_install "${apt_need[@]}"
NEWMAN="$HERE/node_modules/.bin/newman"
if [[ ! -x "$NEWMAN" ]]; then
  log "npm install in bench/smoke (newman)"
  (cd "$HERE" && npm install --no-audit --no-fund >&2)
fi
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

# ---------------------------------------------------------------- shipgate build
bench_ensure_shipgate "$NO_BUILD" || true
SG_WHY=""
if [[ ! -x "$SHIPGATE" ]]; then
  SG_WHY="not available (no binary at $SHIPGATE)"
elif ! "$SHIPGATE" smoke-test --help 2>&1 | grep -q -- '--checks'; then
  SG_WHY="not available (smoke-test step missing)"
fi

# ---------------------------------------------------------------- nginx
WORK="$(mktemp -d /tmp/shipgate-smoke-bench.XXXXXX)"
NGINX_PID=""
cleanup() {
  if [[ -n "$NGINX_PID" ]] && kill -0 "$NGINX_PID" 2>/dev/null; then
    kill -TERM "$NGINX_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$NGINX_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$NGINX_PID" 2>/dev/null || true
    wait "$NGINX_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
start_nginx() {
  local d="$WORK/nginx"
  mkdir -p "$d/tmp"
  cat >"$d/nginx.conf" <<EOF
daemon off;
worker_processes 2;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $d/tmp/body;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;
    keepalive_requests 100000;
    server {
        listen 127.0.0.1:$PORT;
        location = /health { default_type application/json; return 200 '{"status":"ok"}'; }
    }
}
EOF
  "$NGINX" -p "$d/" -e "$d/error.log" -c "$d/nginx.conf" >"$d/stdout.log" 2>&1 &
  NGINX_PID=$!
  for _ in $(seq 50); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$PORT/health" 2>/dev/null; then return 0; fi
    kill -0 "$NGINX_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$NGINX_PID" 2>/dev/null && { kill -KILL "$NGINX_PID"; wait "$NGINX_PID" 2>/dev/null || true; }
  NGINX_PID=""
  return 1
}
started=0
for _ in 1 2 3; do
  PORT="$(free_port)"
  if start_nginx; then started=1; break; fi
done
if [[ $started -ne 1 ]]; then
  log "could not start nginx; error log:"
  tail -n 5 "$WORK/nginx/error.log" "$WORK/nginx/stdout.log" 2>/dev/null | sed 's/^/    /' >&2
  exit 2
fi
BASE="http://127.0.0.1:$PORT/health"
body="$(curl -fsS "$BASE")"
[[ "$body" == '{"status":"ok"}' ]] || { log "unexpected /health body: $body"; exit 2; }
log "nginx $("$NGINX" -v 2>&1 | sed 's|.*/||') on 127.0.0.1:$PORT (worker_processes 2, pid $NGINX_PID)"

# ---------------------------------------------------------------- inputs
python3 - "$WORK" "$BASE" "$N" "$P" <<'PY'
import json, os, sys
work, base, n, p = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
urls = ["%s?i=%d" % (base, k) for k in range(1, n + 1)]
# shipgate checks file
with open(os.path.join(work, "checks.yaml"), "w") as f:
    f.write("version: 1\nparallel: %d\nchecks:\n" % p)
    for k, u in enumerate(urls, 1):
        f.write("  - name: check-%d\n    url: %s\n    expect: {status: 200, json: {\"/status\": \"ok\"}}\n" % (k, u))
# xargs curl: one line per URL; curl's -o applies to one URL, so each URL gets its own
with open(os.path.join(work, "curl-args.txt"), "w") as f:
    for u in urls:
        f.write("-o /dev/null %s\n" % u)
# newman: Postman collection v2.1, one request per check, same assertions as shipgate
test = ['pm.test("check", function () {',
        '    pm.response.to.have.status(200);',
        '    pm.expect(pm.response.json().status).to.eql("ok");',
        '});']
coll = {
    "info": {"name": "shipgate smoke bench",
             "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
    "item": [{"name": "check-%d" % k,
              "request": {"method": "GET", "url": u},
              "event": [{"listen": "test", "script": {"type": "text/javascript", "exec": test}}]}
             for k, u in enumerate(urls, 1)],
}
with open(os.path.join(work, "coll.json"), "w") as f:
    json.dump(coll, f)
# hurl: hurl runs the entries of one file in sequence and files in parallel
# (--jobs), so the N entries are split over P files
os.makedirs(os.path.join(work, "hurl"), exist_ok=True)
files = [open(os.path.join(work, "hurl", "part-%03d.hurl" % j), "w") for j in range(min(p, n))]
for k, u in enumerate(urls):
    files[k % len(files)].write('GET %s\nHTTP 200\n[Asserts]\njsonpath "$.status" == "ok"\n\n' % u)
for f in files:
    f.close()
PY

# ---------------------------------------------------------------- verifiers
# Each prints "ok" or what was wrong; called after every run.
verify_shipgate() {
  python3 - "$WORK/sg.json" "$N" <<'PY'
import json, sys
n = int(sys.argv[2])
try:
    checks = json.load(open(sys.argv[1]))["checks"]
except Exception as e:  # noqa: BLE001
    print("unreadable JSON: %s" % e); sys.exit()
bad = [c.get("name", "?") for c in checks if c.get("status") != "pass"]
if len(checks) != n:
    print("%d checks in JSON, expected %d" % (len(checks), n))
elif bad:
    print("%d checks not passed (first: %s)" % (len(bad), bad[0]))
else:
    print("ok")
PY
}
verify_curl() {
  local lines ok
  lines=$(wc -l <"$WORK/stdout.txt")
  ok=$(grep -cx 200 "$WORK/stdout.txt" || true)
  if [[ "$lines" -eq "$N" && "$ok" -eq "$N" ]]; then echo ok; else echo "$ok of $lines lines are 200, expected $N"; fi
}
verify_newman() {
  python3 - "$WORK/newman.json" "$N" <<'PY'
import json, sys
n = int(sys.argv[2])
try:
    st = json.load(open(sys.argv[1]))["run"]["stats"]
except Exception as e:  # noqa: BLE001
    print("unreadable JSON: %s" % e); sys.exit()
r, a = st["requests"], st["assertions"]
if r["total"] != n or r["failed"] or a["total"] != n or a["failed"]:
    print("requests %d (failed %d), assertions %d (failed %d), expected %d" % (
        r["total"], r["failed"], a["total"], a["failed"], n))
else:
    print("ok")
PY
}
verify_hurl() {
  local got
  got=$(cat "$WORK/stdout.txt" "$WORK/stderr.txt" | sed -n 's/.*Executed requests:[[:space:]]*\([0-9][0-9]*\).*/\1/p' | head -n1)
  if [[ -z "$got" ]]; then echo ok   # older hurl: no request count, exit 0 is all we have
  elif [[ "$got" -eq "$N" ]]; then echo ok
  else echo "hurl executed $got requests, expected $N"; fi
}

# ---------------------------------------------------------------- measuring
declare -a T_NAME=() T_WALL=() T_RSS=() T_STATUS=() T_RUNS=()
STATUS_BAD=0

# measure NAME RUNS VERIFY_FN STDIN CMD...  — best wall time of RUNS runs (bash's
# microsecond clock around /usr/bin/time), peak RSS (%M) the maximum over runs.
measure() {
  local name="$1" runs="$2" verify="$3" stdin="$4"; shift 4
  local best="" maxrss=0 status="ok" i rc t0 t1 wall rss v
  log "running $name ($runs run(s))"
  for ((i = 1; i <= runs; i++)); do
    rm -f "$WORK/sg.json" "$WORK/newman.json"
    t0=$EPOCHREALTIME
    set +e
    /usr/bin/time -f '%e %M' -o "$WORK/time.txt" timeout "$TOOL_TIMEOUT" "$@" \
      <"$stdin" >"$WORK/stdout.txt" 2>"$WORK/stderr.txt"
    rc=$?
    set -e
    t1=$EPOCHREALTIME
    if [[ $rc -ne 0 ]]; then
      status="FAILED (exit $rc)"
      log "$name failed with exit $rc; output tail:"
      tail -n 5 "$WORK/stderr.txt" "$WORK/stdout.txt" | sed 's/^/    /' >&2
      break
    fi
    v=$($verify)
    if [[ "$v" != ok ]]; then
      status="MISCOUNT: $v"
      log "$name: $v"
      break
    fi
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')
    rss=$(awk 'NF>=2{v=$2} END{print v+0}' "$WORK/time.txt")
    if [[ -z "$best" ]] || awk -v a="$wall" -v b="$best" 'BEGIN{exit !(a<b)}'; then best=$wall; fi
    (( rss > maxrss )) && maxrss=$rss
  done
  [[ "$status" != ok ]] && STATUS_BAD=1
  T_NAME+=("$name"); T_STATUS+=("$status"); T_WALL+=("${best:-}"); T_RSS+=("$maxrss"); T_RUNS+=("$runs")
}

if [[ -z "$SG_WHY" ]]; then
  measure shipgate "$RUNS" verify_shipgate /dev/null \
    "$SHIPGATE" smoke-test --checks "$WORK/checks.yaml" --parallel "$P" --json "$WORK/sg.json"
else
  log "shipgate: $SG_WHY"
fi
measure "xargs -P $P curl" "$RUNS" verify_curl "$WORK/curl-args.txt" \
  xargs -P "$P" -L 50 curl -s -w '%{http_code}\n'
measure newman "$NEWMAN_RUNS" verify_newman /dev/null \
  "$NEWMAN" run "$WORK/coll.json" --reporters cli,json --reporter-json-export "$WORK/newman.json" --color off
HURL_WHY=""
if command -v hurl >/dev/null 2>&1; then
  hurl_jobs=()
  hurl --help 2>&1 | grep -q -- '--jobs' && hurl_jobs=(--jobs "$P")
  measure hurl "$RUNS" verify_hurl /dev/null hurl --test "${hurl_jobs[@]}" "$WORK"/hurl/part-*.hurl
else
  HURL_WHY="not installed (not packaged in Debian 12)"
  log "hurl: $HURL_WHY"
fi

# wrk: the server's capacity; the time it would need for N requests = N / (req/s)
threads=2; (( P < 2 )) && threads=1
log "running wrk -t$threads -c$P -d$WRK_DURATION (server capacity)"
WRK_RPS=""; WRK_NOTE=""
set +e
wrk -t"$threads" -c"$P" -d"$WRK_DURATION" "$BASE" >"$WORK/wrk.txt" 2>&1
rc=$?
set -e
if [[ $rc -ne 0 ]]; then
  WRK_NOTE="FAILED (exit $rc)"; STATUS_BAD=1
  tail -n 5 "$WORK/wrk.txt" | sed 's/^/    /' >&2
else
  WRK_RPS=$(awk '/^Requests\/sec:/{print $2}' "$WORK/wrk.txt")
  WRK_REQS=$(awk '/requests in/{print $1; exit}' "$WORK/wrk.txt")
  if [[ -z "$WRK_RPS" ]]; then
    WRK_NOTE="FAILED (no Requests/sec in output)"; STATUS_BAD=1
  elif grep -q 'Non-2xx or 3xx responses' "$WORK/wrk.txt"; then
    WRK_NOTE="MISCOUNT: $(grep 'Non-2xx' "$WORK/wrk.txt" | sed 's/^ *//')"; STATUS_BAD=1; WRK_RPS=""
  else
    WRK_NOTE="$WRK_REQS requests in $WRK_DURATION, N / req/s"
    grep -q 'Socket errors' "$WORK/wrk.txt" && WRK_NOTE+="; $(grep 'Socket errors' "$WORK/wrk.txt" | sed 's/^ *//')"
  fi
fi
WRK_WALL=""
[[ -n "$WRK_RPS" ]] && WRK_WALL=$(awk -v n="$N" -v r="$WRK_RPS" 'BEGIN{printf "%.4f", n/r}')

# ---------------------------------------------------------------- report
SG_WALL=""; NEWMAN_WALL=""
for i in "${!T_NAME[@]}"; do
  [[ "${T_STATUS[$i]}" == ok ]] || continue
  [[ "${T_NAME[$i]}" == shipgate ]] && SG_WALL=${T_WALL[$i]}
  [[ "${T_NAME[$i]}" == newman ]] && NEWMAN_WALL=${T_WALL[$i]}
done
ratio() { # tool wall / shipgate wall
  if [[ -n "$SG_WALL" && -n "$1" ]]; then awk -v w="$1" -v s="$SG_WALL" 'BEGIN{ if (s>0) printf "%.2fx", w/s; else print "-"}'; else echo -; fi
}
row() { printf '%-20s %9s %10s %13s %12s  %s\n' "$@"; }

echo
echo "shipgate smoke-test benchmark: $N requests to $BASE, parallel $P"
printf '  host: %s CPU(s), %s; nginx worker_processes 2, access_log off\n' "$(nproc)" \
  "$(awk -F: '/model name/{gsub(/^ +/,"",$2); print $2; exit}' /proc/cpuinfo)"
echo
row tool "wall s" "req/s" "peak RSS MiB" "vs shipgate" result
row -------------------- --------- ---------- ------------- ------------ ------
if [[ -n "$SG_WHY" ]]; then
  row shipgate - - - - "$SG_WHY"
fi
for i in "${!T_NAME[@]}"; do
  w=${T_WALL[$i]}; st=${T_STATUS[$i]}
  if [[ "$st" != ok ]]; then row "${T_NAME[$i]}" - - - - "$st"; continue; fi
  rps=$(awk -v n="$N" -v w="$w" 'BEGIN{ if (w>0) printf "%.0f", n/w; else print "inf"}')
  rss=$(awk -v k="${T_RSS[$i]}" 'BEGIN{printf "%.1f", k/1024}')
  row "${T_NAME[$i]}" "$w" "$rps" "$rss" "$(ratio "$w")" "$N/$N passed, best of ${T_RUNS[$i]}"
done
if [[ -n "$HURL_WHY" ]]; then row hurl - - - - "$HURL_WHY"; fi
if [[ -n "$WRK_WALL" ]]; then
  row "wrk (capacity)" "$WRK_WALL" "$(awk -v r="$WRK_RPS" 'BEGIN{printf "%.0f", r}')" - "$(ratio "$WRK_WALL")" "$WRK_NOTE"
else
  row "wrk (capacity)" - - - - "$WRK_NOTE"
fi
echo "  (vs shipgate = tool wall time / shipgate wall time; > 1 means shipgate is faster."
echo "   newman runs its requests one after another: that is how newman works, it has no parallel mode."
echo "   xargs curl: ${P} curl processes at a time, 50 URLs each over one kept-alive connection; status code only."
echo "   wrk's time is computed from its req/s over ${WRK_DURATION} with $P kept-alive connections.)"
echo

if [[ -n "$SG_WALL" && -n "$WRK_WALL" ]]; then
  x=$(awk -v s="$SG_WALL" -v w="$WRK_WALL" 'BEGIN{printf "%.1f", s/w}')
  if awk -v s="$SG_WALL" -v w="$WRK_WALL" -v g="$GOAL_WRK_RATIO" 'BEGIN{exit !(s/w <= g)}'; then v=MET; else v="NOT MET"; fi
  echo "shipgate vs wrk time for $N requests: ${x}x (goal <= ${GOAL_WRK_RATIO}x): $v"
else
  echo "shipgate vs wrk time for $N requests: NOT MEASURED (${SG_WHY:+shipgate $SG_WHY}$([[ -n "$SG_WHY" ]] || echo "shipgate or wrk failed")) (goal <= ${GOAL_WRK_RATIO}x): NOT MET"
fi
if [[ -n "$SG_WALL" && -n "$NEWMAN_WALL" ]]; then
  x=$(awk -v s="$SG_WALL" -v w="$NEWMAN_WALL" 'BEGIN{printf "%.1f", w/s}')
  if awk -v s="$SG_WALL" -v w="$NEWMAN_WALL" -v g="$GOAL_NEWMAN_SPEEDUP" 'BEGIN{exit !(w/s >= g)}'; then v=MET; else v="NOT MET"; fi
  echo "shipgate vs newman: ${x}x faster (goal >= ${GOAL_NEWMAN_SPEEDUP}x): $v"
else
  echo "shipgate vs newman: NOT MEASURED (${SG_WHY:+shipgate $SG_WHY}$([[ -n "$SG_WHY" ]] || echo "shipgate or newman failed")) (goal >= ${GOAL_NEWMAN_SPEEDUP}x): NOT MET"
fi
if [[ $STATUS_BAD -eq 1 ]]; then
  echo "WARNING: at least one tool failed or did not make $N correct requests (see table)"
  exit 2
fi
exit 0
