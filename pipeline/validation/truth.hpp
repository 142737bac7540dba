#pragma once
// The simulator's ground truth as files: the Truth a simulated session writes to truth.h5
// (io/truth_file.hpp holds the file and its layout), the rig's BCI log, and the true masks as
// a rois.h5.
#include <string>

#include "io/bci_log.hpp"
#include "io/provenance.hpp"
#include "io/truth_file.hpp"

namespace apical {

struct SimulatedSession;

// What truth.h5 holds of a simulated session (write it with write_truth).
Truth simulated_truth(const SimulatedSession& session);
// The simulated rig's BCI log, as bci/frames.csv, trials.csv and ensemble.csv hold it.
BciLog simulated_bci_log(const SimulatedSession& session);

// The true masks and pairs as a rois.h5 (perfect segmentation): lets downstream stages be
// tested and validated on their own.
void write_truth_rois(const Truth& truth, const std::string& path, const Provenance& provenance);

}  // namespace apical
