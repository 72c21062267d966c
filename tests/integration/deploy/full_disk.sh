#!/usr/bin/env bash
# A full disk on a local target during deploy-stage, with the real binary,
# a real size-limited file system (tmpfs) under the target root and nginx
# serving <root>/current/public (docs/artifacts.md "Full disk",
# docs/deploy.md):
#
#   1. The new release's archive unpacks to more than the free space: the
#      deploy exits 1 (an action failed, nothing live changed: docs/deploy.md
#      step 6), the message says "No space left on device" and names the file
#      in the release folder; `current` still points at the old release,
#      whose files match its manifest and which nginx still serves; nothing
#      of the failed release is left (no releases/.partial-*, no release
#      folder, manifest or staging file) and the free space is back; the
#      ledger is valid and records the failure; no journal, no lock, no
#      drift. With a bigger file system, the same deploy exits 0.
#   2. The disk is full at each write in turn: a filler leaves N free blocks,
#      for N = 0, 1, 2, ... until the deploy succeeds twice in a row. Each
#      time the run exits 0, 1 or 4 (never a crash), a failure says "No space
#      left on device", `current` is a complete release matching its
#      manifest, every release folder has a manifest that matches it, no
#      .partial-* is left, the ledger is valid, no journal or lock is left;
#      once the filler is gone the next deploy exits 0.
#   3. The disk fills after the switch (the service's start command fills
#      it, as an application's logs would) and the ledger's entry needs a new
#      block: never a crash, `current` complete and served, the lock
#      released; the run does not claim a silent success (exit 3), the
#      ledger has no torn line, and the next run (space freed) records the
#      entry from the journal and exits 0.
#
#   bash tests/integration/deploy/full_disk.sh [PATH/TO/shipgate]
#
# Needs root (mount), nginx, python3, jq, curl, tar, gzip, sha256sum and
# util-linux (unshare). It runs in a private mount namespace, so that a test
# killed before its trap never leaves a tmpfs mounted on the machine; the
# trap unmounts anyway. Environment: SHIPGATE (when not given as argument),
# KEEP_WORK=1 (keep the work folder even on success). On failure the work
# folder is kept and its path printed.
# Exit status: 0 every check passed, 1 a check failed, 2 set-up failed.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"

setup_failed() {
  echo "full_disk: set-up failed: $*" >&2
  exit 2
}

[[ $(id -u) == 0 ]] || setup_failed "needs root (it mounts a size-limited tmpfs under the target root)"
if [[ -z "${FULL_DISK_PRIVATE_MOUNTS:-}" ]]; then
  command -v unshare >/dev/null || setup_failed "unshare (util-linux) is needed"
  exec env FULL_DISK_PRIVATE_MOUNTS=1 unshare --mount --propagation private -- bash "$0" "$@"
fi

SHIPGATE="${1:-${SHIPGATE:-$REPO/build/shipgate}}"
[[ -x "$SHIPGATE" ]] || setup_failed "no shipgate binary at $SHIPGATE"
SHIPGATE="$(cd "$(dirname "$SHIPGATE")" && pwd)/$(basename "$SHIPGATE")"
MAKE_ARTIFACTS="$REPO/tests/fixtures/deploy/make-artifacts.sh"
# shellcheck source=lib.sh
source "$HERE/lib.sh"
for tool in jq curl tar gzip sha256sum mount umount "$NGINX" "$PYTHON"; do
  command -v "$tool" >/dev/null || setup_failed "$tool is needed"
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/shipgate-full-disk.XXXXXX")"
DISK="$WORK/disk" # the tmpfs mount point; the target root is $DISK/web
WEB="$DISK/web"
ART="$WORK/art"
PLAN="$WORK/plan.yml"
PASSED=0
FAILED=0
SCENARIO=""
RUNS=0
RC=""
OUT=""

cleanup() {
  stop_site_nginx
  if mountpoint -q "$DISK" 2>/dev/null; then umount "$DISK" 2>/dev/null || umount -l "$DISK"; fi
  if ((FAILED)) || [[ "${KEEP_WORK:-}" == 1 ]]; then
    echo "full_disk: work folder kept: $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- checks

ok() {
  PASSED=$((PASSED + 1))
  echo "ok - [$SCENARIO] $1"
}
not_ok() {
  FAILED=$((FAILED + 1))
  echo "not ok - [$SCENARIO] $1"
}
# check WHAT COMMAND...: COMMAND must succeed.
check() {
  local what="$1"
  shift
  if "$@"; then ok "$what"; else not_ok "$what"; fi
}
check_eq() { # ACTUAL EXPECTED WHAT
  if [[ "$1" == "$2" ]]; then ok "$3"; else not_ok "$3: got '$1', expected '$2'"; fi
}
# check_rc EXPECTED WHAT: the last run's exit code.
check_rc() {
  if [[ "$RC" == "$1" ]]; then
    ok "$2 (exit $RC)"
  else
    not_ok "$2: exit $RC, expected $1"
    show_run
  fi
}
show_run() {
  sed 's/^/    stdout| /' "$OUT.stdout" | head -n 30
  sed 's/^/    stderr| /' "$OUT.stderr" | tail -n 15
}
output_has() { grep -qF -- "$1" "$OUT.stdout" "$OUT.stderr"; }
output_lacks() { ! output_has "$1"; }
begin() {
  SCENARIO="$1"
  echo "# $SCENARIO"
}

# ---------------------------------------------------------------- shipgate

# sg ARGS...: shipgate as a CI runner starts it (a minimal environment,
# --ci none after the step name); RC, $OUT.stdout, $OUT.stderr.
sg() {
  RUNS=$((RUNS + 1))
  OUT="$WORK/run$RUNS"
  RC=0
  env -i PATH="$PATH" HOME="${HOME:-/root}" LANG=C.UTF-8 LC_ALL=C.UTF-8 TZ=UTC \
    timeout 120 "$SHIPGATE" "$1" --ci none "${@:2}" </dev/null >"$OUT.stdout" 2>"$OUT.stderr" || RC=$?
}
deploy() { # VERSION [ARGS...]
  local version="$1"
  shift
  sg deploy-stage --plan "$PLAN" --env test --version "$version" --artifact "$ART/app-$version.tar.gz" \
    --var DISK="$DISK" --var PORT="$PORT" --var LOG="$WORK/events.log" "$@"
}
status_json() { sg status --plan "$PLAN" --env test --var DISK="$DISK" --var PORT="$PORT" --var LOG="$WORK/events.log" --json "$1"; }

# ---------------------------------------------------------------- the disk

mount_disk() { # SIZE (as tmpfs takes it: 8m)
  mkdir -p "$DISK"
  mount -t tmpfs -o "size=$1,mode=0755" tmpfs "$DISK"
}
unmount_disk() {
  umount "$DISK" 2>/dev/null || umount -l "$DISK"
}
free_blocks() { stat -f -c %a "$DISK"; }
# fill_leaving N: a filler file that leaves N free blocks.
fill_leaving() {
  local blocks size
  blocks="$(free_blocks)"
  size="$(stat -f -c %S "$DISK")"
  ((blocks > $1)) || return 0
  head -c "$(((blocks - $1) * size))" /dev/zero >"$DISK/filler"
}

# ---------------------------------------------------------------- the target

live_release() { if [[ -L "$WEB/current" ]]; then basename "$(readlink "$WEB/current")"; fi; }
ledger_file() { printf '%s/.shipgate/ledger.jsonl' "$WEB"; }
served_version() {
  local body
  body="$(curl -s --max-time 5 "http://127.0.0.1:$PORT/" 2>/dev/null)" || true
  [[ "$body" =~ ^version\ ([A-Za-z0-9._+-]+) ]] && echo "${BASH_REMATCH[1]}" || echo -
}
# intact RELEASE: the release folder holds exactly what its manifest
# (.shipgate/releases/RELEASE.json: "file SIZE SHA256", "dir", "link T")
# lists; prints the first difference.
intact() {
  "$PYTHON" - "$WEB" "$1" <<'PY'
import hashlib, json, os, sys
root, release = sys.argv[1], sys.argv[2]
folder = os.path.join(root, "releases", release)
try:
    manifest = json.load(open(os.path.join(root, ".shipgate", "releases", release + ".json")))["files"]
except (OSError, ValueError, KeyError) as error:
    sys.exit("%s: no readable manifest (%s)" % (release, error))
found = {}
for top, dirs, files in os.walk(folder):
    for name in dirs + files:
        path = os.path.join(top, name)
        relative = os.path.relpath(path, folder)
        if os.path.islink(path):
            found[relative] = "link " + os.readlink(path)
        elif os.path.isdir(path):
            found[relative] = "dir"
        else:
            data = open(path, "rb").read()
            found[relative] = "file %d %s" % (len(data), hashlib.sha256(data).hexdigest())
if found != manifest:
    differ = sorted(set(found) ^ set(manifest) | {k for k in found if k in manifest and found[k] != manifest[k]})
    sys.exit("%s differs from its manifest: %s" % (release, ", ".join(differ[:5])))
PY
}
# all_releases_intact: every folder in releases/ is a complete release
# matching its manifest, and no .partial-* is left.
all_releases_intact() {
  local entry
  for entry in "$WEB"/releases/* "$WEB"/releases/.partial-*; do
    [[ -e "$entry" ]] || continue
    [[ "$(basename "$entry")" != .partial-* ]] || { echo "left behind: $entry"; return 1; }
    intact "$(basename "$entry")" || return 1
  done
}
no_partial() { [[ -z "$(find "$WEB/releases" -mindepth 1 -maxdepth 1 -name '.partial-*')" ]]; }
# ledger_valid: every line of the ledger is a JSON object (a torn line, as
# a short write on a full disk leaves, is not).
ledger_valid() {
  "$PYTHON" - "$(ledger_file)" <<'PY'
import json, sys
for number, line in enumerate(open(sys.argv[1], encoding="utf-8", errors="replace"), 1):
    if not line.strip():
        continue
    try:
        if not isinstance(json.loads(line), dict):
            raise ValueError("not an object")
    except ValueError as error:
        sys.exit("%s:%d: %s" % (sys.argv[1], number, error))
PY
}
last_entry() { tail -n 1 "$(ledger_file)" | jq -c "$1" 2>/dev/null; }
no_journal() { [[ ! -e "$WEB/.shipgate/journal.jsonl" ]]; }
no_lock() { [[ ! -e "$WEB/.shipgate/lock" ]]; }
release_of() { # VERSION: the newest successful deploy of VERSION in the ledger
  jq -r --arg v "$1" 'select(.event == "deploy" and .outcome == "succeeded" and .version == $v) | .release' \
    "$(ledger_file)" 2>/dev/null | tail -n 1
}

# ---------------------------------------------------------------- set-up

"$MAKE_ARTIFACTS" "$ART" 1.0 1.1 1.2 1.3 2.0 >/dev/null || setup_failed "cannot build the artifacts"
# 2.0 also holds 16 MiB of zeros: a 16 KiB archive that unpacks to more
# than the 8 MiB file system holds.
BIG_MB=16
mkdir -p "$WORK/tree-2.0"
tar -xzf "$ART/app-2.0.tar.gz" -C "$WORK/tree-2.0"
head -c "$((BIG_MB * 1024 * 1024))" /dev/zero >"$WORK/tree-2.0/public/big.bin"
tar -czf "$ART/app-2.0.tar.gz" -C "$WORK/tree-2.0" .
(cd "$ART" && sha256sum app-2.0.tar.gz >app-2.0.tar.gz.sha256)
rm -rf "$WORK/tree-2.0"

read -r PORT APP_PORT < <(free_ports 2)
touch "$WORK/events.log"
cat >"$PLAN" <<'PLAN'
version: 1
name: site
variables:
  FILL_AT: ""
environments: [test]
deadline: 1m
lock_ttl: 1m
services:
  web:
    target: {type: local, roots: ["${DISK}/web"]}
    # After the switch: logs the start (outside the small file system) and,
    # with --var FILL_AT=start, fills the target's file system, as an
    # application's logs would.
    start: [sh, -c, 'echo "start $SHIPGATE_MODE $SHIPGATE_RELEASE" >>"$1"; if [ "$2" = start ]; then dd if=/dev/zero of="$3" bs=4096 2>/dev/null; fi; exit 0', sh, "${LOG}", "${FILL_AT}", "${DISK}/filler"]
    health:
      defaults: {retries: 0, timeout: 5s}
      checks:
        - name: page
          url: "http://127.0.0.1:${PORT}/"
          expect: {status: 200, body: {contains: "version ${VERSION}"}}
PLAN
mkdir -p "$DISK"
start_site_nginx "$WORK/nginx" "$PORT" "$WEB" "$APP_PORT" || setup_failed "nginx did not start"

# ---------------------------------------------------------------- 1. unpacking

begin "the archive unpacks to more than the free space"
mount_disk 8m
deploy 1.0
check_rc 0 "deploy 1.0 on an 8 MiB file system"
r10="$(release_of 1.0)"
free_before="$(free_blocks)"
deploy 2.0 --json "$WORK/full.json"
check_rc 1 "deploy 2.0, whose archive unpacks to $BIG_MB MiB (a failed action, nothing live changed)"
check "the message says No space left on device" output_has "No space left on device"
check "the message names the file in the release folder ($WEB/releases/.partial-…/public/big.bin)" \
  grep -qE "cannot write $WEB/releases/\.partial-[^ ]+/public/big\.bin: No space left on device" "$OUT.stdout"
check "the message says the file system is full and what to do" output_has "is full: the partly unpacked release is removed; free space there"
check_eq "$(jq -c '[.exit_code, .outcome, .rolled_back, .marked_bad]' "$WORK/full.json")" '[1,"failed",false,false]' "--json exit_code, outcome, rolled_back, marked_bad"
check_eq "$(jq -r '[.actions[] | select(.status == "fail") | .id] | join(" ")' "$WORK/full.json")" "deploy/01-prepare-web" "the failed action"
check_eq "$(live_release)" "$r10" "current"
check_eq "$(served_version)" 1.0 "the version nginx serves"
check "the live release matches its manifest" intact "$r10"
check "no releases/.partial-* is left" no_partial
check_eq "$(find "$WEB/releases" -mindepth 1 -maxdepth 1 -name '*-2.0*' | wc -l)" 0 "release folders of 2.0"
check_eq "$(find "$WEB/.shipgate/releases" -name '*-2.0*' | wc -l)" 0 "manifests of 2.0"
free_after="$(free_blocks)"
staged="$(du -s --block-size="$(stat -f -c %S "$DISK")" "$WEB/.shipgate/incoming" | cut -f1)"
check "the blocks the unpacked part took are free again ($free_after free, $free_before before, $staged held by staging files; the ledger grew by one entry)" \
  test "$((free_after + staged))" -ge "$((free_before - 2))"
check "no staging file is left in .shipgate/incoming (its name holds this run's release id: no later run resumes from it)" \
  test -z "$(find "$WEB/.shipgate/incoming" -type f)"
check "the ledger is valid" ledger_valid
check_eq "$(last_entry '[.event, .outcome, .version]')" '["deploy","failed","2.0"]' "the ledger's last entry"
check "the ledger's entry gives the reason" grep -qF "No space left on device" <<<"$(last_entry .reason)"
check_eq "$(jq -s '[.[] | select(.event == "mark-bad")] | length' "$(ledger_file)")" 0 "versions marked bad (the version never ran)"
check "no journal is left" no_journal
check "the lock is released" no_lock
status_json "$WORK/status.json"
check_rc 0 "status after the failure"
check_eq "$(jq -c '[.targets[0].journal_pending // false, .targets[0].drift]' "$WORK/status.json")" '[false,false]' "status: journal pending, drift"

mount -o remount,size=64m "$DISK"
deploy 2.0 --json "$WORK/roomy.json"
check_rc 0 "deploy 2.0 again once the file system has room"
check_eq "$(served_version)" 2.0 "the version nginx serves"
check "the new release matches its manifest" intact "$(live_release)"
check_eq "$(stat -c %s "$WEB/current/public/big.bin")" "$((BIG_MB * 1024 * 1024))" "size of public/big.bin"
unmount_disk

# ---------------------------------------------------------------- 2. every write

begin "the disk is full at each write of a deploy in turn"
mount_disk 8m
deploy 1.0
check_rc 0 "deploy 1.0"
deploy 1.1
check_rc 0 "deploy 1.1"
r11="$(release_of 1.1)"
SNAPSHOT="$WORK/snapshot"
mkdir -p "$SNAPSHOT"
cp -a "$DISK/." "$SNAPSHOT/"
unmount_disk
successes=0
codes=""
for ((left = 0; left <= 40 && successes < 2; left++)); do
  mount_disk 8m
  cp -a "$SNAPSHOT/." "$DISK/"
  fill_leaving "$left"
  deploy 1.2 --json "$WORK/left-$left.json"
  codes+=" $left:$RC"
  what="$left free block(s)"
  if [[ "$RC" == 0 ]]; then
    successes=$((successes + 1))
    check_eq "$(live_release)" "$(release_of 1.2)" "$what: deploy 1.2 succeeded; current"
    check_eq "$(served_version)" 1.2 "$what: the version nginx serves"
  else
    successes=0
    if [[ "$RC" == 1 || "$RC" == 4 ]]; then
      ok "$what: deploy 1.2 failed cleanly (exit $RC)"
    else
      not_ok "$what: deploy 1.2 exited $RC (expected 0, 1 or 4; never a crash or a failed rollback)"
      show_run
    fi
    check "$what: the failure says No space left on device" output_has "No space left on device"
    check "$what: a full disk is not reported as a missing digest" output_lacks "no digest for"
    check_eq "$(live_release)" "$r11" "$what: current after the failure"
    check_eq "$(served_version)" 1.1 "$what: the version nginx serves"
  fi
  check "$what: every release folder matches its manifest, no .partial-* left" all_releases_intact
  check "$what: the ledger is valid" ledger_valid
  check "$what: no journal is left" no_journal
  check "$what: the lock is released" no_lock
  rm -f "$DISK/filler"
  deploy 1.3
  check_rc 0 "$what: the next deploy (1.3), space freed"
  check "$what: after it, every release folder matches its manifest" all_releases_intact
  unmount_disk
done
echo "# exit codes by free blocks:$codes"
check "the sweep reached two successes in a row" test "$successes" -ge 2

# ---------------------------------------------------------------- 3. the ledger

begin "the disk fills after the switch and the ledger's entry needs a new block"
mount_disk 8m
# Deploys 1.0 and 1.1 in turn until ENTRIES more entries (of about the
# last one's size) will not fit in the ledger's last block; sets version
# (the last deployed), size and last.
fill_ledger_block() { # ENTRIES
  version=1.0
  for _ in $(seq 12); do
    deploy "$version"
    [[ "$RC" == 0 ]] || break
    size="$(stat -c %s "$(ledger_file)")"
    last="$(tail -n 1 "$(ledger_file)" | wc -c)"
    (( size % 4096 + $1 * last + 64 > 4096 )) && break
    [[ "$version" == 1.0 ]] && version=1.1 || version=1.0
  done
}
fill_ledger_block 1
check_rc 0 "deploys until the ledger's last block is nearly full"
check "the next entry needs a new block (ledger: $size bytes, its last entry: $last)" test "$((size % 4096 + last + 64))" -gt 4096
before="$(live_release)"
deploy 1.2 --var FILL_AT=start --json "$WORK/ledger-full.json"
case "$RC" in
  0 | 1 | 3 | 5) ok "deploy 1.2 whose start fills the disk ended without a crash (exit $RC)" ;;
  *) not_ok "deploy 1.2 whose start fills the disk: exit $RC"; show_run ;;
esac
check "the run does not report a success it could not record (exit 3)" test "$RC" == 3
check "the output names the ledger" output_has "$(ledger_file)"
check "the output says No space left on device" output_has "No space left on device"
live="$(live_release)"
check "current ($live) is a complete release matching its manifest" intact "$live"
is_new_or_old() { [[ "$live" == *-1.2 || "$live" == "$before" ]]; }
check "current ($live) is 1.2 (verified) or still $before" is_new_or_old
check_eq "$(served_version)" "$(sed 's/^version //' "$WEB/current/public/index.html")" "nginx serves the release current points at"
check "the ledger has no torn line" ledger_valid
check "the lock is released" no_lock
rm -f "$DISK/filler"
deploy 1.3 --json "$WORK/after-ledger.json"
check_rc 0 "the next deploy (1.3), space freed"
check "the ledger records 1.2's deploy (completed from the journal)" test -n "$(release_of 1.2)"
status_json "$WORK/status-after.json"
check_eq "$(jq -c '[.targets[0].journal_pending // false, .targets[0].drift]' "$WORK/status-after.json")" '[false,false]' "status: journal pending, drift"

begin "the disk fills during a rollback, before its ledger entry and bad mark"
rm -f "$DISK/filler"
fill_ledger_block 2 # the rollback's entry and the bad mark
check_rc 0 "deploys until the ledger's last block is nearly full again"
left="$version"
sg rollback --plan "$PLAN" --env test --var DISK="$DISK" --var PORT="$PORT" --var LOG="$WORK/events.log" \
  --var FILL_AT=start --reason "disk test" --json "$WORK/rollback-full.json"
check "the rollback does not report a success it could not record (exit 3)" test "$RC" == 3
check "the output names the ledger" output_has "$(ledger_file)"
check "the output says the next run writes the entry" output_has "writes the entry"
check "the ledger has no torn line" ledger_valid
check "the journal is kept for the next run" test -e "$WEB/.shipgate/journal.jsonl"
check "the lock is released" no_lock
rm -f "$DISK/filler"
status_json "$WORK/status-after-rollback.json"
check_rc 0 "status, space freed"
deploy "$left" --json "$WORK/redeploy-bad.json"
check_rc 4 "deploying $left again is refused: the next run completed the rollback's entry and bad mark"
check_eq "$(jq -r --arg v "$left" 'select(.event == "mark-bad" and .version == $v) | .event' "$(ledger_file)" | head -n 1)" \
  mark-bad "the ledger marks $left bad"
check_eq "$(jq -r 'select(.event == "rollback") | .outcome' "$(ledger_file)" | tail -n 1)" succeeded \
  "the ledger records the rollback as succeeded"
check "the journal is gone" no_journal
unmount_disk

echo "full_disk: $PASSED passed, $FAILED failed"
((FAILED == 0))
