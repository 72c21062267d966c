#!/usr/bin/env bash
# Builds the parser baseline (standalone, not part of shipgate's CMake build).
# Needs libexpat1-dev and libpugixml-dev (bench/run.sh installs them).
set -euo pipefail
cd "$(dirname "$0")"
if [[ ! -x xmlcount || xmlcount.cpp -nt xmlcount ]]; then
  g++ -std=c++20 -O2 -DNDEBUG -o xmlcount xmlcount.cpp -lexpat -lpugixml
fi
