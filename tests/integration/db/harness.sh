#!/usr/bin/env bash
# The PostgreSQL harness of the database tests (tests/fixtures/db/pg.sh),
# checked on its own, so a failure there is not mistaken for one of shipgate:
#   - it starts in under 5 s, as a non-root user, on 127.0.0.1 only;
#   - the role `app` connects with the URL (its password percent-escaped)
#     and with the key=value string, over TCP with scram-sha-256; a wrong
#     password is refused; `app` may create databases;
#   - fsync is off;
#   - the change scripts of tests/fixtures/db/sql, run by psql as shipgate's
#     default client would, do what the tests rely on: each verify fails
#     before its deploy and after its revert and passes in between, each
#     revert restores the schema, audit-log's verify and invoices' deploy
#     fail, drop-order-notes and customers-phone have no revert;
#   - a crash (pg_ctl stop -m immediate) and a restart keep the data;
#   - pg_stop leaves no server process, no listening port, no folder; a
#     test that fails after pg_start still stops it through its trap, and
#     one killed with SIGKILL (no trap runs) through pg.sh's watchdog.
#
#   bash tests/integration/db/harness.sh
# Exit status: 0 every assertion held, 1 one failed, 2 set-up failed.
set -uo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
PG_SH="$HERE/../../fixtures/db/pg.sh"
# shellcheck source=../../fixtures/db/pg.sh
source "$PG_SH"
trap pg_stop EXIT
PASSED=0
FAILED=0
ok() { PASSED=$((PASSED + 1)); }
bad() {
  FAILED=$((FAILED + 1))
  echo "FAIL $*" >&2
}
check() {
  local what="$1"
  shift
  if "$@"; then ok; else bad "$what"; fi
}
check_eq() { if [[ "$1" == "$2" ]]; then ok; else bad "$3: got '$1', expected '$2'"; fi; }

# psql as a client from outside, with nothing but what is given.
client() { env -i PATH="$PATH" psql -X -At "$@"; }

start="$(date +%s%3N)"
pg_start || { echo "harness: pg_start failed" >&2; exit 2; }
elapsed=$(($(date +%s%3N) - start))
echo "harness: started in $elapsed ms on port $PG_PORT"
check "the server started in $elapsed ms (limit 5000)" test "$elapsed" -lt 5000
dir="$PG_DIR"
pid="$(pg_postmaster_pid)"
port="$PG_PORT"

owner="$(ps -o user= -p "$pid" | tr -d ' ')"
check "the server runs as a non-root user (it runs as '$owner')" test -n "$owner" -a "$owner" != root
listening="$(ss -Hltn "sport = :$port" | awk '{ print $4 }' | sort -u | tr '\n' ' ')"
check_eq "$listening" "127.0.0.1:$port " "addresses the server listens on"
check_eq "$(pg_sql postgres 'SHOW fsync')" off "fsync"

pg_create_db orders >/dev/null
check_eq "$(client "$(pg_url orders)" -c 'SELECT current_user || $$@$$ || current_database()')" "app@orders" \
  "connecting with the URL"
check_eq "$(client "$(pg_keyvalue orders)" -c 'SELECT current_user')" app "connecting with the key=value string"
check "the URL escapes the password (no raw ':' or '@' in it)" \
  bash -c '[[ "$1" != *"@"* && "$1" != *":"* && "$1" != *" "* ]]' _ "$PG_PASSWORD_ESCAPED"
check_eq "$(pg_sql postgres "SELECT rolpassword LIKE 'SCRAM-SHA-256\$%' AND rolcreatedb FROM pg_authid WHERE rolname = 'app'")" t \
  "app has a scram-sha-256 password and CREATEDB"
check_eq "$(pg_sql postgres "SELECT string_agg(auth_method, ',') FROM pg_hba_file_rules WHERE type = 'host'")" scram-sha-256 \
  "authentication of TCP connections"
check "a wrong password is refused" bash -c '! env -i PATH="$PATH" psql -X -At "$1" -c "SELECT 1" >/dev/null 2>&1' _ \
  "postgresql://app:wrong@127.0.0.1:$port/orders"
check "no password at all is refused over TCP" bash -c '! env -i PATH="$PATH" psql -X -At -w "$1" -c "SELECT 1" >/dev/null 2>&1' _ \
  "postgresql://app@127.0.0.1:$port/orders"
check "app may create a database" client "$(pg_url orders)" -c 'CREATE DATABASE scratch_check' -o /dev/null
check "app may drop it" client "$(pg_url orders)" -c 'DROP DATABASE scratch_check' -o /dev/null
check "the server log records DDL" grep -q "CREATE DATABASE scratch_check" "$PG_LOG"
check "the password is not in the server log" bash -c '! grep -qF -- "$1" "$2"' _ "${PG_PASSWORD##*\\}" "$PG_LOG"

# The change scripts of tests/fixtures/db/sql do what the tests say, run by
# psql as shipgate's default client would (one transaction, stop on error).
SQL_DIR="$HERE/../../fixtures/db/sql"
run_script() { # CHANGE SCRIPT: exit code of psql running it as app
  env -i PATH="$PATH" PGPASSWORD="$PG_PASSWORD" psql -X -q -h 127.0.0.1 -p "$PG_PORT" -U app -d orders \
    -v ON_ERROR_STOP=1 --single-transaction -f "$SQL_DIR/$1/$2.sql" >/dev/null 2>&1
}
fails() { ! "$@"; }
schema() {
  pg_sql orders "SELECT coalesce(string_agg(c.relname || '.' || coalesce(a.attname, ''), ',' ORDER BY c.relname, a.attname), '')
                   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
                   LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
}
for change in customers-table orders-table orders-status orders-status-index orders-coupon orders-idle-timeout; do
  before="$(schema)"
  check "$change: verify fails before its deploy" fails run_script "$change" verify
  check "$change: deploy" run_script "$change" deploy
  check "$change: verify after the deploy" run_script "$change" verify
  check "$change: revert" run_script "$change" revert
  check_eq "$(schema)" "$before" "$change: the schema after its revert"
  check "$change: verify fails after the revert" fails run_script "$change" verify
  run_script "$change" deploy
done
check "drop-order-notes: deploy" run_script drop-order-notes deploy
check "drop-order-notes: verify" run_script drop-order-notes verify
check "drop-order-notes has no revert script" test ! -e "$SQL_DIR/drop-order-notes/revert.sql"
check "drop-order-notes has a reason" test -s "$SQL_DIR/drop-order-notes/irreversible"
check "audit-log: deploy" run_script audit-log deploy
check "audit-log: its verify fails" fails run_script audit-log verify
check "audit-log: revert" run_script audit-log revert
before="$(schema)"
check "invoices: its deploy fails" fails run_script invoices deploy
check_eq "$(schema)" "$before" "the schema after the failed deploy of invoices"
check "customers-phone has no revert script" test ! -e "$SQL_DIR/customers-phone/revert.sql"
pg_sql postgres "DROP DATABASE orders" >/dev/null
pg_create_db orders >/dev/null

# A crash and a restart keep the data.
pg_sql orders "CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)"
pg_crash
check "pg_crash stopped the server" bash -c '! env -i PATH="$PATH" psql -X -At -w "$1" -c "SELECT 1" >/dev/null 2>&1' _ "$(pg_url orders)"
pg_restart
check_eq "$(pg_sql orders 'SELECT x FROM kept')" 7 "data after a crash and restart"
pid="$(pg_postmaster_pid)"

pg_stop
check "pg_stop removed $dir" test ! -e "$dir"
check "pg_stop ended the server (pid $pid)" bash -c '! { state=$(awk "{print \$3}" /proc/$1/stat 2>/dev/null) && [[ $state != Z ]]; }' _ "$pid"
check "nothing listens on port $port any more" test -z "$(ss -Hltn "sport = :$port")"

# A test that fails after pg_start: its trap stops the server.
info="$(mktemp)"
bash -c '
  source "$1"
  trap pg_stop EXIT
  pg_start || exit 2
  printf "%s %s %s\n" "$PG_DIR" "$(pg_postmaster_pid)" "$PG_PORT" >"$2"
  false
  exit 1' _ "$PG_SH" "$info"
rc=$?
read -r dir pid port <"$info"
rm -f "$info"
check_eq "$rc" 1 "exit code of the failing test"
check "its trap removed $dir" test -n "$dir" -a ! -e "$dir"
check "its trap ended the server (pid $pid)" bash -c '! { state=$(awk "{print \$3}" /proc/$1/stat 2>/dev/null) && [[ $state != Z ]]; }' _ "$pid"
check "nothing listens on its port $port" test -z "$(ss -Hltn "sport = :$port")"

# A test killed with SIGKILL (a runner's timeout) runs no trap: the
# watchdog stops its server and removes the folder within a few seconds.
info="$(mktemp)"
bash -c '
  source "$1"
  pg_start || exit 2
  printf "%s %s %s\n" "$PG_DIR" "$(pg_postmaster_pid)" "$PG_PORT" >"$2"
  exec sleep 60' _ "$PG_SH" "$info" &
victim=$!
tries=100
while ((tries-- > 0)) && [[ ! -s "$info" ]]; do sleep 0.1; done
read -r dir pid port <"$info"
rm -f "$info"
kill -KILL "$victim"
wait "$victim" 2>/dev/null
tries=100
while ((tries-- > 0)) && [[ -e "$dir" ]]; do sleep 0.1; done
check "after SIGKILL of its shell, the watchdog removed $dir" test -n "$dir" -a ! -e "$dir"
check "after SIGKILL of its shell, the watchdog ended the server (pid $pid)" bash -c '! { state=$(awk "{print \$3}" /proc/$1/stat 2>/dev/null) && [[ $state != Z ]]; }' _ "$pid"
check "nothing listens on its port $port" test -z "$(ss -Hltn "sport = :$port")"

echo "harness: $PASSED passed, $FAILED failed"
((FAILED == 0))
