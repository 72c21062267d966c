# shellcheck shell=bash disable=SC2034 # the variables are for the scripts that source this
# Shared part of the database tests (sourced by tests/integration/db/*.sh):
#
#   source "$(dirname "$0")/lib.sh" "$@"    # $1: the shipgate binary
#   db_setup                                # server, database, artifacts
#   ... scenario ...
#   db_finish                               # the secret scan, the summary, the exit code
#
# Each test starts its own PostgreSQL (tests/fixtures/db/pg.sh) and keeps
# everything else in one work folder: the plan and a copy of the change
# scripts in $PLAN_DIR, the targets in $ROOT, the artifacts in $ART, every
# shipgate run's output in $WORK/runN.{stdout,stderr}. The EXIT trap stops
# the server and background runs whatever happens; the work folder is kept
# (and named) when an assertion failed or KEEP_WORK=1.
#
# Exit status of a test: 0 every assertion held, 1 one failed, 2 set-up failed.
set -uo pipefail

DB_TEST_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$DB_TEST_DIR/../../.." && pwd)"
TEST_NAME="db-$(basename "$0" .sh)"
SHIPGATE="${1:-${SHIPGATE:-$REPO/build/shipgate}}"
MAKE_ARTIFACTS="$REPO/tests/fixtures/deploy/make-artifacts.sh"

# shellcheck source=../../fixtures/db/pg.sh
source "$REPO/tests/fixtures/db/pg.sh"
# shellcheck source=../../fixtures/db/plan.sh
source "$REPO/tests/fixtures/db/plan.sh"

setup_failed() {
  echo "$TEST_NAME: set-up failed: $*" >&2
  exit 2
}

[[ -x "$SHIPGATE" ]] || setup_failed "no shipgate binary at $SHIPGATE"
SHIPGATE="$(cd "$(dirname "$SHIPGATE")" && pwd)/$(basename "$SHIPGATE")"
for tool in jq python3 tar sha256sum psql pg_dump pg_restore; do
  command -v "$tool" >/dev/null || setup_failed "$tool is needed"
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/shipgate-$TEST_NAME.XXXXXX")"
PLAN_DIR="$WORK/plan"
ROOT="$WORK/root"
WEB="$ROOT/test/web"
ART="$WORK/art"
PASSED=0
FAILED=0
SCENARIO=""
RUNS=0
RC=""
OUT=""
BACKGROUND=() # pids (process group leaders) of shipgate runs in the background

db_cleanup() {
  local pid
  for pid in "${BACKGROUND[@]}"; do kill -KILL -- "-$pid" 2>/dev/null; done
  pg_stop
  if ((FAILED)) || [[ "${KEEP_WORK:-}" == 1 ]]; then
    echo "$TEST_NAME: work folder kept: $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap db_cleanup EXIT
trap 'exit 130' INT TERM

# db_setup [VERSION...]: the server, the database `orders`, the change
# scripts in $PLAN_DIR/sql and the artifacts (default 1.0 2.0 3.0).
db_setup() {
  local start
  start="$(date +%s%3N)"
  pg_start || setup_failed "the PostgreSQL server did not start"
  PG_START_MS=$(($(date +%s%3N) - start))
  pg_create_db orders >/dev/null || setup_failed "cannot create the database orders"
  DB_URL="$(pg_url orders)"
  db_fixture_copy "$PLAN_DIR"
  ((${#@})) || set -- 1.0 2.0 3.0
  "$MAKE_ARTIFACTS" "$ART" "$@" >/dev/null || setup_failed "cannot build the artifacts"
  mkdir -p "$ROOT"
  touch "$ROOT/events.log"
}

# ---------------------------------------------------------------- assertions

ok() { PASSED=$((PASSED + 1)); }
bad() {
  FAILED=$((FAILED + 1))
  echo "FAIL [$SCENARIO] $*" >&2
}
begin() {
  SCENARIO="$1"
  echo "$TEST_NAME: $SCENARIO"
}
# check WHAT COMMAND...: COMMAND must succeed.
check() {
  local what="$1"
  shift
  if "$@"; then ok; else bad "$what"; fi
}
# check_not WHAT COMMAND...: COMMAND must fail.
check_not() {
  local what="$1"
  shift
  if "$@"; then bad "$what"; else ok; fi
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
    bad "$2: exit $RC, expected $1"
    sed 's/^/    stdout| /' "$OUT.stdout" | head -n 40 >&2
    sed 's/^/    stderr| /' "$OUT.stderr" | tail -n 25 >&2
  fi
}
# check_output WHAT FIXED_TEXT: the last run's stdout or stderr has it.
check_output() {
  if grep -qF -- "$2" "$OUT.stdout" "$OUT.stderr"; then
    ok
  else
    bad "$1: '$2' is not in the output"
    sed 's/^/    stdout| /' "$OUT.stdout" | head -n 30 >&2
    sed 's/^/    stderr| /' "$OUT.stderr" | tail -n 15 >&2
  fi
}

# ---------------------------------------------------------------- running shipgate

# sg ARGS...: runs shipgate as a CI runner would (a minimal environment,
# --ci none after the step name), with the connection string in
# $ORDERS_DATABASE_URL (DB_URL; SG_ENV adds NAME=VALUE words). RC is its exit
# code, $OUT.stdout and $OUT.stderr its output.
SG_ENV=()
command_of() {
  local words=1
  case "$1" in release | lock | plan | db) words=2 ;; esac
  CMD=(env -i PATH="$PATH" HOME="${HOME:-/root}" LANG=C.UTF-8 LC_ALL=C.UTF-8 TZ=UTC
       ORDERS_DATABASE_URL="$DB_URL" "${SG_ENV[@]}"
       "$SHIPGATE" "${@:1:words}" --ci none "${@:words+1}")
}
sg() {
  RUNS=$((RUNS + 1))
  OUT="$WORK/run$RUNS"
  command_of "$@"
  printf '%s\n' "${*}" >"$OUT.args"
  (
    exec 2>"$OUT.stderr"
    timeout 180 "${CMD[@]}" </dev/null >"$OUT.stdout"
  )
  RC=$?
}

# sg_background ARGS...: starts shipgate in the background in its own
# process group; BG_PID is its pid (and the group's id).
sg_background() {
  RUNS=$((RUNS + 1))
  OUT="$WORK/run$RUNS"
  command_of "$@"
  printf '%s\n' "${*}" >"$OUT.args"
  set -m
  "${CMD[@]}" </dev/null >"$OUT.stdout" 2>"$OUT.stderr" &
  BG_PID=$!
  set +m
  BACKGROUND+=("$BG_PID")
}

# The common arguments of every plan of these tests.
plan_vars() { PLAN_VARS=(--var ROOT="$ROOT" --var PGSOCK="$PG_SOCKET_DIR" --var PGPORT="$PG_PORT"); }

# deploy PLAN VERSION [ARGS...]: deploy-stage of $ART/app-VERSION.tar.gz to test.
deploy() {
  local plan="$1" version="$2"
  shift 2
  plan_vars
  sg deploy-stage --plan "$plan" --env test --version "$version" \
    --artifact "$ART/app-$version.tar.gz" "${PLAN_VARS[@]}" "$@"
}
# rollback PLAN [ARGS...]
rollback() {
  local plan="$1"
  shift
  plan_vars
  sg rollback --plan "$plan" --env test "${PLAN_VARS[@]}" "$@"
}
# db_cmd status|plan PLAN [ARGS...]
db_cmd() {
  local what="$1" plan="$2"
  shift 2
  plan_vars
  sg db "$what" --plan "$plan" --env test "${PLAN_VARS[@]}" "$@"
}

# ---------------------------------------------------------------- the database

# q SQL: a query as superuser in `orders` (rows of a|b, one per line).
q() { pg_sql orders "$1"; }

table_exists() { [[ "$(q "SELECT to_regclass('public.$1') IS NOT NULL")" == t ]]; }
column_exists() {
  [[ "$(q "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public' AND table_name = '$1' AND column_name = '$2'")" == 1 ]]
}
index_exists() { [[ "$(q "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' AND indexname = '$1'")" == 1 ]]; }

# The public schema as sorted table.column words, comma-separated (what
# app-hook.sh logs).
schema_now() {
  q "SELECT coalesce(string_agg(table_name || '.' || column_name, ',' ORDER BY table_name, column_name), '')
       FROM information_schema.columns WHERE table_schema = 'public'"
}

registry_exists() { [[ "$(q "SELECT to_regclass('shipgate.changes') IS NOT NULL")" == t ]]; }

# registry_changes: "change_id:state" of every row of shipgate.changes in
# seq order, space-separated ("none" when the table does not exist).
registry_changes() {
  registry_exists || { echo none; return 0; }
  q "SELECT coalesce(string_agg(change_id || ':' || state, ' ' ORDER BY seq), '') FROM shipgate.changes"
}

# registry_head: the change_id of the newest row (by seq).
registry_head() {
  registry_exists || return 0
  q "SELECT change_id FROM shipgate.changes ORDER BY seq DESC LIMIT 1"
}

# events_of CHANGE: that change's events in order, space-separated.
events_of() {
  q "SELECT coalesce(string_agg(event, ' ' ORDER BY at, ctid), '') FROM shipgate.events WHERE change_id = '$1'"
}

# revert_order: the change ids of the revert events, in the order they happened.
revert_order() {
  q "SELECT coalesce(string_agg(change_id, ' ' ORDER BY at, ctid), '') FROM shipgate.events WHERE event = 'revert'"
}

# ---------------------------------------------------------------- the applications

ledger_file() { printf '%s/.shipgate/ledger.jsonl' "$WEB"; }
ledger_array() {
  jq -s . "$(ledger_file)" >"$WORK/ledger.json" 2>/dev/null || echo '[]' >"$WORK/ledger.json"
  printf '%s' "$WORK/ledger.json"
}
live_release() { [[ -L "$WEB/current" ]] && basename "$(readlink "$WEB/current")"; }
live_version() {
  [[ -f "$WEB/current/public/index.html" ]] || { echo none; return 0; }
  sed 's/^version //' "$WEB/current/public/index.html"
}
release_of() { # VERSION: its newest successful deploy in the ledger
  [[ -f "$(ledger_file)" ]] || return 0
  jq -r --arg v "$1" 'select(.event == "deploy" and .outcome == "succeeded" and .version == $v) | .release' \
    "$(ledger_file)" | tail -n 1
}
# app_lines: the lines app-hook.sh logged so far.
app_lines() { cat "$ROOT/events.log"; }
app_line_count() { wc -l <"$ROOT/events.log"; }

# ---------------------------------------------------------------- the end

# secret_scan: the password (its random part, which is in every form of
# it) is nowhere in the work folder (outputs, artifacts, ledgers, journals,
# backups' names) nor in the registry tables.
secret_scan() {
  local canary="${PG_PASSWORD##*\\}" hits
  [[ ${#canary} -ge 12 ]] || { bad "the password canary '$canary' is too short to scan for"; return; }
  hits="$(grep -rlaF -- "$canary" "$WORK" 2>/dev/null)"
  check_eq "$hits" "" "files holding the connection password"
  hits="$(grep -rlaF -- "$PG_PASSWORD_ESCAPED" "$WORK" 2>/dev/null)"
  check_eq "$hits" "" "files holding the escaped connection password"
  if pg_running && registry_exists; then
    hits="$(q "SELECT count(*) FROM (SELECT t::text AS row FROM shipgate.changes t UNION ALL SELECT e::text FROM shipgate.events e) r WHERE strpos(row, '$canary') > 0")"
    check_eq "$hits" 0 "registry rows holding the connection password"
  fi
}

db_finish() {
  SCENARIO="secrets"
  secret_scan
  echo "$TEST_NAME: $PASSED passed, $FAILED failed (PostgreSQL started in ${PG_START_MS:-?} ms)"
  ((FAILED == 0))
  exit
}
