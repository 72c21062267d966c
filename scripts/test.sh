#!/usr/bin/env bash
# The test command: installs what is needed, builds, runs the whole suite
# (doctest unit tests and golden end-to-end tests of the real binary).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j "$(nproc)" --output-junit ctest-junit.xml
