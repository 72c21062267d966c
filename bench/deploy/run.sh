#!/usr/bin/env bash
# Benchmark: `shipgate deploy-stage` and `shipgate rollback` on a local
# target with one service (the test app of tests/fixtures/deploy/app), beside
# a Capistrano-style script (cap_style.sh: tar xzf, `ln -sfn`, kill + start,
# poll) doing the same switch with the same app and artifacts, in the same run.
#
#   bash bench/deploy/run.sh [--runs N] [--no-build]
#
# --runs N     deploy + rollback pairs measured per tool (default 20)
# --no-build   never (re)build shipgate; use build-release/shipgate as is
#              (or SHIPGATE=/path/to/shipgate)
#
# Measured per tool, median and p90 over the runs:
#   switch     the `current` switch alone (shipgate: the switch action's
#              time in the JSON result; cap-style: the `ln -sfn` process)
#   deploy     from the command's start to its exit, the new version
#              verified healthy (shipgate: its health checks passed;
#              cap-style: /version answers the new version)
#   rollback   the same for going back to the previous version
# Tools: shipgate with a plan that reloads the app gracefully (start +
# reload), shipgate with a plan that stops and starts it (as cap-style does),
# and cap_style.sh. Before the runs each tool deploys 1.0.0 once (not
# measured); each run deploys 2.0.0 and rolls back to 1.0.0 (shipgate then
# runs `release unblock`, not measured).
# Environment: RUNS (same as --runs), SHIPGATE (binary to measure; never rebuilt).
# Exit status: 0 every command succeeded and the goal (<= 1 s) is met; 1 the
# goal is not met; 2 a deploy or rollback failed, or the set-up failed.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
RUNS="${RUNS:-20}"
NO_BUILD=0
GOAL_S=1

usage() { sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) RUNS="$2"; shift 2 ;;
    --runs=*) RUNS="${1#--runs=}"; shift ;;
    --no-build) NO_BUILD=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --runs needs a positive integer" >&2; exit 2; }

log() { printf '[deploy-bench] %s\n' "$*" >&2; }
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
# shellcheck source=tests/integration/deploy/lib.sh
source "$ROOT/tests/integration/deploy/lib.sh" # PYTHON, APPCTL, make_artifact, write_plan, free_ports

bench_apt_install curl tar gzip coreutils
bench_ensure_shipgate "$NO_BUILD" || { log "no shipgate binary at $SHIPGATE"; exit 2; }
if ! "$SHIPGATE" --help 2>&1 | grep -q 'deploy-stage'; then
  log "$SHIPGATE has no deploy-stage step"
  exit 2
fi

WORK="$(mktemp -d /tmp/shipgate-deploy-bench.XXXXXX)"
APP_ROOTS=()
cleanup() {
  local root
  for root in "${APP_ROOTS[@]}"; do "$PYTHON" "$APPCTL" stop --root "$root" >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$WORK/artifacts" "$WORK/logs"
for version in 1.0.0 2.0.0; do make_artifact "$version" "$WORK/artifacts"; done
artifact() { echo "$WORK/artifacts/site-$1.tar.gz"; }
export PYTHON APPCTL

# Results: one line per measured command in $WORK/times.txt:
#   TOOL METRIC SECONDS
record() { echo "$1 $2 $3" >>"$WORK/times.txt"; }
FAILED=0

elapsed_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.6f", b-a}'; }

# The switch's time (seconds) from a deploy-stage / rollback JSON result:
# `switch_seconds` when the step reports it (deploy-stage, microseconds),
# else the sum of the switch actions' duration_ms; empty when neither is there.
json_switch_seconds() {
  "$PYTHON" - "$1" <<'PY'
import json, sys
try:
    result = json.load(open(sys.argv[1]))
except Exception:  # noqa: BLE001
    sys.exit()
if isinstance(result.get("switch_seconds"), (int, float)) and result["switch_seconds"] > 0:
    print("%.6f" % result["switch_seconds"])
    sys.exit()
ms = [a["duration_ms"] for a in result.get("actions", [])
      if "-switch-" in a.get("id", "") and isinstance(a.get("duration_ms"), (int, float))]
if ms:
    print("%.6f" % (sum(ms) / 1000.0))
PY
}

# Seconds spent in the plan's stop/start/reload/restart commands, from the
# actions' duration_ms in a JSON result (empty when there are none).
json_command_seconds() {
  "$PYTHON" - "$1" <<'PY'
import json, re, sys
try:
    result = json.load(open(sys.argv[1]))
except Exception:  # noqa: BLE001
    sys.exit()
ms = [a["duration_ms"] for a in result.get("actions", [])
      if re.search(r"-(stop|start|reload|restart)-", a.get("id", "")) and isinstance(a.get("duration_ms"), (int, float))]
if ms:
    print("%.6f" % (sum(ms) / 1000.0))
PY
}

# serving PORT VERSION: the app answers VERSION (checked after every command).
serving() { [[ "$(curl -s --max-time 5 "http://127.0.0.1:$1/version")" == "$2" ]]; }

# run_logged NAME CMD...: runs CMD, output to logs/NAME.log; sets LAST_S.
run_logged() {
  local name="$1" t0 rc=0; shift
  t0=$EPOCHREALTIME
  "$@" >"$WORK/logs/$name.log" 2>&1 || rc=$?
  LAST_S=$(elapsed_since "$t0")
  if ((rc != 0)); then
    log "$name failed (exit $rc); last lines:"
    tail -n 10 "$WORK/logs/$name.log" | sed 's/^/    /' >&2
  fi
  return $rc
}

bench_shipgate() {
  local tool="$1" mode="$2" root="$WORK/$1/root" port plan i
  port="$(free_ports 1)"
  plan="$WORK/$tool/plan.yml"
  mkdir -p "$root"
  APP_ROOTS+=("$root")
  write_plan "$plan" "$mode"
  export SITE_ROOT="$root" APP_PORT="$port"
  log "$tool: plan $mode, app port $port, $RUNS runs"
  run_logged "$tool-first" "$SHIPGATE" deploy-stage --plan "$plan" --env prod --version 1.0.0 \
    --artifact "$(artifact 1.0.0)" || { FAILED=1; return; }
  for ((i = 1; i <= RUNS; i++)); do
    run_logged "$tool-deploy-$i" "$SHIPGATE" deploy-stage --plan "$plan" --env prod --version 2.0.0 \
      --artifact "$(artifact 2.0.0)" --json "$WORK/logs/$tool-deploy-$i.json" || { FAILED=1; return; }
    record "$tool" deploy "$LAST_S"
    serving "$port" 2.0.0 || { log "$tool run $i: 2.0.0 not served after deploy"; FAILED=1; return; }
    record "$tool" switch "$(json_switch_seconds "$WORK/logs/$tool-deploy-$i.json")"
    record "$tool" commands "$(json_command_seconds "$WORK/logs/$tool-deploy-$i.json")"
    run_logged "$tool-rollback-$i" "$SHIPGATE" rollback --plan "$plan" --env prod \
      --json "$WORK/logs/$tool-rollback-$i.json" || { FAILED=1; return; }
    record "$tool" rollback "$LAST_S"
    serving "$port" 1.0.0 || { log "$tool run $i: 1.0.0 not served after rollback"; FAILED=1; return; }
    run_logged "$tool-unblock-$i" "$SHIPGATE" release unblock --plan "$plan" --version 2.0.0 \
      --reason "benchmark: rolled back on purpose" || { FAILED=1; return; }
  done
  "$PYTHON" "$APPCTL" stop --root "$root" >/dev/null
}

bench_cap_style() {
  local tool=cap-style root="$WORK/cap-style/root" port i
  port="$(free_ports 1)"
  mkdir -p "$root"
  APP_ROOTS+=("$root")
  log "$tool: app port $port, $RUNS runs"
  run_logged "$tool-first" bash "$HERE/cap_style.sh" deploy "$root" "$(artifact 1.0.0)" "$port" || { FAILED=1; return; }
  for ((i = 1; i <= RUNS; i++)); do
    run_logged "$tool-deploy-$i" bash "$HERE/cap_style.sh" deploy "$root" "$(artifact 2.0.0)" "$port" || { FAILED=1; return; }
    record "$tool" deploy "$LAST_S"
    record "$tool" switch "$(sed -n 's/^switch_ms=//p' "$WORK/logs/$tool-deploy-$i.log" | awk '{printf "%.6f", $1/1000}')"
    serving "$port" 2.0.0 || { log "$tool run $i: 2.0.0 not served after deploy"; FAILED=1; return; }
    run_logged "$tool-rollback-$i" bash "$HERE/cap_style.sh" rollback "$root" "$port" || { FAILED=1; return; }
    record "$tool" rollback "$LAST_S"
    serving "$port" 1.0.0 || { log "$tool run $i: 1.0.0 not served after rollback"; FAILED=1; return; }
  done
  "$PYTHON" "$APPCTL" stop --root "$root" >/dev/null
}

: >"$WORK/times.txt"
bench_shipgate shipgate-reload reload
bench_shipgate shipgate-restart restart
bench_cap_style

# ---------------------------------------------------------------- report
echo
echo "shipgate deploy benchmark: local target, one service (python3 test app), $RUNS deploy + rollback runs per tool"
printf '  host: %s CPU(s), %s; shipgate: %s\n' "$(nproc)" \
  "$(awk -F: '/model name/{gsub(/^ +/,"",$2); print $2; exit}' /proc/cpuinfo)" "$SHIPGATE"
echo
"$PYTHON" - "$WORK/times.txt" "$GOAL_S" "$FAILED" <<'PY'
import sys

path, goal, failed = sys.argv[1], float(sys.argv[2]), sys.argv[3] == "1"
times = {}
for line in open(path):
    parts = line.split()
    if len(parts) == 3:
        times.setdefault(parts[0], {}).setdefault(parts[1], []).append(float(parts[2]))

def pct(values, p):  # nearest rank
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]

def cell(values, unit):
    if not values:
        return "-"
    scale, fmt = (1000.0, "%.1f") if unit == "ms" else (1.0, "%.3f")
    return (fmt + " / " + fmt) % (pct(values, 50) * scale, pct(values, 90) * scale)

names = {"shipgate-reload": "shipgate (start + reload)", "shipgate-restart": "shipgate (stop + start)",
         "cap-style": "cap-style ln -sfn + restart"}
row = "%-30s %20s %20s %20s %5s"
print(row % ("tool", "switch ms med/p90", "deploy s med/p90", "rollback s med/p90", "runs"))
print(row % ("-" * 30, "-" * 20, "-" * 20, "-" * 20, "-" * 5))
for tool in ("shipgate-reload", "shipgate-restart", "cap-style"):
    data = times.get(tool, {})
    print(row % (names[tool], cell(data.get("switch", []), "ms"), cell(data.get("deploy", []), "s"),
                 cell(data.get("rollback", []), "s"), len(data.get("deploy", []))))
print("  (deploy and rollback: command start to exit, the version verified healthy; switch: the `current`"
      " switch alone)")
for tool in ("shipgate-reload", "shipgate-restart"):
    data = times.get(tool, {})
    if data.get("deploy") and len(data.get("commands", [])) == len(data["deploy"]):
        own = [d - c for d, c in zip(data["deploy"], data["commands"])]
        print("  %s: deploy time outside the plan's service commands: %.3f s median (commands: %.3f s median)" % (
            names[tool], pct(own, 50), pct(data["commands"], 50)))
print()
worst = None
for tool in ("shipgate-reload", "shipgate-restart"):
    for metric in ("deploy", "rollback"):
        values = times.get(tool, {}).get(metric, [])
        if values and (worst is None or pct(values, 90) > worst[0]):
            worst = (pct(values, 90), "%s %s p90" % (names[tool], metric))
if worst is None or failed:
    print("goal <= %g s for a local target with one service: NOT MET (not measured: a command failed)" % goal)
    sys.exit(2)
verdict = "MET" if worst[0] <= goal else "NOT MET"
print("goal <= %g s for a local target with one service: %s (%.3f s, the slowest: %s)" % (goal, verdict, worst[0], worst[1]))
sys.exit(0 if verdict == "MET" else 1)
PY
