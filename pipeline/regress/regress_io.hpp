#pragma once
// File side of `apical regress`: reads traces.h5 + rois.h5 + the BCI log into the inputs of
// analyze_session() (matching the online ensemble to offline soma ROIs by centroid). regress.h5
// itself is written and read by io/regress_file.hpp.
#include <string>
#include <vector>

#include <armadillo>

#include "io/bci_log.hpp"
#include "io/regress_file.hpp"
#include "pipeline/regress/regress.hpp"

namespace apical {

// Nearest pairs first (greedy on distance, ties by ensemble row then ROI index), each ROI and
// each ensemble neuron used at most once, distance <= radius_px.
EnsembleMatch match_ensemble(const std::vector<EnsembleRow>& ensemble, const std::vector<double>& roi_y,
                             const std::vector<double>& roi_x, double radius_px);

struct RegressInputOptions {
  double match_radius_px = 8;  // ensemble centroid -> soma ROI centroid
  double frame_rate_hz = 0;    // used only when traces.h5 has no frame_rate_hz attribute
};

struct RegressInputs {
  arma::fmat soma_dff, dendrite_dff;    // [ROIs, T] of the soma and dendrite planes
  int soma_plane = 0, dendrite_plane = -1;
  double frame_rate_hz = 0;
  std::vector<NeuronInput> neurons;     // one per soma-plane ROI, in ROI order
  std::vector<double> centroid_y, centroid_x;  // of each soma ROI, px
  std::vector<int> ensemble_neuron;     // per neuron: ensemble.csv neuron id or -1
  EnsembleMatch ensemble;
  BehaviourLog log;
};

// Reads and checks the three inputs. InputError naming the file when planes, roles or the
// frame rate are missing, and when the BCI log's frame count differs from the traces'
// (never truncated silently).
RegressInputs read_regress_inputs(const std::string& traces_path, const std::string& rois_path,
                                  const std::string& bci_folder, const RegressInputOptions& options);

// What regress.h5 records about `inputs` (write_regress).
RegressInputRecord input_record(const RegressInputs& inputs);

}  // namespace apical
