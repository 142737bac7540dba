#!/usr/bin/env bash
# Installs what is missing, builds apical, and runs the whole pipeline on sample_data/:
# simulate the sample session (once), `apical run` every stage, score against the truth.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh apical
apical=build/apical
session=sample_data/session
if [ ! -d "$session" ]; then
  "$apical" simulate "$session" --config sample_data/simulate.ini
fi
"$apical" run "$session"
"$apical" evaluate "$session"
echo
echo "Outputs: $session/apical/ (registered.h5 rois.h5 traces.h5 regress.h5 figures/ qc/)"
echo "QC report: $session/apical/qc/index.html"
