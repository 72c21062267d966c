#!/usr/bin/env bash
# The test command: installs what is needed, builds, runs the whole suite
# (doctest unit tests and golden end-to-end tests of the real binary).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# The real CI clients the CI integrations are checked with (npm packages
# and their Debian prerequisites), installed once before the tests run.
bash scripts/install-ci-clients.sh >/dev/null
bash scripts/build.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j "$(nproc)" --output-junit ctest-junit.xml
