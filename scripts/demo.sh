#!/usr/bin/env bash
# The demo: installs what is needed, builds, and runs the release gate on
# test reports written by real test frameworks (pytest, Jest, GoogleTest,
# go test via gotestsum, Maven Surefire, node's TAP reporter).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh >/dev/null
exec bash examples/demo/run.sh "${1:-${TMPDIR:-/tmp}/shipgate-demo}"
