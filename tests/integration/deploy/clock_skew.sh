#!/usr/bin/env bash
# The deploy lock between two CI runners whose clocks differ by an hour:
# two real shipgate processes deploy to the same real ssh host, each as its
# own runner (its own host name, in a UTS namespace), one of them under
# libfaketime. A lease's expiry is judged by the target's clock alone
# (docs/deploy.md "Locks"), so skew neither steals a live lock nor keeps a
# dead one.
#
#   bash tests/integration/deploy/clock_skew.sh [PATH/TO/shipgate]
#
# Every run uses --lock-ttl 3s, so the holder renews every second. The
# plan's start command logs "start VERSION RUNNER" on the host, then waits
# while the host has shared/hold-RUNNER, so the test decides when it ends.
#   a. runner a (true clock) deploys 1.0.0 and holds the lock in its start;
#      runner b, its clock an hour ahead, deploys 2.0.0: exit 4 at once,
#      naming a's user and host; b ran no command, unpacked nothing, and a
#      still finishes with exit 0;
#   b. the same with a's clock an hour behind (its lease says it expired an
#      hour ago by everyone else's clock) and b's true;
#   c. a deploys 3.0.0 and is killed (kill -9 of its process group) in its
#      start; b, an hour ahead, waits (--wait-lock): it takes the lock only
#      after the TTL has passed since a's last renewal by the host's clock,
#      and not much later; reconciles a's half-done deploy; exit 0;
#   d. as c with 4.0.0 and b an hour behind.
# Then: 4.0.0 live, nothing left (journal, lock), every ledger line JSON.
#
# Environment: SHIPGATE, KEEP_WORK=1. Needs root (the fleet harness,
# tests/integration/fleet/hosts.sh, and unshare --uts), faketime (libfaketime).
# Exit status: 0 every assertion held, 1 one failed, 2 set-up failed.
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=tests/integration/fleet/lib.sh
source "$HERE/../fleet/lib.sh"

TTL_MS=3000
for tool in faketime unshare hostname; do
  command -v "$tool" >/dev/null || { echo "clock-skew: $tool is needed (apt-get install faketime util-linux hostname)" >&2; exit 2; }
done
# libfaketime is preloaded into shipgate. A clang sanitizer build (the
# runtime linked in statically, as scripts/test.sh builds it) hangs in
# libfaketime's start-up before main; such a binary cannot run this test,
# which then reports itself skipped (exit 77) rather than passed. The
# lease's skew logic is covered under the sanitizers by the unit tests
# (tests/unit/deploy/lease_test.cpp, with skewed clocks).
probe="${1:-${SHIPGATE:-}}"
if [[ -x "$probe" ]] && ! ASAN_OPTIONS=verify_asan_link_order=0 timeout 20 faketime -f '+1h' "$probe" --version >/dev/null 2>&1; then
  echo "clock-skew: SKIPPED: $probe does not run under libfaketime (a sanitizer build hangs in it);" \
    "run this test with a plain build: SHIPGATE_TEST_BUILD=plain bash scripts/test.sh" >&2
  exit 77
fi
fleet_begin clock-skew 1 "${1:-}"
REAL_SHIPGATE="$SHIPGATE"
"$MAKE_ARTIFACTS" "$ART" 4.0.0 || { echo "clock-skew: cannot build the artifacts" >&2; exit 2; }
APP="$(host_app h01)"
LOCK="$APP/.shipgate/lock"
mkdir -p "$APP/shared"
SG_LIMIT=120

# ---------------------------------------------------------------- runners

# make_runner NAME SKEW: WORK/bin/runner-NAME, shipgate as CI runner a or b
# (NAME up to its first "-"), with the host name runner-a or runner-b (so a
# lease's pid proves nothing to the other runner), its clock off by SKEW
# ("" for none). libfaketime
# is preloaded; an ASan build from gcc wants its runtime first, which a
# preload breaks, so that check is off for these processes only.
make_runner() {
  local name="$1" skew="$2" file="$WORK/bin/runner-$1"
  mkdir -p "$WORK/bin"
  # shellcheck disable=SC2016 # the $ are for the runner's shell
  {
    echo '#!/bin/sh'
    printf 'set -- %q "$@"\n' "$REAL_SHIPGATE"
    if [[ -n "$skew" ]]; then
      printf 'set -- faketime -f %q "$@"\n' "$skew"
      echo 'ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"; export ASAN_OPTIONS'
    fi
    printf 'exec unshare --uts sh -c %q %q "$@"\n' 'hostname "$0" && exec "$@"' "runner-${name%%-*}"
  } >"$file"
  chmod +x "$file"
}
make_runner a ""
make_runner a-behind -1h
make_runner b ""
make_runner b-ahead +1h
make_runner b-behind -1h

# as RUNNER: the next sg/sg_background runs shipgate as that runner.
as() { SHIPGATE="$WORK/bin/runner-$1"; }
deploy_as() { # RUNNER USER VERSION [ARGS...]
  local runner="$1" user="$2" version="$3"
  shift 3
  as "$runner"
  set -- deploy-stage --plan "$PLAN" --env prod --version "$version" --user "$user" --var "RUNNER=${runner%%-*}" \
    --lock-ttl "$((TTL_MS / 1000))s" "$@"
  if [[ -n "${BACKGROUND_RUN:-}" ]]; then sg_background "$@"; else sg "$@"; fi
}

# ---------------------------------------------------------------- the plan

PLAN="$WORK/plan.yml"
address="$(awk '$1 == "h01" { print $2 }' "$FLEET/hosts.txt")" # ADDRESS[:PORT]
cat >"$PLAN" <<EOF
version: 1
name: skew
deadline: 3m
environments:
  - name: prod
variables:
  APP_ROOT: "$FLEET/host-root/app"
services:
  web:
    artifact: {source: "$ART/web-\${VERSION}.tar.gz"}
    target:
      type: ssh
      hosts:
        - {name: h01, address: "$address"}
      user: root
      root: "\${APP_ROOT}"
      identity_file: "$FLEET/client_key"
      known_hosts: "$FLEET/known_hosts"
      connect_timeout: 5s
      timeout: 30s
    start:
      argv: [sh, -c, 'printf "%s start %s %s\n" "\$(date +%s%3N)" "\$1" "\$2" >>"\$3/shared/events.log"; while [ -e "\$3/shared/hold-\$2" ]; do sleep 0.1; done', sh, "\${VERSION}", "\${RUNNER}", "\${APP_ROOT}"]
      timeout: 100s
EOF

# ---------------------------------------------------------------- helpers

events() { cat "$APP/shared/events.log" 2>/dev/null; }
lease_field() { jq -r "$1" "$LOCK" 2>/dev/null; }
mtime_ms() { local t; t="$(stat -c %.3Y "$1" 2>/dev/null)" && echo "${t/./}"; }
live_version() { cat "$APP/current/VERSION" 2>/dev/null; }
# wait_for SECONDS COMMAND...: true once COMMAND succeeds.
wait_for() {
  local until=$(($(now_ms) + $1 * 1000))
  shift
  while (($(now_ms) < until)); do
    "$@" && return 0
    sleep 0.05
  done
  "$@"
}
started() { events | grep -q " start $1 $2\$"; }                   # VERSION RUNNER
renewed_once() { [[ -n "$(lease_field .renewed_at)" && "$(lease_field .renewed_at)" != "$(lease_field .acquired_at)" ]]; }
releases_of() { find "$APP/releases" -mindepth 1 -maxdepth 1 -name "*-$1*" 2>/dev/null | wc -l; }

# scenario_live_lease NAME HOLDER VERSION TAKER VERSION: a holds, b is refused.
scenario_live_lease() {
  local holder="$2" held="$3" taker="$4" refused="$5" holder_pid holder_out
  SCENARIO="$1"
  say "$SCENARIO"
  touch "$APP/shared/hold-a"
  BACKGROUND_RUN=1 deploy_as "$holder" alice "$held"
  holder_pid=$BG_PID
  holder_out=$OUT
  if ! wait_for 60 started "$held" a; then
    bad "$SCENARIO: runner a never reached its start command"
    sed 's/^/    stderr| /' "$holder_out.stderr" | tail -n 20 >&2
    rm -f "$APP/shared/hold-a"
    return
  fi
  check "$SCENARIO: a's lease was renewed while it held the lock" wait_for 10 renewed_once
  check_eq "$(lease_field .owner.host)" runner-a "$SCENARIO: the lease names a's host"
  check_eq "$(lease_field .ttl_ms)" "$TTL_MS" "$SCENARIO: the lease records a's TTL"
  mark_events
  deploy_as "$taker" bob "$refused"
  check_rc 4 "$SCENARIO: b deploying $refused while a holds the lock"
  check "$SCENARIO: b's refusal names the holder alice" grep -q "held by alice" "$OUT.stdout" "$OUT.stderr"
  check "$SCENARIO: b's refusal names a's host" grep -q "on runner-a" "$OUT.stdout" "$OUT.stderr"
  check "$SCENARIO: b's refusal gives the lease's age by the target's clock" \
    grep -q "ago by the target's clock" "$OUT.stdout" "$OUT.stderr"
  check_eq "$(events_since h01 | grep -c ' b$')" 0 "$SCENARIO: commands run by b"
  check_eq "$(releases_of "$refused")" 0 "$SCENARIO: releases of $refused unpacked by b"
  check_eq "$(lease_field .owner.host)" runner-a "$SCENARIO: the lease still names a's host"
  rm -f "$APP/shared/hold-a"
  wait "$holder_pid"
  RC=$?
  OUT=$holder_out
  check_rc 0 "$SCENARIO: a's deploy of $held, after b was refused"
  check_eq "$(live_version)" "$held" "$SCENARIO: the live version"
  check "$SCENARIO: no lock left" test ! -e "$LOCK"
}

# scenario_dead_holder NAME VERSION TAKER: a is killed while holding; b waits.
scenario_dead_holder() {
  local version="$2" taker="$3" killed_pid taker_pid taker_out last_renewal="" taken_at="" host
  SCENARIO="$1"
  say "$SCENARIO"
  touch "$APP/shared/hold-a"
  BACKGROUND_RUN=1 deploy_as a alice "$version"
  killed_pid=$BG_PID
  if ! wait_for 60 started "$version" a; then
    bad "$SCENARIO: runner a never reached its start command"
    sed 's/^/    stderr| /' "$OUT.stderr" | tail -n 20 >&2
    rm -f "$APP/shared/hold-a"
    return
  fi
  check "$SCENARIO: a's lease was renewed while it held the lock" wait_for 10 renewed_once
  kill -KILL -- "-$killed_pid"
  wait "$killed_pid" 2>/dev/null
  rm -f "$APP/shared/hold-a" # its command on the host may outlive it
  BACKGROUND_RUN=1 deploy_as "$taker" bob "$version" --wait-lock 30s --json "$WORK/$taker.json"
  taker_pid=$BG_PID
  taker_out=$OUT
  # The moment b's lease replaces a's; a's last renewal is the lock file's
  # last modification while a's lease was in it (host's clock = this one).
  local before
  while kill -0 "$taker_pid" 2>/dev/null; do
    before="$(mtime_ms "$LOCK")"
    host="$(lease_field .owner.host)"
    if [[ "$host" == runner-a ]]; then
      # Only when the file was not replaced between the two looks.
      [[ "$(mtime_ms "$LOCK")" == "$before" ]] && last_renewal="$before"
    elif [[ "$host" == runner-b ]]; then
      taken_at="$(now_ms)"
      break
    fi
    sleep 0.02
  done
  wait "$taker_pid"
  RC=$?
  OUT=$taker_out
  check_rc 0 "$SCENARIO: b's deploy of $version after a was killed"
  if [[ -n "$last_renewal" && -n "$taken_at" ]]; then
    local gap=$((taken_at - last_renewal))
    say "$SCENARIO: b took the lock $gap ms after a's last renewal (TTL $TTL_MS ms)"
    check "$SCENARIO: b took the lock only after the TTL by the host's clock ($gap ms >= $TTL_MS ms)" \
      test "$gap" -ge "$TTL_MS"
    check "$SCENARIO: b took the lock soon after the TTL ($gap ms < $((TTL_MS + 10000)) ms)" \
      test "$gap" -lt $((TTL_MS + 10000))
  else
    bad "$SCENARIO: the lease never went from a (last renewal '${last_renewal}') to b (taken at '${taken_at}')"
  fi
  check_json "$WORK/$taker.json" '.reconciled | length > 0' true "$SCENARIO: b reconciled a's half-done deploy"
  check_eq "$(live_version)" "$version" "$SCENARIO: the live version"
  check "$SCENARIO: no lock left" test ! -e "$LOCK"
}

# ---------------------------------------------------------------- the runs

scenario_live_lease "a holds, b's clock an hour ahead" a 1.0.0 b-ahead 2.0.0
scenario_live_lease "a's clock an hour behind holds, b's true" a-behind 2.0.0 b 3.0.0
scenario_dead_holder "a killed, b's clock an hour ahead" 3.0.0 b-ahead
scenario_dead_holder "a killed, b's clock an hour behind" 4.0.0 b-behind

SCENARIO="afterwards"
check_eq "$(live_version)" 4.0.0 "$SCENARIO: the live version"
check_clean "$SCENARIO" h01
check "$SCENARIO: every ledger line is a JSON object" \
  bash -c 'jq -e -s "all(.[]; type == \"object\")" "$1" >/dev/null' sh "$(host_ledger h01)"
fleet_end
