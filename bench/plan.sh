#!/usr/bin/env bash
# How close `apical plan`'s memory bounds are to each stage's measured peak RSS, on a 512x512
# session. Each bound is asked for just before its stage runs, as the Snakefile does when it
# submits the job (so extract and regress are sized from the ROIs segment found).
# Passes when every stage's peak RSS <= its bound <= 1.5 x its peak RSS.
# Usage: bench/plan.sh [BUILD_DIR=build] [FRAMES=3000] [THREADS=2] [BATCH_SIZE]
# (no BATCH_SIZE: each stage's default, as the Snakefile runs them; segment's is 50, not 200)
set -euo pipefail
build=${1:-build}
frames=${2:-3000}
threads=${3:-2}
batch_option=()
[ $# -lt 4 ] || batch_option=(--batch-size "$4")
apical="$build/apical"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
session="$work/session"

echo "== simulating 512x512, $frames frames x 2 planes, 120 neurons + 30 distractors"
"$apical" simulate "$session" -q --height 512 --width 512 --frames "$frames" --neurons 120 --distractors 30

# The stage's own summary line reports its peak RSS (VmHWM), in MiB.
peak_rss_mb() {
  sed -n 's/.*(peak RSS \([0-9]*\) MB).*/\1/p' | tail -n1
}

status=0
printf '%-9s %12s %14s %7s\n' stage "bound (MiB)" "peak RSS (MiB)" ratio
for stage in register segment extract regress figures qc; do
  stage_threads=$threads
  case $stage in figures | qc) stage_threads=1 ;; esac
  bound=$("$apical" plan "$session" --threads "$stage_threads" "${batch_option[@]}" | sed -n "s/^$stage\.mem_mb=//p")
  measured=$("$apical" "$stage" "$session" --threads "$stage_threads" "${batch_option[@]}" 2>&1 | peak_rss_mb)
  ratio=$(awk -v b="$bound" -v m="$measured" 'BEGIN { printf "%.2f", b / m }')
  verdict=ok
  awk -v r="$ratio" 'BEGIN { exit !(r >= 1.0 && r <= 1.5) }' || { verdict="OUT OF [1, 1.5]"; status=1; }
  printf '%-9s %12s %14s %7s  %s\n' "$stage" "$bound" "$measured" "$ratio" "$verdict"
done
"$apical" plan "$session" --threads "$threads" "${batch_option[@]}" | grep -E '^(rois|rois_from)='
exit $status
