#!/usr/bin/env bash
# GitLab CI integration test, with gitlab-ci-local (a real GitLab CI runner
# for local use, installed by scripts/install-ci-clients.sh):
#
#   bash tests/integration/ci/gitlab/run.sh PATH/TO/shipgate
#
# a. The repository's own .gitlab-ci.yml, in a scratch git copy of the
#    tracked files: it must validate (--list, --preview), and its pipeline
#    runs end to end (see run_repo_pipeline for what is run and why).
# b. The components of plugins/gitlab, used by the pipeline of this folder
#    (.gitlab-ci.yml) in a scratch repository: gates on real reports, deploys
#    of a small plan to test and prod, the dotenv outputs, the smoke test, the
#    manual sign-off that prod requires, a failing deploy that rolls back by
#    itself, a rollback job after a failed smoke test, and a notification.
#    The pipeline's exit code, each job's log and artifacts, the JUnit files
#    (against junit-10.xsd), the dotenv values and the shipgate ledger
#    (history/status --json) are checked.
# c. plugins/gitlab as the component project it is published as, through
#    `include: component:`.
# d. The YAML examples of docs/ci-gitlab.md and plugins/gitlab/README.md
#    against the files they show.
#
# Prints "N checks passed"; stops at the first failure, saying what was
# expected, and keeps its folder then (the path is printed; also kept with
# SHIPGATE_GITLAB_KEEP=1). SHIPGATE_GITLAB_FULL=1 runs the repository's
# whole pipeline, build job included (see run_repo_pipeline);
# SHIPGATE_GITLAB_SKIP_REPO=1 leaves part a out.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: run.sh PATH/TO/shipgate" >&2
  exit 2
fi
shipgate=$(realpath -- "$1")
[[ -x "$shipgate" ]] || { echo "run.sh: $1 is not an executable" >&2; exit 2; }
source_dir=$(cd "$(dirname "$0")/../../../.." && pwd)
here=$source_dir/tests/integration/ci/gitlab
# The Surefire/Ant JUnit schema the JUnit outputs must validate against.
xsd=${SHIPGATE_JUNIT_XSD:-$source_dir/../shared/schemas/junit-10.xsd}
[[ -f "$xsd" ]] || { echo "run.sh: no JUnit schema at $xsd (set SHIPGATE_JUNIT_XSD)" >&2; exit 1; }

eval "$(bash "$source_dir/scripts/install-ci-clients.sh")"
for tool in gitlab-ci-local rsync git jq xmllint python3; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing" >&2; exit 1; }
done

work=$(mktemp -d /tmp/shipgate-ci-gitlab.XXXXXX)
server_pid=
cleanup() {
  local rc=$?
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; fi
  if ((rc == 0)) && [[ "${SHIPGATE_GITLAB_KEEP:-0}" != 1 ]]; then
    rm -rf -- "$work"
  else
    echo "run.sh: kept $work" >&2
  fi
}
trap cleanup EXIT

# --- checks -----------------------------------------------------------------------

checks=0
ok() { checks=$((checks + 1)); }
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
  [[ "$2" == "$3" ]] || fail "$1: expected '$2', got '$3'"
  ok
}
# expect_file_has FILE FIXED_TEXT WHAT
expect_file_has() {
  [[ -f "$1" ]] || fail "$3: $1 does not exist"
  grep -qF -- "$2" "$1" || fail "$3: '$2' not found in $1"
  ok
}
# expect_junit FILE: exists and validates against junit-10.xsd
expect_junit() {
  [[ -s "$1" ]] || fail "JUnit file $1 is missing or empty"
  xmllint --noout --schema "$xsd" "$1" 2>"$work/xmllint.err" ||
    fail "$1 does not validate against $xsd: $(cat "$work/xmllint.err")"
  ok
}
# expect_json FILE JQ_FILTER EXPECTED WHAT: jq -r FILTER of FILE equals EXPECTED
expect_json() {
  [[ -s "$1" ]] || fail "$4: $1 is missing or empty"
  expect_eq "$4" "$3" "$(jq -r "$2" "$1")"
}
# expect_json_match FILE JQ_FILTER ERE WHAT: jq -r FILTER of FILE matches ERE
expect_json_match() {
  [[ -s "$1" ]] || fail "$4: $1 is missing or empty"
  local actual
  actual=$(jq -r "$2" "$1")
  [[ "$actual" =~ $3 ]] || fail "$4: expected a match of /$3/, got '$actual'"
  ok
}

# --- gitlab-ci-local ----------------------------------------------------------------

# A run is stopped after this long (the whole test must stay under 5 min;
# with the build job, a cold build alone takes longer).
gcl_timeout=420
[[ "${SHIPGATE_GITLAB_FULL:-0}" != 1 ]] || gcl_timeout=3600

# gcl DIR LABEL ARGS...: runs gitlab-ci-local in DIR; its output is in
# $work/LABEL.log, its exit code in $gcl_rc. Prints how long it took.
gcl() {
  local dir=$1 label=$2 start=$SECONDS
  shift 2
  gcl_rc=0
  (cd "$dir" && timeout "$gcl_timeout" gitlab-ci-local --no-color --home "$work/gcl-home" "$@") \
    </dev/null >"$work/$label.log" 2>&1 || gcl_rc=$?
  echo "  gitlab-ci-local $label: exit $gcl_rc in $((SECONDS - start)) s"
}
# job_result LABEL JOB: PASS, WARN or FAIL as gitlab-ci-local's summary
# reports the job (empty when it did not run).
job_result() {
  sed -nE "s/^ (PASS|WARN|FAIL) +$2( .*)?\$/\\1/p" "$work/$1.log" | head -n 1
}
expect_job() { # expect_job LABEL JOB RESULT
  expect_eq "run $1: result of job $2" "$3" "$(job_result "$1" "$2")"
}
expect_pipeline() { # expect_pipeline LABEL EXIT_CODE
  [[ "$gcl_rc" == "$2" ]] || {
    tail -n 40 "$work/$1.log" >&2
    fail "run $1: gitlab-ci-local exit code: expected $2, got $gcl_rc (log: $work/$1.log)"
  }
  ok
}

# new_repo DIR: git init + one commit of what DIR holds (gitlab-ci-local
# needs a repository with a commit, and syncs only tracked files). The
# origin remote is never contacted; it gives the CI_PROJECT_* variables.
new_repo() {
  git -C "$1" init -q -b main
  git -C "$1" remote add origin git@gitlab.example.test:acme/shop.git
  git -C "$1" add -A
  git -C "$1" -c user.name="Rita Release" -c user.email=rita@example.test commit -qm "release candidate"
}

# --- a. the repository's own pipeline -------------------------------------------------

run_repo_pipeline() {
  echo "a. the repository's .gitlab-ci.yml"
  local repo=$work/repo
  mkdir -p "$repo"
  # Tracked and new files that are not ignored, as a clone would have them
  # (a tracked file deleted in the work tree is left out).
  local file
  git -C "$source_dir" ls-files -co --exclude-standard -z |
    while IFS= read -r -d '' file; do
      if [[ -e "$source_dir/$file" ]]; then printf '%s\0' "$file"; fi
    done |
    rsync -a --from0 --files-from=- "$source_dir/" "$repo/"
  new_repo "$repo"

  gcl "$repo" repo-list --list
  expect_pipeline repo-list 0
  local job
  for job in build test shipgate-gate demo; do
    grep -qE "^$job +" "$work/repo-list.log" || fail "--list of .gitlab-ci.yml does not show the job $job"
    ok
  done
  gcl "$repo" repo-preview --preview
  expect_pipeline repo-preview 0
  expect_file_has "$work/repo-preview.log" "gate-on-test-report" \
    "--preview: the gate job comes from plugins/gitlab/templates/gate.yml"
  expect_file_has "$work/repo-preview.log" "build/ctest-junit.xml" "--preview: the gate reads ctest's JUnit report"

  # Its pipeline, with the shell executor (the jobs name a Docker image) and
  # without isolation, so the jobs share the checkout as the build folder's
  # absolute paths need. This test runs inside the suite, so the test job runs
  # the first 150 unit tests only (the whole suite runs around this test).
  # Building shipgate again, in another folder, takes minutes even with
  # ccache hits, so by default the build job is left out:
  # the test job runs ctest in a build folder holding the test files of the
  # build that made $shipgate, and the gate and the demo run $shipgate
  # (SHIPGATE_BIN). SHIPGATE_GITLAB_FULL=1 runs the whole pipeline, build
  # job included.
  # (--force-shell-executor alone keeps CI_PROJECT_DIR at the image's
  # /builds/<project>: the jobs would write there, outside the checkout.)
  local -a run=(--force-shell-executor --variable "CI_PROJECT_DIR=$repo" --variable "SHIPGATE_CTEST_ARGS=-R ^unit/ -I 1,150")
  if [[ "${SHIPGATE_GITLAB_FULL:-0}" == 1 ]]; then
    gcl "$repo" repo-pipeline "${run[@]}"
    expect_job repo-pipeline build PASS
  else
    local build_dir
    build_dir=$(dirname "$shipgate")
    [[ -f "$build_dir/CTestTestfile.cmake" && -f "$build_dir/tests/CTestTestfile.cmake" ]] ||
      fail "$build_dir is not the build folder of $shipgate (no CTestTestfile.cmake)"
    mkdir -p "$repo/build/tests"
    cp "$build_dir/CTestTestfile.cmake" "$repo/build/"
    cp "$build_dir/tests/CTestTestfile.cmake" "$repo/build/tests/"
    gcl "$repo" repo-pipeline "${run[@]}" --variable "SHIPGATE_BIN=$shipgate" test shipgate-gate demo
  fi
  expect_pipeline repo-pipeline 0
  expect_job repo-pipeline test PASS
  expect_job repo-pipeline shipgate-gate PASS
  expect_job repo-pipeline demo PASS
  # ctest's own JUnit dialect (not junit-10.xsd: it has testcase/@status).
  xmllint --noout "$repo/build/ctest-junit.xml" 2>/dev/null || fail "build/ctest-junit.xml is not well-formed XML"
  ok
  local unit_tests
  unit_tests=$(grep -c '<testcase ' "$repo/build/ctest-junit.xml" || true)
  grep -q 'name="unit/' "$repo/build/ctest-junit.xml" || fail "ctest-junit.xml holds no unit/ test"
  ok
  grep -q 'name="integration/' "$repo/build/ctest-junit.xml" &&
    fail "ctest-junit.xml holds integration tests: SHIPGATE_CTEST_ARGS=-R ^unit/ -I 1,150 was not honoured"
  ok
  local gate=$repo/shipgate-out
  expect_json "$gate/gate-on-test-report.json" .verdict pass "repository gate: verdict"
  expect_json "$gate/gate-on-test-report.json" .totals.tests "$unit_tests" "repository gate: tests read from ctest-junit.xml"
  expect_junit "$gate/gate-on-test-report.junit.xml"
  expect_file_has "$gate/gate-on-test-report.env" "SHIPGATE_VERDICT=pass" "repository gate: dotenv"
  [[ -d "$repo/demo-out/steps" ]] || fail "the demo job left no demo-out/steps"
  ok
}

# --- b. the components ----------------------------------------------------------------------

# The site of test and the audit webhook: one python server on 127.0.0.1
# that serves ROOT/test/web/current/public (the live release of test) and
# appends every POST to $work/webhook.jsonl.
start_server() {
  python3 - "$1/test/web/current/public" "$work/webhook.jsonl" "$work/server.port" <<'PY' &
import http.server, json, sys
site, log, port_file = sys.argv[1:4]
class Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=site, **kwargs)
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        with open(log, "a") as f:
            f.write(json.dumps({"path": self.path, "headers": dict(self.headers), "body": body.decode()}) + "\n")
        self.send_response(200)
        self.end_headers()
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os; os.rename(port_file + ".tmp", port_file)
server.serve_forever()
PY
  server_pid=$!
  local tries=100
  while [[ ! -s "$work/server.port" ]] && ((tries-- > 0)); do sleep 0.1; done
  [[ -s "$work/server.port" ]] || fail "the test's http server did not start"
}

run_component_pipeline() {
  echo "b. the components of plugins/gitlab"
  local pipe=$work/components
  mkdir -p "$pipe/plugins" "$pipe/tests/integration/ci" "$pipe/tests/fixtures/producers"
  cp -r "$source_dir/plugins/gitlab" "$pipe/plugins/"
  cp -r "$here" "$pipe/tests/integration/ci/"
  local producer
  for producer in gotestsum pytest-xunit2 jest-junit; do
    mkdir -p "$pipe/tests/fixtures/producers/$producer"
    cp "$source_dir/tests/fixtures/producers/$producer/report.xml" "$pipe/tests/fixtures/producers/$producer/"
  done
  mkdir -p "$pipe/tests/fixtures/producers/googletest"
  cp "$source_dir/tests/fixtures/producers/googletest/report.xml" "$pipe/tests/fixtures/producers/googletest/google test.xml"
  new_repo "$pipe"

  local root=$work/targets
  mkdir -p "$root"
  start_server "$root"
  local base_url leaked
  base_url="http://127.0.0.1:$(cat "$work/server.port")"
  local secret=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
  local -a common=(--file tests/integration/ci/gitlab/.gitlab-ci.yml --shell-isolation
    --variable "SHIPGATE_BIN=$shipgate" --variable "DEPLOY_ROOT=$root"
    --variable "SMOKE_BASE_URL=$base_url" --variable "WEBHOOK_URL=$base_url/hook"
    --variable "WEBHOOK_SECRET=$secret" --variable "PWNED=$work/pwned"
    --variable "DB_DSN_NOTE=cannot open database")
  local out=$pipe/.gitlab-ci-local
  # ledger ENV: shipgate history of ENV as JSON
  ledger() {
    "$shipgate" history --ci none --plan "$pipe/tests/integration/ci/gitlab/plan.yml" --env "$1" \
      --var "ROOT=$root" --json "$work/history-$1.json" --quiet >/dev/null
    printf '%s' "$work/history-$1.json"
  }
  status() {
    "$shipgate" status --ci none --plan "$pipe/tests/integration/ci/gitlab/plan.yml" --env "$1" \
      --var "ROOT=$root" --json "$work/status-$1.json" --quiet >/dev/null
    printf '%s' "$work/status-$1.json"
  }

  # 0. The components as GitLab sees them once included (--preview): the
  #    keywords that make a deploy a deploy and a sign-off a gate.
  gcl "$pipe" b0-preview "${common[@]}" --variable CI_COMMIT_TAG=v1.0 --preview
  expect_pipeline b0-preview 0
  # job_yaml JOB: the job's block of the merged YAML, nested lists cut
  job_yaml() { awk -v job="$1:" '$0 == job {p = 1; next} /^[^ ]/ {p = 0} p' "$work/b0-preview.log"; }
  local env
  for env in test prod; do
    job_yaml "shipgate-deploy-$env" >"$work/job.yml"
    expect_file_has "$work/job.yml" "  resource_group: $env" "deploy to $env: resource_group"
    expect_file_has "$work/job.yml" "    name: $env" "deploy to $env: environment name"
    expect_file_has "$work/job.yml" "    action: start" "deploy to $env: environment action"
    expect_file_has "$work/job.yml" "    when: always" "deploy to $env: artifacts also when it fails"
    expect_file_has "$work/job.yml" "      dotenv: shipgate-out/deploy-stage-$env.env" "deploy to $env: dotenv report"
    expect_file_has "$work/job.yml" "      junit: shipgate-out/deploy-stage-$env.junit.xml" "deploy to $env: junit report"
  done
  job_yaml shipgate-deploy-test >"$work/job.yml"
  expect_file_has "$work/job.yml" "    url: \$SMOKE_BASE_URL" "deploy to test: environment url input"
  job_yaml shipgate-rollback-test >"$work/job.yml"
  expect_file_has "$work/job.yml" "  resource_group: test" "rollback of test: resource_group"
  expect_file_has "$work/job.yml" "    name: test" "rollback of test: environment"
  expect_file_has "$work/job.yml" "  when: on_failure" "rollback of test: when input"
  job_yaml shipgate-signoff-prod-tester >"$work/job.yml"
  expect_file_has "$work/job.yml" "  when: manual" "sign-off: a manual job"
  expect_file_has "$work/job.yml" "  allow_failure: false" "sign-off: blocks the pipeline"
  expect_file_has "$work/job.yml" "    SHIPGATE_INPUT_BY: \$GITLAB_USER_LOGIN" "sign-off: signed by the GitLab user"
  job_yaml unreleased-gate >"$work/job.yml"
  expect_file_has "$work/job.yml" "      - 1" "failing gate: allow_failure exit_codes input"
  job_yaml shipgate-smoke-test >"$work/job.yml"
  expect_file_has "$work/job.yml" "    action: verify" "smoke test: environment action verify"

  # Every component carries the same shared shell (the part between its
  # two markers), so a fix to one is a fix to all.
  local template first=
  for template in "$source_dir"/plugins/gitlab/templates/*.yml; do
    awk '/# --- the same in every shipgate component/ {p = 1} /^      # --- [a-z-]+ -+$/ && !/the same/ {p = 0} p' \
      "$template" >"$work/shared-$(basename "$template").sh"
    [[ -s "$work/shared-$(basename "$template").sh" ]] || fail "$template has no shared shell part"
    if [[ -z "$first" ]]; then
      first=$template
    else
      cmp -s "$work/shared-$(basename "$first").sh" "$work/shared-$(basename "$template").sh" ||
        fail "the shared shell of $template differs from $first's"
    fi
    ok
  done

  # 1. A branch pipeline of 1.0: gates, package, deploy to test, dotenv, smoke.
  gcl "$pipe" b1-branch "${common[@]}"
  expect_pipeline b1-branch 0
  expect_job b1-branch shipgate-gate PASS
  expect_job b1-branch unreleased-gate WARN
  expect_job b1-branch package PASS
  expect_job b1-branch shipgate-deploy-test PASS
  expect_job b1-branch release-info PASS
  expect_job b1-branch shipgate-smoke-test PASS
  expect_eq "run b1-branch: the on_failure rollback job did not run" "" "$(job_result b1-branch shipgate-rollback-test)"
  expect_eq "run b1-branch: deploy to prod (tags only) did not run" "" "$(job_result b1-branch shipgate-deploy-prod)"

  local gate=$out/artifacts/shipgate-gate/shipgate-out
  expect_junit "$gate/gate-on-test-report.junit.xml"
  expect_junit "$gate/gate-on-test-report.merged.junit.xml"
  expect_json "$gate/gate-on-test-report.json" .verdict pass "passing gate: verdict"
  expect_json "$gate/gate-on-test-report.json" .ci.provider gitlab "passing gate: the CI detected"
  expect_json "$gate/gate-on-test-report.json" .ci.environment test "passing gate: environment input"
  expect_json "$gate/gate-on-test-report.json" .totals.tests 21 "passing gate: tests read from both reports"
  expect_file_has "$gate/gate-on-test-report.env" "SHIPGATE_VERDICT=pass" "passing gate: dotenv"
  expect_file_has "$gate/gate-on-test-report.md" "PASS" "passing gate: Markdown summary"
  expect_json "$gate/gate-on-test-report.json" '.rules[] | select(.id == "pass-rate") | .limit' ">= 50.00%" \
    "passing gate: the args input, one argument per line"
  expect_eq "passing gate: only its own files in its artifacts" \
    "$(printf 'gate-on-test-report.%s ' env json junit.xml md merged.junit.xml | sed 's/ $//')" \
    "$(cd "$gate" && echo *)"

  local unreleased=$out/artifacts/unreleased-gate/shipgate-out
  expect_junit "$unreleased/gate-unreleased.junit.xml"
  expect_json "$unreleased/gate-unreleased.json" .verdict fail "failing gate: verdict"
  expect_json "$unreleased/gate-unreleased.json" .exit_code 1 "failing gate: exit code"
  expect_file_has "$unreleased/gate-unreleased.env" "SHIPGATE_VERDICT=fail" "failing gate: dotenv"
  expect_file_has "$out/output/unreleased-gate.log" "exit 1, negative verdict" "failing gate: log"
  # DB_DSN_NOTE (secret_env) is quoted by a failure message of the reports.
  leaked=$(grep -rlF -- "cannot open database" "$unreleased" "$out/output/unreleased-gate.log" || true)
  expect_eq "failing gate: the secret_env value in its log or artifacts" "" "$leaked"
  expect_file_has "$unreleased/gate-unreleased.json" "RuntimeError: ***" "failing gate: the secret masked in the JSON"

  local deploy=$out/artifacts/shipgate-deploy-test/shipgate-out
  expect_junit "$deploy/deploy-stage-test.junit.xml"
  expect_json "$deploy/deploy-stage-test.json" .outcome succeeded "deploy to test: outcome"
  expect_json "$deploy/deploy-stage-test.json" .ci.environment test "deploy to test: CI environment"
  expect_file_has "$deploy/deploy-stage-test.env" "SHIPGATE_VERSION=1.0" "deploy to test: dotenv version"
  expect_file_has "$deploy/deploy-stage-test.env" "SHIPGATE_OUTCOME=succeeded" "deploy to test: dotenv outcome"
  # The deploy job received the gates' outputs (an earlier stage): they must
  # not travel on in its own artifacts.
  expect_eq "deploy to test: only its own files in its artifacts" \
    "deploy-stage-test.env deploy-stage-test.json deploy-stage-test.junit.xml deploy-stage-test.md" \
    "$(cd "$deploy" && echo *)"
  local release
  release=$(jq -r .release "$deploy/deploy-stage-test.json")
  local info=$out/artifacts/release-info/release-info.txt
  expect_file_has "$info" "version=1.0" "release-info: SHIPGATE_VERSION through needs:"
  expect_file_has "$info" "outcome=succeeded" "release-info: SHIPGATE_OUTCOME through needs:"
  expect_file_has "$info" "release=$release" "release-info: SHIPGATE_RELEASE through needs:"

  local smoke=$out/artifacts/shipgate-smoke-test/shipgate-out
  expect_junit "$smoke/smoke-test-test.junit.xml"
  expect_json "$smoke/smoke-test-test.json" .verdict pass "smoke test of test: verdict"
  expect_file_has "$smoke/smoke-test-test.env" "SHIPGATE_REASON=passed" "smoke test: dotenv"

  expect_json "$(status test)" .live.version 1.0 "status of test after run 1: 1.0 is live"

  # 2. Deploy to prod without the sign-off: refused before anything changes.
  gcl "$pipe" b2-prod-unsigned "${common[@]}" --variable CI_COMMIT_TAG=v1.0 shipgate-deploy-prod
  expect_pipeline b2-prod-unsigned 1
  expect_job b2-prod-unsigned shipgate-deploy-prod FAIL
  expect_file_has "$out/output/shipgate-deploy-prod.log" "exit 4, refused by policy" "unsigned prod deploy: log"
  expect_file_has "$out/output/shipgate-deploy-prod.log" "no approval from tester" "unsigned prod deploy: the reason"
  deploy=$out/artifacts/shipgate-deploy-prod/shipgate-out
  expect_junit "$deploy/deploy-stage-prod.junit.xml"
  expect_json "$deploy/deploy-stage-prod.json" .exit_code 4 "unsigned prod deploy: exit code in the JSON"
  expect_json "$deploy/deploy-stage-prod.json" .outcome blocked "unsigned prod deploy: outcome"
  expect_file_has "$deploy/deploy-stage-prod.env" "SHIPGATE_OUTCOME=blocked" "unsigned prod deploy: dotenv"
  expect_json "$(status prod)" '.live.version // "none"' none "nothing is live in prod after the refusal"

  # 3. The tag pipeline with the tester's sign-off (the manual job, run):
  #    test, then prod, then the notification.
  gcl "$pipe" b3-tag "${common[@]}" --variable CI_COMMIT_TAG=v1.0 --manual shipgate-signoff-prod-tester
  expect_pipeline b3-tag 0
  local job
  for job in shipgate-gate package shipgate-deploy-test release-info shipgate-smoke-test \
    shipgate-signoff-prod-tester shipgate-deploy-prod shipgate-notify-prod-released; do
    expect_job b3-tag "$job" PASS
  done
  expect_job b3-tag unreleased-gate WARN
  local signoff=$out/artifacts/shipgate-signoff-prod-tester/shipgate-out
  expect_junit "$signoff/signoff-prod-tester.junit.xml"
  expect_json "$signoff/signoff-prod-tester.json" .exit_code 0 "sign-off: exit code"
  deploy=$out/artifacts/shipgate-deploy-prod/shipgate-out
  expect_junit "$deploy/deploy-stage-prod.junit.xml"
  expect_json "$deploy/deploy-stage-prod.json" .outcome succeeded "signed prod deploy: outcome"
  expect_file_has "$deploy/deploy-stage-prod.env" "SHIPGATE_VERSION=1.0" "signed prod deploy: dotenv"
  local history
  history=$(ledger prod)
  expect_json "$history" '[.entries[] | select(.event == "signoff")][0] | "\(.role) \(.decision) \(.version) \(.by)"' \
    "tester approve 1.0 $(jq -r .ci.user "$signoff/signoff-prod-tester.json")" \
    "prod ledger: the sign-off, by the GitLab user"
  expect_json_match "$history" '[.entries[] | select(.event == "signoff")][0].comment' '^acceptance run [0-9]+ green$' \
    "prod ledger: the sign-off's comment, with \$CI_PIPELINE_ID expanded by the runner"
  expect_json "$history" '[.entries[] | select(.event == "deploy")][0] | "\(.version) \(.outcome)"' "1.0 succeeded" \
    "prod ledger: the deploy"
  expect_json "$(status prod)" .live.version 1.0 "status of prod: 1.0 is live"
  local notify=$out/artifacts/shipgate-notify-prod-released/shipgate-out
  expect_junit "$notify/notify-prod-released.junit.xml"
  [[ -s "$work/webhook.jsonl" ]] || fail "the webhook received nothing"
  jq -s '[.[] | .body | fromjson | select(.type == "release.released") | .data]' "$work/webhook.jsonl" >"$work/released.json"
  expect_json "$work/released.json" '.[0] | "\(.environment) \(.version)"' "prod 1.0" \
    "the webhook received the released event of 1.0 in prod"
  local as_written="released by pipeline [0-9]+; \\\$\\(touch $work/pwned\\) 'quoted' \"too\""
  expect_json_match "$work/released.json" '.[0].text' "$as_written" \
    "the released event carries the comment input as written"
  [[ ! -e "$work/pwned" ]] || fail "an input was run by a shell: $work/pwned exists"
  ok
  # The webhook's signing secret is a secret: never in a log or an artifact.
  leaked=$(grep -rlF -- "$secret" "$out/output" "$out/artifacts" "$work"/*.log || true)
  expect_eq "the webhook secret in logs or artifacts" "" "$leaked"

  # 4. A broken 1.1: its health check fails after the switch, and the deploy
  #    rolls test back to 1.0 by itself (exit 1).
  gcl "$pipe" b4-broken "${common[@]}" --variable RELEASE_VERSION=1.1 --variable RELEASE_KIND=broken \
    package shipgate-deploy-test
  expect_pipeline b4-broken 1
  expect_job b4-broken package PASS
  expect_job b4-broken shipgate-deploy-test FAIL
  expect_file_has "$out/output/shipgate-deploy-test.log" "exit 1, negative verdict" "broken deploy: log"
  deploy=$out/artifacts/shipgate-deploy-test/shipgate-out
  expect_junit "$deploy/deploy-stage-test.junit.xml"
  expect_json "$deploy/deploy-stage-test.json" .outcome rolled-back "broken deploy: outcome"
  expect_file_has "$deploy/deploy-stage-test.env" "SHIPGATE_OUTCOME=rolled-back" "broken deploy: dotenv"
  expect_json "$(status test)" .live.version 1.0 "status of test after the broken deploy: 1.0 is live again"

  # 5. A wrong 1.2: deployed, but the smoke test fails (exit 1), so the
  #    on_failure rollback job returns test to 1.0 and marks 1.2 bad.
  gcl "$pipe" b5-wrong "${common[@]}" --variable RELEASE_VERSION=1.2 --variable RELEASE_KIND=wrong
  expect_pipeline b5-wrong 1
  expect_job b5-wrong shipgate-deploy-test PASS
  expect_job b5-wrong shipgate-smoke-test FAIL
  expect_job b5-wrong shipgate-rollback-test PASS
  smoke=$out/artifacts/shipgate-smoke-test/shipgate-out
  expect_junit "$smoke/smoke-test-test.junit.xml"
  expect_json "$smoke/smoke-test-test.json" .reason expectation-failed "wrong release: smoke test reason"
  local rollback=$out/artifacts/shipgate-rollback-test/shipgate-out
  expect_junit "$rollback/rollback-test.junit.xml"
  expect_json "$rollback/rollback-test.json" '"\(.bad_version) -> \(.version)"' "1.2 -> 1.0" "rollback job: from and to"
  expect_file_has "$rollback/rollback-test.env" "SHIPGATE_VERSION=1.0" "rollback job: dotenv"
  local state
  state=$(status test)
  expect_json "$state" .live.version 1.0 "status of test after the rollback job: 1.0 is live"
  expect_json "$state" '[.bad_versions[] | .version? // .] | map(tostring) | sort | join(",")' "1.1,1.2" \
    "status of test: 1.1 and 1.2 are marked bad"
  expect_json_match "$(ledger test)" '[.entries[] | select(.event == "rollback")][0].reason' \
    '^the smoke test failed in pipeline [0-9]+$' "test ledger: the rollback job's reason"
}

# --- c. the component project's own pipeline ----------------------------------------------

# plugins/gitlab as the GitLab project it is published as: its pipeline
# includes the gate with `include: component:` (the catalog form) at its
# own commit, and releases on a version tag.
run_component_project() {
  echo "c. plugins/gitlab as a component project"
  local project=$work/component-project
  mkdir -p "$project"
  cp -r "$source_dir/plugins/gitlab/." "$project/"
  new_repo "$project"
  gcl "$project" c1-list --list
  expect_pipeline c1-list 0
  grep -qE '^shipgate-gate +test +on_success' "$work/c1-list.log" ||
    fail "the component project's pipeline does not list shipgate-gate"
  ok
  grep -qE '^release ' "$work/c1-list.log" && fail "the release job is listed without a version tag"
  ok
  gcl "$project" c2-tag-list --variable CI_COMMIT_TAG=1.2.0 --list
  grep -qE '^release +release +on_success' "$work/c2-tag-list.log" || fail "a version tag does not list the release job"
  ok
  gcl "$project" c3-gate --shell-isolation --variable "SHIPGATE_BIN=$shipgate" shipgate-gate
  expect_pipeline c3-gate 0
  expect_job c3-gate shipgate-gate PASS
  local gate=$project/.gitlab-ci-local/artifacts/shipgate-gate/shipgate-out
  expect_json "$gate/gate-on-test-report.json" .totals.tests 4 "component project gate: tests read"
  expect_junit "$gate/gate-on-test-report.junit.xml"
  # No shipgate where SHIPGATE_BIN points: the job fails (exit 2) saying so.
  gcl "$project" c4-no-shipgate --shell-isolation --variable "SHIPGATE_BIN=$work/no-such-shipgate" shipgate-gate
  expect_job c4-no-shipgate shipgate-gate FAIL
  expect_file_has "$project/.gitlab-ci-local/output/shipgate-gate.log" \
    "input 'shipgate': '$work/no-such-shipgate' is not an executable file nor on PATH" \
    "a missing executable: the job's message"
  grep -qE "shipgate-gate +finished in .* FAIL 2" "$work/c4-no-shipgate.log" ||
    fail "a missing executable: the job did not end with exit 2"
  ok
}

# --- d. the documentation's examples ------------------------------------------------------------

# Each YAML example of docs/ci-gitlab.md and plugins/gitlab/README.md that
# shows this repository's pipelines (it names their files, variables or jobs)
# must be in one of them: its lines, in order, in the test pipeline, the
# repository's .gitlab-ci.yml, the test plan or the merged YAML (--preview).
check_doc_examples() {
  echo "d. the documentation's examples"
  local doc count
  for doc in "$source_dir/docs/ci-gitlab.md" "$source_dir/plugins/gitlab/README.md"; do
    count=$(python3 - "$doc" "$here/.gitlab-ci.yml" "$source_dir/.gitlab-ci.yml" "$here/plan.yml" \
      "$work/b0-preview.log" <<'PY'
import re, sys
doc, *files = sys.argv[1:]
texts = [[line.strip() for line in open(f, errors="replace").read().splitlines()] for f in files]
markers = ("tests/integration/ci/gitlab", "RELEASE_VERSION", "DEPLOY_ROOT", "SMOKE_BASE_URL", "CI_PROJECT_DIR/build")
checked = 0
for block in re.findall(r"```yaml\n(.*?)```", open(doc).read(), re.S):
    if not (any(m in block for m in markers) or re.search(r"^shipgate-[a-z-]+:$", block, re.M)):
        continue
    checked += 1
    want = [line.strip() for line in block.splitlines() if line.strip()]
    def found_in(text):
        i = 0
        for line in text:
            if i < len(want) and line == want[i]:
                i += 1
        return i == len(want)
    if not any(found_in(t) for t in texts):
        sys.exit(f"{doc}: this example is in none of the pipelines it shows:\n{block}")
print(checked)
PY
    ) || fail "an example of $doc does not match the real files"
    ((count > 0)) || fail "no example of $doc was checked"
    ok
  done
}

[[ "${SHIPGATE_GITLAB_SKIP_REPO:-0}" == 1 ]] || run_repo_pipeline
run_component_pipeline
run_component_project
check_doc_examples
echo "$checks checks passed"
