#!/usr/bin/env bash
# Builds apical with AddressSanitizer + UndefinedBehaviorSanitizer in ./build-sanitize and
# runs the tests under it. Any finding fails the run (a sanitizer report exits non-zero).
# Left out to fit CI's time (they run in the normal build; the remaining tests exercise the
# same code on smaller inputs): the Makefile test over three sessions, the 30 kills of
# apical run, register's and segment's accuracy on full-size simulated sessions, the
# 20-session false-positive rate of regress, the Snakemake-on-SLURM test (19 jobs of the
# whole pipeline), and segmentation of the 600-frame real recording against its manual
# labels (the Allen crop and the simulator tests run the same detection code under the
# sanitizers); and the check of each stage's peak memory against `apical plan`'s bound
# (the sanitizers' shadow memory and quarantine are not apical's); the opto experiment end to end
# (a 6000-frame session through every stage; its analysis runs under the sanitizers in the
# conditions tests), two NWB tests that run the whole pipeline again (the validator, export,
# import and error tests stay), and blank-row detection on the real recordings (the simulated
# sessions exercise it). APICAL_SANITIZE_EXCLUDE='^$'
# runs them all.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${JOBS:-$(nproc)}
cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Release -DAPICAL_SANITIZE=ON >/dev/null
cmake --build build-sanitize -j "$jobs"
cd build-sanitize
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$PWD/../scripts/lsan.supp  # font libraries' process-wide caches
# 'ROIs per label on the unseen': registers and segments the 600-frame real movie twice, like 'real dense recording'.
slow='ROIs per label on the unseen|Makefile.analysis|30 kill -9|segment finds somata|register recovers rigid|20 sessions|real SLURM|real dense recording|peaks within its bound|opto effect is recovered end to end|NWB read with h5py alone|suite2p-style NWB|blanked rows in real recordings|no blank rows and no frame without signal in real'
ctest --output-on-failure -j "$jobs" -E "${APICAL_SANITIZE_EXCLUDE:-$slow}"
