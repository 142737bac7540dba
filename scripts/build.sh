#!/usr/bin/env bash
# Configures and builds apical (Release) in ./build. Optional arguments: targets to build
# (default: everything, i.e. the binary, the tests and the benchmarks).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${JOBS:-$(nproc)}
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
if [ $# -gt 0 ]; then
  for target in "$@"; do cmake --build build -j "$jobs" --target "$target"; done
else
  cmake --build build -j "$jobs"
fi
