#!/usr/bin/env bash
# One bounded fuzz run of one target, as the fuzz/<name> ctest entry runs it:
#   run_target.sh BINARY FUZZ_SOURCE_DIR NAME WORK_DIR SECONDS [DICT]
# 1. replays every input of fuzz/regressions/NAME/ (each one once);
# 2. copies the seed corpus fuzz/corpus/NAME/ to WORK_DIR/corpus and fuzzes
#    that copy for SECONDS (the committed corpus is never written);
# crashes, leaks, UB reports and timeouts land in WORK_DIR/artifacts/ and
# make the run fail.
set -euo pipefail

if (($# < 5 || $# > 6)); then
  echo "usage: run_target.sh BINARY FUZZ_SOURCE_DIR NAME WORK_DIR SECONDS [DICT]" >&2
  exit 2
fi
binary=$1 source_dir=$2 name=$3 work=$4 seconds=$5 dict=${6:-}

rm -rf -- "$work"
mkdir -p -- "$work/corpus" "$work/artifacts" "$work/tmp"
# The target's own scratch folder goes under the work folder too.
export TMPDIR="$work/tmp"

options=(-rss_limit_mb=1024 -timeout=10 "-artifact_prefix=$work/artifacts/")
if [[ -n "$dict" ]]; then
  options+=("-dict=$dict")
fi

regressions=("$source_dir/regressions/$name"/*)
if [[ -e "${regressions[0]}" ]]; then
  echo "fuzz/$name: replaying ${#regressions[@]} regression input(s)"
  "$binary" "${options[@]}" "${regressions[@]}" > "$work/regressions.log" 2>&1 || {
    cat "$work/regressions.log" >&2
    echo "fuzz/$name: FAILED on a regression input (log above)" >&2
    exit 1
  }
fi

if [[ -d "$source_dir/corpus/$name" ]]; then
  cp -R -- "$source_dir/corpus/$name/." "$work/corpus/"
fi
seeds=$(find "$work/corpus" -type f | wc -l)
echo "fuzz/$name: $seeds seed input(s), fuzzing for ${seconds}s"
status=0
"$binary" "${options[@]}" -max_total_time="$seconds" -print_final_stats=1 "$work/corpus" > "$work/fuzz.log" 2>&1 ||
  status=$?

# The last status line: "#123456 DONE cov: 1234 ft: 5678 corp: 90/12Kb ... exec/s: 4321"
summary=$(grep -E '^#[0-9]+' "$work/fuzz.log" | tail -n 1 || true)
echo "fuzz/$name: ${summary:-no status line}"
grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$work/fuzz.log" || true
if ((status != 0)); then
  tail -n 60 "$work/fuzz.log" >&2
  echo "fuzz/$name: FAILED (exit $status); the input is in $work/artifacts/:" >&2
  ls -l "$work/artifacts" >&2
  exit 1
fi
echo "fuzz/$name: passed, $(find "$work/corpus" -type f | wc -l) input(s) in the work corpus"
