# shellcheck shell=bash disable=SC2034 # the variables are for the scripts that source this
# Helpers for the fleet tests (tests/integration/fleet/*.sh) and the fleet
# benchmark (bench/fleet/run.sh); sourced, not run:
#   source tests/integration/fleet/lib.sh
# A test calls fleet_begin NAME N: a work folder, N real ssh hosts made by
# hosts.sh (removed again by the EXIT trap, also when the test fails), the
# artifacts of versions 1.0.0, 2.0.0 and 3.0.0; then write_plan, sg,
# the host readers and the check_* assertions below, and fleet_end.
# Needs: root, the harness's tools (hosts.sh), python3, jq, curl, tar, sha256sum.

FLEET_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
FLEET_REPO="$(cd "$FLEET_LIB_DIR/../../.." && pwd)"
HARNESS="$FLEET_LIB_DIR/hosts.sh"
FLEET_APP="$FLEET_LIB_DIR/app/fleetapp.py"
MAKE_ARTIFACTS="$FLEET_LIB_DIR/make-artifacts.sh"
# The app runs on the hosts with the system's python (a version manager's
# shim is not on a fresh host's PATH).
if [[ -x /usr/bin/python3 ]]; then HOST_PYTHON=/usr/bin/python3; else HOST_PYTHON="$(command -v python3)"; fi
APP_PORT=8080

PASSED=0
FAILED=0
SCENARIO=""
BACKGROUND=() # pids of shipgate runs started in the background

say() { printf '[%s %6.1fs] %s\n' "$FLEET_TEST" "$(awk -v a="$FLEET_T0" -v b="$EPOCHREALTIME" 'BEGIN{print b-a}')" "$*"; }
now_ms() { date +%s%3N; }

# ---------------------------------------------------------------- set-up and clean-up

# fleet_begin NAME N [SHIPGATE]: checks the tools, makes WORK, N hosts in
# WORK/fleet (FLEET) and the artifacts in WORK/art (ART).
fleet_begin() {
  FLEET_TEST="$1"
  local count="$2"
  FLEET_T0=$EPOCHREALTIME
  SHIPGATE="${3:-${SHIPGATE:-$FLEET_REPO/build/shipgate}}"
  [[ -x "$SHIPGATE" ]] || { echo "$FLEET_TEST: no shipgate binary at $SHIPGATE" >&2; exit 2; }
  SHIPGATE="$(cd "$(dirname "$SHIPGATE")" && pwd)/$(basename "$SHIPGATE")"
  for tool in jq curl tar sha256sum "$HOST_PYTHON"; do
    command -v "$tool" >/dev/null || { echo "$FLEET_TEST: $tool is needed" >&2; exit 2; }
  done
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/shipgate-fleet-$FLEET_TEST.XXXXXX")"
  FLEET="$WORK/fleet"
  ART="$WORK/art"
  mkdir -p "$WORK/logs"
  trap fleet_cleanup EXIT
  trap 'exit 130' INT TERM
  "$HARNESS" gc
  HARNESS_OWNER=$$ "$HARNESS" up "$count" "$FLEET" >"$WORK/logs/hosts-up.log" 2>&1 ||
    { cat "$WORK/logs/hosts-up.log" >&2; echo "$FLEET_TEST: the hosts could not be made" >&2; exit 2; }
  say "$(cat "$WORK/logs/hosts-up.log")"
  mapfile -t HOST_NAMES < <(awk '{print $1}' "$FLEET/hosts.txt")
  "$MAKE_ARTIFACTS" "$ART" 1.0.0 2.0.0 3.0.0 || { echo "$FLEET_TEST: cannot build the artifacts" >&2; exit 2; }
}

fleet_cleanup() {
  local rc=$? pid
  for pid in "${BACKGROUND[@]}"; do kill -KILL -- "-$pid" 2>/dev/null; kill -KILL "$pid" 2>/dev/null; done
  [[ -n "${FLEET:-}" ]] && "$HARNESS" down "$FLEET"
  if ((rc != 0 || FAILED != 0)) || [[ "${KEEP_WORK:-}" == 1 ]]; then
    echo "$FLEET_TEST: work folder kept: $WORK (shipgate output: run*.std*, hosts: fleet/hosts/NN/app)" >&2
  else
    rm -rf "$WORK"
  fi
}

# fleet_end: the summary line; the exit status of the test.
fleet_end() {
  echo "$FLEET_TEST: $PASSED passed, $FAILED failed"
  ((FAILED == 0))
}

# ---------------------------------------------------------------- the plan

# write_plan FILE [KEY=VALUE...]: the fleet plan for every host of FLEET.
# Keys: STRATEGY (all-at-once, rolling, canary; default rolling), CANARY,
# BATCH (default 25%), PAUSE, MAX_FAILURES (default 0), TIMEOUT (each remote
# operation, default 30s), CONNECT_TIMEOUT (default 3s), COMMAND_TIMEOUT
# (stop and start, default 20s), HOSTS (names, space-separated; default all),
# APP_DIR (the deploy root's folder under host-root, default app) and PORT
# (the app's, default APP_PORT): plans with their own APP_DIR and PORT can
# share hosts without sharing a ledger or a port.
write_plan() {
  local file="$1" STRATEGY=rolling CANARY="" BATCH=25% PAUSE="" MAX_FAILURES=0 TIMEOUT=30s
  local CONNECT_TIMEOUT=3s COMMAND_TIMEOUT=20s HOSTS="" APP_DIR=app PORT="$APP_PORT" setting name address
  shift
  for setting in "$@"; do
    case "${setting%%=*}" in
      STRATEGY | CANARY | BATCH | PAUSE | MAX_FAILURES | TIMEOUT | CONNECT_TIMEOUT | COMMAND_TIMEOUT | HOSTS | APP_DIR | PORT)
        local "$setting" ;;
      *) echo "write_plan: unknown setting $setting" >&2; return 2 ;;
    esac
  done
  {
    cat <<EOF
# The fleet tests' plan (written by tests/integration/fleet/lib.sh).
version: 1
name: fleet
deadline: 10m
environments:
  - name: prod
variables:
  APP_ROOT: "$FLEET/host-root/$APP_DIR"
  FLEET_APP: "$FLEET_APP"
  PYTHON: "$HOST_PYTHON"
services:
  web:
    artifact: {source: "$ART/web-\${VERSION}.tar.gz"}
    target:
      type: ssh
      hosts:
EOF
    while read -r name address; do
      [[ -z "$HOSTS" || " $HOSTS " == *" $name "* ]] || continue
      echo "        - {name: $name, address: \"$address\"}"
    done <"$FLEET/hosts.txt"
    cat <<EOF
      user: root
      root: "\${APP_ROOT}"
      identity_file: "$FLEET/client_key"
      known_hosts: "$FLEET/known_hosts"
      connect_timeout: $CONNECT_TIMEOUT
      timeout: $TIMEOUT
    strategy:
      type: $STRATEGY
EOF
    [[ -n "$CANARY" ]] && echo "      canary: $CANARY"
    [[ "$STRATEGY" != all-at-once ]] && echo "      batch: $BATCH"
    [[ -n "$PAUSE" ]] && echo "      pause: $PAUSE"
    echo "      max_failures: $MAX_FAILURES"
    cat <<EOF
    # Both run on the host, over ssh; the app reads the version from current/VERSION.
    stop: {argv: ["\${PYTHON}", "\${FLEET_APP}", stop, --root, "\${APP_ROOT}"], timeout: $COMMAND_TIMEOUT}
    start:
      argv: ["\${PYTHON}", "\${FLEET_APP}", start, --root, "\${APP_ROOT}", --address, "\${HOST_ADDRESS}", --port, "$PORT", --host, "\${HOST}"]
      timeout: $COMMAND_TIMEOUT
    health:
      defaults: {timeout: 2s, retries: 1, retry_delay: 200ms}
      wait: {url: "http://\${HOST_ADDRESS}:$PORT/ready", interval: 100ms, max_interval: 500ms, deadline: 10s}
      checks:
        - name: version
          url: "http://\${HOST_ADDRESS}:$PORT/health"
          expect: {status: 200, body: {contains: "version=\${VERSION};"}}
EOF
  } >"$file"
}

# ---------------------------------------------------------------- running shipgate

# The command line of a run: a minimal environment, --ci none after the step.
command_of() {
  local words=1
  case "$1" in release | lock | plan) words=2 ;; esac
  CMD=(env -i PATH="/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin" HOME="${HOME:-/root}" LANG=C.UTF-8 LC_ALL=C.UTF-8 TZ=UTC
       "$SHIPGATE" "${@:1:words}" --ci none "${@:words+1}")
}

# sg ARGS...: runs shipgate (at most SG_LIMIT seconds, default 300); RC is
# its exit code, OUT.stdout / OUT.stderr its output, ELAPSED_MS its time.
SG_RUNS=0
sg() {
  local t0
  SG_RUNS=$((SG_RUNS + 1))
  OUT="$WORK/run$SG_RUNS"
  command_of "$@"
  printf '%q ' "${CMD[@]}" >"$OUT.cmd"
  t0=$(now_ms)
  (
    exec 2>"$OUT.stderr"
    timeout -s KILL "${SG_LIMIT:-300}" "${CMD[@]}" </dev/null >"$OUT.stdout"
  )
  RC=$?
  ELAPSED_MS=$(($(now_ms) - t0))
}

# sg_background ARGS...: starts shipgate in its own process group; BG_PID.
sg_background() {
  SG_RUNS=$((SG_RUNS + 1))
  OUT="$WORK/run$SG_RUNS"
  command_of "$@"
  printf '%q ' "${CMD[@]}" >"$OUT.cmd"
  set -m
  "${CMD[@]}" </dev/null >"$OUT.stdout" 2>"$OUT.stderr" &
  BG_PID=$!
  set +m
  BACKGROUND+=("$BG_PID")
}

# deploy PLAN VERSION [ARGS...]; rollback PLAN [ARGS...]; status_json PLAN FILE
deploy() {
  local plan="$1" version="$2"
  shift 2
  sg deploy-stage --plan "$plan" --env prod --version "$version" --jobs "${JOBS:-10}" "$@"
}
rollback() {
  local plan="$1"
  shift
  sg rollback --plan "$plan" --env prod --jobs "${JOBS:-10}" "$@"
}
status_json() { sg status --plan "$1" --env prod --json "$2"; }

# ---------------------------------------------------------------- reading the hosts

host_index() { echo "${1#h}"; }                              # h07 -> 07
host_app() { echo "$FLEET/hosts/$(host_index "$1")/app"; }   # the host's deploy root, seen from here
host_address() { awk -v n="$1" '$1 == n { sub(/:.*/, "", $2); print $2 }' "$FLEET/hosts.txt"; }

# The release `current` names on the host ("" when none). A link inside the
# host's root may be written relative or absolute (the host's path).
host_release() {
  local link
  link="$(readlink "$(host_app "$1")/current" 2>/dev/null)" || return 0
  basename "$link"
}
# The version of that release, from its VERSION file on the host.
host_version() {
  local release
  release="$(host_release "$1")"
  [[ -n "$release" ]] && cat "$(host_app "$1")/releases/$release/VERSION" 2>/dev/null
}
# The identity of the host's `current` link, its inode and change time
# (ns): a switch makes a new link and renames it over the old one, which
# changes both (the inode number alone may be reused at once).
host_current_inode() { stat -c '%i %.9Z' "$(host_app "$1")/current" 2>/dev/null || echo none; }
# What the host's app answers on /health: "STATUS BODY" (asked as
# /health?probe, which the app logs apart from the deploy's health checks).
host_answer() {
  local body status
  body="$(curl -s -m 3 -w '\n%{http_code}' "http://$(host_address "$1"):$APP_PORT/health?probe" 2>/dev/null)"
  status="${body##*$'\n'}"
  body="${body%$'\n'*}"
  echo "${status:-000} $body"
}
host_events() { cat "$(host_app "$1")/shared/events.log" 2>/dev/null; }
host_ledger() { echo "$(host_app "$1")/.shipgate/ledger.jsonl"; }
host_journal() { echo "$(host_app "$1")/.shipgate/journal.jsonl"; }
# host_ledger_json NAME: the host's ledger as one JSON array ([] when none).
host_ledger_json() {
  local ledger
  ledger="$(host_ledger "$1")"
  if [[ -s "$ledger" ]]; then jq -cs . "$ledger"; else echo '[]'; fi
}
# host_app_pid NAME: the pid of the app process on the host.
host_app_pid() { cat "$(host_app "$1")/shared/app.pid" 2>/dev/null | tr -d ' \n'; }

# mark_events: remembers the length of every host's events.log, so
# events_since NAME gives only what happened after the mark.
declare -A EVENT_MARK
mark_events() {
  local name
  for name in "${HOST_NAMES[@]}"; do EVENT_MARK[$name]=$(host_events "$name" | wc -l); done
}
events_since() { host_events "$1" | tail -n +$((${EVENT_MARK[$1]:-0} + 1)); }
declare -A INODE_MARK
mark_inodes() {
  local name
  for name in "${HOST_NAMES[@]}"; do INODE_MARK[$name]=$(host_current_inode "$name"); done
}

# hosts_between FIRST LAST: the names h<FIRST>..h<LAST>.
hosts_between() {
  local i
  for ((i = $1; i <= $2; i++)); do printf 'h%02d ' "$i"; done
}

# pid_running PID: true while PID runs (a zombie, dead but not yet reaped, counts as gone).
pid_running() {
  local state
  state="$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" || return 1
  [[ -n "$state" && "$state" != Z ]]
}
# pid_gone PID: PID is gone within 3 s.
pid_gone() {
  local tries=30
  while ((tries-- > 0)); do
    pid_running "$1" || return 0
    sleep 0.1
  done
  return 1
}

# state_of JSON NAME: the state the result gives the host's target
# (target_states[]: live, rolled-back, failed-rolled-back, not-rolled-back,
# untouched); targets are named "ssh:NAME (ADDRESS)".
state_of() {
  jq -r --arg name "$2" '[.target_states[]? | select(.target | test("(^|[^0-9A-Za-z])" + $name + "([^0-9A-Za-z]|$)")) | .state] | join(",")' "$1" 2>/dev/null
}

# ---------------------------------------------------------------- assertions

ok() { PASSED=$((PASSED + 1)); }
bad() {
  FAILED=$((FAILED + 1))
  echo "FAIL [$SCENARIO] $*" >&2
}
check() { # WHAT COMMAND...
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
check_rc() { # EXPECTED WHAT: the last run's exit code
  if [[ "$RC" == "$1" ]]; then
    ok
  else
    bad "$2: exit $RC, expected $1 (output: $OUT.stdout, $OUT.stderr)"
    sed 's/^/    stdout| /' "$OUT.stdout" | head -n 30 >&2
    sed 's/^/    stderr| /' "$OUT.stderr" | tail -n 20 >&2
  fi
}

# check_live NAME VERSION WHEN: the host's current is VERSION and its app
# answers /health with 200 for VERSION, as that host.
check_live() {
  local name="$1" version="$2" when="$3"
  check_eq "$(host_version "$name")" "$version" "$when: $name's current/VERSION"
  check_eq "$(host_answer "$name")" "200 ok version=$version; host=$name" "$when: $name's app on /health"
}
# check_all_live VERSION WHEN [NAMES...]: check_live for those hosts (default all).
check_all_live() {
  local version="$1" when="$2" name
  shift 2
  local -a names=("$@")
  ((${#names[@]})) || names=("${HOST_NAMES[@]}")
  for name in "${names[@]}"; do check_live "$name" "$version" "$when"; done
}
# check_untouched WHEN NAMES...: since mark_events/mark_inodes, nothing was
# stopped, started or switched on those hosts.
check_untouched() {
  local when="$1" name
  shift
  for name in "$@"; do
    check_eq "$(host_current_inode "$name")" "${INODE_MARK[$name]}" "$when: $name's current link (inode, ctime) was never replaced"
    check_eq "$(events_since "$name" | awk '$2 == "stop" || $2 == "start" || $2 == "drop"' | wc -l)" 0 \
      "$when: stop/start on $name"
  done
}
# check_clean WHEN [NAMES...]: no journal, no lock and no half-unpacked release left.
check_clean() {
  local when="$1" name app
  shift
  local -a names=("$@")
  ((${#names[@]})) || names=("${HOST_NAMES[@]}")
  for name in "${names[@]}"; do
    app="$(host_app "$name")"
    check "$when: $name has no journal left" test ! -e "$app/.shipgate/journal.jsonl"
    check "$when: $name has no lock left" test ! -e "$app/.shipgate/lock"
    check "$when: $name has no half-unpacked release" \
      test -z "$(find "$app/releases" -maxdepth 1 -name '.partial-*' 2>/dev/null)"
  done
}
# check_ledger_last NAME JQ_EXPR EXPECTED WHAT: on the host's last ledger entry.
check_ledger_last() {
  local got
  got="$(host_ledger_json "$1" | jq -c ".[-1] | $2" 2>&1)"
  check_eq "$got" "$3" "$4 ($1's last ledger entry: $2)"
}
# check_names WHAT NAME: the run's JSON (FILE) or its stderr names the host.
check_names() {
  local json="$1" name="$2" what="$3" address
  address="$(host_address "$name")"
  if grep -qE "(^|[^0-9A-Za-z])($name|${address//./\\.})([^0-9A-Za-z]|$)" "$json" "$OUT.stderr" 2>/dev/null; then
    ok
  else
    bad "$what: neither $(basename "$json") nor the stderr of run$SG_RUNS names $name ($address)"
  fi
}

# first_change_ms NAME: since mark_events, when the host's first stop or
# start ran (its batch reached it); empty when none did.
first_change_ms() { events_since "$1" | awk '$2 == "stop" || $2 == "start" { print $1; exit }'; }
# verified_ms NAME VERSION [AFTER_MS]: since mark_events (and from AFTER_MS
# on), the first /health check the host's app answered with 200 for
# VERSION (its verification; the tests' own looks are probes, not health
# checks); empty when none.
verified_ms() {
  events_since "$1" | awk -v v="$2" -v after="${3:-0}" '$2 == "health" && $3 == v && $4 == 200 && $1 >= after { print $1; exit }'
}
# verified_after_start NAME VERSION: the host's app was started on VERSION
# since mark_events, and answered a health check with 200 after its last
# such start (the deploy's or rollback's verification of that start).
verified_after_start() {
  local started
  started="$(events_since "$1" | awk -v v="$2" '$2 == "start" && $3 == v { t = $1 } END { print t }')"
  [[ -n "$started" && -n "$(verified_ms "$1" "$2" "$started")" ]]
}

# check_batches VERSION WHEN BATCH... (each BATCH a quoted list of names,
# in the order the plan makes them): every host of a batch was verified on
# VERSION before any host of the next batch was stopped or started, and
# GAP_MS (default 0) at least separates them.
check_batches() {
  local version="$1" when="$2" k name t last_end first_start
  shift 2
  local -a batches=("$@")
  for ((k = 0; k < ${#batches[@]}; k++)); do
    last_end=0
    for name in ${batches[k]}; do
      t="$(verified_ms "$name" "$version")"
      if [[ -z "$t" ]]; then
        bad "$when: $name (batch $((k + 1))) was never verified on $version (no /health 200 in its events.log)"
        continue
      fi
      ok
      ((t > last_end)) && last_end=$t
    done
    ((k + 1 < ${#batches[@]})) || break
    first_start=""
    for name in ${batches[k + 1]}; do
      t="$(first_change_ms "$name")"
      [[ -n "$t" ]] || continue
      [[ -z "$first_start" || $t -lt $first_start ]] && first_start=$t
    done
    if [[ -z "$first_start" ]]; then
      bad "$when: no host of batch $((k + 2)) (${batches[k + 1]}) was stopped or started"
    elif ((first_start - last_end >= ${GAP_MS:-0} && last_end > 0)); then
      ok
    else
      bad "$when: batch $((k + 2)) (${batches[k + 1]}) started at $first_start, $((first_start - last_end)) ms after" \
        "batch $((k + 1)) (${batches[k]}) was last verified at $last_end (needs >= ${GAP_MS:-0} ms)"
    fi
  done
}

# check_names_saying JSON NAME REGEX WHAT: one line of the run's stderr, or
# one string of its JSON result, names the host and matches REGEX (case
# ignored), e.g. says it was unreachable.
check_names_saying() {
  local json="$1" name="$2" regex="$3" what="$4" address host_re
  address="$(host_address "$name")"
  host_re="(^|[^0-9A-Za-z])($name|${address//./\\.})([^0-9A-Za-z]|$)"
  local lines
  lines="$({ cat "$OUT.stderr"; jq -r '.. | strings' "$json" 2>/dev/null; } | grep -E "$host_re")"
  if grep -qiE "$regex" <<<"$lines"; then
    ok
  else
    bad "$what: no line of the stderr of run$SG_RUNS or string of $(basename "$json") names $name ($address) and says /$regex/"
  fi
}
