#!/usr/bin/env bash
# The comparison point of bench/deploy/run.sh: a deploy done the way many
# hand-written release scripts (and Capistrano-style tools) do it, with the
# same test app and the same artifact as shipgate:
#
#   cap_style.sh deploy   ROOT ARTIFACT PORT   unpack into releases/<timestamp>,
#                                              `ln -sfn` current, restart the app,
#                                              poll until it serves the new version
#   cap_style.sh rollback ROOT PORT            `ln -sfn` current to the release
#                                              before it in directory order, restart,
#                                              poll, delete the rolled-back release
#
# The restart is kill + start through tests/fixtures/deploy/app/appctl.py
# stop and start, the commands of the benchmark's stop + start shipgate plan
# (pidfile ROOT/shared/app.pid, log ROOT/shared/app.log); the poll asks
# /version every 50 ms, as that plan's health check does. Five releases are
# kept. No checksum, no lock, no record of what was live: the previous
# release is whatever sorts before `current`.
# Prints "switch_ms=N" (the `ln -sfn` alone) on stdout. Exit status: 0 the
# new version answers, 1 it did not within 20 s, 2 bad usage.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
APPCTL="$HERE/../../tests/fixtures/deploy/app/appctl.py"
PYTHON="${PYTHON:-/usr/bin/python3}"
[[ -x "$PYTHON" ]] || PYTHON="$(command -v python3)"
KEEP=5

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

ms_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.3f", (b-a)*1000}'; }

switch_to() {
  local root="$1" release="$2" t0
  t0=$EPOCHREALTIME
  ln -sfn "$release" "$root/current"
  echo "switch_ms=$(ms_since "$t0")"
}

# kill + start, with the same commands as the benchmark's shipgate plan
# (appctl stop: SIGTERM and wait for the exit; appctl start: start the app
# from current/ and wait for its pidfile), so the rows differ by the tool only.
restart_app() {
  local root="$1" port="$2"
  "$PYTHON" "$APPCTL" stop --root "$root" >/dev/null
  "$PYTHON" "$APPCTL" start --root "$root" --port "$port" >/dev/null
}

wait_healthy() {
  local port="$1" want="$2" _
  for _ in $(seq 400); do
    [[ "$(curl -s --max-time 2 "http://127.0.0.1:$port/version" 2>/dev/null)" == "$want" ]] && return 0
    sleep 0.05
  done
  echo "cap_style: version $want did not answer on port $port within 20 s" >&2
  return 1
}

deploy() {
  local root="$1" artifact="$2" port="$3" release
  mkdir -p "$root/releases" "$root/shared"
  release="$root/releases/$(date -u +%Y%m%d%H%M%S%N)"
  mkdir "$release"
  tar -C "$release" -xzf "$artifact"
  switch_to "$root" "$release"
  restart_app "$root" "$port"
  wait_healthy "$port" "$(<"$release/VERSION")"
  # shellcheck disable=SC2012 # release names are timestamps
  ls -1 "$root/releases" | head -n "-$KEEP" | while read -r old; do rm -rf "${root:?}/releases/$old"; done
}

rollback() {
  local root="$1" port="$2" live previous
  live="$(basename "$(readlink "$root/current")")"
  # shellcheck disable=SC2012 # release names are timestamps
  previous="$(ls -1 "$root/releases" | awk -v live="$live" '$0 == live {print prev; exit} {prev = $0}')"
  [[ -n "$previous" ]] || { echo "cap_style: no release before $live" >&2; return 1; }
  switch_to "$root" "$root/releases/$previous"
  restart_app "$root" "$port"
  wait_healthy "$port" "$(<"$root/releases/$previous/VERSION")"
  rm -rf "${root:?}/releases/$live"
}

case "${1:-}" in
  deploy) [[ $# -eq 4 ]] || usage; deploy "$2" "$3" "$4" ;;
  rollback) [[ $# -eq 3 ]] || usage; rollback "$2" "$3" ;;
  *) usage ;;
esac
