#pragma once
// File side of `apical regress`: reads traces.h5 + rois.h5 + the BCI log into the inputs of
// analyze_session() (matching the online ensemble to offline soma ROIs by centroid), and
// writes / reads regress.h5 (docs/DESIGN.md §3 contract plus every table behind the figures).
//
// regress.h5 layout (float64 unless noted; per-neuron rows in the order of /neurons):
//   root attrs: provenance, frame_rate_hz, frames, window_frames, every analysis parameter
//   /neurons/soma_roi, dendrite_roi, ensemble_neuron (int32, -1 none), role (int8),
//            sd_slope, sd_intercept, sd_r2, noise_sigma, centroid_y, centroid_x, n_events (int32)
//   /glm      attr terms = "intercept,reward,error,d_error"; beta, se, t, p, perm_p, p_bh,
//             perm_p_bh [N, n_terms]; n (int32 [N], events in the fit)
//   /pooled   attr terms (incl. role:reward, role:error, role:d_error), attrs n, r2;
//             beta, se, t, p, perm_p [n_terms]
//   /events   neuron (int32), frame (int64), soma_amplitude, dendrite_amplitude, residual,
//             error, d_error, reward (uint8), trial (int32), outcome (int8: 1 hit, 0 miss, -1 none)
//   /network  r2, shuffle_mean, shuffle_p95, p [N]; attr shuffles
//   /learning early_residual, rate_early, rate_late (events/min), amplitude_early,
//             amplitude_late [N]; by_role/{role (int8), n (int32), r_rate, p_rate,
//             r_amplitude, p_amplitude}
//   /decoding attrs n_trials, n_features, accuracy, chance, shuffle_mean, shuffle_p95, p;
//             shuffle_accuracy [shuffles]
//   /learning_curve first_trial, last_trial, trials, hits (int32), start_frame, end_frame
//             (int64), hits_per_min
//   /ensemble neuron, soma_roi (int32, -1 unmatched), role (int8), y, x, distance_px
#include <string>
#include <vector>

#include <armadillo>

#include "io/bci_log.hpp"
#include "io/provenance.hpp"
#include "pipeline/regress/regress.hpp"

namespace apical {

// Online ensemble neurons matched one-to-one to offline soma ROIs (rows as in ensemble.csv).
struct EnsembleMatch {
  std::vector<int> neuron, role;
  std::vector<double> y, x;             // online centroid, soma-plane px
  std::vector<int> soma_roi;            // matched ROI, -1 if none within the radius
  std::vector<double> distance_px;      // NaN when unmatched
  size_t matched() const;
  std::vector<int> unmatched_neurons() const;
};

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

// Writes regress.h5 (layout above) at `path` (the caller's temporary name).
void write_regress(const std::string& path, const RegressResult& result, const RegressInputs& inputs,
                   const RegressParams& params, const Provenance& provenance);

// What `apical figures` needs back from a regress.h5.
struct RegressFile {
  std::string path;
  double frame_rate_hz = 0;
  RegressResult result;  // every table of the layout above (params-only fields left default)
};
RegressFile read_regress(const std::string& path);

}  // namespace apical
