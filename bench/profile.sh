#!/usr/bin/env bash
# Profile `shipgate gate-on-test-report` on the benchmark report and print the
# top 25 functions by self time.
#
#   bash bench/profile.sh [--cases N] [--callgrind]
#
# Uses `perf record` when perf works here (default report: 1,000,000 cases);
# otherwise, or with --callgrind, `valgrind --tool=callgrind` on a 50,000-case
# report (callgrind is ~50x slower). The binary is build-release/shipgate
# (built by bench/run.sh; set SHIPGATE=/path to use another one, e.g. a
# RelWithDebInfo build for line-level detail). Outputs go to BENCH_DIR
# (default /tmp/shipgate-bench).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
BENCH_DIR="${BENCH_DIR:-/tmp/shipgate-bench}"
SHIPGATE="${SHIPGATE:-$ROOT/build-release/shipgate}"
CASES=""
FORCE_CALLGRIND=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --cases) CASES="$2"; shift 2 ;;
    --callgrind) FORCE_CALLGRIND=1; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "profile.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done

if [[ ! -x "$SHIPGATE" ]]; then
  echo "profile.sh: $SHIPGATE not found; build it first (bash bench/run.sh --skip-peers builds it)" >&2
  exit 2
fi

use_perf=0
if [[ $FORCE_CALLGRIND -eq 0 ]] && command -v perf >/dev/null 2>&1 &&
   perf record -q -o "$BENCH_DIR/.perf-probe.data" -- true >/dev/null 2>&1; then
  use_perf=1
fi
rm -f "$BENCH_DIR/.perf-probe.data" 2>/dev/null || true
if [[ $use_perf -eq 0 ]] && ! command -v valgrind >/dev/null 2>&1; then
  echo "profile.sh: installing valgrind" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -o DPkg::Lock::Timeout=900 valgrind >&2
fi
if [[ -z "$CASES" ]]; then
  if [[ $use_perf -eq 1 ]]; then CASES=1000000; else CASES=50000; fi
fi

mkdir -p "$BENCH_DIR"
REPORT="$BENCH_DIR/junit-$CASES.xml"
if [[ ! -s "$REPORT" || ! -s "$REPORT.totals.json" || "$HERE/gen_junit.py" -nt "$REPORT" ]]; then
  python3 "$HERE/gen_junit.py" --cases "$CASES" --out "$REPORT" >/dev/null
fi
OUT_JSON="$BENCH_DIR/profile-out.json"

run_rc_ok() {  # exit 1 just means the report has failures
  local rc=0
  "$@" || rc=$?
  if [[ $rc -ne 0 && $rc -ne 1 ]]; then
    echo "profile.sh: command failed with exit $rc: $*" >&2
    exit "$rc"
  fi
}

if [[ $use_perf -eq 1 ]]; then
  DATA="$BENCH_DIR/perf.data"
  echo "perf record on $REPORT" >&2
  run_rc_ok perf record -q -F 2000 -g -o "$DATA" -- \
    "$SHIPGATE" gate-on-test-report --report "$REPORT" --json "$OUT_JSON"
  echo "time by binary/library (perf, $CASES cases):"
  { perf report -i "$DATA" --stdio --no-children --sort dso -g none 2>/dev/null |
      grep -v '^#' | grep -v '^[[:space:]]*$' | head -n 6; } || true
  echo
  echo "top 25 functions by self time (perf, $CASES cases; full data: perf report -i $DATA):"
  echo "(hex addresses are inside stripped libraries, e.g. libexpat; see the dso column)"
  { perf report -i "$DATA" --stdio --no-children --sort dso,symbol -g none --percent-limit 0 2>/dev/null |
      grep -v '^#' | grep -v '^[[:space:]]*$' | head -n 25; } || true
else
  OUT="$BENCH_DIR/callgrind.out"
  echo "valgrind --tool=callgrind on $REPORT" >&2
  run_rc_ok valgrind --tool=callgrind --callgrind-out-file="$OUT" -q \
    "$SHIPGATE" gate-on-test-report --report "$REPORT" --json "$OUT_JSON"
  echo "top 25 functions by self cost (callgrind Ir, $CASES cases; full data: callgrind_annotate $OUT):"
  { callgrind_annotate --inclusive=no "$OUT" 2>/dev/null |
      awk '/file:function/ {f=1; next} f && NF && !/^-/ {print; n++} n>=25 {exit}'; } || true
fi
