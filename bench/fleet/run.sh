#!/usr/bin/env bash
# Benchmark: `shipgate deploy-stage` and `shipgate rollback` to fleets of real
# ssh hosts on this machine (tests/integration/fleet/hosts.sh: one network
# namespace, sshd and filesystem per host; needs root), with the fleet tests'
# app and plan (tests/integration/fleet/lib.sh).
#
#   bash bench/fleet/run.sh [--runs N] [--no-build] [--readme]
#
# --runs N      measured deploy + rollback pairs per case (default 3); the
#               table shows the median
# --no-build    never (re)build shipgate; use build-release/shipgate as is
#               (or SHIPGATE=/path/to/shipgate)
# --readme      append the results to bench/README.md (a dated section)
#
# One fleet of 50 hosts is made once (its `up` time is reported). Each case
# has its own deploy root and app port on the hosts, so cases never share a
# ledger:
#   1 host    all-at-once                      --jobs 10
#   20 hosts  canary 1, then batches of 25%    --jobs 10
#   50 hosts  canary 1, then batches of 25%    --jobs 10 and --jobs 20
# Per case: a first deploy of 1.0.0 (not measured), then RUNS times: deploy
# 2.0.0 (measured), check every host serves 2.0.0, rollback (measured),
# check every host serves 1.0.0, `release unblock` 2.0.0 (not measured).
# Wall time is from the command's start to its exit (verified healthy).
# Goals: a deploy to 50 hosts takes at most 3x a deploy to 1 host; a
# rollback of 50 hosts takes under 10 s. The table says MET or NOT MET.
# Environment: RUNS, SHIPGATE, JOBS_LIST (default "10 20": the --jobs of the
# 50-host cases), KEEP_WORK=1.
# Exit status: 0 every command worked and both goals are met; 1 a goal is
# not met; 2 a deploy or rollback failed, or the set-up failed.
set -uo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
RUNS="${RUNS:-3}"
NO_BUILD=0
README=0
JOBS_LIST="${JOBS_LIST:-10 20}"
GOAL_RATIO=3
GOAL_ROLLBACK_S=10

usage() { sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) RUNS="$2"; shift 2 ;;
    --runs=*) RUNS="${1#--runs=}"; shift ;;
    --no-build) NO_BUILD=1; shift ;;
    --readme) README=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --runs needs a positive integer" >&2; exit 2; }

log() { printf '[fleet-bench] %s\n' "$*" >&2; }
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
bench_apt_install time curl jq iproute2 openssh-server openssh-client
bench_ensure_shipgate "$NO_BUILD" || { log "no shipgate binary at $SHIPGATE"; exit 2; }
# shellcheck source=tests/integration/fleet/lib.sh
source "$ROOT/tests/integration/fleet/lib.sh"

# ---------------------------------------------------------------- the fleet
FLEET_TEST=fleet-bench
FLEET_T0=$EPOCHREALTIME
WORK="$(mktemp -d "${TMPDIR:-/tmp}/shipgate-fleet-bench.XXXXXX")"
FLEET="$WORK/fleet"
ART="$WORK/art"
mkdir -p "$WORK/logs"
# The work folder is kept when a command failed (or KEEP_WORK=1), not for
# a goal that was missed.
bench_cleanup() {
  local pid
  for pid in "${BACKGROUND[@]}"; do kill -KILL -- "-$pid" 2>/dev/null; done
  "$HARNESS" down "$FLEET"
  if ((BROKEN != 0)) || [[ "${KEEP_WORK:-}" == 1 ]]; then
    log "work folder kept: $WORK (shipgate output: run*.std*, logs/)"
  else
    rm -rf "$WORK"
  fi
}
BROKEN=0
trap bench_cleanup EXIT
trap 'BROKEN=1; exit 130' INT TERM
"$HARNESS" gc
up_t0=$(now_ms)
HARNESS_OWNER=$$ "$HARNESS" up 50 "$FLEET" >"$WORK/logs/hosts-up.log" 2>&1 ||
  { cat "$WORK/logs/hosts-up.log" >&2; log "the 50 hosts could not be made"; BROKEN=1; exit 2; }
UP_MS=$(($(now_ms) - up_t0))
log "$(cat "$WORK/logs/hosts-up.log")"
mapfile -t ALL_HOSTS < <(awk '{print $1}' "$FLEET/hosts.txt")
"$MAKE_ARTIFACTS" "$ART" 1.0.0 2.0.0 >/dev/null || { log "cannot build the artifacts"; BROKEN=1; exit 2; }

# ---------------------------------------------------------------- measuring
: >"$WORK/times.txt"
record() { [[ -z "$3" ]] || echo "$1 $2 $3" >>"$WORK/times.txt"; } # CASE METRIC SECONDS

# every_host_serves PORT VERSION NAMES...: each host's app answers VERSION.
every_host_serves() {
  local port="$1" version="$2" name body
  shift 2
  for name in "$@"; do
    body="$(curl -s -m 3 "http://$(host_address "$name"):$port/health")"
    [[ "$body" == "ok version=$version; host=$name" ]] ||
      { log "$name answers '$body' on port $port, expected version $version"; return 1; }
  done
}

# hosts_cpu: CPU seconds (user + system) used so far on the hosts' side:
# every sshd listener with its reaped sessions and the commands they ran.
hosts_cpu() {
  local file pid total=0
  for file in "$FLEET"/harness/*/sshd.pid; do
    pid="$(cat "$file" 2>/dev/null)" || continue
    # Fields 14-17 of /proc/PID/stat: utime stime cutime cstime, in clock ticks.
    total=$((total + $(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  awk -v t="$total" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'
}

# timed NAME ARGS...: a shipgate run that must exit 0. LAST_S is its wall
# time, LAST_CPU the CPU of shipgate and its ssh clients, LAST_HOST_CPU
# what the hosts' side used meanwhile.
timed() {
  local name="$1" t0 host0 rc
  shift
  command_of "$@"
  host0="$(hosts_cpu)"
  t0=$(now_ms)
  /usr/bin/time -f '%U %S' -o "$WORK/logs/$name.cpu" timeout -s KILL 900 "${CMD[@]}" </dev/null >"$WORK/logs/$name.stdout" 2>"$WORK/logs/$name.stderr"
  rc=$?
  LAST_S="$(awk -v ms="$(($(now_ms) - t0))" 'BEGIN { printf "%.3f", ms / 1000 }')"
  LAST_CPU="$(awk 'END { printf "%.2f", $1 + $2 }' "$WORK/logs/$name.cpu")"
  LAST_HOST_CPU="$(awk -v a="$host0" -v b="$(hosts_cpu)" 'BEGIN { printf "%.2f", b - a }')"
  if ((rc != 0)); then
    log "$name failed (exit $rc after ${LAST_S}s); last lines of its stderr:"
    tail -n 15 "$WORK/logs/$name.stderr" | sed 's/^/    /' >&2
    return 1
  fi
}

# bench_case NAME COUNT PORT JOBS STRATEGY_SETTINGS...
bench_case() {
  local name="$1" count="$2" port="$3" jobs="$4" plan="$WORK/$1.yml" i
  shift 4
  local -a hosts=("${ALL_HOSTS[@]:0:count}")
  write_plan "$plan" APP_DIR="$name" PORT="$port" HOSTS="${hosts[*]}" "$@"
  log "$name: $count hosts, --jobs $jobs, $RUNS runs"
  timed "$name-first" deploy-stage --plan "$plan" --env prod --version 1.0.0 --jobs "$jobs" || { BROKEN=1; return; }
  every_host_serves "$port" 1.0.0 "${hosts[@]}" || { BROKEN=1; return; }
  for ((i = 1; i <= RUNS; i++)); do
    timed "$name-deploy-$i" deploy-stage --plan "$plan" --env prod --version 2.0.0 --jobs "$jobs" \
      --json "$WORK/logs/$name-deploy-$i.json" || { BROKEN=1; return; }
    record "$name" deploy "$LAST_S"
    record "$name" deploy_cpu "$LAST_CPU"
    record "$name" deploy_host_cpu "$LAST_HOST_CPU"
    record "$name" deploy_engine "$(jq -r '.elapsed_seconds // empty' "$WORK/logs/$name-deploy-$i.json")"
    every_host_serves "$port" 2.0.0 "${hosts[@]}" || { BROKEN=1; return; }
    timed "$name-rollback-$i" rollback --plan "$plan" --env prod --jobs "$jobs" \
      --json "$WORK/logs/$name-rollback-$i.json" || { BROKEN=1; return; }
    record "$name" rollback "$LAST_S"
    record "$name" rollback_cpu "$LAST_CPU"
    record "$name" rollback_host_cpu "$LAST_HOST_CPU"
    every_host_serves "$port" 1.0.0 "${hosts[@]}" || { BROKEN=1; return; }
    timed "$name-unblock-$i" release unblock --plan "$plan" --version 2.0.0 \
      --reason "benchmark: rolled back on purpose" || { BROKEN=1; return; }
  done
}

CANARY=(STRATEGY=canary CANARY=1 BATCH=25%)
bench_case single 1 8101 10 STRATEGY=all-at-once
bench_case fleet20 20 8102 10 "${CANARY[@]}"
port=8103
for jobs in $JOBS_LIST; do
  bench_case "fleet50-j$jobs" 50 "$port" "$jobs" "${CANARY[@]}"
  port=$((port + 1))
done

# ---------------------------------------------------------------- report
RESULT="$WORK/result.txt"
HOST_LINE="$(nproc) CPU(s), $(awk -F: '/model name/{gsub(/^ +/,"",$2); print $2; exit}' /proc/cpuinfo)"
{
  echo "shipgate fleet benchmark: real ssh hosts (network namespaces, one sshd each), median of $RUNS runs"
  echo "  machine: $HOST_LINE; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "  shipgate: $SHIPGATE"
  echo "  hosts.sh up 50: $((UP_MS / 1000)).$(printf '%03d' $((UP_MS % 1000))) s"
  echo
  "$HOST_PYTHON" - "$WORK/times.txt" "$GOAL_RATIO" "$GOAL_ROLLBACK_S" "$BROKEN" <<'PY'
import statistics, sys

path, goal_ratio, goal_rollback, broken = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4] == "1"
times = {}
for line in open(path):
    case, metric, seconds = line.split()
    times.setdefault(case, {}).setdefault(metric, []).append(float(seconds))

def median(case, metric):
    values = times.get(case, {}).get(metric)
    return statistics.median(values) if values else None

labels = {"single": ("1 host", "all-at-once", "10"), "fleet20": ("20 hosts", "canary 1 + 25%", "10")}
for case in times:
    if case.startswith("fleet50-j"):
        labels[case] = ("50 hosts", "canary 1 + 25%", case[len("fleet50-j"):])
base = median("single", "deploy")

def cell(value, pattern="%.2f"):
    return pattern % value if value is not None else "-"

print("%-9s %-15s %4s %9s %9s %10s %9s %9s %11s" % ("hosts", "strategy", "jobs", "deploy s", "vs 1 host",
      "actions s", "cpu here", "cpu hosts", "rollback s"))
for case, (hosts, strategy, jobs) in labels.items():
    deploy = median(case, "deploy")
    ratio = "%.2fx" % (deploy / base) if deploy and base else "-"
    print("%-9s %-15s %4s %9s %9s %10s %9s %9s %11s" % (hosts, strategy, jobs, cell(deploy), ratio,
          cell(median(case, "deploy_engine")), cell(median(case, "deploy_cpu")),
          cell(median(case, "deploy_host_cpu")), cell(median(case, "rollback"))))
print()
print("deploy s: wall time of deploy-stage; actions s: its elapsed_seconds (the deploy actions, without")
print("pre-flight and the final ledger/prune); cpu here: CPU s of shipgate and its ssh clients; cpu hosts:")
print("CPU s of the hosts' sshd sessions and the plan's commands, which share this machine's CPUs here and")
print("would run on 50 machines in a real fleet")
print()
fifty = [c for c in labels if c.startswith("fleet50-j")]
best_deploy = min((median(c, "deploy") for c in fifty if median(c, "deploy")), default=None)
best_rollback = min((median(c, "rollback") for c in fifty if median(c, "rollback")), default=None)
met = True
if best_deploy and base:
    ok = best_deploy <= goal_ratio * base
    met &= ok
    print("goal: deploy to 50 hosts <= %gx 1 host: %.2f s vs %.2f s = %.2fx  %s"
          % (goal_ratio, best_deploy, base, best_deploy / base, "MET" if ok else "NOT MET"))
else:
    met = False
    print("goal: deploy to 50 hosts <= %gx 1 host: NOT MEASURED" % goal_ratio)
if best_rollback:
    ok = best_rollback < goal_rollback
    met &= ok
    print("goal: rollback of 50 hosts < %g s: %.2f s  %s" % (goal_rollback, best_rollback, "MET" if ok else "NOT MET"))
else:
    met = False
    print("goal: rollback of 50 hosts < %g s: NOT MEASURED" % goal_rollback)
if broken:
    print("a deploy or rollback FAILED: the figures above are incomplete (see the log above)")
sys.exit(2 if broken else (0 if met else 1))
PY
} >"$RESULT"
cat "$RESULT"
verdict=0
grep -q "FAILED: the figures" "$RESULT" && verdict=2
((verdict == 0)) && grep -qE "NOT (MET|MEASURED)" "$RESULT" && verdict=1

if ((README == 1 && verdict != 2)); then
  {
    echo
    echo "### Fleet run of $(date -u +%Y-%m-%d) (\`bash bench/fleet/run.sh --runs $RUNS\`)"
    echo
    echo '```'
    cat "$RESULT"
    echo '```'
  } >>"$ROOT/bench/README.md"
  log "appended to bench/README.md"
fi
exit $verdict
