#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan, ./build-fuzz) and runs each for SECONDS
# (default 60), one after another, nice'd. Prints per target: executions, coverage (edges
# and features), corpus size and findings. Findings (crash-*, leak-*, timeout-*, oom-*)
# are kept in build-fuzz/findings/TARGET/; a fixed one goes into fuzz/regressions/TARGET/.
# usage: fuzz/run.sh [SECONDS] [TARGET...]     e.g. fuzz/run.sh 1800 fuzz_tiff_movie
# RUNS=N stops a target after N executions if that comes first (RUNS=1000000 fuzz/run.sh 1800
# gives the reliability goal: 10^6 executions or 30 minutes, whichever is reached first).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
all=(fuzz_tiff_movie fuzz_scanimage fuzz_raw_movie fuzz_hdf5_movie fuzz_bci_log fuzz_ini)
targets=("${@:-${all[@]}}")
[ $# -gt 0 ] || targets=("${all[@]}")
jobs=${JOBS:-$(nproc)}

command -v clang++ >/dev/null && compgen -G "/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a" >/dev/null ||
  bash scripts/install-deps.sh --fuzz
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Release -DAPICAL_FUZZ=ON \
  -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang >/dev/null
nice -n 10 cmake --build build-fuzz -j "$jobs" --target "${targets[@]}"
if [ ! -d build-fuzz/seeds ]; then
  [ -x build/apical ] || JOBS=$jobs bash scripts/build.sh apical
  bash fuzz/make-seeds.sh build/apical build-fuzz/seeds
fi

export ASAN_OPTIONS=detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
printf '%-18s %8s %12s %10s %8s %8s %9s\n' target seconds executions exec/s edges features findings
total_findings=0
for t in "${targets[@]}"; do
  name=${t#fuzz_}
  corpus=build-fuzz/corpus/$name findings=build-fuzz/findings/$name
  mkdir -p "$corpus" "$findings"
  log=build-fuzz/$t.log
  # -timeout: an input taking over 5 s is a hang; -rss_limit_mb: one over 2 GB is a finding.
  inputs=("$corpus")
  for d in "build-fuzz/seeds/$name" "fuzz/regressions/$name"; do [ -d "$d" ] && inputs+=("$d"); done
  nice -n 10 "build-fuzz/fuzz/$t" "${inputs[@]}" \
    -max_total_time="$seconds" ${RUNS:+-runs="$RUNS"} -timeout=5 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$findings/" >"$log" 2>&1 || true
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo 0)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo 0)
  found=$(find "$findings" -type f | wc -l)
  total_findings=$((total_findings + found))
  took=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | grep -o 'in [0-9]*' | grep -o '[0-9]*' || echo "$seconds")
  printf '%-18s %8s %12s %10s %8s %8s %9s\n' "$t" "${took:-$seconds}" "${execs:-0}" "${rate:-0}" "${cov:-0}" "${ft:-0}" "$found"
done
echo "findings: $total_findings (inputs in build-fuzz/findings/, logs in build-fuzz/fuzz_*.log)"
[ "$total_findings" -eq 0 ]
