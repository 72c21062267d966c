#!/usr/bin/env bash
# Benchmark: `shipgate gate-on-test-report` on a large JUnit XML report versus
# peers doing the same counting job (python3-junitparser, npm junit2json) and
# two raw XML parser baselines (expat streaming, pugixml DOM).
#
#   bash bench/run.sh [--cases N] [--skip-peers] [--skip-baselines] [--no-build]
#
# --cases N         report size (default 1000000; e.g. 100000 for a quick run)
# --skip-peers      do not run junitparser / junit2json
# --skip-baselines  do not run the expat / pugixml parser baselines
# --no-build        never (re)build shipgate; use build-release/shipgate as is
#                   (or SHIPGATE=/path/to/shipgate), skip it if absent
#
# Environment: BENCH_DIR (cache dir, default /tmp/shipgate-bench), RUNS (best of,
# default 3), PEER_TIMEOUT (seconds per peer run, default 900), SHIPGATE (binary
# to measure instead of build-release/shipgate; never rebuilt).
# Exit status: 0 = all counts agree and both requirements MET; 1 = counts agree
# but a requirement is NOT MET (or could not be measured); 2 = a tool failed or
# counted differently from the generator.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
BENCH_DIR="${BENCH_DIR:-/tmp/shipgate-bench}"
RUNS="${RUNS:-3}"
PEER_TIMEOUT="${PEER_TIMEOUT:-900}"
CASES=1000000
SKIP_PEERS=0
SKIP_BASELINES=0
NO_BUILD=0
REQ_SPEEDUP=5
GOAL_SPEEDUP=10
REQ_RSS_MIB=32

usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --cases) CASES="$2"; shift 2 ;;
    --cases=*) CASES="${1#--cases=}"; shift ;;
    --skip-peers) SKIP_PEERS=1; shift ;;
    --skip-baselines) SKIP_BASELINES=1; shift ;;
    --no-build) NO_BUILD=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ "$CASES" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --cases needs a positive integer" >&2; exit 2; }
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: RUNS needs a positive integer" >&2; exit 2; }

log() { printf '[bench] %s\n' "$*" >&2; }
source "$HERE/lib.sh"

# ---------------------------------------------------------------- dependencies
apt_need=(time libexpat1-dev libpugixml-dev)
if [[ $SKIP_PEERS -eq 0 ]]; then
  apt_need+=(python3-junitparser)
  command -v node >/dev/null 2>&1 || apt_need+=(nodejs npm)
fi
bench_apt_install "${apt_need[@]}"
if [[ $SKIP_PEERS -eq 0 && ! -f "$HERE/peers/node_modules/junit2json/package.json" ]]; then
  log "npm install in bench/peers"
  (cd "$HERE/peers" && npm install --no-audit --no-fund >&2)
fi
if [[ $SKIP_BASELINES -eq 0 ]]; then
  bash "$HERE/xml_parsers/build.sh"
fi

# ---------------------------------------------------------------- shipgate build
HAVE_SHIPGATE=1
bench_ensure_shipgate "$NO_BUILD" || HAVE_SHIPGATE=0

# ---------------------------------------------------------------- input file
mkdir -p "$BENCH_DIR"
REPORT="$BENCH_DIR/junit-$CASES.xml"
TOTALS="$REPORT.totals.json"
if [[ ! -s "$REPORT" || ! -s "$TOTALS" || "$HERE/gen_junit.py" -nt "$REPORT" ]]; then
  log "generating $REPORT ($CASES cases)"
  python3 "$HERE/gen_junit.py" --cases "$CASES" --out "$REPORT" >/dev/null
fi
read -r EXP_TESTS EXP_PASSED EXP_FAILED EXP_ERRORS EXP_SKIPPED BYTES < <(python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))
print(t["tests"], t["passed"], t["failed"], t["errors"], t["skipped"], t["bytes"])' "$TOTALS")
EXPECTED="tests=$EXP_TESTS passed=$EXP_PASSED failed=$EXP_FAILED errors=$EXP_ERRORS skipped=$EXP_SKIPPED"
log "report: $REPORT ($(awk -v b="$BYTES" 'BEGIN{printf "%.1f", b/1e6}') MB), expected $EXPECTED"
cat "$REPORT" >/dev/null   # warm the page cache so every tool reads from memory

# ---------------------------------------------------------------- measuring
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
declare -a T_NAME=() T_WALL=() T_RSS=() T_STATUS=() T_KIND=()
STATUS_BAD=0

# Counts line (tests=.. passed=.. failed=.. errors=.. skipped=..) from shipgate's JSON.
shipgate_counts() {
  python3 - "$1" <<'PY'
import json, sys
try:
    t = json.load(open(sys.argv[1]))["totals"]
    out = "tests=%d passed=%d failed=%d errors=%d skipped=%d" % (
        t["tests"], t["passed"], t["failed"], t["errors"], t["skipped"])
    if t.get("flaky", 0):
        out += " flaky=%d" % t["flaky"]
    print(out)
except Exception as e:  # noqa: BLE001
    print("unreadable JSON: %s" % e)
PY
}

# measure NAME KIND OK_EXIT_CODES CMD...   (KIND: self|peer|baseline)
# Wall time: best of $RUNS, measured around the /usr/bin/time call with bash's
# microsecond clock (GNU time's %e only has 10 ms resolution). Peak RSS: %M
# from GNU time, the maximum over the runs (conservative).
measure() {
  local name="$1" kind="$2" okcodes="$3"; shift 3
  local best="" maxrss=0 status="ok" counts="" i rc t0 t1 wall rss
  log "running $name ($RUNS run(s))"
  for ((i = 1; i <= RUNS; i++)); do
    rm -f "$WORK/out.json"
    t0=$EPOCHREALTIME
    set +e
    /usr/bin/time -f '%e %M' -o "$WORK/time.txt" "$@" >"$WORK/stdout.txt" 2>"$WORK/stderr.txt"
    rc=$?
    set -e
    t1=$EPOCHREALTIME
    if [[ " $okcodes " != *" $rc "* ]]; then
      status="FAILED (exit $rc)"
      log "$name failed with exit $rc; stderr tail:"
      tail -n 5 "$WORK/stderr.txt" | sed 's/^/    /' >&2
      break
    fi
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')
    rss=$(awk 'NF>=2{v=$2} END{print v+0}' "$WORK/time.txt")
    if [[ -z "$best" ]] || awk -v a="$wall" -v b="$best" 'BEGIN{exit !(a<b)}'; then best=$wall; fi
    (( rss > maxrss )) && maxrss=$rss
    if [[ $i -eq 1 ]]; then
      if [[ "$name" == shipgate ]]; then
        counts=$(shipgate_counts "$WORK/out.json")
      else
        counts=$(grep -m1 -o 'tests=[0-9]* passed=[0-9]* failed=[0-9]* errors=[0-9]* skipped=[0-9]*' "$WORK/stdout.txt" || true)
      fi
      if [[ "$counts" != "$EXPECTED" ]]; then
        status="COUNT MISMATCH"
        log "$name counted: ${counts:-<nothing>}"
        log "expected:       $EXPECTED"
      fi
    fi
  done
  [[ "$status" != ok ]] && STATUS_BAD=1
  T_NAME+=("$name"); T_KIND+=("$kind"); T_STATUS+=("$status")
  T_WALL+=("${best:-}"); T_RSS+=("$maxrss")
}

if [[ $HAVE_SHIPGATE -eq 1 ]]; then
  measure shipgate self "0 1" "$SHIPGATE" gate-on-test-report --report "$REPORT" --json "$WORK/out.json"
fi
if [[ $SKIP_PEERS -eq 0 ]]; then
  measure junitparser peer "0" timeout "$PEER_TIMEOUT" /usr/bin/python3 "$HERE/peers/junitparser_count.py" "$REPORT"
  mem_mb=$(awk '/^MemTotal:/{printf "%d", $2/1024*0.75}' /proc/meminfo)
  heap_mb=$(( mem_mb < 16384 ? mem_mb : 16384 ))
  measure junit2json peer "0" timeout "$PEER_TIMEOUT" node --max-old-space-size="$heap_mb" "$HERE/peers/junit2json_count.js" "$REPORT"
fi
if [[ $SKIP_BASELINES -eq 0 ]]; then
  measure expat-count baseline "0" "$HERE/xml_parsers/xmlcount" expat "$REPORT"
  measure pugixml-load baseline "0" "$HERE/xml_parsers/xmlcount" pugixml "$REPORT"
fi

# ---------------------------------------------------------------- report
SG_WALL=""; SG_RSS=""
for i in "${!T_NAME[@]}"; do
  if [[ "${T_NAME[$i]}" == shipgate && "${T_STATUS[$i]}" == ok ]]; then SG_WALL=${T_WALL[$i]}; SG_RSS=${T_RSS[$i]}; fi
done

echo
echo "shipgate benchmark: $REPORT"
printf '  %s cases, %.1f MB; best of %s run(s); host: %s CPU(s), %s\n' "$EXP_TESTS" \
  "$(awk -v b="$BYTES" 'BEGIN{print b/1e6}')" "$RUNS" "$(nproc)" \
  "$(awk -F: '/model name/{gsub(/^ +/,"",$2); print $2; exit}' /proc/cpuinfo)"
echo "  expected counts: $EXPECTED"
echo
printf '%-14s %-8s %9s %9s %14s %14s  %s\n' tool kind "wall s" "MB/s" "peak RSS MiB" "vs shipgate" counts
printf '%-14s %-8s %9s %9s %14s %14s  %s\n' -------------- -------- --------- --------- -------------- -------------- ------
for i in "${!T_NAME[@]}"; do
  w=${T_WALL[$i]}; st=${T_STATUS[$i]}
  if [[ "$st" == FAILED* ]]; then
    printf '%-14s %-8s %9s %9s %14s %14s  %s\n' "${T_NAME[$i]}" "${T_KIND[$i]}" - - - - "$st"
    continue
  fi
  mbs=$(awk -v b="$BYTES" -v w="$w" 'BEGIN{ if (w>0) printf "%.1f", b/1e6/w; else print "inf"}')
  rss=$(awk -v k="${T_RSS[$i]}" 'BEGIN{printf "%.1f", k/1024}')
  if [[ -n "$SG_WALL" ]]; then
    ratio=$(awk -v w="$w" -v s="$SG_WALL" 'BEGIN{ if (s>0) printf "%.2fx", w/s; else print "-"}')
  else
    ratio="-"
  fi
  [[ "$st" == ok ]] && st="agree" 
  printf '%-14s %-8s %9s %9s %14s %14s  %s\n' "${T_NAME[$i]}" "${T_KIND[$i]}" "$w" "$mbs" "$rss" "$ratio" "$st"
done
echo "  (vs shipgate = tool wall time / shipgate wall time; > 1 means shipgate is faster)"
echo

RESULT=0
note=""
[[ "$CASES" -ne 1000000 ]] && note=" [measured on $CASES cases; the requirements are stated for 1000000]"
# speed vs fastest peer
fast_name=""; fast_wall=""
for i in "${!T_NAME[@]}"; do
  if [[ "${T_KIND[$i]}" == peer && "${T_STATUS[$i]}" == ok ]]; then
    if [[ -z "$fast_wall" ]] || awk -v a="${T_WALL[$i]}" -v b="$fast_wall" 'BEGIN{exit !(a<b)}'; then
      fast_wall=${T_WALL[$i]}; fast_name=${T_NAME[$i]}
    fi
  fi
done
if [[ -z "$SG_WALL" ]]; then
  echo "shipgate vs fastest peer: NOT MEASURED (shipgate missing, failed or miscounted) (required >= ${REQ_SPEEDUP}x, goal ${GOAL_SPEEDUP}x): NOT MET"
  RESULT=1
elif [[ -z "$fast_wall" ]]; then
  if [[ $SKIP_PEERS -eq 1 ]]; then why="--skip-peers"; else why="no peer finished with correct counts"; fi
  echo "shipgate vs fastest peer: NOT MEASURED ($why) (required >= ${REQ_SPEEDUP}x, goal ${GOAL_SPEEDUP}x)"
  RESULT=1
else
  sp=$(awk -v p="$fast_wall" -v s="$SG_WALL" 'BEGIN{ if (s>0) printf "%.1f", p/s; else print 9999}')
  if awk -v x="$sp" -v r="$REQ_SPEEDUP" 'BEGIN{exit !(x>=r)}'; then verdict="MET"; else verdict="NOT MET"; RESULT=1; fi
  if awk -v x="$sp" -v r="$GOAL_SPEEDUP" 'BEGIN{exit !(x>=r)}'; then goal="goal 10x MET"; else goal="goal 10x NOT MET"; fi
  echo "shipgate vs fastest peer: ${sp}x faster (required >= ${REQ_SPEEDUP}x, goal ${GOAL_SPEEDUP}x): $verdict; $goal (fastest peer: $fast_name)$note"
fi
if [[ -n "$SG_RSS" ]]; then
  rmib=$(awk -v k="$SG_RSS" 'BEGIN{printf "%.1f", k/1024}')
  if awk -v k="$SG_RSS" -v r="$REQ_RSS_MIB" 'BEGIN{exit !(k/1024<=r)}'; then verdict="MET"; else verdict="NOT MET"; RESULT=1; fi
  echo "shipgate peak RSS: ${rmib} MiB (required <= ${REQ_RSS_MIB} MiB): $verdict$note"
else
  echo "shipgate peak RSS: NOT MEASURED (required <= ${REQ_RSS_MIB} MiB): NOT MET"
  RESULT=1
fi
if [[ $STATUS_BAD -eq 1 ]]; then
  echo "WARNING: at least one tool failed or counted differently from the generator (see table)"
  exit 2
fi
exit $RESULT
