#!/usr/bin/env bash
# Demo of `shipgate gate-on-test-report` on reports written by real test
# frameworks (tests/fixtures/producers/*: each folder has the suite and the
# script that regenerated the report). Usage: run.sh OUTPUT_DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-/tmp/shipgate-demo}
shipgate=${SHIPGATE:-$root/build/shipgate}
producers=$root/tests/fixtures/producers
mkdir -p "$out"
rm -f "$out"/*.json "$out"/*.xml "$out"/*.md

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

banner "Artifacts in $out"
ls -1 "$out"
if [[ $first -ne 1 || $second -ne 0 ]]; then
  echo "demo: unexpected exit codes ($first, $second); expected 1 then 0" >&2
  exit 1
fi
echo
echo "Verdict of the test-environment gate: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["verdict"])' "$out/gate.json")"
