#!/usr/bin/env bash
# Fuzzes the readers of untrusted input for longer than the bounded
# fuzz/<name> ctest entries (fuzz/README.md).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...] [--merge-into-repo]
#
# SECONDS per target (default 300); TARGETs are names such as junit, plan,
# ledger (default: all). Builds the fuzz targets with clang in
# $SHIPGATE_FUZZ_BUILD (default /tmp/build-fuzz), installing clang first
# when it is missing (as root). Each target replays fuzz/regressions/NAME,
# then fuzzes; inputs that reach new coverage are merged into the work
# corpus $SHIPGATE_FUZZ_WORK/NAME/corpus (default /tmp/shipgate-fuzz-work),
# which later runs start from. Only with --merge-into-repo are they also
# merged into fuzz/corpus/NAME. Prints, per target: executions, exec/s,
# coverage (cov: edges, ft: features), the work corpus size and crashes.
# Exits 1 when any target found a crash, leak, UB report or timeout; the
# inputs are in $SHIPGATE_FUZZ_WORK/NAME/artifacts.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${SHIPGATE_FUZZ_BUILD:-/tmp/build-fuzz}
work_root=${SHIPGATE_FUZZ_WORK:-/tmp/shipgate-fuzz-work}
all_targets=(junit tap ctrf policy plan checks ledger journal lease outbox plugin_reply baseline)

seconds=300
merge_into_repo=false
targets=()
for arg in "$@"; do
  case "$arg" in
    --merge-into-repo) merge_into_repo=true ;;
    -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *[!0-9]*) targets+=("$arg") ;;
    *) seconds=$arg ;;
  esac
done
((${#targets[@]})) || targets=("${all_targets[@]}")
for target in "${targets[@]}"; do
  if [[ ! -f "$repo/fuzz/${target}_fuzz.cpp" ]]; then
    echo "fuzz.sh: unknown target '$target'; the targets are: ${all_targets[*]}" >&2
    exit 2
  fi
done

dictionary_of() {
  case "$1" in
    junit | tap | ctrf | policy | plan | checks) echo "$repo/fuzz/$1.dict" ;;
    *) echo "$repo/fuzz/state.dict" ;;
  esac
}

# clang and its libFuzzer runtime (Debian 12: clang 14).
if ! command -v clang++ >/dev/null || ! compgen -G "/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a" >/dev/null; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "fuzz.sh: clang with libFuzzer is missing; as root: apt-get install clang libclang-rt-14-dev" >&2
    exit 2
  fi
  apt-get install -y -o DPkg::Lock::Timeout=900 clang libclang-rt-14-dev
fi

if [[ ! -f "$build/CMakeCache.txt" ]]; then
  launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  CC=clang CXX=clang++ cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHIPGATE_FUZZ=ON \
    "${launcher[@]}"
fi
build_targets=()
for target in "${targets[@]}"; do build_targets+=("${target}_fuzz"); done
ninja -C "$build" -j2 "${build_targets[@]}"

# The last "#N ..." status line's field after `key:` (cov, ft, exec/s).
field() { grep -oE "$1: [0-9]+" <<<"$2" | tail -n 1 | grep -oE '[0-9]+$' || echo "?"; }
final_stat() { grep -E "^stat::$1:" "$2" | grep -oE '[0-9]+$' || echo "?"; }

failed=()
summary=()
for target in "${targets[@]}"; do
  binary="$build/fuzz/${target}_fuzz"
  work="$work_root/$target"
  mkdir -p "$work/corpus" "$work/artifacts" "$work/tmp"
  rm -rf "$work/new" && mkdir -p "$work/new"
  export TMPDIR="$work/tmp"
  options=(-rss_limit_mb=1024 -timeout=10 "-artifact_prefix=$work/artifacts/" "-dict=$(dictionary_of "$target")")
  crashes_before=$(find "$work/artifacts" -type f | wc -l)

  regressions=("$repo/fuzz/regressions/$target"/*)
  if [[ -e "${regressions[0]}" ]] && ! "$binary" "${options[@]}" "${regressions[@]}" >"$work/regressions.log" 2>&1; then
    echo "fuzz.sh: $target fails on a regression input; see $work/regressions.log" >&2
    failed+=("$target")
    continue
  fi

  echo "== $target: fuzzing for ${seconds}s"
  started=$SECONDS
  status=0
  # New inputs go to `new`; the work corpus and the seeds are read only.
  "$binary" "${options[@]}" -max_total_time="$seconds" -print_final_stats=1 \
    "$work/new" "$work/corpus" "$repo/fuzz/corpus/$target" >"$work/fuzz.log" 2>&1 || status=$?
  elapsed=$((SECONDS - started))
  "$binary" -merge=1 "$work/corpus" "$work/new" "$repo/fuzz/corpus/$target" >"$work/merge.log" 2>&1 || true
  if $merge_into_repo; then
    "$binary" -merge=1 "$repo/fuzz/corpus/$target" "$work/new" >>"$work/merge.log" 2>&1 || true
  fi

  last=$(grep -E '^#[0-9]+' "$work/fuzz.log" | tail -n 1 || true)
  crashes=$(($(find "$work/artifacts" -type f | wc -l) - crashes_before))
  line=$(printf '%-13s %5ss %12s %8s %6s %7s %7s %8s' "$target" "$elapsed" \
    "$(final_stat number_of_executed_units "$work/fuzz.log")" "$(final_stat average_exec_per_sec "$work/fuzz.log")" \
    "$(field cov "$last")" "$(field ft "$last")" "$(find "$work/corpus" -type f | wc -l)" "$crashes")
  echo "$line"
  summary+=("$line")
  if ((status != 0 || crashes > 0)); then
    tail -n 40 "$work/fuzz.log" >&2
    failed+=("$target")
  fi
done

echo
printf '%-13s %6s %12s %8s %6s %7s %7s %8s\n' target time executions exec/s cov: ft: corpus crashes
printf '%s\n' "${summary[@]}"
if ((${#failed[@]})); then
  echo "fuzz.sh: findings in: ${failed[*]} (inputs in $work_root/<target>/artifacts)" >&2
  exit 1
fi
