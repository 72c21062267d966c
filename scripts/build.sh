#!/usr/bin/env bash
# Configures and builds shipgate into build/ (or $BUILD_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
build_type=${BUILD_TYPE:-RelWithDebInfo}
# ccache sees paths relative to the checkout and leaves the build folder out
# of its hash, so a build of the same sources in another folder (a CI job's
# copy) reuses the cache. (Debug info of such a hit names the first folder.)
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" "$@" >/dev/null
cmake --build "$build_dir" -j "$(nproc)"
