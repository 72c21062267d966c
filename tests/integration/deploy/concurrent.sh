#!/usr/bin/env bash
# Ten deploys to one environment at the same time, each waiting for the lock
# (--wait-lock): exactly one runs at a time, and none is lost.
#
#   bash tests/integration/deploy/concurrent.sh [PATH/TO/shipgate]
#
# Ten shipgate processes start together, each deploying its own version
# (1.0 ... 1.9) to the same local target. Every one must exit 0; the ledger
# must hold ten `deploy succeeded` entries, one per version, every line
# valid JSON; the commands of the plan (fault-hook.sh logs each) must never
# interleave between two runs, and come in the order of the ledger entries;
# the live version is the one whose entry is last.
#
# Environment: SHIPGATE, KEEP_WORK=1.
# Exit status: 0 every assertion held, 1 one failed, 2 set-up failed.
set -uo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
SHIPGATE="${1:-${SHIPGATE:-$REPO/build/shipgate}}"
PLAN="$REPO/tests/fixtures/deploy/e2e/faults.yml"
HOOK="$REPO/tests/fixtures/deploy/e2e/fault-hook.sh"
MAKE_ARTIFACTS="$REPO/tests/fixtures/deploy/make-artifacts.sh"
RUNS=10

[[ -x "$SHIPGATE" ]] || { echo "concurrent: no shipgate binary at $SHIPGATE" >&2; exit 2; }
SHIPGATE="$(cd "$(dirname "$SHIPGATE")" && pwd)/$(basename "$SHIPGATE")"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/shipgate-concurrent.XXXXXX")"
PASSED=0
FAILED=0
cleanup() {
  if ((FAILED)) || [[ "${KEEP_WORK:-}" == 1 ]]; then echo "concurrent: work folder kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
versions=()
for ((i = 0; i < RUNS; i++)); do versions+=("1.$i"); done
"$MAKE_ARTIFACTS" "$WORK/art" "${versions[@]}" >/dev/null || { echo "concurrent: cannot build the artifacts" >&2; exit 2; }
ok() { PASSED=$((PASSED + 1)); }
bad() { FAILED=$((FAILED + 1)); echo "FAIL $*" >&2; }
check_eq() { if [[ "$1" == "$2" ]]; then ok; else bad "$3: got '$1', expected '$2'"; fi; }

root="$WORK/root"
mkdir -p "$root"
pids=()
for version in "${versions[@]}"; do
  env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="${HOME:-/root}" LANG=C.UTF-8 TZ=UTC \
    "$SHIPGATE" deploy-stage --ci none --plan "$PLAN" --env test --var "ROOT=$root" --var "HOOK=$HOOK" \
    --version "$version" --artifact "$WORK/art/app-$version.tar.gz" --wait-lock 3m \
    --json "$WORK/$version.json" </dev/null >"$WORK/$version.stdout" 2>"$WORK/$version.stderr" &
  pids+=($!)
done
for index in "${!pids[@]}"; do
  wait "${pids[$index]}"
  rc=$?
  check_eq "$rc" 0 "deploy ${versions[$index]}'s exit code ($(head -n1 "$WORK/${versions[$index]}.stdout"))"
done

ledger="$root/test/web/.shipgate/ledger.jsonl"
check_eq "$(jq -c . "$ledger" >/dev/null 2>&1 && echo valid)" valid "every ledger line is JSON"
check_eq "$(jq -r 'select(.event == "deploy" and .outcome == "succeeded") | .version' "$ledger" | sort | tr '\n' ' ')" \
  "${versions[*]} " "the versions with a succeeded deploy entry"
# One run at a time: the plan's commands (fault-hook.sh logs each with its
# release) come in one block per run, never interleaved.
blocks=$(awk '$3 != "" {print $3}' "$root/events.log" | uniq | wc -l)
check_eq "$blocks" "$RUNS" "blocks of commands in events.log (one per run)"
# And each run held the lock from its pre-flight to its ledger entry: sorted
# by the end of their runs, no run's commands start before the previous
# run's entry was written (the blocks above are in the ledger's order).
check_eq "$(awk '$3 != "" {print $3}' "$root/events.log" | uniq | sed 's/.*-//' | tr '\n' ' ')" \
  "$(jq -r 'select(.event == "deploy" and .outcome == "succeeded") | .version' "$ledger" | tr '\n' ' ')" \
  "the order of the runs' commands against the order of their ledger entries"
last=$(jq -r 'select(.event == "deploy" and .outcome == "succeeded") | .version' "$ledger" | tail -n1)
check_eq "$(sed -n 's/^version //p' "$root/test/web/current/public/index.html")" "$last" "the live version"
echo "concurrent: $RUNS deploys at once, one after the other; $PASSED checks passed, $FAILED failed"
((FAILED == 0))
