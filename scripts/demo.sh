#!/usr/bin/env bash
# The demo: installs what is needed, builds, and runs the demo release
# (examples/demo/run.sh): gate, test, staging, sign-offs, prod in canary
# batches, a release whose canary fails and is rolled back, notifications,
# against local services it starts and stops. Usage: demo.sh [OUTPUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh >/dev/null
exec bash examples/demo/run.sh "${1:-${TMPDIR:-/tmp}/shipgate-demo}"
