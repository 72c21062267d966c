#!/usr/bin/env bash
# The secret canary: every step of a release runs with known secret values
# in its environment and behind every secret reference a plan can hold, and
# afterwards no file the run produced holds any of them, in any form.
#
#   bash tests/integration/secret_canary.sh PATH/TO/shipgate
#
# The canaries, one per way a secret reaches shipgate (each a fresh random
# string with " \ / + & < space , % in it, so its URL-encoded, JSON-, XML-
# and Markdown-escaped forms all differ from it):
#   API_TOKEN            *_TOKEN: smoke and health-check Authorization headers
#   SHOP_SESSION         a name that does not look secret, declared with
#                        --secret-env SHOP_SESSION on every run
#   DEPLOY_TOKEN         ${DEPLOY_TOKEN} in the argv of the plan's start hook
#   RELEASE_SIGNING_KEY  a secret-named variable written in the plan itself
#   CI_JOB_TOKEN         inside the failure messages of a test report
#   SMTP_PASSWORD        the mail channel's password_env
#   HOOK_SECRET          the generic webhook's secret_env (whsec_ + Base64
#                        of a canary: both the text and the key are scanned)
#   OPS_ROBOT_SECRET     the DingTalk robot's secret_env
#   OPS_ROBOT_URL        the robot's url_env, its token a canary (undeclared
#                        name: the plan makes it secret)
#   ORDERS_DATABASE_URL  connection_env of a real PostgreSQL whose role's
#                        password is a canary (undeclared name)
# Steps, each with --json, --junit, --markdown, --dotenv, --ci github with
# $GITHUB_OUTPUT and $GITHUB_STEP_SUMMARY, stdout and stderr: plan validate,
# plan show, gate-on-test-report (and with --ci gitlab, --merged-junit),
# deploy-stage (success, a failed deploy that rolls back, a run killed with
# -9 and its lease and journal, the redeploy that reconciles it), the start
# hook printing its whole environment, smoke-test against a real HTTP server
# (a failing check, headers and a JSON body with secrets, a command check),
# a smoke-test error message, rollback, release unblock, lock release,
# signoff, notify to a real SMTP server and webhook receiver with a failed
# delivery kept in the outbox and --flush, status, history, db status, db
# plan. Then tests/integration/secret_scan.py searches every file under the
# work folder (outputs, targets with ledger, journal, lease, backups and
# dumps, the outbox, the mails received, the webhook bodies and headers
# received) and fails listing file:line for each hit.
#
# Not scanned, because they hold the secrets by necessity: in/ (the inputs:
# plans, the test report, the canaries), servers/ (what the servers were
# configured with and logged); the query string of each webhook request (the
# robot's URL carries its token to the robot).
#
# The controls, which prove the scan can fail:
#   1. one file per form of a canary (and a base64-encoded mail) in a
#      folder of their own: the scan must report every form;
#   2. a smoke test whose command prints SHOP_SESSION, run without
#      --secret-env: the value is the user's own output there, and the scan
#      must find it in that run's outputs (and nothing else);
#   3. after the clean scan, a canary planted in a target's ledger (a hidden
#      folder of the real tree): the scan must report exactly that line.
#
# Needs: bash, python3 (/usr/bin/python3 with aiosmtpd), openssl, jq, tar,
# sha256sum, PostgreSQL (tests/fixtures/db/pg.sh).
set -euo pipefail

[[ $# -eq 1 ]] || { echo "usage: $0 PATH/TO/shipgate" >&2; exit 2; }
SHIPGATE="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
NOTIFY_FIXTURES="$REPO/tests/fixtures/notify"
SCAN="$HERE/secret_scan.py"
[[ -x "$SHIPGATE" ]] || { echo "no shipgate binary at $SHIPGATE" >&2; exit 2; }
for tool in jq openssl tar sha256sum psql pg_dump pg_restore; do
  command -v "$tool" >/dev/null || { echo "$tool is needed" >&2; exit 2; }
done

# shellcheck source=../fixtures/db/pg.sh
source "$REPO/tests/fixtures/db/pg.sh"
# shellcheck source=../fixtures/db/plan.sh
source "$REPO/tests/fixtures/db/plan.sh"

WORK="$(mktemp -d /tmp/shipgate-secret-canary.XXXXXX)"
IN="$WORK/in"           # inputs: not scanned
SERVERS="$WORK/servers" # the servers' own configuration and logs: not scanned
OUT="$WORK/out"         # every run's stdout, stderr and output files
GH="$WORK/github"       # $GITHUB_OUTPUT and $GITHUB_STEP_SUMMARY
ROOT="$WORK/root"       # the targets
OUTBOX="$WORK/outbox"
MAIL="$WORK/mail"
SNAP="$WORK/snapshots"  # copies of states that do not last (a killed run's journal, a pending outbox)
CONTROL="$WORK/control" # the controls' own files: scanned on their own
mkdir -p "$IN" "$SERVERS/hooks" "$OUT" "$GH" "$ROOT" "$MAIL" "$SNAP" "$CONTROL"
PIDS=()
BACKGROUND=""
PASSED=0
FAILED=0
START_MS=$(date +%s%3N)

cleanup() {
  local status=$? pid
  set +e # a server killed here "fails" its wait
  [[ -n "$BACKGROUND" ]] && kill -KILL -- "-$BACKGROUND" 2>/dev/null
  [[ -s "$ROOT/holding" ]] && kill -KILL "$(cat "$ROOT/holding")" 2>/dev/null # the held start command
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  pg_stop
  if ((FAILED)) || ((status)) || [[ "${KEEP_WORK:-}" == 1 ]]; then echo "work folder kept: $WORK"; else rm -rf "$WORK"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { PASSED=$((PASSED + 1)); echo "ok $((PASSED + FAILED)) - $*"; }
not_ok() { FAILED=$((FAILED + 1)); echo "not ok $((PASSED + FAILED)) - $*"; }
check() { # WHAT COMMAND...
  local what="$1"
  shift
  if "$@"; then ok "$what"; else not_ok "$what"; fi
}
setup_failed() { echo "set-up failed: $*" >&2; FAILED=1; exit 2; }

# ---------------------------------------------------------------- the canaries

# canary VAR WORD [LABEL]: VAR becomes a unique value whose escaped forms
# all differ from it; its random part, which survives any escaping, is its
# "core". The scan names it LABEL (default: VAR).
CANARIES=() # label, value, core; three words per canary
canary() {
  local core
  core="sgcanary-$2-$(openssl rand -hex 12)"
  printf -v "$1" '%s-q"b\\s/p+a&l<t m,%%' "$core"
  CANARIES+=("${3:-$1}" "${!1}" "$core")
}
url_encode() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""), end="")' "$1"; }

canary API_TOKEN api
canary SHOP_SESSION session
canary DEPLOY_TOKEN deploy
canary RELEASE_SIGNING_KEY plankey
canary CI_JOB_TOKEN job
canary SMTP_PASSWORD smtp
canary HOOK_KEY hookkey "HOOK_SECRET key"
HOOK_SECRET="whsec_$(printf '%s' "$HOOK_KEY" | base64 -w0)"
CANARIES+=(HOOK_SECRET "$HOOK_SECRET" "${HOOK_SECRET:6:24}")
canary OPS_ROBOT_SECRET robotsecret
canary ROBOT_TOKEN robottoken "OPS_ROBOT_URL token"
# pg.sh gives the role `app` this password; ORDERS_DATABASE_URL holds it, URL-encoded.
canary PG_PASSWORD dbpassword "ORDERS_DATABASE_URL password"

# The list the scanner reads.
python3 -c '
import json, sys
words = sys.argv[2:]
json.dump([{"label": words[i], "value": words[i + 1], "core": words[i + 2]} for i in range(0, len(words), 3)],
          open(sys.argv[1], "w"), indent=1)' "$IN/canaries.json" "${CANARIES[@]}"
check "each canary's raw, URL, JSON and XML forms differ" python3 -c '
import json, sys, urllib.parse
from xml.sax.saxutils import escape
for c in json.load(open(sys.argv[1])):
    v = c["value"]
    forms = {v, urllib.parse.quote(v, safe=""), json.dumps(v)[1:-1]}
    if c["label"] != "HOOK_SECRET" and (len(forms) != 3 or escape(v, {"\"": "&quot;"}) == v):
        sys.exit(c["label"])' "$IN/canaries.json"

# ---------------------------------------------------------------- servers

pg_start || setup_failed "PostgreSQL did not start"
pg_create_db orders >/dev/null || setup_failed "cannot create the database orders"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$IN/key.pem" \
  -out "$IN/cert.pem" -days 2 -subj /CN=127.0.0.1 -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null ||
  setup_failed "openssl cannot make a certificate"
/usr/bin/python3 "$NOTIFY_FIXTURES/smtp_server.py" "$MAIL" --tls "$IN/cert.pem" "$IN/key.pem" \
  --auth release-bot "$SMTP_PASSWORD" >"$SERVERS/smtp.port" 2>"$SERVERS/smtp.log" &
PIDS+=($!)
jq -n --arg token "$ROBOT_TOKEN" --arg secret "$OPS_ROBOT_SECRET" --arg generic "$HOOK_SECRET" \
  '{dingtalk: {token: $token, secret: $secret}, generic: {secret: $generic}}' >"$SERVERS/hooks/config.json"
python3 "$NOTIFY_FIXTURES/webhook_receiver.py" "$SERVERS/hooks" >"$SERVERS/hooks.port" 2>"$SERVERS/hooks.log" &
PIDS+=($!)
python3 "$REPO/tests/integration/servers/test_server.py" >"$SERVERS/echo.port" 2>"$SERVERS/echo.log" &
PIDS+=($!)
for _ in $(seq 100); do
  [[ -s "$SERVERS/smtp.port" && -s "$SERVERS/hooks.port" && -s "$SERVERS/echo.port" ]] && break
  sleep 0.1
done
SMTP_PORT="$(head -n1 "$SERVERS/smtp.port")"
HOOK_PORT="$(head -n1 "$SERVERS/hooks.port")"
ECHO_PORT="$(head -n1 "$SERVERS/echo.port")"
[[ -n "$SMTP_PORT" && -n "$HOOK_PORT" && -n "$ECHO_PORT" ]] || setup_failed "the servers did not start: $(cat "$SERVERS"/*.log)"

# ---------------------------------------------------------------- inputs

"$REPO/tests/fixtures/deploy/make-artifacts.sh" "$IN/art" 1.0 1.1:broken 2.0 3.0 >/dev/null
db_fixture_copy "$IN/plan"
mkdir -p "$ROOT/test/web/config" "$ROOT/prod/web/config"
echo "db_host=db01" >"$ROOT/test/web/config/app.conf"
echo "db_host=db01" >"$ROOT/prod/web/config/app.conf"

# The start hook prints what a careless hook prints: its arguments (one is
# ${DEPLOY_TOKEN}, one the plan's own secret) and its whole environment.
# With $ROOT/hold present, a deploy's start waits (the test kills it there).
# shellcheck disable=SC2016 # $VAR is for the hook's shell
HOOK='echo "start hook ($SHIPGATE_MODE $SHIPGATE_VERSION): argv token $1, plan key $2"; env | LC_ALL=C sort; if [ -e "$3/hold" ] && [ "$SHIPGATE_MODE" = deploy ]; then echo $$ >"$3/holding"; exec sleep 60; fi; exec "$SHIPGATE_RELEASE_DIR/bin/start"'

# write_plan FILE CHANGE...: the launch plan, with the database changes given.
write_plan() {
  local file="$1" change
  shift
  {
    cat <<PLAN
version: 1
name: shop
variables:
  RELEASE_SIGNING_KEY: '$RELEASE_SIGNING_KEY'
environments:
  - test
  - name: prod
    signoffs: {required: [tester], self_approval: false}
deadline: 2m
lock_ttl: 1m
services:
  web:
    target: {type: local, roots: ["\${ROOT}/\${ENV}/web"]}
    config_files: [config/app.conf]
    backups:
      - name: settings
        run: [cp, "\${ROOT}/\${ENV}/web/config/app.conf", "\${BACKUP_DIR}/app.conf"]
        output: "\${BACKUP_DIR}/app.conf"
    start: [sh, -c, '$HOOK', start-hook, "\${DEPLOY_TOKEN}", "\${RELEASE_SIGNING_KEY}", "\${ROOT}"]
    health:
      defaults: {retries: 0, timeout: 5s, headers: {Authorization: "Bearer \${API_TOKEN}"}}
      checks:
        - name: version
          command: [grep, -qx, "version \${VERSION}", "\${ROOT}/\${ENV}/web/current/public/index.html"]
        - name: healthy
          command: [grep, -qx, ok, "\${ROOT}/\${ENV}/web/current/public/health"]
        - name: api sees the session
          url: "http://127.0.0.1:\${ECHO_PORT}/echo?version=\${VERSION}"
          headers: {X-Session: "\${SHOP_SESSION}"}
          expect: {status: 200, json: {/headers/x-session: "\${SHOP_SESSION}"}}
databases:
  - name: orders
    connection_env: ORDERS_DATABASE_URL
    backup: {verify-restore: true}
    changes:
PLAN
    for change in "$@"; do
      printf '      - {id: %s, deploy: sql/%s/deploy.sql, verify: sql/%s/verify.sql, revert: sql/%s/revert.sql}\n' \
        "$change" "$change" "$change" "$change"
    done
    cat <<PLAN
notify:
  outbox: $OUTBOX
  channels:
    mail:
      type: smtp
      url: "smtp://127.0.0.1:$SMTP_PORT"
      username: release-bot
      password_env: SMTP_PASSWORD
      from: "Release bot <release@example.com>"
      cacert: $IN/cert.pem
    ops-robot: {type: dingtalk, url_env: OPS_ROBOT_URL, secret_env: OPS_ROBOT_SECRET}
    audit: {type: webhook, url: "http://127.0.0.1:$HOOK_PORT/generic/shop", secret_env: HOOK_SECRET}
  roles:
    developer: [dev@example.com, audit]
    tech-lead: [lead@example.com, ops-robot]
    tester: [qa@example.com]
    ops: [ops@example.com, ops-robot, audit]
    dba: [dba@example.com]
PLAN
  } >"$file"
}
write_plan "$IN/plan/v1.yml" customers-table orders-table
write_plan "$IN/plan/v2.yml" customers-table orders-table orders-status
write_plan "$IN/plan/v3.yml" customers-table orders-table orders-status orders-coupon
PLAN_VARS=(--var "ROOT=$ROOT" --var "ECHO_PORT=$ECHO_PORT")

# The smoke checks: secrets in headers, in a JSON body sent and echoed
# back, in expected texts; checks that fail, and a command that prints its
# environment.
cat >"$IN/smoke.yml" <<'CHECKS'
version: 1
defaults: {timeout: 5s, retries: 0, headers: {Authorization: "Bearer ${API_TOKEN}"}}
checks:
  - name: echo answers with the session
    url: http://127.0.0.1:${ECHO_PORT}/echo
    headers: {X-Session: "${SHOP_SESSION}"}
    expect: {status: 200, json: {/headers/x-session: "${SHOP_SESSION}"}}
  - name: echo misses what was expected
    url: http://127.0.0.1:${ECHO_PORT}/echo?step=smoke
    method: POST
    headers: {X-Session: "${SHOP_SESSION}", X-Deploy: "${DEPLOY_TOKEN}"}
    json: {token: "${API_TOKEN}", session: "${SHOP_SESSION}", signing: "${HOOK_SECRET}"}
    expect:
      status: 201
      body: {contains: "${SHOP_SESSION} is not there", not_contains: "${API_TOKEN}"}
      json: {/headers/authorization: "Bearer ${DEPLOY_TOKEN}"}
  - name: teapot
    url: http://127.0.0.1:${ECHO_PORT}/status?code=418
    expect: {status: 200}
  - name: command prints its environment
    command: [sh, -c, 'echo "api=$API_TOKEN session=$SHOP_SESSION"; env | LC_ALL=C sort; exit 3']
    expect: {exit_code: 0, output_contains: "${SMTP_PASSWORD}"}
CHECKS
# A URL that is invalid only after substitution: its error message shows it.
cat >"$IN/smoke-bad-url.yml" <<'CHECKS'
version: 1
checks:
  - name: session in the URL
    url: http://127.0.0.1:${ECHO_PORT}/echo?session=${SHOP_SESSION}
CHECKS

# A test report whose failures quote the job token and the session.
python3 - "$IN/report.xml" "$CI_JOB_TOKEN" "$SHOP_SESSION" <<'PY'
import sys
from xml.sax.saxutils import escape, quoteattr
path, job, session = sys.argv[1:]
refresh = escape("AssertionError: refresh failed\nused token %s\nsession %s" % (job, session))
open(path, "w").write("""<?xml version="1.0" encoding="utf-8"?>
<testsuites>
  <testsuite name="deploy" tests="3" failures="2" errors="0" skipped="0">
    <testcase classname="deploy.auth" name="test_login" file="test_auth.py" line="5" time="0.01"/>
    <testcase classname="deploy.auth" name="test_token_refresh [A]" file="test_auth.py" line="12" time="0.02">
      <failure message=%s>%s</failure>
      <system-out>%s</system-out>
    </testcase>
    <testcase classname="deploy.auth" name=%s file="test_auth.py" line="20" time="0.01">
      <failure message=%s>AssertionError: refused</failure>
    </testcase>
  </testsuite>
</testsuites>
""" % (quoteattr("token %s was rejected" % job), refresh, escape("Authorization: Bearer " + job),
       quoteattr("test_connect[%s]" % session), quoteattr("session %s refused" % session)))
PY
printf '# Release 2.0\nRun the database changes first.\n' >"$IN/notes.md"

# ---------------------------------------------------------------- running shipgate

# Every run gets the canaries in its environment, as a CI job holds its
# secrets, and GitHub Actions' variables, so every run appends to the same
# $GITHUB_OUTPUT and $GITHUB_STEP_SUMMARY.
RUN_ENV=(PATH="$PATH" HOME="${HOME:-/root}" LANG=C.UTF-8 LC_ALL=C.UTF-8 TZ=UTC
         GITHUB_ACTIONS=true GITHUB_OUTPUT="$GH/output" GITHUB_STEP_SUMMARY="$GH/summary"
         GITHUB_ACTOR=release-bot GITHUB_SHA=4f2a9c1e0b7d GITHUB_REF_NAME=main GITHUB_REPOSITORY=acme/shop
         GITHUB_RUN_ID=42 GITHUB_SERVER_URL=https://github.com
         API_TOKEN="$API_TOKEN" SHOP_SESSION="$SHOP_SESSION" DEPLOY_TOKEN="$DEPLOY_TOKEN"
         CI_JOB_TOKEN="$CI_JOB_TOKEN" SMTP_PASSWORD="$SMTP_PASSWORD" HOOK_SECRET="$HOOK_SECRET"
         OPS_ROBOT_SECRET="$OPS_ROBOT_SECRET"
         OPS_ROBOT_URL="http://127.0.0.1:$HOOK_PORT/dingtalk/robot/send?access_token=$(url_encode "$ROBOT_TOKEN")"
         ORDERS_DATABASE_URL="$(pg_url orders)")
CI_MODE=github
SECRET_ARGS=(--secret-env SHOP_SESSION)
RUN_OUT="$OUT"
LAST=""
RC=0

# sg NAME EXPECTED_RC ARGS...: one shipgate run with every output; its files
# are $RUN_OUT/NAME.{stdout,stderr,json,junit.xml,md,env}.
sg() {
  local name="$1" want="$2" words=1
  shift 2
  case "$1" in plan | db | lock | release) words=2 ;; esac
  LAST="$RUN_OUT/$name"
  RC=0
  env -i "${RUN_ENV[@]}" timeout 120 "$SHIPGATE" "${@:1:words}" --ci "$CI_MODE" "${SECRET_ARGS[@]}" \
    --json "$LAST.json" --junit "$LAST.junit.xml" --markdown "$LAST.md" --dotenv "$LAST.env" "${@:words+1}" \
    </dev/null >"$LAST.stdout" 2>"$LAST.stderr" || RC=$?
  if [[ "$RC" == "$want" ]]; then
    ok "$name: exit $RC"
  else
    not_ok "$name: exit $RC, expected $want"
    sed 's/^/    stdout| /' "$LAST.stdout" | head -n 30
    sed 's/^/    stderr| /' "$LAST.stderr" | tail -n 20
  fi
}
# has FILE TEXT: FILE holds TEXT (proof that a channel carried what is scanned).
has() { grep -qF -- "$2" "$1" 2>/dev/null; }
deploy() { # NAME EXPECTED_RC PLAN VERSION [ARGS...]
  sg "$1" "$2" deploy-stage --plan "$IN/plan/$3.yml" --env test --version "$4" \
    --artifact "$IN/art/app-$4.tar.gz" "${PLAN_VARS[@]}" "${@:5}"
}
live_version() { sed 's/^version //' "$ROOT/test/web/current/public/index.html" 2>/dev/null; }
WEB_STATE="$ROOT/test/web/.shipgate"

# ---------------------------------------------------------------- the steps

sg 01-plan-validate 0 plan validate --plan "$IN/plan/v1.yml" "${PLAN_VARS[@]}"
sg 02-plan-show 0 plan show --plan "$IN/plan/v3.yml" --env test --version 3.0 "${PLAN_VARS[@]}"
check "plan show prints the start hook with *** for the tokens" has "$LAST.stdout" "start-hook '***' '***'"

sg 03-gate 1 gate-on-test-report --report "$IN/report.xml" --merged-junit "$OUT/03-gate.merged.xml" \
  --environment test --plan "$IN/plan/v1.yml" --version 1.0 --plan-var "ROOT=$ROOT" --plan-var "ECHO_PORT=$ECHO_PORT"
check "the gate quotes the failure with *** for the token" has "$LAST.json" "token *** was rejected"
CI_MODE=gitlab
sg 04-gate-gitlab 1 gate-on-test-report --report "$IN/report.xml"
CI_MODE=github

deploy 05-deploy-1.0 0 v1 1.0
check "1.0 is live" test "$(live_version)" = 1.0
check "the hook's output is in the transcript, its arguments masked" has "$LAST.json" "argv token ***, plan key ***"
check "the hook printed its environment into the transcript" has "$LAST.json" "SHIPGATE_MODE=deploy"
deploy 06-deploy-1.1-broken 1 v2 1.1
check "the broken 1.1 was rolled back to 1.0" test "$(live_version)" = 1.0
sg 07-release-unblock 0 release unblock --plan "$IN/plan/v2.yml" --version 1.1 --reason "fixed in 2.0" "${PLAN_VARS[@]}"
deploy 08-deploy-2.0 0 v2 2.0

sg 09-smoke 1 smoke-test --checks "$IN/smoke.yml" --var "ECHO_PORT=$ECHO_PORT" \
  --environment test --plan "$IN/plan/v2.yml" --version 2.0 --plan-var "ROOT=$ROOT" --plan-var "ECHO_PORT=$ECHO_PORT"
check "the smoke test's failing check kept its transcript" has "$LAST.json" "Authorization: ***"
sg 10-smoke-bad-url 2 smoke-test --checks "$IN/smoke-bad-url.yml" --var "ECHO_PORT=$ECHO_PORT"

# A deploy killed with -9 while its start hook runs leaves its lease and
# journal on the target: copied before anything settles them.
touch "$ROOT/hold"
set -m
env -i "${RUN_ENV[@]}" "$SHIPGATE" deploy-stage --ci github "${SECRET_ARGS[@]}" --plan "$IN/plan/v3.yml" --env test \
  --version 3.0 --artifact "$IN/art/app-3.0.tar.gz" "${PLAN_VARS[@]}" --json "$OUT/11-deploy-3.0-killed.json" \
  </dev/null >"$OUT/11-deploy-3.0-killed.stdout" 2>"$OUT/11-deploy-3.0-killed.stderr" &
BACKGROUND=$!
set +m
for _ in $(seq 600); do [[ -s "$ROOT/holding" ]] && break; sleep 0.1; done
check "the deploy of 3.0 reached its start hook" test -s "$ROOT/holding"
mkdir -p "$SNAP/killed"
cp -a "$WEB_STATE/." "$SNAP/killed/"
kill -KILL -- "-$BACKGROUND" 2>/dev/null || true
wait "$BACKGROUND" 2>/dev/null || true
BACKGROUND=""
# The hook runs in a process group of its own; with shipgate gone, it is ours to end.
HOOK_PID="$(cat "$ROOT/holding")"
if [[ "$HOOK_PID" =~ ^[0-9]+$ ]]; then kill -KILL "$HOOK_PID" 2>/dev/null || true; fi
rm -f "$ROOT/hold" "$ROOT/holding"
check "the killed run's journal was captured" test -s "$SNAP/killed/journal.jsonl"
check "the killed run's lease was captured" test -s "$SNAP/killed/lock"

sg 12-lock-release 0 lock release --plan "$IN/plan/v3.yml" --env test --force --reason "job killed" "${PLAN_VARS[@]}"
deploy 13-deploy-3.0 0 v3 3.0
check "3.0 is live after the reconciliation" test "$(live_version)" = 3.0
sg 14-rollback 0 rollback --plan "$IN/plan/v3.yml" --env test --reason "checkout errors" "${PLAN_VARS[@]}"
check "the rollback returned to 2.0" test "$(live_version)" = 2.0

sg 15-signoff 0 signoff --plan "$IN/plan/v2.yml" --env prod --version 2.0 --role tester --by qa.li \
  --decision approve --comment "acceptance run 812 green" "${PLAN_VARS[@]}"

# notify: the audit webhook answers 500, so its entry waits in the outbox.
echo '{"generic": {"mode": "500"}}' >"$SERVERS/hooks/modes.json"
sg 16-notify 0 notify --plan "$IN/plan/v2.yml" --env prod --event handoff-to-ops --version 2.0 --level P0 \
  --attach "$IN/notes.md" --comment "window: Saturday 22:00" "${PLAN_VARS[@]}"
check "the audit delivery is pending" test "$(jq -r '.deliveries[] | select(.channel == "audit") | .state' "$LAST.json")" = pending
mkdir -p "$SNAP/outbox-pending"
cp -a "$OUTBOX/." "$SNAP/outbox-pending/"
rm -f "$SERVERS/hooks/modes.json"
sg 17-notify-flush 0 notify --plan "$IN/plan/v2.yml" --env prod --flush "${PLAN_VARS[@]}"
check "the flush delivered it" test "$(jq -r '.deliveries[] | select(.channel == "audit") | .state' "$LAST.json")" = delivered

sg 18-status 0 status --plan "$IN/plan/v3.yml" --env test "${PLAN_VARS[@]}"
sg 19-history 0 history --plan "$IN/plan/v3.yml" --env test "${PLAN_VARS[@]}"
sg 20-db-status 0 db status --plan "$IN/plan/v3.yml" --env test "${PLAN_VARS[@]}"
sg 21-db-plan 0 db plan --plan "$IN/plan/v3.yml" --env test "${PLAN_VARS[@]}"
sg 22-db-plan-rollback 0 db plan --plan "$IN/plan/v3.yml" --env test --rollback "${PLAN_VARS[@]}"

# ---------------------------------------------------------------- every channel was used

jq -c 'del(.query)' "$SERVERS/hooks/received.jsonl" >"$WORK/webhooks-received.jsonl"
count() { find "$@" 2>/dev/null | wc -l; }
check "stdout and stderr of every run" test "$(count "$OUT" -name '*.stdout')" -ge 22
check "--json, --junit, --markdown, --dotenv files" test "$(count "$OUT" -name '*.json' -o -name '*.junit.xml' -o -name '*.md' -o -name '*.env')" -ge 80
check "\$GITHUB_OUTPUT" test -s "$GH/output"
check "\$GITHUB_STEP_SUMMARY" test -s "$GH/summary"
check "GitHub annotations on stdout" has "$OUT/03-gate.stdout" "::error"
check "a GitLab section on stdout" has "$OUT/04-gate-gitlab.stdout" "section_start"
check "the ledger" test -s "$WEB_STATE/ledger.jsonl"
check "the database dump" test "$(count "$WEB_STATE/backups" -name 'db-orders.dump' -size +0)" -ge 1
check "the configuration and command backups" test "$(count "$WEB_STATE/backups" -name 'app.conf')" -ge 2
check "outbox entries" test "$(count "$SNAP/outbox-pending" "$OUTBOX" -type f)" -ge 1
check "mails received" test "$(count "$MAIL" -name '*.eml')" -ge 5
check "webhook bodies received, signed" test "$(jq -s '[.[] | select(.channel == "generic" and .verdict == "ok")] | length' "$WORK/webhooks-received.jsonl")" -ge 1
check "robot messages received, signed" test "$(jq -s '[.[] | select(.channel == "dingtalk" and .verdict == "ok")] | length' "$WORK/webhooks-received.jsonl")" -ge 1
check "the test report's failure reached a mail" python3 -c '
import email, email.policy, glob, sys
for path in glob.glob(sys.argv[1] + "/*.eml"):
    message = email.message_from_binary_file(open(path, "rb"), policy=email.policy.default)
    for part in message.walk():
        if not part.is_multipart() and b"test_token_refresh" in (part.get_payload(decode=True) or b""):
            sys.exit(0)
sys.exit(1)' "$MAIL"

# ---------------------------------------------------------------- the scan

scan() { # OUTPUT_FILE ROOT...: runs the scanner over ROOT... without the excluded folders
  local out="$1"
  shift
  python3 "$SCAN" "$IN/canaries.json" --exclude "$IN" --exclude "$SERVERS" --exclude "$CONTROL" "$@" \
    >"$out" 2>"$out.summary"
}
SCAN_RC=0
scan "$CONTROL/main-scan.txt" "$WORK" || SCAN_RC=$?
if [[ "$SCAN_RC" == 0 ]]; then
  ok "no canary in any file of the run ($(cat "$CONTROL/main-scan.txt.summary"))"
else
  not_ok "canaries found ($(cat "$CONTROL/main-scan.txt.summary")):"
  sed "s|$WORK/|    |" "$CONTROL/main-scan.txt"
fi

# ---------------------------------------------------------------- the controls

# 1. Every form the scanner knows, planted one per file.
mkdir -p "$CONTROL/planted"
python3 - "$CONTROL/planted" "$API_TOKEN" <<'PY'
import base64, json, sys, urllib.parse
from email.message import EmailMessage
folder, value = sys.argv[1], sys.argv[2]
forms = {
    "raw": value,
    "url": urllib.parse.quote(value, safe=""),
    "url-plus": urllib.parse.quote_plus(value, safe=""),
    "json": json.dumps({"v": value}),
    "xml": value.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;"),
    "base64+0": base64.b64encode(value.encode()).decode(),
    "base64+1": base64.b64encode(b"u" + value.encode()).decode(),
    "base64+2": base64.b64encode(b"u:" + value.encode()).decode(),
    "hex": value.encode().hex(),
    "core-1": value[:30],
}
for name, text in forms.items():
    open("%s/%s.txt" % (folder, name), "w").write("line one\n" + text + "\n")
mail = EmailMessage()
mail["Subject"] = "control"
mail.set_content("the token is " + value + "\n" * 3, cte="base64")
open(folder + "/mail.eml", "wb").write(bytes(mail))
PY
python3 "$SCAN" "$IN/canaries.json" "$CONTROL/planted" >"$CONTROL/planted-scan.txt" 2>/dev/null || true
for form in raw url url-plus json xml base64+0 base64+1 base64+2 hex core-1; do
  check "control: the scan finds the $form form" grep -qF "planted/$form.txt:2: API_TOKEN ($form)" "$CONTROL/planted-scan.txt"
done
check "control: the scan finds a base64-encoded mail body" grep -qF "mail.eml [decoded part 0]:1: API_TOKEN (raw)" "$CONTROL/planted-scan.txt"

# 2. A value printed by the user's own command, not declared: shipgate cannot
#    know it, so it is in the outputs, and the scan must see it there.
mkdir -p "$CONTROL/undeclared"
cat >"$IN/smoke-undeclared.yml" <<'CHECKS'
version: 1
checks:
  - name: command prints the session
    command: [sh, -c, 'echo "session=$SHOP_SESSION"; exit 1']
CHECKS
RUN_OUT="$CONTROL/undeclared"
SECRET_ARGS=()
sg control-undeclared 1 smoke-test --checks "$IN/smoke-undeclared.yml"
SCAN_RC=0
python3 "$SCAN" "$IN/canaries.json" "$CONTROL/undeclared" >"$CONTROL/undeclared-scan.txt" 2>/dev/null || SCAN_RC=$?
check "control: without --secret-env the scan finds SHOP_SESSION in the run's outputs" \
  grep -qE "control-undeclared\.json:[0-9]+: SHOP_SESSION \(" "$CONTROL/undeclared-scan.txt"
check "control: and nothing but SHOP_SESSION" test -z "$(grep -v ': SHOP_SESSION (' "$CONTROL/undeclared-scan.txt")"

# 3. One canary planted in the real tree, in a hidden folder of a target.
printf '{"planted": "%s"}\n' "$(jq -rn --arg v "$SMTP_PASSWORD" '$v | @json | .[1:-1]')" >>"$WEB_STATE/ledger.jsonl"
ledger_lines=$(wc -l <"$WEB_STATE/ledger.jsonl")
scan "$CONTROL/planted-real.txt" "$WORK" || true
check "control: the scan of the real tree reports the planted line, JSON-escaped" \
  grep -qxF "$WEB_STATE/ledger.jsonl:$ledger_lines: SMTP_PASSWORD (json)" "$CONTROL/planted-real.txt"
check "control: and one hit more than the clean scan" \
  test "$(wc -l <"$CONTROL/planted-real.txt")" = "$(($(wc -l <"$CONTROL/main-scan.txt") + 1))"

echo "$PASSED passed, $FAILED failed in $((($(date +%s%3N) - START_MS) / 1000)) s"
((FAILED == 0))
