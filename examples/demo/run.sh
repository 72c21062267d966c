#!/usr/bin/env bash
# Demo release pipeline: `shipgate gate-on-test-report` on reports written by
# real test frameworks (tests/fixtures/producers/*: each folder has the suite
# and the script that regenerated the report), then `shipgate smoke-test`
# against a local nginx started for the demo. Usage: run.sh OUTPUT_DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-/tmp/shipgate-demo}
shipgate=${SHIPGATE:-$root/build/shipgate}
producers=$root/tests/fixtures/producers
mkdir -p "$out"
rm -rf "$out"/*.json "$out"/*.xml "$out"/*.md "$out/nginx"

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

banner "Artifacts in $out"
ls -1 "$out" | grep -v '^nginx$'
if [[ $first -ne 1 || $second -ne 0 || $third -ne 0 ]]; then
  echo "demo: unexpected exit codes ($first, $second, $third); expected 1, 0, 0" >&2
  exit 1
fi
echo
echo "Verdict of the test-environment gate: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["verdict"])' "$out/gate.json")"
