#!/usr/bin/env bash
# Motion-correction throughput and memory at 512x512 on this machine:
#  1. the core alone (no I/O): rigid and non-rigid frames/s and the FFT-pair time (bench_register_core);
#  2. `apical register` end to end (read TIFF, register, write registered.h5): rigid and non-rigid;
#  3. a 10x longer movie: end-to-end rigid and non-rigid frames/s with the fixed per-plane
#     reference cost amortised, and peak RSS (memory must be set by the batch size).
# Usage: bench/register.sh [BUILD_DIR] [FRAMES=1000] [LONG_FRAMES=10000]
set -euo pipefail
build=${1:-build}
frames=${2:-1000}
long_frames=${3:-10000}
apical="$build/apical"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== core (no I/O), 2 threads"
"$build/bench/bench_register_core" 2 400

echo "== apical register, 512x512, $frames frames x 2 planes"
"$apical" simulate "$work/s" -q --height 512 --width 512 --frames "$frames" --max-shift 8 --nonrigid 2 --bidi 1
"$apical" register "$work/s" --threads 2
"$apical" register "$work/s" --threads 2 --nonrigid --force
"$apical" evaluate "$work/s" | grep -E "rms|bidi"

echo "== long session: $long_frames frames x 2 planes, rigid then non-rigid (the per-plane reference is amortised);"
echo "   peak RSS against the $frames-frame run above"
"$apical" simulate "$work/long" -q --height 512 --width 512 --frames "$long_frames" --max-shift 8
"$apical" register "$work/long" --threads 2
"$apical" register "$work/long" --threads 2 --nonrigid --force
