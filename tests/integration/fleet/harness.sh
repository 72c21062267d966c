#!/usr/bin/env bash
# The fleet harness itself (hosts.sh), before any test relies on it.
#
#   bash tests/integration/fleet/harness.sh [IGNORED]
#
#   1. `up 20`: 20 hosts in under UP_LIMIT_MS (default 20000), hosts.txt
#      and known_hosts with 20 distinct addresses and host keys;
#   2. every host, logged into with ssh as shipgate will (-F /dev/null, the
#      client key, the known_hosts file, strict host key checking), writes
#      its name into <host-root>/app/probe: the test reads each host's own
#      name in DIR/hosts/NN/app/probe, and DIR/host-root stays empty here;
#   3. negative controls: a login with an empty known_hosts, with another
#      client key, and with h01's host key listed for h02 are all refused;
#   4. no host address is on this machine's side except on the fleet's
#      bridge (netns mode); a host has only lo and eth0;
#   5. a process started over ssh on h03 (setsid, as the app is) keeps
#      running in h03's namespaces, and `down` ends it;
#   6. drop h05: a login fails within its connect timeout, the other hosts
#      still answer; restore h05: it answers again;
#   7. `down`: no namespace, bridge, veth or sshd of the fleet is left, no
#      process it started; a second `down` is a no-op (exit 0);
#   8. `up 50` works too (the benchmark's size), and `down` removes it.
#
# Environment: KEEP_WORK=1, HARNESS_MODE=loopback (test the fallback).
# Exit status: 0 every assertion held, 1 one failed, 2 set-up failed.
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=tests/integration/fleet/lib.sh
source "$HERE/lib.sh"

FLEET_TEST=harness
FLEET_T0=$EPOCHREALTIME
WORK="$(mktemp -d "${TMPDIR:-/tmp}/shipgate-fleet-harness.XXXXXX")"
FLEET="$WORK/fleet"
trap fleet_cleanup EXIT
trap 'exit 130' INT TERM
"$HARNESS" gc

# The driver's way in: no ssh configuration but the plan's settings.
plan_ssh() { # KNOWN_HOSTS KEY ADDRESS CMD...
  local known="$1" key="$2" address="$3"
  shift 3
  timeout 20 ssh -F /dev/null -i "$key" -o IdentitiesOnly=yes -o UserKnownHostsFile="$known" \
    -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=3 \
    "root@$address" "$@"
}
export -f plan_ssh
state() { awk -F= -v k="$1" '$1 == k { print $2 }' "$FLEET/harness/state" "$FLEET/harness/state.down" 2>/dev/null | head -n 1; }

SCENARIO="up 20"
t0=$(now_ms)
HARNESS_OWNER=$$ "$HARNESS" up 20 "$FLEET" >"$WORK/up.log" 2>&1
rc=$?
up_ms=$(($(now_ms) - t0))
cat "$WORK/up.log"
[[ $rc == 0 ]] || { bad "hosts.sh up 20 exited $rc"; fleet_end; exit 1; }
check "$SCENARIO took ${up_ms} ms (limit ${UP_LIMIT_MS:-20000})" test "$up_ms" -lt "${UP_LIMIT_MS:-20000}"
mapfile -t HOST_NAMES < <(awk '{print $1}' "$FLEET/hosts.txt")
check_eq "${#HOST_NAMES[@]}" 20 "$SCENARIO: hosts in hosts.txt"
check_eq "$(awk '{print $2}' "$FLEET/hosts.txt" | sort -u | wc -l)" 20 "$SCENARIO: distinct addresses"
check_eq "$(awk '{print $3}' "$FLEET/known_hosts" | sort -u | wc -l)" 20 "$SCENARIO: distinct host keys in known_hosts"
MODE="$(state MODE)"
RUN="$(state RUN)"
say "mode $MODE, run $RUN"

SCENARIO="each host its own files"
for name in "${HOST_NAMES[@]}"; do
  address="$(host_address "$name")"
  plan_ssh "$FLEET/known_hosts" "$FLEET/client_key" "$address" \
    "mkdir -p '$FLEET/host-root/app' && cat '$FLEET/host-root/host-name' >'$FLEET/host-root/app/probe'" &
done
wait
for name in "${HOST_NAMES[@]}"; do
  check_eq "$(cat "$(host_app "$name")/probe" 2>/dev/null)" "$name" "$SCENARIO: $(host_app "$name")/probe"
done
check_eq "$(ls -A "$FLEET/host-root")" "" "$SCENARIO: $FLEET/host-root seen from outside the hosts"

SCENARIO="negative controls"
: >"$WORK/empty_known_hosts"
check "$SCENARIO: a login with an empty known_hosts is refused" \
  bash -c '! plan_ssh "$@" true 2>/dev/null' sh "$WORK/empty_known_hosts" "$FLEET/client_key" "$(host_address h01)"
ssh-keygen -q -t ed25519 -N '' -f "$WORK/other_key" </dev/null
check "$SCENARIO: a login with another client key is refused" \
  bash -c '! plan_ssh "$@" true 2>/dev/null' sh "$FLEET/known_hosts" "$WORK/other_key" "$(host_address h01)"
echo "$(host_address h02) $(awk 'NR == 1 { print $2, $3 }' "$FLEET/known_hosts")" >"$WORK/swapped_known_hosts"
check "$SCENARIO: a login to h02 listed with h01's host key is refused" \
  bash -c '! plan_ssh "$@" true 2>/dev/null' sh "$WORK/swapped_known_hosts" "$FLEET/client_key" "$(host_address h02)"
check "$SCENARIO: the same login with the right known_hosts works" \
  plan_ssh "$FLEET/known_hosts" "$FLEET/client_key" "$(host_address h02)" true
if [[ "$MODE" == netns ]]; then
  SCENARIO="addresses"
  net="$(state NET)"
  check_eq "$(ip -4 -o addr show | awk '{print $4}' | grep -c "^${net//./\\.}\.")" 1 "$SCENARIO: addresses of $net.0/24 on this machine's side"
  check_eq "$(ip -4 -o addr show dev "$(state BRIDGE)" | awk '{print $4}')" "$net.1/24" "$SCENARIO: the bridge's address"
  check_eq "$(ip -n "sgf-$RUN-07" -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort | tr '\n' ' ')" "eth0 lo " \
    "$SCENARIO: the interfaces of h07"
fi

SCENARIO="processes started over ssh"
plan_ssh "$FLEET/known_hosts" "$FLEET/client_key" "$(host_address h03)" \
  "setsid sleep 1000 </dev/null >/dev/null 2>&1 & echo \$! >'$FLEET/host-root/sleeper.pid'"
sleeper="$(cat "$FLEET/hosts/03/sleeper.pid" 2>/dev/null)"
check "$SCENARIO: the sleeper started over ssh runs (pid $sleeper)" pid_running "${sleeper:-0}"
check_eq "$(readlink "/proc/${sleeper:-0}/ns/mnt" 2>/dev/null)" "$(cat "$FLEET/harness/03/mntns")" \
  "$SCENARIO: the sleeper's mount namespace is h03's"

SCENARIO="drop and restore"
"$HARNESS" drop "$FLEET" h05
t0=$(now_ms)
check "$SCENARIO: a login to the dropped h05 fails" \
  bash -c '! plan_ssh "$@" true 2>/dev/null' sh "$FLEET/known_hosts" "$FLEET/client_key" "$(host_address h05)"
check "$SCENARIO: ... within 10 s ($(($(now_ms) - t0)) ms)" test $(($(now_ms) - t0)) -lt 10000
check "$SCENARIO: h06 still answers" plan_ssh "$FLEET/known_hosts" "$FLEET/client_key" "$(host_address h06)" true
"$HARNESS" restore "$FLEET" h05
check "$SCENARIO: h05 answers again" plan_ssh "$FLEET/known_hosts" "$FLEET/client_key" "$(host_address h05)" true

SCENARIO="down"
t0=$(now_ms)
"$HARNESS" down "$FLEET"
check_eq "$?" 0 "$SCENARIO: exit code"
say "down took $(($(now_ms) - t0)) ms"
check_eq "$(ip netns list | grep -c "^sgf-$RUN-")" 0 "$SCENARIO: namespaces of the fleet left"
check_eq "$(ip -o link show | grep -c "sgf$RUN")" 0 "$SCENARIO: bridge and veths of the fleet left"
check_eq "$(pgrep -f "sshd -D -f $FLEET/" | wc -l)" 0 "$SCENARIO: sshd processes of the fleet left"
check "$SCENARIO: the sleeper started on h03 is gone" pid_gone "${sleeper:-0}"
"$HARNESS" down "$FLEET"
check_eq "$?" 0 "$SCENARIO again: exit code"

SCENARIO="up 50"
FLEET="$WORK/fleet50"
t0=$(now_ms)
HARNESS_OWNER=$$ "$HARNESS" up 50 "$FLEET"
check_eq "$?" 0 "$SCENARIO: exit code"
say "$SCENARIO took $(($(now_ms) - t0)) ms"
check_eq "$(wc -l <"$FLEET/hosts.txt")" 50 "$SCENARIO: hosts in hosts.txt"
"$HARNESS" down "$FLEET"
check_eq "$(pgrep -f "sshd -D -f $FLEET/" | wc -l)" 0 "$SCENARIO: sshd processes left after down"

fleet_end
