#!/usr/bin/env bash
# kill -9 of shipgate at every durable write of a deploy and of a rollback,
# then the next run: it must settle what the killed run left, every time.
#
#   bash tests/integration/deploy/kill_every_point.sh [PATH/TO/shipgate]
#
# Every journal record, ledger entry and lease shipgate writes is fsynced
# before it goes on; those fsyncs are the points where a crash can leave
# state behind. The test counts them in an undisturbed run (strace), then,
# for each point N, repeats the run under `strace -e inject=fsync:signal=KILL:when=N`:
# the kernel delivers SIGKILL to shipgate as it enters its Nth fsync. After
# each kill:
#   - `current` resolves to a whole release, the old or the new one (never a
#     half-switched target), and the lock left by the dead run does not block;
#   - the next run (deploy-stage again, or rollback again) exits 0 and leaves
#     the new version (for the deploy) or the old one (for the rollback)
#     live and verified, with no journal left and every ledger line valid
#     JSON, and no `succeeded` entry of the killed run unless it was killed
#     after it had begun writing that entry (its journal says so);
#   - a rollback killed anywhere is completed on every target, and the
#     version it left is marked bad.
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

[[ -x "$SHIPGATE" ]] || { echo "kill-every-point: no shipgate binary at $SHIPGATE" >&2; exit 2; }
SHIPGATE="$(cd "$(dirname "$SHIPGATE")" && pwd)/$(basename "$SHIPGATE")"
for tool in jq strace tar sha256sum; do
  command -v "$tool" >/dev/null || { echo "kill-every-point: $tool is needed (Debian: apt-get install $tool)" >&2; exit 2; }
done
# A sanitizer build's leak check cannot run under ptrace (strace): it would
# end every run with its own error. Memory errors are still reported. (Every
# run below passes this on through its `env -i`.)
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/shipgate-kill-points.XXXXXX")"
ART="$WORK/art"
PASSED=0
FAILED=0
cleanup() {
  if ((FAILED)) || [[ "${KEEP_WORK:-}" == 1 ]]; then
    echo "kill-every-point: work folder kept: $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
"$MAKE_ARTIFACTS" "$ART" 1.0 2.0 >/dev/null || { echo "kill-every-point: cannot build the artifacts" >&2; exit 2; }

ok() { PASSED=$((PASSED + 1)); }
bad() {
  FAILED=$((FAILED + 1))
  echo "FAIL [$SCENARIO] $*" >&2
}
check_eq() { if [[ "$1" == "$2" ]]; then ok; else bad "$3: got '$1', expected '$2'"; fi; }

# sg ROOT ARGS...: shipgate with a minimal environment; RC, OUT.
sg() {
  local root="$1"
  shift
  OUT="$root/run"
  env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="${HOME:-/root}" LANG=C.UTF-8 TZ=UTC \
    "$SHIPGATE" "$1" --ci none --plan "$PLAN" --env test --var "ROOT=$root" --var "HOOK=$HOOK" "${@:2}" \
    </dev/null >"$OUT.stdout" 2>"$OUT.stderr"
  RC=$?
}
# killed ROOT N ARGS...: the same run, sent SIGKILL as it enters its Nth fsync
# (N=0: traced only). FSYNCS: how many fsyncs the run made.
killed() {
  local root="$1" point="$2" inject=()
  shift 2
  ((point > 0)) && inject=(-e "inject=fsync:signal=KILL:when=$point")
  # (In a subshell whose stderr is the run's: bash's "Killed" notice goes there.)
  (
    exec 2>"$root/killed.stderr"
    env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="${HOME:-/root}" LANG=C.UTF-8 TZ=UTC ASAN_OPTIONS="$ASAN_OPTIONS" \
      strace -f -qq -o "$root/strace.log" -e trace=fsync "${inject[@]}" \
      "$SHIPGATE" "$1" --ci none --plan "$PLAN" --env test --var "ROOT=$root" --var "HOOK=$HOOK" "${@:2}" \
      </dev/null >"$root/killed.stdout"
  )
  RC=$?
  FSYNCS=$(grep -c 'fsync(' "$root/strace.log")
}
deploy_args() { echo deploy-stage --version "$1" --artifact "$ART/app-$1.tar.gz"; }

live_version() { # ROOT: the version `current` serves, "broken" if it does not resolve to a whole release
  local web="$1/test/web"
  if [[ -L "$web/current" && -f "$web/current/public/index.html" ]]; then
    sed -n 's/^version //p' "$web/current/public/index.html"
  else
    echo broken
  fi
}
settled() { # ROOT VERSION RUN_ID: after the settling run
  local root="$1" version="$2" web="$1/test/web" line bad_lines=0
  check_eq "$(live_version "$root")" "$version" "live version after the next run"
  check_eq "$(ls "$web/.shipgate/journal.jsonl" 2>/dev/null)" "" "journal left"
  while IFS= read -r line; do jq -e . >/dev/null 2>&1 <<<"$line" || bad_lines=$((bad_lines + 1)); done \
    <"$web/.shipgate/ledger.jsonl"
  check_eq "$bad_lines" 0 "ledger lines that are not JSON"
  if [[ -n "$3" ]]; then
    check_eq "$(jq -c --arg run "$3" 'select(.id == $run and .outcome == "succeeded")' \
      "$web/.shipgate/ledger.jsonl" 2>/dev/null | wc -l)" 0 "succeeded entries of the killed run"
  fi
}

# ---------------------------------------------------------------- deploy

SCENARIO="deploy 1.0 -> 2.0"
base="$WORK/count-deploy"
mkdir -p "$base"
sg "$base" $(deploy_args 1.0)
[[ $RC == 0 ]] || { echo "kill-every-point: the first deploy failed: $(cat "$base/run.stdout")" >&2; exit 2; }
killed "$base" 0 $(deploy_args 2.0)
[[ $RC == 0 ]] || { echo "kill-every-point: the traced deploy failed: $(cat "$base/killed.stdout")" >&2; exit 2; }
deploy_points=$FSYNCS
deploy_killed=0
for ((point = 1; point <= deploy_points; point++)); do
  root="$WORK/deploy-$point"
  mkdir -p "$root"
  sg "$root" $(deploy_args 1.0)
  killed "$root" "$point" $(deploy_args 2.0)
  if [[ $RC != 137 ]]; then
    bad "point $point of $deploy_points: the run was not killed (exit $RC)"
    continue
  fi
  deploy_killed=$((deploy_killed + 1))
  after=$(live_version "$root")
  [[ $after == 1.0 || $after == 2.0 ]] && ok || bad "point $point: after the kill, current serves '$after'"
  run_id=$(jq -r '.run // empty' "$root/test/web/.shipgate/journal.jsonl" 2>/dev/null | tail -n1)
  # A run killed after it began writing its ledger entry had succeeded: the
  # entry may stand. Before that, no entry of it may claim success.
  if [[ -n $(jq -c 'select(.action == "ledger" and .phase == "begin")' "$root/test/web/.shipgate/journal.jsonl" 2>/dev/null) ]]; then
    run_id=""
  fi
  sg "$root" $(deploy_args 2.0)
  check_eq "$RC" 0 "point $point: the next deploy's exit code ($(head -n1 "$root/run.stdout"))"
  settled "$root" 2.0 "$run_id"
  [[ $FAILED == 0 ]] || break
done

# ---------------------------------------------------------------- rollback

SCENARIO="rollback 2.0 -> 1.0"
base="$WORK/count-rollback"
mkdir -p "$base"
sg "$base" $(deploy_args 1.0)
sg "$base" $(deploy_args 2.0)
killed "$base" 0 rollback --reason "count the points"
[[ $RC == 0 ]] || { echo "kill-every-point: the traced rollback failed: $(cat "$base/killed.stdout")" >&2; exit 2; }
rollback_points=$FSYNCS
rollback_killed=0
for ((point = 1; point <= rollback_points; point++)); do
  root="$WORK/rollback-$point"
  mkdir -p "$root"
  sg "$root" $(deploy_args 1.0)
  sg "$root" $(deploy_args 2.0)
  killed "$root" "$point" rollback --reason "killed at point $point"
  if [[ $RC != 137 ]]; then
    bad "point $point of $rollback_points: the run was not killed (exit $RC)"
    continue
  fi
  rollback_killed=$((rollback_killed + 1))
  after=$(live_version "$root")
  [[ $after == 1.0 || $after == 2.0 ]] && ok || bad "point $point: after the kill, current serves '$after'"
  # Killed after it had finished (its bad mark written, its journal already
  # removed): nothing is left to complete, and there is no older good
  # version to go back to.
  expected=0
  if [[ ! -f "$root/test/web/.shipgate/journal.jsonl" ]] &&
    jq -e 'select(.event == "mark-bad")' "$root/test/web/.shipgate/ledger.jsonl" >/dev/null; then
    expected=4
  fi
  sg "$root" rollback --reason "again after the kill at point $point"
  check_eq "$RC" "$expected" "point $point: the next rollback's exit code ($(head -n1 "$root/run.stdout"))"
  settled "$root" 1.0 ""
  check_eq "$(jq -r 'select(.event == "mark-bad") | .version' "$root/test/web/.shipgate/ledger.jsonl" | sort -u)" 2.0 \
    "point $point: the version marked bad"
  [[ $FAILED == 0 ]] || break
done

echo "kill-every-point: deploy: killed at $deploy_killed of $deploy_points fsync points; rollback: killed at $rollback_killed of $rollback_points; $PASSED checks passed, $FAILED failed"
((FAILED == 0))
