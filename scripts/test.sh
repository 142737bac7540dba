#!/usr/bin/env bash
# Builds apical and runs every test (Catch2 via CTest).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
cd build
ctest --output-on-failure -j "${JOBS:-$(nproc)}"
