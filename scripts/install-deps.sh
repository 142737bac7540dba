#!/usr/bin/env bash
# Installs apical's build and test dependencies from Debian 12 packages, only those missing.
# Runs apt-get as root (directly, or through sudo when available).
#   --with-workflow (CI does this): the cluster workflow (Snakefile) and what its test needs,
#     a single-node SLURM (scripts/slurm-local.sh). Not by default: on a machine that runs
#     systemd, installing slurm-wlm and munge also starts their daemons.
#   --fuzz: clang and its libFuzzer/sanitizer runtimes (for fuzz/run.sh; the sanitizer tests
#     use g++'s).
set -euo pipefail
packages=(g++ cmake make pkg-config
  libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev
  libhdf5-dev libboost-program-options-dev libtbb-dev libarmadillo-dev libfftw3-dev catch2
  nlohmann-json3-dev libtiff-dev libdeflate-dev python3-hdmf python3-h5py
  libcairo2-dev libpango1.0-dev fonts-dejavu-core poppler-utils
  chromium chromium-driver)  # chromium: the ROI page's browser test (tests/browser/)
workflow_packages=(snakemake slurm-wlm munge)
for arg in "$@"; do
  case "$arg" in
    --with-workflow) packages+=("${workflow_packages[@]}") ;;
    --fuzz) packages+=(clang libclang-rt-14-dev) ;;
    *) echo "usage: $0 [--with-workflow] [--fuzz]" >&2; exit 1 ;;
  esac
done
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all dependencies present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)
"${as_root[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
