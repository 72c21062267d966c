#!/usr/bin/env bash
# The test command: installs what is needed, builds, runs the whole suite
# (doctest unit tests, golden end-to-end tests of the real binary, the
# integration tests with real servers, and each libFuzzer target for a
# bounded time).
#
# The suite runs on a clang build with AddressSanitizer and
# UndefinedBehaviorSanitizer, so that a memory error, a leak or undefined
# behaviour anywhere fails the test that reached it (exit code 86). The same
# build makes the fuzz targets. SHIPGATE_TEST_BUILD=plain tests the build of
# scripts/build.sh instead (gcc, no sanitizers, no fuzz targets).
# BUILD_DIR (default build) is where it builds; SHIPGATE_CTEST_ARGS are
# added to ctest's arguments (e.g. "-R unit/ -E fuzz/").
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# The real CI clients the CI integrations are checked with (npm packages
# and their Debian prerequisites), installed once before the tests run.
bash scripts/install-ci-clients.sh >/dev/null
build_dir=${BUILD_DIR:-build}
case ${SHIPGATE_TEST_BUILD:-sanitize} in
  sanitize)
    # A folder configured with another compiler is configured afresh.
    if [[ -f $build_dir/CMakeCache.txt ]] && ! grep -q '^CMAKE_CXX_COMPILER:FILEPATH=.*clang++' "$build_dir/CMakeCache.txt"; then
      rm -rf "$build_dir/CMakeCache.txt" "$build_dir/CMakeFiles"
    fi
    # -O1 with line tables: the usual sanitizer build (readable reports,
    # a third less compile time than -O2 -g).
    CC=clang CXX=clang++ BUILD_DIR=$build_dir bash scripts/build.sh \
      -DSHIPGATE_SANITIZE=ON -DSHIPGATE_FUZZ=ON -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only"
    ;;
  plain)
    if [[ -f $build_dir/CMakeCache.txt ]] && grep -q '^CMAKE_CXX_COMPILER:FILEPATH=.*clang++' "$build_dir/CMakeCache.txt"; then
      rm -rf "$build_dir/CMakeCache.txt" "$build_dir/CMakeFiles"
    fi
    BUILD_DIR=$build_dir bash scripts/build.sh -DSHIPGATE_SANITIZE=OFF -DSHIPGATE_FUZZ=OFF -UCMAKE_CXX_FLAGS_RELWITHDEBINFO
    ;;
  *)
    echo "scripts/test.sh: SHIPGATE_TEST_BUILD must be sanitize or plain (got \"$SHIPGATE_TEST_BUILD\")" >&2
    exit 2
    ;;
esac
cd "$build_dir"
read -r -a extra <<<"${SHIPGATE_CTEST_ARGS:-}"
ctest --output-on-failure -j "$(nproc)" --output-junit ctest-junit.xml "${extra[@]}"
