#!/usr/bin/env bash
# A fleet of real ssh hosts on this machine, for the fleet tests and the
# fleet benchmark.
#
#   hosts.sh up N DIR          start N hosts (1 to 99) under DIR
#   hosts.sh down DIR          stop them and remove what `up` made (idempotent)
#   hosts.sh drop DIR NAME     make host NAME unreachable (its network goes down)
#   hosts.sh restore DIR NAME  bring it back
#   hosts.sh ssh DIR NAME CMD...  run CMD on host NAME over ssh (the harness's key)
#   hosts.sh gc                down the fleets whose owning process has died
#
# Each host is a network namespace sgf-<run>-NN with a veth on a bridge of
# its own (10.A.B.0/24, addresses only on that bridge and inside the
# namespaces), running a real OpenSSH sshd in a private mount namespace in
# which DIR/hosts/NN is bind-mounted onto DIR/host-root. So every host has
# the same deploy root path DIR/host-root/app, with its own content, which
# the test reads as DIR/hosts/NN/app. Processes started over ssh (the app)
# stay in the host's namespaces. Where network namespaces are not allowed
# (or HARNESS_MODE=loopback), each host is an sshd on its own 127.77.B.NN
# address instead, still in its own mount namespace; if no private mount
# namespace can be made either, `up` fails and says so.
#
# `up` writes:
#   DIR/hosts.txt        "NAME ADDRESS" per line (ADDRESS:PORT when the port is not 22)
#   DIR/client_key       the client's ed25519 key (authorised as root on every host)
#   DIR/known_hosts      every host address with its own ed25519 host key
#   DIR/ssh_config       ssh -F DIR/ssh_config root@ADDRESS works as is
#   DIR/host-root/       the common mount point (empty outside the hosts)
#   DIR/hosts/NN/        host NN's files; DIR/hosts/NN/host-name holds its name
#   DIR/harness/         state, sshd configs, pid files and logs (harness/NN/sshd.log)
# and proves every host with a real ssh login that reads the host's own
# host-name file. Needs root, iproute2, util-linux (unshare, nsenter) and
# openssh-server + openssh-client.
# Exit status: 0 done, 1 it failed (the message says why), 2 usage.
set -uo pipefail

SSHD=/usr/sbin/sshd
REGISTRY=/run/shipgate-fleet
PARALLEL="${HARNESS_PARALLEL:-16}"

die() {
  echo "hosts.sh: $*" >&2
  exit 1
}
usage() {
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
now_ms() { date +%s%3N; }

# ---------------------------------------------------------------- state

# Reads DIR/harness/state: RUN, MODE, COUNT, NET (10.A.B or 127.77.B), PORT, BRIDGE.
load_state() {
  local dir="$1"
  [[ -f "$dir/harness/state" ]] || return 1
  # shellcheck disable=SC1091
  source "$dir/harness/state"
}
host_id() { printf '%02d' "$1"; }       # 1 -> 01
host_name() { printf 'h%02d' "$1"; }    # 1 -> h01
netns_of() { printf 'sgf-%s-%02d' "$RUN" "$1"; }
veth_of() { printf 'sgf%s-%02d' "$RUN" "$1"; }
address_of() { printf '%s.%d' "$NET" $(($1 + 1)); }
# index_of NAME: h07 -> 7
index_of() {
  [[ "$1" =~ ^h0*([0-9]+)$ ]] || return 1
  local index="${BASH_REMATCH[1]}"
  ((index >= 1 && index <= COUNT)) || return 1
  echo "$index"
}

# ---------------------------------------------------------------- choosing a network

# A 10.A.B.0/24 that no interface or route of this machine uses; the
# allocation is serialised so two fleets started at once never share one.
pick_subnet() {
  local used a b
  used="$(ip -4 -o addr show; ip -4 route show table all)"
  for _ in $(seq 1 200); do
    a=$((200 + RANDOM % 50))
    b=$((RANDOM % 250))
    if ! grep -qE "(^|[^0-9])10\.$a\.$b\." <<<"$used"; then
      echo "10.$a.$b"
      return 0
    fi
  done
  return 1
}
pick_loopback_net() {
  local used b
  used="$(ss -Hltn 2>/dev/null)"
  for _ in $(seq 1 200); do
    b=$((RANDOM % 250))
    grep -qF "127.77.$b." <<<"$used" || { echo "127.77.$b"; return 0; }
  done
  return 1
}

# True when this process may create network namespaces.
netns_allowed() {
  local probe="sgf-probe-$$"
  ip netns add "$probe" 2>/dev/null || return 1
  ip netns del "$probe" 2>/dev/null
  return 0
}
# True when this process may make a private mount namespace with a bind mount.
mountns_allowed() {
  unshare --mount --propagation private sh -c 'mount --bind "$1" "$1"' sh "$1" 2>/dev/null
}

# ---------------------------------------------------------------- one host

write_sshd_config() { # INDEX
  local index="$1" id state
  id="$(host_id "$index")"
  state="$DIR/harness/$id"
  cat >"$state/sshd_config" <<EOF
# sshd of fleet host $(host_name "$index") (written by tests/integration/fleet/hosts.sh)
ListenAddress $(address_of "$index"):$PORT
HostKey $state/ssh_host_ed25519_key
PidFile $state/sshd.pid
AuthorizedKeysFile $DIR/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
StrictModes no
UsePAM no
UseDNS no
PrintMotd no
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
LogLevel VERBOSE
EOF
}

# Starts the host's sshd in the host's namespaces, in the background:
# netns mode in the host's network namespace, both modes in a private
# mount namespace where DIR/hosts/NN is DIR/host-root, and root's home is
# a fresh one (this machine's /root may hold shell start-up files that take
# a second per login, which no server of a fleet has).
start_sshd() { # INDEX
  local index="$1" id state
  id="$(host_id "$index")"
  state="$DIR/harness/$id"
  rm -f "$state/sshd.pid"
  local -a prefix=()
  [[ "$MODE" == netns ]] && prefix=(ip netns exec "$(netns_of "$index")")
  # `exec` keeps one process: the pid of the background job is sshd's.
  "${prefix[@]}" unshare --mount --propagation private \
    sh -c 'mount --bind "$1" "$2" && mount --bind "$3" /root && exec "$4" -D -f "$5" -E "$6"' \
    sh "$DIR/hosts/$id" "$DIR/host-root" "$state/home" "$SSHD" "$state/sshd_config" "$state/sshd.log" \
    </dev/null >>"$state/start.log" 2>&1 &
  echo "$!" >"$state/launcher.pid"
}

# The network of one host: a namespace, a veth whose far end is eth0 in it
# with the host's address, the near end on the fleet's bridge.
make_network() { # INDEX
  local index="$1" ns veth
  ns="$(netns_of "$index")"
  veth="$(veth_of "$index")"
  ip netns add "$ns" &&
    ip link add "$veth" type veth peer name eth0 netns "$ns" &&
    ip link set "$veth" master "$BRIDGE" &&
    ip link set "$veth" up &&
    ip -n "$ns" addr add "$(address_of "$index")/24" dev eth0 &&
    ip -n "$ns" link set lo up &&
    ip -n "$ns" link set eth0 up
}

host_up() { # INDEX
  local index="$1" id state
  id="$(host_id "$index")"
  state="$DIR/harness/$id"
  mkdir -p "$state" "$DIR/hosts/$id" || return 1
  host_name "$index" >"$DIR/hosts/$id/host-name"
  mkdir -p "$state/home"
  cp /etc/skel/.bashrc /etc/skel/.profile "$state/home/" 2>/dev/null
  ssh-keygen -q -t ed25519 -N '' -C "$(host_name "$index")" -f "$state/ssh_host_ed25519_key" </dev/null ||
    { echo "host $id: ssh-keygen failed" >&2; return 1; }
  if [[ "$MODE" == netns ]]; then
    make_network "$index" 2>"$state/network.err" ||
      { echo "host $id: cannot make its network: $(cat "$state/network.err")" >&2; return 1; }
  fi
  write_sshd_config "$index"
  start_sshd "$index"
}

# True when something accepts connections on ADDRESS:PORT.
listening() { timeout 1 bash -c 'exec 3<>"/dev/tcp/$1/$2"' sh "$1" "$2" 2>/dev/null; }

wait_listening() { # INDEX: up to 10 s
  local index="$1" address tries=200
  address="$(address_of "$index")"
  while ((tries-- > 0)); do
    listening "$address" "$PORT" && return 0
    if ! kill -0 "$(cat "$DIR/harness/$(host_id "$index")/launcher.pid")" 2>/dev/null; then
      # The launcher is gone: a last look, in case sshd came up as it went.
      sleep 0.2
      listening "$address" "$PORT"
      return
    fi
    sleep 0.05
  done
  return 1
}

# The identity of the host's mount namespace (for `down` to find every
# process started on it, in both modes).
record_mount_ns() { # INDEX
  local state pid
  state="$DIR/harness/$(host_id "$1")"
  pid="$(cat "$state/launcher.pid")"
  readlink "/proc/$pid/ns/mnt" >"$state/mntns" 2>/dev/null
}

# ---------------------------------------------------------------- up

write_client_files() {
  ssh-keygen -q -t ed25519 -N '' -C "shipgate-fleet-client" -f "$DIR/client_key" </dev/null || return 1
  cp "$DIR/client_key.pub" "$DIR/authorized_keys"
  cat >"$DIR/ssh_config" <<EOF
# ssh -F $DIR/ssh_config root@ADDRESS (written by tests/integration/fleet/hosts.sh)
Host *
  User root
  Port $PORT
  IdentityFile $DIR/client_key
  IdentitiesOnly yes
  UserKnownHostsFile $DIR/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  BatchMode yes
  ConnectTimeout 3
  LogLevel ERROR
  # The default post-quantum key exchange costs ~10x the CPU of a login;
  # the harness's own logins (the proof of every host) need none of it.
  KexAlgorithms curve25519-sha256,sntrup761x25519-sha512@openssh.com
EOF
}

write_hosts_files() {
  local index address key
  : >"$DIR/known_hosts"
  : >"$DIR/hosts.txt"
  for ((index = 1; index <= COUNT; index++)); do
    address="$(address_of "$index")"
    key="$(cut -d' ' -f1,2 "$DIR/harness/$(host_id "$index")/ssh_host_ed25519_key.pub")"
    if [[ "$PORT" == 22 ]]; then
      echo "$address $key" >>"$DIR/known_hosts"
      echo "$(host_name "$index") $address" >>"$DIR/hosts.txt"
    else
      echo "[$address]:$PORT $key" >>"$DIR/known_hosts"
      echo "$(host_name "$index") $address:$PORT" >>"$DIR/hosts.txt"
    fi
  done
}

# Runs FUNCTION INDEX for every host, PARALLEL at a time; fails if any did.
for_each_host() { # FUNCTION
  local index failed=0 running=0
  for ((index = 1; index <= COUNT; index++)); do
    "$1" "$index" &
    running=$((running + 1))
    if ((running >= PARALLEL)); then
      wait -n || failed=1
      running=$((running - 1))
    fi
  done
  while ((running > 0)); do
    wait -n || failed=1
    running=$((running - 1))
  done
  return $failed
}

# A real login on the host, as the tests will make it, reading the host's
# own host-name file through the common path.
prove_host() { # INDEX
  local index="$1" got
  got="$(ssh -F "$DIR/ssh_config" "root@$(address_of "$index")" cat "$DIR/host-root/host-name" 2>&1)"
  [[ "$got" == "$(host_name "$index")" ]] && return 0
  echo "host $(host_name "$index") ($(address_of "$index")): ssh login read '$got' as its host-name," \
    "expected '$(host_name "$index")'; see $DIR/harness/$(host_id "$index")/sshd.log" >&2
  return 1
}

cmd_up() {
  local count="$1" started
  [[ "$count" =~ ^[1-9][0-9]?$ ]] || die "N must be 1 to 99, got '$count'"
  [[ $(id -u) == 0 ]] || die "needs root (network namespaces, mounts, sshd as root)"
  for tool in ip unshare nsenter ssh ssh-keygen "$SSHD"; do
    command -v "$tool" >/dev/null || die "$tool not found; install iproute2, util-linux, openssh-client and openssh-server"
  done
  started="$(now_ms)"
  mkdir -p "$DIR" || die "cannot create $DIR"
  DIR="$(cd "$DIR" && pwd)"
  [[ -e "$DIR/harness/state" ]] && die "$DIR already holds a fleet; run 'hosts.sh down $DIR' first or use another folder"
  mkdir -p "$DIR/harness" "$DIR/host-root" "$DIR/hosts" "$REGISTRY" /run/sshd
  mountns_allowed "$DIR/host-root" ||
    die "cannot make a private mount namespace with a bind mount (unshare --mount); every host needs its own" \
      "filesystem at one path, so the fleet cannot be made here (run as root, outside a restricted container)"

  MODE="${HARNESS_MODE:-}"
  if [[ -z "$MODE" ]]; then
    if netns_allowed; then MODE=netns; else MODE=loopback; fi
  fi
  COUNT="$count"
  RUN="$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  BRIDGE="sgf${RUN}br"
  PORT=22
  exec 9>"$REGISTRY/.lock"
  flock 9
  case "$MODE" in
    netns)
      NET="$(pick_subnet)" || die "no free 10.A.B.0/24 subnet found"
      ;;
    loopback)
      NET="$(pick_loopback_net)" || die "no free 127.77.B.0/24 range found"
      grep -qE '(^|\*|0\.0\.0\.0|\[::\]):22$' <<<"$(ss -Hltn | awk '{print $4}')" && PORT=2222
      ;;
    *) die "HARNESS_MODE is netns or loopback, got '$MODE'" ;;
  esac
  # The state goes first, so `down` can remove a half-made fleet.
  printf 'RUN=%s\nMODE=%s\nCOUNT=%s\nNET=%s\nPORT=%s\nBRIDGE=%s\n' \
    "$RUN" "$MODE" "$COUNT" "$NET" "$PORT" "$BRIDGE" >"$DIR/harness/state"
  printf '%s %s\n' "${HARNESS_OWNER:-$PPID}" "$DIR" >"$REGISTRY/$RUN"
  if [[ "$MODE" == netns ]]; then
    ip link add "$BRIDGE" type bridge &&
      ip addr add "$NET.1/24" dev "$BRIDGE" &&
      ip link set "$BRIDGE" up ||
      { flock -u 9; cmd_down; die "cannot create the bridge $BRIDGE"; }
  fi
  flock -u 9
  exec 9>&-

  write_client_files || { cmd_down; die "cannot write the client key and ssh_config in $DIR"; }
  for_each_host host_up || { cmd_down; die "a host could not be made (see above)"; }
  local made listening_at
  made="$(now_ms)"
  if ! for_each_host wait_listening; then
    local missing=0
    for ((index = 1; index <= COUNT; index++)); do
      listening "$(address_of "$index")" "$PORT" && continue
      missing=$((missing + 1))
      echo "host $(host_name "$index"): sshd is not listening on $(address_of "$index"):$PORT;" \
        "its log: $(tail -n 3 "$DIR/harness/$(host_id "$index")/sshd.log" "$DIR/harness/$(host_id "$index")/start.log" 2>/dev/null | tr '\n' ' ')" >&2
    done
    if ((missing > 0)); then
      cmd_down
      die "sshd did not start on every host"
    fi
    echo "hosts.sh: every sshd answers after all (one was slow to show)" >&2
  fi
  for ((index = 1; index <= COUNT; index++)); do record_mount_ns "$index"; done
  write_hosts_files
  listening_at="$(now_ms)"
  for_each_host prove_host || { cmd_down; die "an ssh login failed (see above)"; }
  [[ -z "$(ls -A "$DIR/host-root")" ]] ||
    { cmd_down; die "$DIR/host-root is not empty outside the hosts: the bind mounts leaked"; }
  local done_at
  done_at="$(now_ms)"
  echo "hosts.sh: $COUNT hosts up in $((done_at - started)) ms (made $((made - started)) ms," \
    "sshd listening $((listening_at - made)) ms, ssh logins $((done_at - listening_at)) ms;" \
    "$MODE, $NET.x port $PORT): $DIR/hosts.txt"
}

# ---------------------------------------------------------------- down

# Every process of this machine as "PID MOUNT-NAMESPACE" lines, in one pass.
mount_namespaces() {
  find /proc -mindepth 3 -maxdepth 3 -path '/proc/[0-9]*/ns/mnt' -printf '%h %l\n' 2>/dev/null |
    sed 's|^/proc/\([0-9]*\)/ns |\1 |'
}

# Pids of every process running in the host's namespaces; SNAPSHOT is the
# output of mount_namespaces.
host_pids() { # INDEX SNAPSHOT
  local index="$1" state
  state="$DIR/harness/$(host_id "$index")"
  if [[ "$MODE" == netns ]]; then
    ip netns pids "$(netns_of "$index")" 2>/dev/null
  fi
  [[ -s "$state/mntns" ]] || return 0
  awk -v ns="$(cat "$state/mntns")" '$2 == ns { print $1 }' <<<"$2"
}

# Kills every process of the hosts given (indexes), until none is left.
kill_host_processes() { # INDEX...
  local tries=30 pids index snapshot
  while ((tries-- > 0)); do
    snapshot="$(mount_namespaces)"
    pids="$(for index in "$@"; do host_pids "$index" "$snapshot"; done | sort -u)"
    [[ -z "$pids" ]] && return 0
    # shellcheck disable=SC2086 # one pid per word
    kill -KILL $pids 2>/dev/null
    sleep 0.1
  done
  echo "hosts.sh: processes of the hosts survived kill -9: $(echo $pids)" >&2
  return 1
}

cmd_down() {
  local index failed=0
  load_state "$DIR" || return 0
  kill_host_processes $(seq 1 "$COUNT") || failed=1
  for ((index = 1; index <= COUNT; index++)); do
    [[ "$MODE" == netns ]] && ip netns del "$(netns_of "$index")" 2>/dev/null
    rm -f "$DIR/harness/$(host_id "$index")/mntns"
  done
  if [[ "$MODE" == netns ]]; then
    ip link del "$BRIDGE" 2>/dev/null
    # The kernel removes a deleted namespace's veths a moment later; wait,
    # so that what `up` made is gone when `down` returns.
    local tries=100 left
    while :; do
      left="$(ip -o link show 2>/dev/null | grep -o "sgf${RUN}[^:@]*")"
      [[ -n "$left" ]] && ((tries-- > 0)) || break
      sleep 0.05
    done
    [[ -z "$left" ]] ||
      { echo "hosts.sh: interfaces of the fleet are still there after 5 s: $(echo $left)" >&2; failed=1; }
  fi
  rm -f "$REGISTRY/$RUN"
  ((failed == 0)) && mv "$DIR/harness/state" "$DIR/harness/state.down"
  return $failed
}

# ---------------------------------------------------------------- drop, restore, ssh

cmd_drop() { # NAME
  local index
  load_state "$DIR" || die "no fleet in $DIR"
  index="$(index_of "$1")" || die "no host '$1' in $DIR (h01 to $(host_name "$COUNT"))"
  if [[ "$MODE" == netns ]]; then
    # The host's own interface: it stops answering (no refusal, no reset),
    # as a host that lost its network does.
    ip -n "$(netns_of "$index")" link set eth0 down || die "cannot take $1's network down"
  else
    # Without a network of its own the host can only lose its processes:
    # sshd and everything started on it (the caller's session too).
    kill_host_processes "$index"
  fi
}

cmd_restore() { # NAME
  local index
  load_state "$DIR" || die "no fleet in $DIR"
  index="$(index_of "$1")" || die "no host '$1' in $DIR (h01 to $(host_name "$COUNT"))"
  if [[ "$MODE" == netns ]]; then
    ip -n "$(netns_of "$index")" link set eth0 up || die "cannot bring $1's network back"
    # sshd kept running; wait until it answers through the network again.
    wait_listening "$index" || die "$1 does not answer on $(address_of "$index"):$PORT after its network came back"
  else
    start_sshd "$index"
    wait_listening "$index" || die "sshd of $1 did not start again; see $DIR/harness/$(host_id "$index")/sshd.log"
    record_mount_ns "$index"
  fi
}

cmd_ssh() { # NAME CMD...
  local index
  load_state "$DIR" || die "no fleet in $DIR"
  index="$(index_of "$1")" || die "no host '$1' in $DIR (h01 to $(host_name "$COUNT"))"
  shift
  exec ssh -F "$DIR/ssh_config" "root@$(address_of "$index")" "$@"
}

# Fleets whose owner (the process that ran `up`) is gone: left by a test
# killed before its trap ran.
cmd_gc() {
  local entry owner dir
  for entry in "$REGISTRY"/*; do
    [[ -f "$entry" ]] || continue
    read -r owner dir <"$entry"
    kill -0 "$owner" 2>/dev/null && continue
    echo "hosts.sh: removing the fleet in $dir (its owner $owner is gone)" >&2
    if [[ -f "$dir/harness/state" ]]; then
      (DIR="$dir"; cmd_down)
    else
      # Its folder is gone too: what is left is found by the run's names.
      remove_by_name "$(basename "$entry")"
    fi
    rm -f "$entry"
  done
}

# Kills the processes of every namespace of run RUN and deletes the
# namespaces and the bridge, without the fleet's folder.
remove_by_name() { # RUN
  local run="$1" ns pids
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^sgf-$run-"); do
    pids="$(ip netns pids "$ns" 2>/dev/null)"
    # shellcheck disable=SC2086 # one pid per word
    [[ -n "$pids" ]] && kill -KILL $pids 2>/dev/null
    ip netns del "$ns" 2>/dev/null
  done
  ip link del "sgf${run}br" 2>/dev/null
  return 0
}

# ---------------------------------------------------------------- main

[[ $# -ge 1 ]] || usage
case "$1" in
  up)
    [[ $# -eq 3 ]] || usage
    DIR="$3"
    cmd_up "$2"
    ;;
  down)
    [[ $# -eq 2 ]] || usage
    [[ -d "$2" ]] || exit 0
    DIR="$(cd "$2" && pwd)"
    cmd_down
    ;;
  drop | restore)
    [[ $# -eq 3 ]] || usage
    DIR="$(cd "$2" && pwd)" || exit 1
    "cmd_$1" "$3"
    ;;
  ssh)
    [[ $# -ge 4 ]] || usage
    DIR="$(cd "$2" && pwd)" || exit 1
    shift 2
    cmd_ssh "$@"
    ;;
  gc) cmd_gc ;;
  -h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) usage ;;
esac
