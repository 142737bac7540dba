#!/usr/bin/env bash
# apical register on a real gzip-chunked HDF5 movie (../shared/data/real/neurofinder_top,
# 600 x 256 x 512 uint16, chunks of 50 frames) against the same movie stored uncompressed
# (contiguous), in the same run. Prints frames/s of each and the ratio, for register end to end
# and for reading alone (bench_io read: the movie streamed in batches, no registration).
# Usage: bench/compressed_hdf5.sh [BUILD_DIR] [ROUNDS]
set -euo pipefail
build=${1:-build}
rounds=${2:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
movie="$here/../shared/data/real/neurofinder_top/movie.h5"
[ -f "$movie" ] || { echo "compressed_hdf5: $movie not present" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$build/bench/bench_io" decompress "$movie" movie "$work/plain.h5"
rate() {  # frames/s of one register run
  local start end
  start=$(date +%s.%N)
  "$build/apical" register "$1" --dataset movie --axes tyx -o "$work/reg.h5" --force --quiet
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN{printf "%.1f", 600/(b-a)}'
}
read_rate() {  # frames/s of reading alone
  "$build/bench/bench_io" read "$1" movie | sed -n 's/.* \([0-9.]*\) frames\/s.*/\1/p'
}
ratio() { awk -v c="$1" -v u="$2" 'BEGIN{printf "%.2f", c/u}'; }
for round in $(seq "$rounds"); do
  c=$(rate "$movie"); u=$(rate "$work/plain.h5")
  rc=$(read_rate "$movie"); ru=$(read_rate "$work/plain.h5")
  echo "round $round: register gzip-chunked $c frames/s, uncompressed $u frames/s, ratio $(ratio "$c" "$u");" \
       "read alone $rc vs $ru frames/s, ratio $(ratio "$rc" "$ru")"
done
