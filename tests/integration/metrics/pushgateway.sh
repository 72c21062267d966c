#!/usr/bin/env bash
# Release metrics against a real Prometheus Pushgateway (Debian's
# prometheus-pushgateway) on 127.0.0.1, and the delivery figures of
# `shipgate metrics` over the ledger the same run wrote (docs/metrics.md).
#
#   bash tests/integration/metrics/pushgateway.sh [PATH/TO/shipgate]
#
# Real steps run with --pushgateway and --metrics-textfile: a gate on a
# JUnit fixture (passing, and failing in an environment whose name needs
# escaping and base64 in the grouping key), deploys to a local target
# (1.0, 1.1, 1.2 broken: rolled back by its own run) and a rollback (1.1
# marked bad). The Pushgateway's /metrics and /api/v1/metrics must show
# each group's values and labels; every textfile must pass `promtool check
# metrics`. A Pushgateway that is down, or that refuses (404), gives exit 3
# with a message naming the URL without its credentials, and the step's
# --json and textfile are written anyway. `shipgate metrics` must count 3
# deploys, 2 failed changes, 1 rollback run, 2 known lead times, and its
# Prometheus text must pass promtool.
#
# Needs: prometheus-pushgateway, promtool (Debian's prometheus), curl, jq,
# python3, tar, gzip, sha256sum. Environment: SHIPGATE, KEEP_WORK=1.
# Exit status: 0 every check held, 1 one failed, 2 set-up failed.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
SHIPGATE="${1:-${SHIPGATE:-$REPO/build/shipgate}}"
# shellcheck source=tests/integration/deploy/lib.sh
source "$REPO/tests/integration/deploy/lib.sh" # free_ports, PYTHON
PUSHGATEWAY="${PUSHGATEWAY:-/usr/bin/prometheus-pushgateway}"
PLAN="$REPO/tests/fixtures/deploy/e2e/web.yml"
JUNIT="$REPO/tests/fixtures/e2e/pass.xml"

setup_fail() { echo "pushgateway: $*" >&2; exit 2; }
[[ -x "$SHIPGATE" ]] || setup_fail "no shipgate binary at $SHIPGATE"
[[ -x "$PUSHGATEWAY" ]] || setup_fail "no $PUSHGATEWAY: apt-get install prometheus-pushgateway"
command -v promtool >/dev/null || setup_fail "no promtool: apt-get install prometheus"
command -v jq >/dev/null || setup_fail "no jq"
SHIPGATE="$(cd "$(dirname "$SHIPGATE")" && pwd)/$(basename "$SHIPGATE")"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/shipgate-pushgateway.XXXXXX")"
PASSED=0
FAILED=0
PGW_PID=""
cleanup() {
  if [[ -n "$PGW_PID" ]]; then
    kill "$PGW_PID" 2>/dev/null || true
    wait "$PGW_PID" 2>/dev/null || true
  fi
  if ((FAILED)) || [[ "${KEEP_WORK:-}" == 1 ]]; then echo "pushgateway: work folder kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

ok() { PASSED=$((PASSED + 1)); echo "ok - $1"; }
bad() { FAILED=$((FAILED + 1)); echo "not ok - $1"; }
check_eq() { if [[ "$1" == "$2" ]]; then ok "$3"; else bad "$3: got '$1', expected '$2'"; fi; }
check_has() { if grep -qF -- "$2" "$1"; then ok "$3"; else bad "$3: '$2' not in $1"; fi; }
check_lacks() { if grep -qF -- "$2" "$1"; then bad "$3: '$2' found in $1"; else ok "$3"; fi; }

read -r PORT DOWN_PORT <<<"$(free_ports 2)"
URL="http://127.0.0.1:$PORT"
# An empty --persistence.file (Debian's default is /var/lib/prometheus/
# pushgateway.data): the groups live in memory only, nothing is read from an
# earlier run or left behind.
"$PUSHGATEWAY" --web.listen-address="127.0.0.1:$PORT" --persistence.file= >"$WORK/pushgateway.log" 2>&1 &
PGW_PID=$!
for _ in $(seq 100); do
  curl -sf "$URL/-/ready" >/dev/null 2>&1 && break
  kill -0 "$PGW_PID" 2>/dev/null || { cat "$WORK/pushgateway.log" >&2; setup_fail "the Pushgateway did not start"; }
  sleep 0.1
done
curl -sf "$URL/-/ready" >/dev/null || setup_fail "the Pushgateway does not answer on $URL"

"$REPO/tests/fixtures/deploy/make-artifacts.sh" "$WORK/art" 1.0 1.1 1.2:broken >/dev/null ||
  setup_fail "cannot build the artifacts"
mkdir -p "$WORK/textfile" "$WORK/root"

# sg EXPECTED NAME [VAR=VALUE...] -- ARGS...: shipgate in a clean
# environment, its outputs in $WORK/NAME.{stdout,stderr}.
sg() {
  local want="$1" name="$2" got=0
  shift 2
  local -a vars=()
  while [[ "$1" != "--" ]]; do vars+=("$1"); shift; done
  shift
  env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="${HOME:-/root}" LANG=C.UTF-8 TZ=UTC "${vars[@]}" \
    timeout 120 "$SHIPGATE" "$@" </dev/null >"$WORK/$name.stdout" 2>"$WORK/$name.stderr" || got=$?
  check_eq "$got" "$want" "$name exits $want"
  if [[ "$got" != "$want" ]]; then sed 's/^/  | /' "$WORK/$name.stdout" "$WORK/$name.stderr"; fi
}
metrics_opts() { echo --pushgateway "$URL" --metrics-textfile "$WORK/textfile/$1.prom"; }
deploy() { # deploy EXPECTED NAME VERSION [VAR=VALUE...]
  local want="$1" name="$2" version="$3"
  shift 3
  # shellcheck disable=SC2046 # two words per option
  sg "$want" "$name" "$@" -- deploy-stage --ci "${CI_KIND:-none}" --plan "$PLAN" --env test --var "ROOT=$WORK/root" \
    --version "$version" --artifact "$WORK/art/app-$version.tar.gz" $(metrics_opts "$name")
}

# group_value STEP ENVIRONMENT METRIC: the value the Pushgateway holds (API v1).
group_value() {
  jq -r --arg step "$1" --arg env "$2" --arg metric "$3" \
    '.data[] | select(.labels.job == "shipgate" and .labels.step == $step and .labels.environment == $env)
     | .[$metric].metrics[0].value // "missing"' "$WORK/api.json"
}
group_label() { # group_label STEP ENVIRONMENT METRIC LABEL
  jq -r --arg step "$1" --arg env "$2" --arg metric "$3" --arg name "$4" \
    '.data[] | select(.labels.step == $step and .labels.environment == $env)
     | .[$metric].metrics[0].labels[$name] // "missing"' "$WORK/api.json"
}

# ---------------------------------------------------------------- the steps
now=$(date +%s)
# shellcheck disable=SC2046
sg 0 gate-pass -- gate-on-test-report --ci none -r "$JUNIT" --environment test $(metrics_opts gate-pass)
# A label value with a slash, a quote and a backslash: base64 in the
# grouping key, escaped in the text format.
odd_env='qa/eu "blue" \1'
# shellcheck disable=SC2046
sg 1 gate-fail -- gate-on-test-report --ci none -r "$JUNIT" --min-tests 10 --environment "$odd_env" $(metrics_opts gate-fail)
deploy 0 deploy-1.0 1.0 SHIPGATE_COMMIT_TIME="$((now - 7200))"
CI_KIND=gitlab deploy 0 deploy-1.1 1.1 GITLAB_CI=true CI_COMMIT_SHA=b1b1b1 CI_SERVER_URL=https://gitlab.example \
  CI_JOB_ID=7 CI_COMMIT_TIMESTAMP="$(date -u -d "@$((now - 3600))" +%Y-%m-%dT%H:%M:%S+00:00)"
deploy 1 deploy-1.2 1.2
# shellcheck disable=SC2046
sg 0 rollback -- rollback --ci none --plan "$PLAN" --env test --var "ROOT=$WORK/root" --reason "1.1 is slow" \
  $(metrics_opts rollback)

# ---------------------------------------------------------------- what the Pushgateway holds
curl -sf --max-time 10 "$URL/api/v1/metrics" >"$WORK/api.json" || setup_fail "no answer from $URL/api/v1/metrics"
curl -sf --max-time 10 "$URL/metrics" >"$WORK/metrics.txt" || setup_fail "no answer from $URL/metrics"

check_eq "$(group_value gate-on-test-report test shipgate_step_success)" 1 "gate (pass): success 1"
check_eq "$(group_value gate-on-test-report test shipgate_step_exit_code)" 0 "gate (pass): exit code 0"
check_eq "$(group_value gate-on-test-report "$odd_env" shipgate_step_success)" 0 "gate (fail), odd environment: success 0"
check_eq "$(group_value gate-on-test-report "$odd_env" shipgate_step_exit_code)" 1 "gate (fail): exit code 1"
check_eq "$(group_value deploy-stage test shipgate_step_success)" 0 "deploy-stage group: the last run (1.2) failed"
check_eq "$(group_value deploy-stage test shipgate_step_exit_code)" 1 "deploy-stage group: exit code 1"
check_eq "$(group_label deploy-stage test shipgate_release_info version)" 1.2 "deploy-stage release_info: version 1.2"
check_eq "$(group_label deploy-stage test shipgate_release_info outcome)" rolled-back "deploy-stage release_info: outcome"
check_eq "$(group_label deploy-stage test shipgate_release_info previous_version)" 1.1 "deploy-stage release_info: previous"
check_eq "$(group_value rollback test shipgate_step_success)" 1 "rollback group: success 1"
check_eq "$(group_label rollback test shipgate_release_info version)" 1.0 "rollback release_info: back on 1.0"
check_eq "$(group_label rollback test shipgate_release_info previous_version)" 1.1 "rollback release_info: from 1.1"
duration=$(group_value rollback test shipgate_step_duration_seconds)
if awk -v d="$duration" 'BEGIN { exit !(d > 0 && d < 120) }'; then ok "rollback duration $duration s"; else bad "rollback duration '$duration'"; fi
last=$(group_value deploy-stage test shipgate_step_last_run_timestamp_seconds)
if awk -v t="$last" -v n="$now" 'BEGIN { exit !(t >= n - 5 && t <= n + 300) }'; then ok "last run timestamp is now"; else bad "last run timestamp '$last' (now $now)"; fi
check_has "$WORK/metrics.txt" 'shipgate_step_success{environment="test",instance="",job="shipgate",step="gate-on-test-report"} 1' \
  "/metrics: the gate's sample with the grouping labels"
check_has "$WORK/metrics.txt" 'shipgate_step_exit_code{environment="qa/eu \"blue\" \\1",instance="",job="shipgate",step="gate-on-test-report"} 1' \
  "/metrics: the odd environment name comes back escaped as sent"

# ---------------------------------------------------------------- the textfiles
for name in gate-pass gate-fail deploy-1.0 deploy-1.1 deploy-1.2 rollback; do
  if promtool check metrics <"$WORK/textfile/$name.prom" >"$WORK/promtool-$name.log" 2>&1; then ok "promtool accepts $name.prom"
  else bad "promtool rejects $name.prom: $(head -n3 "$WORK/promtool-$name.log")"; fi
done
check_eq "$(find "$WORK/textfile" -type f ! -name '*.prom' | wc -l)" 0 "no temporary file left beside the .prom files"
check_has "$WORK/textfile/deploy-1.0.prom" 'shipgate_release_info{step="deploy-stage",environment="test",version="1.0",outcome="succeeded"} 1' \
  "deploy-1.0.prom: release_info"
check_has "$WORK/textfile/deploy-1.1.prom" 'commit="b1b1b1"' "deploy-1.1.prom: the GitLab commit"
check_has "$WORK/textfile/gate-fail.prom" 'environment="qa/eu \"blue\" \\1"' "gate-fail.prom: the label value escaped"
check_lacks "$WORK/textfile/gate-pass.prom" shipgate_release_info "the gate names no version"

# ---------------------------------------------------------------- a Pushgateway that is down or refuses
secret='Pw-9f2Kq7ZxLm'
sg 3 down -- gate-on-test-report --ci none -r "$JUNIT" --environment test --json "$WORK/down.json" \
  --pushgateway "http://ci:$secret@127.0.0.1:$DOWN_PORT" --metrics-textfile "$WORK/textfile/down.prom"
check_has "$WORK/down.stderr" "cannot reach the Pushgateway at http://127.0.0.1:$DOWN_PORT" "down: the message names the URL"
check_lacks "$WORK/down.stderr" "$secret" "down: the password is not printed"
check_lacks "$WORK/down.stdout" "$secret" "down: nor on stdout"
check_eq "$(jq -r .verdict "$WORK/down.json" 2>/dev/null)" pass "down: the step's --json is written, verdict pass"
check_has "$WORK/textfile/down.prom" 'shipgate_step_exit_code{step="gate-on-test-report",environment="test"} 0' \
  "down: the textfile is written (the step itself exited 0)"
sg 3 refused -- gate-on-test-report --ci none -r "$JUNIT" --environment test --pushgateway "$URL/metrics"
check_has "$WORK/refused.stderr" "refused the metrics: HTTP 404" "refused: the Pushgateway's 404 is reported"
sg 1 down-fail -- gate-on-test-report --ci none -r "$JUNIT" --min-tests 10 --pushgateway "http://127.0.0.1:$DOWN_PORT"
check_has "$WORK/down-fail.stderr" "cannot reach the Pushgateway" "down, failing gate: reported, and the gate's own code 1 kept"
sg 2 bad-url -- gate-on-test-report --ci none -r "$JUNIT" --pushgateway "127.0.0.1:$PORT"
check_has "$WORK/bad-url.stderr" "is not an http:// or https:// URL" "a URL without a scheme is a usage error"

# ---------------------------------------------------------------- delivery figures from the ledger
sg 0 dora -- metrics --ci none --plan "$PLAN" --env test --var "ROOT=$WORK/root" --since 1d --json "$WORK/dora.json" \
  --prometheus "$WORK/dora.prom"
check_eq "$(jq -r '.deployments.total' "$WORK/dora.json")" 3 "metrics: 3 deploys"
check_eq "$(jq -r '.deployments.successful' "$WORK/dora.json")" 2 "metrics: 2 successful"
check_eq "$(jq -r '.rollbacks' "$WORK/dora.json")" 1 "metrics: 1 rollback run"
check_eq "$(jq -r '.change_failure_rate.failed' "$WORK/dora.json")" 2 "metrics: 2 failed changes (1.2 rolled back, 1.1 by rollback)"
check_eq "$(jq -r '.change_failure_rate.changes' "$WORK/dora.json")" 3 "metrics: 3 changes"
check_eq "$(jq -r '[.failed_changes[].version] | join(",")' "$WORK/dora.json")" 1.1,1.2 "metrics: the failed versions"
check_eq "$(jq -r '.lead_time_seconds.count' "$WORK/dora.json")" 2 "metrics: 2 lead times known (SHIPGATE_COMMIT_TIME, GitLab)"
check_eq "$(jq -r '.lead_time_seconds.unknown' "$WORK/dora.json")" 0 "metrics: none unknown"
median=$(jq -r '.lead_time_seconds.median' "$WORK/dora.json")
if awk -v m="$median" 'BEGIN { exit !(m >= 5400 && m < 5400 + 300) }'; then ok "metrics: lead time median $median s (2 h and 1 h ago)"
else bad "metrics: lead time median '$median', expected about 5400"; fi
check_eq "$(jq -r '.time_to_restore_seconds.count' "$WORK/dora.json")" 2 "metrics: 2 restored"
check_eq "$(jq -r '.time_to_restore_seconds.unrestored' "$WORK/dora.json")" 0 "metrics: none open"
check_eq "$(jq -r '.outputs.deployments' "$WORK/dora.json")" 3 "metrics: the outputs carry the figures"
check_has "$WORK/dora.stdout" "change failure rate: 66.7% (2 failed of 3 changes; 1 rollback runs)" "metrics: terminal summary"
if promtool check metrics <"$WORK/dora.prom" >"$WORK/promtool-dora.log" 2>&1; then ok "promtool accepts --prometheus FILE"
else bad "promtool rejects dora.prom: $(head -n3 "$WORK/promtool-dora.log")"; fi
check_has "$WORK/dora.prom" 'shipgate_dora_failed_changes{environment="test"} 2' "dora.prom: failed changes"
check_has "$WORK/dora.prom" 'shipgate_dora_deployments{environment="test",outcome="rolled-back"} 1' "dora.prom: by outcome"
check_has "$WORK/dora.prom" 'shipgate_dora_lead_time_seconds_count{environment="test"} 2' "dora.prom: lead time count"
sg 0 dora-stdout -- metrics --ci none --plan "$PLAN" --env test --var "ROOT=$WORK/root" --format prometheus
if promtool check metrics <"$WORK/dora-stdout.stdout" >"$WORK/promtool-stdout.log" 2>&1; then ok "promtool accepts --format prometheus on stdout"
else bad "promtool rejects the stdout of --format prometheus: $(head -n3 "$WORK/promtool-stdout.log")"; fi
sg 2 dora-bad-since -- metrics --ci none --plan "$PLAN" --env test --var "ROOT=$WORK/root" --since 30
check_has "$WORK/dora-bad-since.stderr" "--since expects a duration" "metrics: --since 30 is refused"

echo "pushgateway: $PASSED passed, $FAILED failed"
((FAILED == 0))
