#!/usr/bin/env bash
# Demo release pipeline: `shipgate gate-on-test-report` on reports written by
# real test frameworks (tests/fixtures/producers/*: each folder has the suite
# and the script that regenerated the report), then `shipgate smoke-test`
# against a local nginx started for the demo, then `shipgate deploy-stage`,
# `rollback`, `status` and `history` on local targets under OUTPUT_DIR/targets
# with the launch plan examples/demo/plan.yml, whose database changes run on
# a private PostgreSQL started for the demo. Usage: run.sh OUTPUT_DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-/tmp/shipgate-demo}
shipgate=${SHIPGATE:-$root/build/shipgate}
producers=$root/tests/fixtures/producers
mkdir -p "$out"
rm -rf "$out"/*.json "$out"/*.xml "$out"/*.md "$out/nginx" "$out/targets" "$out/artifacts"

reports=(
  --report "$producers/pytest-xunit1/report.xml"
  --report "$producers/jest-junit/report.xml"
  --report "$producers/googletest/report.xml"
  --report "$producers/gotestsum/report.xml"
  --report "$producers/surefire/TEST-*.xml"
  --report "$producers/tap13-node/report.tap"
  --report "$producers/ctrf/ctrf-report.json"
)

banner() { printf '\n=== %s ===\n' "$*"; }

banner "1. Release gate for the test environment (policy: examples/demo/policy.yml)"
set +e
"$shipgate" gate-on-test-report "${reports[@]}" --policy "$root/examples/demo/policy.yml" \
  --environment test --json "$out/gate.json" --junit "$out/gate-rules.xml" \
  --markdown "$out/gate.md" --merged-junit "$out/merged-junit.xml" --color never
first=$?
set -e
echo "-> exit code $first (1 = the release criterion is not met)"

banner "2. The same gate against yesterday's result: only NEW failures count (--baseline)"
set +e
"$shipgate" gate-on-test-report "${reports[@]}" --policy "$root/examples/demo/policy.yml" \
  --baseline "$out/gate.json" --json "$out/gate-vs-baseline.json" --quiet --color never
second=$?
set -e
echo "-> exit code $second (0 = no new failure since the baseline)"

banner "3. Smoke test of the freshly deployed service (a local nginx started for the demo)"
bash "$root/tests/integration/servers/nginx.sh" start "$out/nginx" >/dev/null
trap 'bash "$root/tests/integration/servers/nginx.sh" stop "$out/nginx" >/dev/null 2>&1 || true' EXIT
port=$(sed -n 's/^HTTP_PORT=//p' "$out/nginx/env")
set +e
BASE_URL="http://127.0.0.1:$port" API_TOKEN="demo-token-not-shown" \
  "$shipgate" smoke-test --checks "$root/examples/smoke/checks.yml" --environment test \
  --json "$out/smoke.json" --junit "$out/smoke-junit.xml" --color never
third=$?
set -e
echo "-> exit code $third (0 = the service answers as expected; 1 = it is wrong; 3 = it is down)"

banner "4. Deploy: version 1.0 to test, then promoted to staging (plan: examples/demo/plan.yml)"
# Artifacts as a build would make them: a tarball and its sha256 per version.
mkdir -p "$out/artifacts"
for version in 1.0 1.1 1.2; do
  site="$out/artifacts/site-$version"
  mkdir -p "$site/public"
  if [[ $version == 1.1 ]]; then
    echo "<h1>demo shop</h1><p>oops: this build lost its version line</p>" >"$site/public/index.html"
  else
    echo "<h1>demo shop</h1><p>version $version</p>" >"$site/public/index.html"
  fi
  tar czf "$out/artifacts/site-$version.tar.gz" -C "$site" public
  (cd "$out/artifacts" && sha256sum "site-$version.tar.gz" >"site-$version.tar.gz.sha256")
done
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
export DEMO_ROOT="$out/targets" DEMO_DIR="$root/examples/demo" TEST_PORT=$(free_port) STAGING_PORT=$(free_port)
stop_sites() {
  for env in test staging; do
    [[ -d "$DEMO_ROOT/$env/web" ]] && SHIPGATE_ROOT="$DEMO_ROOT/$env/web" python3 "$DEMO_DIR/site.py" stop || true
  done
}
# A private PostgreSQL on 127.0.0.1 with one database per environment.
source "$root/tests/fixtures/db/pg.sh"
trap 'stop_sites; pg_stop || true; bash "$root/tests/integration/servers/nginx.sh" stop "$out/nginx" >/dev/null 2>&1 || true' EXIT
pg_start
for env in test staging; do
  pg_create_db "demo_$env" >/dev/null
  export "DEMO_${env}_DATABASE_URL=$(pg_url "demo_$env")"
done
plan="$root/examples/demo/plan.yml"
# Release 1.2's launch plan adds a database change to 1.0's.
plan12="$out/plan-1.2.yml"
cp "$plan" "$plan12"
cat >>"$plan12" <<'PLAN'
      - id: order-status
        deploy: "${DEMO_DIR}/db/order-status/deploy.sql"
        verify: "${DEMO_DIR}/db/order-status/verify.sql"
        revert: "${DEMO_DIR}/db/order-status/revert.sql"
PLAN
deploy() { # ENV VERSION JSON [PLAN]
  "$shipgate" deploy-stage --plan "${4:-$plan}" --env "$1" --version "$2" \
    --artifact "$out/artifacts/site-$2.tar.gz" --json "$out/$3" --color never --user demo 2>/dev/null
}
codes=()
set +e
deploy test 1.0 deploy-test-1.0.json; codes+=($?)
deploy staging 1.0 deploy-staging-1.0.json; codes+=($?)
set -e
echo "-> exit codes ${codes[*]} (0 = live and verified)"

banner "5. A broken build (1.1): its health check fails, shipgate rolls test back to 1.0 by itself"
set +e
deploy test 1.1 deploy-test-1.1.json; codes+=($?)
echo "-> exit code ${codes[-1]} (1 = failed, rolled back and the old version verified)"
banner "6. 1.1 is now marked bad: no environment accepts it until 'shipgate release unblock'"
deploy staging 1.1 deploy-staging-1.1.json; codes+=($?)
echo "-> exit code ${codes[-1]} (4 = refused before changing anything)"

banner "7. 1.2 (with a database change) goes to test; then the team rolls test back to the last good version on record"
"$shipgate" db plan --plan "$plan12" --env test --color never
deploy test 1.2 deploy-test-1.2.json "$plan12"; codes+=($?)
"$shipgate" rollback --plan "$plan" --env test --reason "demo: back to the last good version" \
  --json "$out/rollback-test.json" --color never --quiet 2>/dev/null
codes+=($?)
set -e
echo "-> exit codes ${codes[-2]} ${codes[-1]}"

banner "8. What is live, and the record (shipgate status / history)"
"$shipgate" status --plan "$plan" --env test --color never
"$shipgate" history --plan "$plan" --env test --color never --limit 8
# 1.2's change was reverted by the rollback, with the revert script kept in
# the database's registry (1.0's plan does not list it).
"$shipgate" db status --plan "$plan" --env test --color never

banner "Artifacts in $out"
ls -1 "$out" | grep -v '^nginx$\|^targets$\|^artifacts$'
if [[ $first -ne 1 || $second -ne 0 || $third -ne 0 || "${codes[*]}" != "0 0 1 4 0 0" ]]; then
  echo "demo: unexpected exit codes ($first, $second, $third, ${codes[*]}); expected 1, 0, 0, 0 0 1 4 0 0" >&2
  exit 1
fi
echo
echo "Verdict of the test-environment gate: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["verdict"])' "$out/gate.json")"
