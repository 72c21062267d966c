#!/usr/bin/env bash
# Interruptions and crashes of deploy-stage and rollback, against the real
# binary, with real processes and files (docs/deploy.md, "Interruption and
# crashes"). The plan is tests/fixtures/deploy/e2e/faults.yml: every command
# and one health check run fault-hook.sh, which logs what ran and, when
# asked, sleeps or kills shipgate with `kill -9 $PPID` (the command's parent
# is the shipgate running it).
#
#   bash tests/integration/deploy/faults.sh [PATH/TO/shipgate]
#
# Scenarios:
#   1. SIGTERM and SIGINT during a slow restart (after the switch): exit 130,
#      `current` back on the old release, ledger outcome interrupted, the
#      version not marked bad, journal and lock gone.
#   2. kill -9 of shipgate during a backup command, stop, restart after the
#      switch, start, and a health `command:` check. After each: `status`
#      shows the pending journal; the lease left by the dead pid does not
#      block; the next deploy-stage reconciles (the old release live again,
#      verified, a reconcile entry in the ledger) and then succeeds.
#   3. A lease of another host blocks while it is valid and naming its
#      holder, and no longer once it has expired.
#   4. kill -9 during the restart of a rollback: the next rollback, or the
#      next deploy-stage, completes it (the version rolled away from is
#      marked bad and never made live again).
#   5. SIGTERM to a deploy waiting for the lock (--wait-lock): exit 130,
#      outcome interrupted, nothing created.
#
# Environment: SHIPGATE (the binary, when not given as argument; default
# build/shipgate), KEEP_WORK=1 (keep the work folder even on success). On
# failure the work folder is kept and its path printed.
# Exit status: 0 every assertion held, 1 an assertion failed, 2 set-up failed.
set -uo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
SHIPGATE="${1:-${SHIPGATE:-$REPO/build/shipgate}}"
PLAN="$REPO/tests/fixtures/deploy/e2e/faults.yml"
HOOK="$REPO/tests/fixtures/deploy/e2e/fault-hook.sh"
MAKE_ARTIFACTS="$REPO/tests/fixtures/deploy/make-artifacts.sh"

[[ -x "$SHIPGATE" ]] || { echo "faults: no shipgate binary at $SHIPGATE" >&2; exit 2; }
SHIPGATE="$(cd "$(dirname "$SHIPGATE")" && pwd)/$(basename "$SHIPGATE")"
for tool in jq python3 tar sha256sum; do
  command -v "$tool" >/dev/null || { echo "faults: $tool is needed" >&2; exit 2; }
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/shipgate-faults.XXXXXX")"
ART="$WORK/art"
PASSED=0
FAILED=0
SCENARIO=""
BACKGROUND=() # pids of the shipgate runs started in the background

# Ends what the scenarios started: background shipgate runs, and the
# process groups of slow restarts still sleeping.
cleanup() {
  local pid file
  for pid in "${BACKGROUND[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  for file in "$WORK"/*/root/slow.pid; do
    [[ -f "$file" ]] || continue
    pid="$(cat "$file")"
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -KILL -- "-$pid" 2>/dev/null
  done
  if ((FAILED)) || [[ "${KEEP_WORK:-}" == 1 ]]; then
    echo "faults: work folder kept: $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

"$MAKE_ARTIFACTS" "$ART" 1.0 1.1 1.2 1.3 || { echo "faults: cannot build the artifacts" >&2; exit 2; }

# ---------------------------------------------------------------- assertions

ok() { PASSED=$((PASSED + 1)); }
bad() {
  FAILED=$((FAILED + 1))
  echo "FAIL [$SCENARIO] $*" >&2
}
# check WHAT COMMAND...: COMMAND must succeed.
check() {
  local what="$1"
  shift
  if "$@"; then ok; else bad "$what"; fi
}
check_eq() { # ACTUAL EXPECTED WHAT
  if [[ "$1" == "$2" ]]; then ok; else bad "$3: got '$1', expected '$2'"; fi
}
check_json() { # FILE JQ_EXPR EXPECTED WHAT
  local got
  got="$(jq -c "$2" "$1" 2>&1)"
  check_eq "$got" "$3" "$4 ($2 in $(basename "$1"))"
}
check_rc() { # EXPECTED WHAT: the last sg run's exit code
  if [[ "$RC" == "$1" ]]; then
    ok
  else
    bad "$2: exit $RC, expected $1"
    sed 's/^/    stdout| /' "$OUT.stdout" | head -n 40 >&2
    sed 's/^/    stderr| /' "$OUT.stderr" | tail -n 20 >&2
  fi
}

begin() {
  SCENARIO="$1"
  S="$WORK/$2"
  ROOT="$S/root"
  WEB="$ROOT/test/web"
  RUNS=0
  mkdir -p "$S"
  echo "faults: $SCENARIO"
}

# ---------------------------------------------------------------- running shipgate

# The command line of a shipgate run as the e2e tests make it: a minimal
# environment, --ci none after the step name.
command_of() {
  local words=1
  case "$1" in release | lock | plan) words=2 ;; esac
  CMD=(env -i PATH="$PATH" HOME="${HOME:-/root}" LANG=C.UTF-8 LC_ALL=C.UTF-8 TZ=UTC
       "$SHIPGATE" "${@:1:words}" --ci none "${@:words+1}")
}

# sg ARGS...: runs shipgate; RC is its exit code, OUT.stdout/OUT.stderr its output.
sg() {
  RUNS=$((RUNS + 1))
  OUT="$S/run$RUNS"
  command_of "$@"
  # In a subshell whose stderr is the run's: the shell's "Killed" notice
  # for a shipgate killed by its own plan goes there too.
  (
    exec 2>"$OUT.stderr"
    timeout 120 "${CMD[@]}" </dev/null >"$OUT.stdout"
  )
  RC=$?
}

# sg_background ARGS...: starts shipgate in the background, in its own
# process group (job control on), so SIGINT reaches it as it would from a
# CI runner; BG_PID is its pid.
sg_background() {
  RUNS=$((RUNS + 1))
  OUT="$S/run$RUNS"
  command_of "$@"
  set -m
  "${CMD[@]}" </dev/null >"$OUT.stdout" 2>"$OUT.stderr" &
  BG_PID=$!
  set +m
  BACKGROUND+=("$BG_PID")
}

deploy() { # VERSION [ARGS...]
  local version="$1"
  shift
  sg deploy-stage --plan "$PLAN" --env test --version "$version" --artifact "$ART/app-$version.tar.gz" \
    --var ROOT="$ROOT" --var HOOK="$HOOK" "$@"
}
rollback() { sg rollback --plan "$PLAN" --env test --var ROOT="$ROOT" --var HOOK="$HOOK" "$@"; }
status_json() { sg status --plan "$PLAN" --env test --var ROOT="$ROOT" --var HOOK="$HOOK" --json "$1"; }

# ---------------------------------------------------------------- reading the target

ledger_file() { printf '%s/.shipgate/ledger.jsonl' "$WEB"; }
ledger_array() { jq -s . "$(ledger_file)" >"$S/ledger.json" && printf '%s' "$S/ledger.json"; }
live_release() { [[ -L "$WEB/current" ]] && basename "$(readlink "$WEB/current")"; }
release_of() { # VERSION: its newest successful deploy in the ledger
  jq -r --arg v "$1" 'select(.event == "deploy" and .outcome == "succeeded" and .version == $v) | .release' \
    "$(ledger_file)" | tail -n 1
}
# group_gone PGID: no process of that group is left within 3 s (an orphan
# killed with its group may linger a moment before init reaps it).
group_gone() {
  local tries=30
  while ((tries-- > 0)); do
    kill -0 -- "-$1" 2>/dev/null || return 0
    sleep 0.1
  done
  return 1
}
now_ms() { date +%s%3N; }

wait_for_file() { # FILE SECONDS
  local tries=$(($2 * 10))
  while ((tries-- > 0)); do
    [[ -s "$1" ]] && return 0
    sleep 0.1
  done
  return 1
}

# `current` names a complete release: its folder and its manifest exist,
# and no half-unpacked folder is left.
current_is_complete() {
  local release
  release="$(live_release)" || return 1
  [[ -d "$WEB/releases/$release" && -f "$WEB/releases/$release/public/index.html" &&
     -f "$WEB/.shipgate/releases/$release.json" ]] || return 1
  [[ -z "$(find "$WEB/releases" -maxdepth 1 -name '.partial-*')" ]]
}

# line_of FIXED_LINE [AFTER]: the number of the first events.log line equal
# to FIXED_LINE after line AFTER (default 0); empty when there is none.
line_of() {
  awk -v want="$1" -v after="${2:-0}" 'NR > after && $0 == want { print NR; exit }' "$ROOT/events.log"
}
# lines_between FROM TO: events.log lines strictly between those numbers.
lines_between() { awk -v from="$1" -v to="$2" 'NR > from && NR < to' "$ROOT/events.log"; }

# ---------------------------------------------------------------- 1. signals

scenario_signal() {
  local signal="$1" old new start elapsed
  begin "SIG$signal during a slow restart" "signal-$signal"
  deploy 1.0
  check_rc 0 "deploy 1.0"
  old="$(release_of 1.0)"
  sg_background deploy-stage --plan "$PLAN" --env test --version 1.1 --artifact "$ART/app-1.1.tar.gz" \
    --var ROOT="$ROOT" --var HOOK="$HOOK" --var SLOW=1.1 --json "$S/interrupted.json"
  if ! wait_for_file "$ROOT/slow.pid" 20; then
    bad "the slow restart of 1.1 never started"
    return
  fi
  new="$(awk '$1 == "restart" && $3 ~ /-1\.1$/ { print $3 }' "$ROOT/events.log" | tail -n 1)"
  check_eq "$(live_release)" "$new" "current while the restart of 1.1 runs (after the switch)"
  start="$(now_ms)"
  kill "-$signal" "$BG_PID"
  wait "$BG_PID"
  RC=$?
  elapsed=$(($(now_ms) - start))
  check_eq "$RC" 130 "exit code after SIG$signal"
  check "SIG$signal: the run took ${elapsed} ms to stop; the 30 s restart was not stopped" test "$elapsed" -lt 15000
  check "the sleeping restart's processes are gone" group_gone "$(cat "$ROOT/slow.pid")"
  check_eq "$(live_release)" "$old" "current after SIG$signal"
  check_eq "$(cat "$WEB/current/public/index.html")" "version 1.0" "the live index.html"
  check_json "$(ledger_array)" '.[-1] | [.event, .outcome, .version, .previous_version]' '["deploy","interrupted","1.1","1.0"]' "ledger"
  check_json "$(ledger_array)" '[.[] | select(.event == "mark-bad")]' '[]' "no version marked bad"
  check_json "$S/interrupted.json" '[.exit_code, .outcome, .marked_bad]' '[130,"interrupted",false]' "--json"
  check_json "$S/interrupted.json" '[.actions[] | select(.id | startswith("rollback/")) | .status] | unique' '["pass"]' "rollback actions"
  check "the old release was restarted by the rollback" \
    grep -qxE "restart [a-z]* $old" <(lines_between "$(line_of "restart deploy $new")" 1000000)
  check "the journal is removed" test ! -e "$WEB/.shipgate/journal.jsonl"
  check "the lock is released" test ! -e "$WEB/.shipgate/lock"
  check "current names a complete release" current_is_complete
  deploy 1.1
  check_rc 0 "deploying 1.1 again after the interruption (not marked bad)"
}

# ---------------------------------------------------------------- 2. kill -9

scenario_kill() {
  local point="$1" old killed start elapsed between lease_pid
  begin "kill -9 during $point" "kill-$point"
  deploy 1.0
  check_rc 0 "deploy 1.0"
  old="$(release_of 1.0)"
  deploy 1.1 --var KILL_AT="$point"
  check_rc 137 "the run killed during $point"
  killed="$(jq -r 'select(.action == "run" and .phase == "begin") | .data.release' "$WEB/.shipgate/journal.jsonl" 2>/dev/null)"
  check "the killed run left its journal" test -s "$WEB/.shipgate/journal.jsonl"
  check "current names a complete release after the kill" current_is_complete

  # status shows the pending journal and the dead holder's lease.
  status_json "$S/status.json"
  check_rc 0 "status after the kill"
  check_json "$S/status.json" '.targets[0].journal_pending' true "status"
  check "status text names the pending journal" grep -qF "an interrupted run left a journal" "$OUT.stdout"
  lease_pid="$(jq -r '.owner.pid' "$WEB/.shipgate/lock" 2>/dev/null)"
  check "the killed run's lease is still there (pid $lease_pid)" test -n "$lease_pid"
  check "the lease's holder is dead" bash -c "! kill -0 $lease_pid 2>/dev/null"

  # The next deploy: not blocked by the dead holder, reconciles, succeeds.
  start="$(now_ms)"
  deploy 1.1 --json "$S/next.json"
  elapsed=$(($(now_ms) - start))
  check_rc 0 "the next deploy-stage of 1.1"
  check "the stale lease of the dead pid made the next run wait ${elapsed} ms" test "$elapsed" -lt 10000
  check_json "$S/next.json" '.reconciled | length' 1 "the next run reports the reconciliation"
  check_json "$S/next.json" '[.actions[] | select(.id == "preflight/reconcile") | .status]' '["pass"]' "preflight/reconcile"
  local -a expected_outcome=(succeeded)
  [[ "$point" == backup ]] && expected_outcome=(recorded)
  check_json "$(ledger_array)" '[.[] | .event]' '["deploy","reconcile","deploy"]' "ledger events"
  check_json "$(ledger_array)" '.[1] | [.outcome, .version, .release]' "[\"${expected_outcome[0]}\",\"1.0\",\"$old\"]" "the reconcile entry"
  check_json "$(ledger_array)" '.[1].reason | contains("deploy of 1.1")' true "the reconcile entry's reason"
  check_json "$(ledger_array)" '.[2] | [.outcome, .version]' '["succeeded","1.1"]' "the new deploy entry"

  # What the reconciliation ran: the events.log lines after the command that
  # killed shipgate, up to the next run's first command (its backup).
  local kill_line next_line
  if [[ "$point" == health ]]; then
    kill_line="$(line_of "health  " "$(line_of "start deploy $killed")")"
  else
    kill_line="$(line_of "$point deploy $killed")"
  fi
  next_line="$(awk '$1 == "backup" { n = NR } END { print n }' "$ROOT/events.log")"
  between="$(lines_between "${kill_line:-0}" "$next_line")"
  check "the killing command is in events.log" test -n "$kill_line"
  if [[ "$point" == backup ]]; then
    check_eq "$between" "" "commands run by the reconciliation of a run killed before any switch"
  else
    check "the reconciliation restarted the old release $old (ran: $(echo "$between" | tr '\n' '|'))" \
      grep -qE "^restart [a-z]* $old\$" <<<"$between"
    check "the reconciliation started the old release $old" grep -qE "^start [a-z]* $old\$" <<<"$between"
    check "the reconciliation verified the old version" \
      jq -e '[.actions[] | select(.id | test("^reconcile/[0-9]+-verify-web$")) | .status] == ["pass"]' "$S/next.json" >/dev/null
    check "the reconciliation's commands see SHIPGATE_MODE=reconcile (docs/deploy.md; ran: $(echo "$between" | tr '\n' '|'))" \
      grep -qE "^restart reconcile $old\$" <<<"$between"
  fi
  check_eq "$(live_release)" "$(release_of 1.1)" "current after the next deploy"
  check_eq "$(find "$WEB/releases" -mindepth 1 -maxdepth 1 \( -name '*-1.1' -o -name '*-1.1-[0-9]*' \) | wc -l)" 1 "releases of 1.1 (the killed run's is discarded)"
  check "the journal is removed" test ! -e "$WEB/.shipgate/journal.jsonl"
  check "the lock is released" test ! -e "$WEB/.shipgate/lock"
  check "current names a complete release" current_is_complete
}

# ---------------------------------------------------------------- 3. leases of another host

write_foreign_lease() { # EXPIRES (a `date -d` time)
  local now expires
  now="$(date -u +%Y-%m-%dT%H:%M:%S.000Z)"
  expires="$(date -u -d "$1" +%Y-%m-%dT%H:%M:%S.000Z)"
  jq -n --arg now "$now" --arg expires "$expires" '{
      schema: 1, token: "0123456789abcdef0123456789abcdef",
      acquired_at: $now, renewed_at: $now, expires_at: $expires,
      owner: {run_id: "20200101T000000Z-0badf00d", provider: "gitlab", user: "dave",
              job_url: "https://gitlab.example.com/shop/-/jobs/77", pipeline_url: "",
              host: "runner-7.example.com", pid: 1}}' >"$WEB/.shipgate/lock"
}

scenario_foreign_lease() {
  begin "a lease held on another host" "foreign-lease"
  deploy 1.0
  check_rc 0 "deploy 1.0"
  write_foreign_lease "+10 minutes"
  deploy 1.1
  check_rc 4 "deploy while another host's lease is valid"
  check "the refusal names the holder" grep -qF "dave" "$OUT.stdout"
  check "the refusal names the holder's host" grep -qF "runner-7.example.com" "$OUT.stdout"
  check_eq "$(live_release)" "$(release_of 1.0)" "current after the refusal"
  write_foreign_lease "-1 minute"
  deploy 1.1
  check_rc 0 "deploy once that lease has expired"
  check "the expired lease was replaced and then released" test ! -e "$WEB/.shipgate/lock"
}

# ---------------------------------------------------------------- 4. an interrupted rollback

scenario_rollback_kill() {
  local next="$1" r11 r12
  begin "kill -9 during a rollback's restart, completed by the next $next" "rollback-kill-$next"
  for version in 1.0 1.1 1.2; do
    deploy "$version"
    check_rc 0 "deploy $version"
  done
  r11="$(release_of 1.1)"
  r12="$(release_of 1.2)"
  rollback --var KILL_AT=restart
  check_rc 137 "the rollback killed during its restart"
  check_eq "$(live_release)" "$r11" "current when the rollback was killed (after its switch)"
  status_json "$S/status.json"
  check_json "$S/status.json" '.targets[0].journal_pending' true "status after the killed rollback"

  if [[ "$next" == rollback ]]; then
    rollback --json "$S/next.json"
    check_rc 0 "the next rollback"
    check_json "$S/next.json" '.reconciled | length' 1 "the next rollback reports the reconciliation"
    check_eq "$(live_release)" "$r11" "current after the next rollback: the interrupted rollback's target 1.1"
  else
    deploy 1.3 --json "$S/next.json"
    check_rc 0 "the next deploy-stage of 1.3"
    check_json "$S/next.json" '.reconciled | length' 1 "the next deploy reports the reconciliation"
    check_json "$S/next.json" '.previous_version' '"1.1"' "the next deploy's previous version (the rollback's target)"
    check_eq "$(live_release)" "$(release_of 1.3)" "current after the next deploy"
  fi
  check_json "$(ledger_array)" '[.[] | select(.event == "reconcile") | [.outcome, .version, .release]]' "[[\"succeeded\",\"1.1\",\"$r11\"]]" "the reconcile entry"
  check_json "$(ledger_array)" '[.[] | select(.release == "'"$r12"'" and (.event == "rollback" or .event == "reconcile" or .event == "deploy")) | .event] | map(select(. != "deploy"))' '[]' \
    "no rollback or reconcile made 1.2 (the version rolled away from) live again"
  status_json "$S/status-after.json"
  check_json "$S/status-after.json" '.bad_versions' '["1.2"]' "versions marked bad once the rollback is completed"
  check "the journal is removed" test ! -e "$WEB/.shipgate/journal.jsonl"
  check "the lock is released" test ! -e "$WEB/.shipgate/lock"
}

# ---------------------------------------------------------------- 5. cancelled while waiting for the lock

scenario_wait_cancelled() {
  local old
  begin "SIGTERM while waiting for the lock" "wait-cancelled"
  deploy 1.0
  check_rc 0 "deploy 1.0"
  old="$(release_of 1.0)"
  # A slow deploy of 1.1 holds the lock...
  sg_background deploy-stage --plan "$PLAN" --env test --version 1.1 --artifact "$ART/app-1.1.tar.gz" \
    --var ROOT="$ROOT" --var HOOK="$HOOK" --var SLOW=1.1
  local holder="$BG_PID"
  if ! wait_for_file "$ROOT/slow.pid" 20; then
    bad "the slow deploy of 1.1 never started"
    return
  fi
  # ...while a deploy of 1.2 waits for it and is cancelled.
  sg_background deploy-stage --plan "$PLAN" --env test --version 1.2 --artifact "$ART/app-1.2.tar.gz" \
    --var ROOT="$ROOT" --var HOOK="$HOOK" --wait-lock 60s --json "$S/waiting.json"
  sleep 1
  kill -TERM "$BG_PID"
  wait "$BG_PID"
  RC=$?
  check_eq "$RC" 130 "exit code of the waiting deploy after SIGTERM"
  check_json "$S/waiting.json" '[.exit_code, .outcome]' '[130,"interrupted"]' "--json of the waiting deploy"
  check "the waiting deploy left no 1.2 release" test -z "$(ls "$WEB/releases" | grep -- '-1\.2$')"
  kill -TERM "$holder"
  wait "$holder"
  check_eq "$(live_release)" "$old" "current after both runs stopped"
}

# ---------------------------------------------------------------- run

scenario_signal TERM
scenario_signal INT
for point in backup stop restart start health; do scenario_kill "$point"; done
scenario_foreign_lease
scenario_rollback_kill rollback
scenario_rollback_kill deploy-stage
scenario_wait_cancelled

echo "faults: $PASSED passed, $FAILED failed"
((FAILED == 0))
