#!/usr/bin/env bash
# Builds the fuzz corpora's seeds in OUT (default build-fuzz/seeds) from three sources:
# the tiny hand-made seeds in fuzz/seeds/, a tiny simulated session (apical simulate: its
# ScanImage-style TIFFs, BCI log and apical.ini), and the real files in ../shared/data/real
# when present (their first 64 KB, and the ScanImage metadata lines they hold). The real
# files are never copied into the repository.
# usage: fuzz/make-seeds.sh APICAL_BINARY [OUT]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
apical=$1
out=${2:-$here/../build-fuzz/seeds}
real=${APICAL_REAL_DATA_DIR:-$here/../../shared/data/real}
rm -rf "$out"
mkdir -p "$out"
cp -r "$here/seeds/." "$out/"

sim=$(mktemp -d)
trap 'rm -rf "$sim"' EXIT
"$apical" simulate "$sim/s" -q --height 64 --width 64 --frames 6 --neurons 4 --distractors 0 --ensemble-plus 2 --ensemble-minus 2 \
  --frames-per-file 3 --seed 1
cp "$sim"/s/raw/*.tif "$out/tiff_movie/"
cp "$sim/s/apical.ini" "$out/ini/simulated.ini"
# The simulated log, its first rows only (the fuzzer's inputs stay small).
{ head -n 40 "$sim/s/bci/frames.csv"; printf '|'; head -n 4 "$sim/s/bci/trials.csv"; printf '|';
  cat "$sim/s/bci/ensemble.csv"; } > "$out/bci_log/simulated.txt"

if [ -d "$real" ]; then
  for f in "$real"/*.tif; do
    name=$(basename "$f" .tif)
    head -c 65536 "$f" > "$out/tiff_movie/real_$name.tif"
    # Every ScanImage assignment in the file's first megabyte, wherever it sits.
    head -c 1048576 "$f" | tr '\r\0' '\n\n' | grep -aE '^(scanimage\.)?(SI\.|state\.)' | head -n 400 \
      > "$out/scanimage/real_$name.txt" || true
    [ -s "$out/scanimage/real_$name.txt" ] || rm -f "$out/scanimage/real_$name.txt"
  done
fi
for t in "$out"/*/; do echo "seeds: $(basename "$t") $(ls "$t" | wc -l) files"; done
