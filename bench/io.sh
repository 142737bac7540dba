#!/usr/bin/env bash
# Reading a 512x512x2000 int16 movie as TIFF and as HDF5 through apical's readers, against
# `cat` of the same bytes in the same run. apical's TIFF reader drops the pages it has read
# (io/page_cache.hpp), so it reads from disk; the HDF5 reader (users' files, any chunking)
# leaves the page cache alone; `cat` reads whatever the page cache holds.
# Usage: bench/io.sh [BUILD_DIR] [FRAMES]
set -euo pipefail
build=${1:-build}
frames=${2:-2000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$build/bench/bench_io" write "$work" "$frames"
for f in movie.tif movie.h5; do cat "$work/$f" > /dev/null; done   # warm the cache
for round in 1 2; do
  echo "round $round"
  start=$(date +%s.%N); cat "$work/movie.tif" > /dev/null; end=$(date +%s.%N)
  echo "cat movie.tif: $(awk -v n="$frames" -v a="$start" -v b="$end" 'BEGIN{printf "%.0f", n/(b-a)}') frames/s"
  "$build/bench/bench_io" read "$work/movie.tif"
  start=$(date +%s.%N); cat "$work/movie.h5" > /dev/null; end=$(date +%s.%N)
  echo "cat movie.h5: $(awk -v n="$frames" -v a="$start" -v b="$end" 'BEGIN{printf "%.0f", n/(b-a)}') frames/s"
  "$build/bench/bench_io" read "$work/movie.h5" movie
done
