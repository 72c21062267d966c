#!/usr/bin/env bash
# Canary deploys judged by a real Prometheus: the metric analysis of the
# launch plan (`analysis:`, docs/analysis.md) decides whether a canary goes on.
#
#   bash tests/integration/analysis/canary_analysis.sh [PATH/TO/shipgate]
#
# Three local roots of one service `app`, each running its own metrics test
# app (tests/fixtures/metrics_app/app.py) on its own port, started and
# stopped by the plan from `current`; Prometheus scrapes the three every
# second. Strategy canary 1, then batches of 50%; the analysis takes 3
# samples 2 s apart of the error ratio (below 0.05) and the p95 latency
# (below 0.3 s) of the version being deployed (version="${VERSION}").
#
#   1. 1.0 (plan without analysis), then a good 2.0: the analysis of each
#      batch passed, every root on 2.0, exit 0; the deploy-succeeded
#      notification (a generic webhook to tests/fixtures/notify/
#      webhook_receiver.py) carries both analyses and shows each query's values;
#   2. a bad 3.0 (half its requests fail): failed on error-ratio after the
#      canary batch, rolled back (exit 1), every root on 2.0; the query and
#      its values in the terminal, the JSON, the JUnit, the Markdown and the
#      deploy-failed notification;
#   3. a slow 3.1 (800 ms): failed on p95-latency, rolled back;
#   4. a silent 3.2 (no traffic) with `inconclusive: fail`: decision
#      inconclusive, rolled back, never "passed";
#   5. a latency baseline (max_ratio 1.5 against the previous version) with
#      the Prometheus URL carrying credentials (prometheus_env): a 3.6 at
#      60 ms is below 0.3 s but 4x 2.0's p95: failed on the baseline;
#   5b. a query with bad PromQL (3.7) fails at the first sample with
#      Prometheus' error text; one giving two series (3.8) never passes and
#      the message says to aggregate;
#   6. a silent 3.3 with `inconclusive: pause`: the run waits (pause in the
#      journal), `deploy-stage --abort` rolls it back; a silent 3.4 goes on
#      with `--resume` (one per batch) and is live everywhere;
#   7. Prometheus stopped, credentials in its URL: fails closed (rolled
#      back, never passed), naming 127.0.0.1:PORT; the password appears in
#      no output, artifact, ledger or log.
# First, plan validate and plan show must know the section. Every deploy
# checks the exit code, each root's `current`, the canary root's ledger
# entry, the analysis in the --json result (`analysis`, or `details.analysis`)
# and the --junit file (validated against junit-10.xsd).
#
# Environment: SHIPGATE, SHIPGATE_JUNIT_XSD, KEEP_WORK=1, PROMETHEUS;
# LOOSE_ERROR_BELOW=0.9 loosens case 2's threshold (a negative control: the
# bad release then passes and case 2's checks must fail).
# Exit status: 0 every check held, 1 one failed, 2 set-up failed.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=tests/integration/analysis/lib.sh
source "$HERE/lib.sh"
REPO="$DEPLOY_REPO"
SHIPGATE="${1:-${SHIPGATE:-$REPO/build/shipgate}}"
XSD="${SHIPGATE_JUNIT_XSD:-$REPO/../shared/schemas/junit-10.xsd}"
SECRET=s3cretpw

setup_fail() { echo "canary_analysis: $*" >&2; exit 2; }
[[ -x "$SHIPGATE" ]] || setup_fail "no shipgate binary at $SHIPGATE"
[[ -x "$PROMETHEUS" ]] || setup_fail "no prometheus at $PROMETHEUS (apt-get install prometheus)"
[[ -f "$XSD" ]] || setup_fail "no JUnit schema at $XSD (set SHIPGATE_JUNIT_XSD)"
for tool in curl jq xmllint tar sha256sum; do command -v "$tool" >/dev/null || setup_fail "$tool is missing"; done
SHIPGATE="$(cd "$(dirname "$SHIPGATE")" && pwd)/$(basename "$SHIPGATE")"
[[ -n "$("$SHIPGATE" --version 2>/dev/null)" ]] || setup_fail "$SHIPGATE --version says nothing: not a shipgate binary"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/shipgate-analysis.XXXXXX")"
ROOTS=("$WORK/r1" "$WORK/r2" "$WORK/r3")
PASSED=0
FAILED=0
BG_PID=""
HOOK_PID=""
cleanup() {
  if [[ -n "$BG_PID" ]]; then kill -TERM "$BG_PID" 2>/dev/null || true; wait "$BG_PID" 2>/dev/null || true; fi
  if [[ -n "$HOOK_PID" ]]; then kill -TERM "$HOOK_PID" 2>/dev/null || true; wait "$HOOK_PID" 2>/dev/null || true; fi
  stop_all_apps "${ROOTS[@]}"
  stop_prometheus
  if ((FAILED)) || [[ "${KEEP_WORK:-}" == 1 ]]; then echo "canary_analysis: work folder kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { PASSED=$((PASSED + 1)); echo "ok - $1"; }
bad() { FAILED=$((FAILED + 1)); echo "not ok - $1"; }
check_eq() { if [[ "$1" == "$2" ]]; then ok "$3"; else bad "$3: got '$1', expected '$2'"; fi; }
check() {
  local what="$1"
  shift
  if "$@" >/dev/null 2>&1; then ok "$what"; else bad "$what"; fi
}
# check_jq FILE FILTER EXPECTED WHAT [JQ ARGS...]: jq -c FILTER of FILE equals EXPECTED.
check_jq() {
  local got
  [[ -f "$1" ]] || { bad "$4: no result $(basename "$1")"; return 0; }
  got=$(jq -c "${@:5}" "$2" "$1" 2>&1) || got="(jq failed: $got)"
  check_eq "$got" "$3" "$4"
}

# --- set-up: ports, roots, artifacts, Prometheus ------------------------------
read -r PORT1 PORT2 PORT3 PROM_LISTEN <<<"$(free_ports 4)"
for i in 0 1 2; do
  mkdir -p "${ROOTS[i]}/shared"
  port_var="PORT$((i + 1))"
  echo "${!port_var}" >"${ROOTS[i]}/shared/app.port"
done
GOOD='{"error_ratio": 0.0, "latency_ms": 20, "rps": 20}'
make_metrics_artifact 1.0 "$WORK/art" "$GOOD"
make_metrics_artifact 2.0 "$WORK/art" "$GOOD"
make_metrics_artifact 3.0 "$WORK/art" '{"error_ratio": 0.5, "latency_ms": 20, "rps": 20}'
make_metrics_artifact 3.1 "$WORK/art" '{"error_ratio": 0.0, "latency_ms": 800, "rps": 20}'
make_metrics_artifact 3.2 "$WORK/art" '{"rps": 0}'
make_metrics_artifact 3.3 "$WORK/art" '{"rps": 0}'
make_metrics_artifact 3.4 "$WORK/art" '{"rps": 0}'
make_metrics_artifact 3.5 "$WORK/art" "$GOOD"
make_metrics_artifact 3.6 "$WORK/art" '{"error_ratio": 0.0, "latency_ms": 60, "rps": 20}'
make_metrics_artifact 3.7 "$WORK/art" "$GOOD"
make_metrics_artifact 3.8 "$WORK/art" "$GOOD"
start_prometheus "$WORK/prom" "$PROM_LISTEN" "$PORT1" "$PORT2" "$PORT3" || setup_fail "prometheus did not start"
PROM_URL="http://127.0.0.1:$PROM_LISTEN"
# A generic webhook receiver (tests/fixtures/notify/webhook_receiver.py): the
# notifications of the plans written with notify=yes.
mkdir -p "$WORK/hooks"
echo '{"generic": {}}' >"$WORK/hooks/config.json"
python3 "$REPO/tests/fixtures/notify/webhook_receiver.py" "$WORK/hooks" >"$WORK/hooks.port" 2>"$WORK/hooks.log" &
HOOK_PID=$!
for _ in $(seq 100); do [[ -s "$WORK/hooks.port" ]] && break; sleep 0.1; done
HOOK_PORT="$(head -n1 "$WORK/hooks.port")"
[[ -n "$HOOK_PORT" ]] || setup_fail "the webhook receiver did not start: $(cat "$WORK/hooks.log")"
CRED_URL="http://user:$SECRET@127.0.0.1:$PROM_LISTEN"

# write_plan FILE [analysis=yes|no] [inconclusive=fail|pause] [url=plain|env]
#   [error_below=0.05] [baseline=no|yes] [query=PROMQL] [notify=no|yes]: the
#   launch plan; notify=yes sends every event to the webhook receiver, path
#   /generic/<plan file name>.
write_plan() {
  local file="$1" analysis=yes inconclusive=fail url=plain error_below=0.05 baseline=no query="" notify=no kv
  shift
  for kv in "$@"; do
    case "$kv" in
      analysis=* | inconclusive=* | url=* | error_below=* | baseline=* | query=* | notify=*) printf -v "${kv%%=*}" %s "${kv#*=}" ;;
      *) setup_fail "write_plan: unknown option $kv" ;;
    esac
  done
  # shellcheck disable=SC2016 # ${NAME} is for shipgate to replace, not the shell
  cat >"$file" <<'EOF'
version: 1
name: metrics
environments: [{name: prod}]
deadline: 1m
keep_releases: 4
strategy: {type: canary, canary: 1, batch: 50%}
services:
  app:
    target: {type: local, roots: ["${WORK}/r1", "${WORK}/r2", "${WORK}/r3"]}
    stop: ["${PYTHON}", "${METRICS_APP}", stop, --root, "${TARGET_ROOT}"]
    start: ["${PYTHON}", "${METRICS_APP}", start, --root, "${TARGET_ROOT}"]
    health:
      defaults: {retries: 0}
      checks:
        - name: version
          command: ["${PYTHON}", "${METRICS_APP}", check, --root, "${TARGET_ROOT}", --version, "${VERSION}"]
EOF
  if [[ "$notify" == yes ]]; then
    cat >>"$file" <<EOF
notify:
  outbox: $WORK/outbox
  channels:
    audit: {type: webhook, url: "http://127.0.0.1:$HOOK_PORT/generic/$(basename "$file")"}
  roles: {developer: [audit], tech-lead: [audit], tester: [audit], ops: [audit], dba: [audit]}
EOF
  fi
  [[ "$analysis" == yes ]] || return 0
  # shellcheck disable=SC2016 # ${VERSION} is for shipgate
  {
    echo "analysis:"
    if [[ "$url" == env ]]; then echo "  prometheus_env: PROMETHEUS_URL"; else echo "  prometheus: $PROM_URL"; fi
    echo "  interval: 2s"
    echo "  count: 3"
    echo "  inconclusive: $inconclusive"
    echo "  queries:"
    if [[ -n "$query" ]]; then
      # One query of the caller's, named `custom`, that any value passes.
      echo "    - name: custom"
      echo "      query: '$query'"
      echo "      below: 1000000"
      return 0
    fi
    echo "    - name: error-ratio"
    echo "      query: '$(error_ratio_query '${VERSION}')'"
    echo "      below: $error_below"
    echo "    - name: p95-latency"
    echo "      query: '$(p95_query '${VERSION}')'"
    echo "      below: 0.3"
    if [[ "$baseline" == yes ]]; then
      echo "      baseline:"
      echo "        max_ratio: 1.5"
    fi
  } >>"$file"
}

SG_ENV=(env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="${HOME:-/root}" LANG=C.UTF-8 TZ=UTC)
SG_VARS=(--var "WORK=$WORK" --var "PYTHON=$PYTHON" --var "METRICS_APP=$METRICS_APP")

# deploy NAME PLAN VERSION [ENV=VALUE...]: deploy-stage of metrics-VERSION
# with every output under $WORK/NAME.*; RC is its exit code.
deploy() {
  local name="$1" plan="$2" version="$3"
  shift 3
  RC=0
  "${SG_ENV[@]}" "$@" timeout 100 "$SHIPGATE" deploy-stage --ci none --plan "$plan" --env prod \
    --version "$version" --artifact "$WORK/art/metrics-$version.tar.gz" "${SG_VARS[@]}" \
    --json "$WORK/$name.json" --junit "$WORK/$name.xml" --markdown "$WORK/$name.md" \
    </dev/null >"$WORK/$name.stdout" 2>"$WORK/$name.stderr" || RC=$?
  [[ -f "$WORK/$name.json" ]] || sed -n 's/^/# '"$name"' (exit '"$RC"', no JSON result): /; 1,3p' "$WORK/$name.stderr"
}

roots_live() { local r; for r in "${ROOTS[@]}"; do live_version "$r"; done | tr '\n' ' ' | sed 's/ $//'; }
last_deploy() { jq -sc '[.[] | select(.event == "deploy")][-1] | [.version, .outcome]' "$1/.shipgate/ledger.jsonl" 2>&1; }
# The analysis of the result, wherever the JSON puts `details`.
AN='(.details.analysis // .analysis // [])'

# check_junit_valid NAME: the JUnit file validates against the schema.
check_junit_valid() {
  check "$1: the JUnit file validates against junit-10.xsd" xmllint --noout --schema "$XSD" "$WORK/$1.xml"
}
# check_query NAME QUERY STATUS VALUE_RE: the result has one check for QUERY
# (the id ends in /QUERY) whose status is STATUS (fail, inconclusive, pass);
# its JUnit testcase says so (<failure>, <error>, neither); its terminal line
# shows a value matching VALUE_RE; the Markdown names the query.
check_query() {
  local name="$1" query="$2" status="$3" value_re="$4" id n want
  # shellcheck disable=SC2016 # $q is jq's
  local select='[.actions[]? | select(.id | endswith("/" + $q))]'
  check_jq "$WORK/$name.json" "$select | map(.status)" "[\"$status\"]" "$name: the check of $query is $status" --arg q "$query"
  id=$(jq -r --arg q "$query" "$select | .[0].id // \"\"" "$WORK/$name.json" 2>/dev/null || true)
  [[ -n "$id" ]] || id="(no check for $query)"
  case "$status" in
    fail) want="failure" ;;
    inconclusive) want="error" ;;
    *) want="self::*[not(failure) and not(error)]" ;;
  esac
  n=$(xmllint --xpath "count(//testcase[starts-with(@name, '$id:')]/$want)" "$WORK/$name.xml" 2>/dev/null || echo 0)
  check "$name: the JUnit testcase $id has $want" test "${n%.*}" -ge 1
  # shellcheck disable=SC2016 # for bash -c
  check "$name: the terminal line of $id shows $value_re" \
    bash -c 'grep -F -- "$1" "$2" | grep -Eq -- "$3"' _ "$id" "$WORK/$name.stdout" "$value_re"
  check "$name: the Markdown names $query" grep -q -- "$query" "$WORK/$name.md"
}

echo "# Prometheus on $PROM_URL, apps on $PORT1 $PORT2 $PORT3, work in $WORK"
T0=$SECONDS

# --- 1. 1.0 without analysis, then a good 2.0 -------------------------------
write_plan "$WORK/plain.yml" analysis=no
write_plan "$WORK/fail.yml" notify=yes
write_plan "$WORK/pause.yml" inconclusive=pause
write_plan "$WORK/baseline.yml" url=env baseline=yes
write_plan "$WORK/creds.yml" url=env
write_plan "$WORK/loose.yml" error_below="${LOOSE_ERROR_BELOW:-0.05}" notify=yes

# plan validate and plan show know the section (and a mistyped key in it).
sg_plan() { "${SG_ENV[@]}" timeout 30 "$SHIPGATE" plan "$@" "${SG_VARS[@]}" </dev/null; }
check "plan validate accepts the analysis plans" sg_plan validate "$WORK/baseline.yml"
sg_plan show --plan "$WORK/fail.yml" --env prod >"$WORK/show.txt" 2>&1 || true
check "plan show lists error-ratio with its threshold" grep -q 'error-ratio below 0.05' "$WORK/show.txt"
check "plan show lists p95-latency with its threshold" grep -q 'p95-latency below 0.3' "$WORK/show.txt"
sed 's/^  inconclusive:/  inconclusiv:/' "$WORK/pause.yml" >"$WORK/typo.yml"
rc=0
sg_plan validate "$WORK/typo.yml" >"$WORK/typo.out" 2>&1 || rc=$?
check_eq "$rc" 2 "plan validate: a mistyped analysis key is an error"
check "plan validate: the error suggests 'inconclusive'" grep -q "did you mean 'inconclusive'" "$WORK/typo.out"

deploy d10 "$WORK/plain.yml" 1.0
check_eq "$RC" 0 "1.0 (no analysis): exit code"
check_eq "$(roots_live)" "1.0 1.0 1.0" "1.0: every root live"
if ((RC != 0)) || [[ "$(roots_live)" != "1.0 1.0 1.0" ]]; then
  # Nothing after this can mean anything without a first release.
  sed 's/^/# | /' "$WORK/d10.stdout" "$WORK/d10.stderr"
  echo "# canary_analysis: $PASSED passed, $FAILED failed (stopped: the first deploy failed)"
  exit 1
fi
check "Prometheus scrapes all three apps" prom_wait 'count(app_info{version="1.0"} == 1) == 3' 20
check "Prometheus has request rates of 1.0" prom_wait "$(error_ratio_query 1.0)" 20

deploy d20 "$WORK/fail.yml" 2.0
check_eq "$RC" 0 "2.0 (good): exit code"
check_eq "$(roots_live)" "2.0 2.0 2.0" "2.0: every root live"
check_eq "$(last_deploy "${ROOTS[0]}")" '["2.0","succeeded"]' "2.0: ledger of the canary root"
check_jq "$WORK/d20.json" "[${AN}[] | [.service, .batch, .decision]]" '[["app",1,"passed"],["app",2,"passed"]]' \
  "2.0: one passed analysis per batch"
check_jq "$WORK/d20.json" "[${AN}[] | .queries[] | .name] | unique" '["error-ratio","p95-latency"]' "2.0: both queries analysed"
check_jq "$WORK/d20.json" "[${AN}[] | .queries[] | .samples | length] | unique" '[3]' "2.0: 3 samples per query and batch"
check_jq "$WORK/d20.json" \
  "[${AN}[] | .queries[] | select(.name == \"error-ratio\") | .samples[] | select(.value != null) | .value < 0.05] | unique" \
  '[true]' "2.0: every error-ratio value below 0.05"
check_jq "$WORK/d20.json" \
  "[${AN}[] | .queries[] | select(.name == \"p95-latency\") | .samples[] | select(.value != null) | (.value > 0.01 and .value < 0.05)] | unique" \
  '[true]' "2.0: every p95 value near 20 ms"
check_jq "$WORK/d20.json" "[${AN}[] | .queries[] | .query | contains(\"version=\\\"2.0\\\"\")] | unique" '[true]' \
  "2.0: \${VERSION} replaced in the queries"
check_junit_valid d20
# hook_body PLAN EVENT VERSION: the generic webhook's last body for it.
hook_body() {
  jq -c --arg path "/generic/$1" --arg type "release.$2" --arg version "$3" \
    'select(.path == $path) | .body | fromjson | select(.type == $type and .data.version == $version)' \
    "$WORK/hooks/received.jsonl" 2>/dev/null | tail -n1
}
HOOK_D20="$(hook_body fail.yml deploy-succeeded 2.0)"
check_eq "$(jq -c '[.data.has_analysis, [.data.analysis[] | [.batch, .decision]]]' <<<"${HOOK_D20:-null}" 2>&1)" \
  '[true,[[1,"passed"],[2,"passed"]]]' "2.0: the deploy-succeeded notification carries both analyses"
check "2.0: its text shows the analysis and each query's values" \
  bash -c 'jq -r .data.text <<<"$1" | grep -Eq "^      p95-latency \(below 0\.3\): 0\.0[0-9]+, 0\.0[0-9]+, 0\.0[0-9]+$"' _ "$HOOK_D20"

# --- 2. a bad 3.0: half of its requests fail ----------------------------------
deploy d30 "$WORK/loose.yml" 3.0
check_eq "$RC" 1 "3.0 (bad): exit code (rolled back)"
check_eq "$(roots_live)" "2.0 2.0 2.0" "3.0: every root back on 2.0"
check_eq "$(last_deploy "${ROOTS[0]}")" '["3.0","rolled-back"]' "3.0: ledger of the canary root"
check_jq "$WORK/d30.json" '[.outcome, .rolled_back]' '["rolled-back",true]' "3.0: outcome in the JSON"
check_jq "$WORK/d30.json" "[${AN}[] | [.batch, .decision]]" '[[1,"failed"]]' "3.0: the canary batch's analysis failed"
check_jq "$WORK/d30.json" \
  "[${AN}[] | .queries[] | select(.name == \"error-ratio\") | .samples[] | select(.verdict | test(\"fail\")) | .value >= 0.4 and .value <= 0.6] | (length > 0 and all)" \
  true "3.0: error-ratio samples failed with values near 0.5"
check_jq "$WORK/d30.json" "[.. | .decision? // empty] | index(\"passed\")" null "3.0: no analysis passed"
check_junit_valid d30
check_query d30 error-ratio fail '0\.(5|49|50)'
check_query d30 p95-latency pass 'passed'
HOOK_D30="$(hook_body loose.yml deploy-failed 3.0)"
check_eq "$(jq -c '[.data.analysis[] | [.batch, .decision, [.queries[].name]]]' <<<"${HOOK_D30:-null}" 2>&1)" \
  '[[1,"failed",["error-ratio","p95-latency"]]]' "3.0: the deploy-failed notification carries the failed analysis"
check_eq "$(jq -c '[.data.analysis[].queries[] | select(.name == "error-ratio") | .samples[] | select(.verdict == "failed") | .value >= 0.4 and .value <= 0.6] | (length > 0 and all)' <<<"${HOOK_D30:-null}" 2>&1)" \
  true "3.0: the notification has the failed error-ratio samples, near 0.5"
check "3.0: its text shows the decision and the values" \
  bash -c 'jq -r .data.text <<<"$1" | grep -A1 -E "^  - app, batch 1: failed: .*error-ratio" | grep -Eq "^      error-ratio \(below 0\.05\): (no data, )*0\.(4|5)"' _ "$HOOK_D30"


# --- 3. a slow 3.1: 800 ms ----------------------------------------------------
deploy d31 "$WORK/fail.yml" 3.1
check_eq "$RC" 1 "3.1 (slow): exit code (rolled back)"
check_eq "$(roots_live)" "2.0 2.0 2.0" "3.1: every root back on 2.0"
check_eq "$(last_deploy "${ROOTS[0]}")" '["3.1","rolled-back"]' "3.1: ledger of the canary root"
check_jq "$WORK/d31.json" "[${AN}[] | [.batch, .decision]]" '[[1,"failed"]]' "3.1: the canary batch's analysis failed"
check_jq "$WORK/d31.json" \
  "[${AN}[] | .queries[] | select(.name == \"p95-latency\") | .samples[] | select(.verdict | test(\"fail\")) | .value > 0.5] | (length > 0 and all)" \
  true "3.1: p95-latency samples failed with values near 0.975"
check_jq "$WORK/d31.json" \
  "[${AN}[] | .queries[] | select(.name == \"error-ratio\") | .samples[] | .verdict | test(\"fail\")] | any" \
  false "3.1: error-ratio did not fail"
check_junit_valid d31
check_query d31 p95-latency fail '0\.9[0-9]'
check_query d31 error-ratio pass 'passed'

# --- 4. a silent 3.2, inconclusive: fail ---------------------------------------
deploy d32 "$WORK/fail.yml" 3.2
check_eq "$RC" 1 "3.2 (silent): exit code (rolled back)"
check_eq "$(roots_live)" "2.0 2.0 2.0" "3.2: every root back on 2.0"
check_eq "$(last_deploy "${ROOTS[0]}")" '["3.2","rolled-back"]' "3.2: ledger of the canary root"
check_jq "$WORK/d32.json" "[${AN}[] | [.batch, .decision]]" '[[1,"inconclusive"]]' "3.2: the analysis was inconclusive"
check_jq "$WORK/d32.json" "[${AN}[] | .queries[] | .samples[] | .value] | unique" '[null]' "3.2: no sample had a value"
check_jq "$WORK/d32.json" "[.. | .decision? // empty] | index(\"passed\")" null "3.2: no analysis passed"
check_junit_valid d32
check_query d32 error-ratio inconclusive 'no data'
check_query d32 p95-latency inconclusive 'no data'

# --- 5. a baseline, with credentials in the URL --------------------------------
deploy d36 "$WORK/baseline.yml" 3.6 "PROMETHEUS_URL=$CRED_URL"
check_eq "$RC" 1 "3.6 (60 ms, 3x the baseline): exit code (rolled back)"
check_eq "$(roots_live)" "2.0 2.0 2.0" "3.6: every root back on 2.0"
check_eq "$(last_deploy "${ROOTS[0]}")" '["3.6","rolled-back"]' "3.6: ledger of the canary root"
check_jq "$WORK/d36.json" "[${AN}[] | [.batch, .decision]]" '[[1,"failed"]]' "3.6: the analysis failed"
check_jq "$WORK/d36.json" \
  "[${AN}[] | .queries[] | select(.name == \"p95-latency\") | .samples[] | select(.verdict | test(\"fail\")) | (.value < 0.3 and .baseline > 0.01 and .baseline < 0.05)] | (length > 0 and all)" \
  true "3.6: p95 failed below 0.3 s against a baseline near 20 ms"
check_junit_valid d36
check_query d36 p95-latency fail '0\.09[0-9]* \(baseline 0\.02'
check_query d36 error-ratio pass 'passed'

# --- 5b. queries Prometheus cannot answer as one number ------------------------
# Bad PromQL: Prometheus answers bad_data; the analysis fails at once, naming
# the query and Prometheus' own error text.
# shellcheck disable=SC2016 # ${VERSION} is for shipgate
write_plan "$WORK/badq.yml" query='sum(rate(app_requests_total{version="${VERSION}"}[5s])'
deploy d37 "$WORK/badq.yml" 3.7
check_eq "$RC" 1 "3.7 (bad PromQL): exit code (rolled back)"
check_eq "$(roots_live)" "2.0 2.0 2.0" "3.7: every root back on 2.0"
check_jq "$WORK/d37.json" "[${AN}[] | [.decision, (.queries[] | .samples | length)]]" '[["failed",1]]' \
  "3.7: failed at the first sample"
check "3.7: the output names Prometheus' parse error" grep -q 'parse error' "$WORK/d37.stdout"
check_query d37 custom fail 'parse error'
# Two series (one per code) where one number is needed: never a pass, and
# the message says to aggregate.
# shellcheck disable=SC2016
write_plan "$WORK/manyq.yml" query='rate(app_requests_total{version="${VERSION}"}[5s])'
deploy d38 "$WORK/manyq.yml" 3.8
check_eq "$RC" 1 "3.8 (two series): exit code (rolled back)"
check_eq "$(roots_live)" "2.0 2.0 2.0" "3.8: every root back on 2.0"
check_jq "$WORK/d38.json" "[.. | .decision? // empty] | index(\"passed\")" null "3.8: no analysis passed"
check "3.8: the output says the query must aggregate (sum)" grep -Eq 'aggregat|sum\(' "$WORK/d38.stdout"

# --- 6. a silent release, inconclusive: pause -----------------------------------
# Pauses begun, from the journal of the canary root (which the run removes when it ends).
pause_count() {
  { grep '"action":"[a-z_-]*pause' "${ROOTS[0]}/.shipgate/journal.jsonl" 2>/dev/null || true; } | grep -c '"phase":"begin"' || true
}
# wait_pause N SECONDS: the journal of the canary root shows N pauses.
wait_pause() {
  local deadline=$((SECONDS + $2))
  while ((SECONDS <= deadline)); do
    (($(pause_count) >= $1)) && return 0
    kill -0 "$BG_PID" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}
control() { "${SG_ENV[@]}" timeout 30 "$SHIPGATE" deploy-stage --ci none --plan "$WORK/pause.yml" --env prod "$1" "${SG_VARS[@]}" --user tess </dev/null >"$WORK/$2.stdout" 2>"$WORK/$2.stderr"; }

(deploy d33 "$WORK/pause.yml" 3.3; exit "$RC") &
BG_PID=$!
check "3.3 (silent, pause): the run pauses (journal)" wait_pause 1 40
check_eq "$(roots_live)" "3.3 2.0 2.0" "3.3: during the pause only the canary runs 3.3"
check "3.3: the run still waits" kill -0 "$BG_PID"
rc=0
control --abort abort33 || rc=$?
check_eq "$rc" 0 "3.3: deploy-stage --abort"
rc=0
wait "$BG_PID" || rc=$?
BG_PID=""
check_eq "$rc" 1 "3.3: exit code of the aborted run (rolled back)"
check_jq "$WORK/d33.json" '[.exit_code, .outcome]' '[1,"rolled-back"]' "3.3: the aborted run's result"
check_eq "$(roots_live)" "2.0 2.0 2.0" "3.3: every root back on 2.0"
check_eq "$(last_deploy "${ROOTS[0]}")" '["3.3","rolled-back"]' "3.3: ledger of the canary root"
check_jq "$WORK/d33.json" "[${AN}[] | .decision]" '["inconclusive"]' "3.3: the analysis was inconclusive"
check_jq "$WORK/d33.json" '.reason | test("abort")' true "3.3: the reason names the abort"
check_junit_valid d33

(deploy d34 "$WORK/pause.yml" 3.4; exit "$RC") &
BG_PID=$!
check "3.4 (silent, pause): the canary batch pauses" wait_pause 1 40
rc=0
control --resume resume34a || rc=$?
check_eq "$rc" 0 "3.4: deploy-stage --resume after the canary"
check "3.4: the second batch pauses too" wait_pause 2 40
rc=0
control --resume resume34b || rc=$?
check_eq "$rc" 0 "3.4: deploy-stage --resume after the second batch"
for _ in $(seq 300); do kill -0 "$BG_PID" 2>/dev/null || break; sleep 0.1; done
rc=0
wait "$BG_PID" || rc=$?
BG_PID=""
check_eq "$rc" 0 "3.4: exit code after two resumes"
check_jq "$WORK/d34.json" '[.exit_code, .outcome]' '[0,"succeeded"]' "3.4: resumed twice, it succeeded"
check_eq "$(roots_live)" "3.4 3.4 3.4" "3.4: every root live"
check_jq "$WORK/d34.json" "[${AN}[] | .decision] | unique" '["inconclusive"]' "3.4: its analyses were inconclusive, not passed"
check_jq "$WORK/d34.json" "[${AN}[] | .resumed_by]" '["tess","tess"]' "3.4: each analysis names who resumed it"

# --- 7. Prometheus down, credentials in the URL ---------------------------------
# prometheus_env naming a variable that is not set: refused before anything changes.
deploy d35unset "$WORK/creds.yml" 3.5
check_eq "$RC" 4 "3.5 with PROMETHEUS_URL unset: refused (exit 4)"
check_eq "$(roots_live)" "3.4 3.4 3.4" "3.5 refused: every root still on 3.4"
check "3.5 refused: the message names PROMETHEUS_URL" grep -q PROMETHEUS_URL "$WORK/d35unset.stdout" "$WORK/d35unset.stderr"
stop_prometheus
deploy d35 "$WORK/creds.yml" 3.5 "PROMETHEUS_URL=$CRED_URL"
check "3.5 (Prometheus down): exit 1 (rolled back) or 4 (refused), got $RC" test "$RC" -eq 1 -o "$RC" -eq 4
check_eq "$(roots_live)" "3.4 3.4 3.4" "3.5: every root still/back on 3.4"
check_jq "$WORK/d35.json" "[.. | .decision? // empty] | index(\"passed\")" null "3.5: no analysis passed"
check_jq "$WORK/d35.json" '.outcome | test("rolled-back|blocked")' true "3.5: rolled back or refused"
if ((RC == 1)); then
  check_jq "$WORK/d35.json" "[${AN}[] | .decision]" '["failed"]' "3.5: the analysis failed (fail closed)"
  check_jq "$WORK/d35.json" "[${AN}[] | .queries[] | .samples[] | .verdict] | unique" '["error"]' \
    "3.5: every sample was an error (no answer)"
  check_query d35 error-ratio fail "127\\.0\\.0\\.1:$PROM_LISTEN"
fi
check "3.5: the output names the Prometheus address 127.0.0.1:$PROM_LISTEN" \
  grep -q "127.0.0.1:$PROM_LISTEN" "$WORK/d35.stdout" "$WORK/d35.stderr"
check_junit_valid d35
check "the password is in no output, result, ledger, journal or log" \
  test -z "$(grep -rl -- "$SECRET" "$WORK" 2>/dev/null)"

ELAPSED=$((SECONDS - T0))
echo "# canary_analysis: $PASSED passed, $FAILED failed, ${ELAPSED}s"
((FAILED == 0))
