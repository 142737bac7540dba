#pragma once
// regress.h5 (docs/DESIGN.md §3 contract plus every table behind the figures): written by
// `apical regress`, read by `apical figures` and `apical evaluate`. Every dataset's units and
// description come from regress_schema() (io/schema.cpp).
//
// Layout (float64 unless noted; per-neuron rows in the order of /neurons):
//   root attrs: provenance, frame_rate_hz, frames, window_frames, soma_plane, dendrite_plane,
//            event_method, sd_fit, event_* (the detector as applied), every analysis parameter
//   /timestamps [frames] s (the BCI log's clock)
//   /neurons/soma_roi, dendrite_roi, ensemble_neuron (int32, -1 none), role (int8),
//            sd_slope, sd_intercept, sd_r2, noise_sigma, centroid_y, centroid_x, n_events (int32),
//            sd_model (int8), sd_param_a, sd_param_b, sd_aic [N, 3], sd_reference_events,
//            n_soma_only, n_dendrite_only, n_coincident (int32)
//   /glm      attr terms = "intercept,reward,error,d_error"; beta, se, t, p, perm_p, p_bh,
//             perm_p_bh [N, n_terms]; n (int32 [N], events in the fit)
//   /pooled   attr terms (incl. role:reward, role:error, role:d_error), attrs n, r2;
//             beta, se, t, p, perm_p [n_terms]
//   /events   neuron (int32), frame (int64), soma_amplitude, dendrite_amplitude, residual,
//             error, d_error, reward (uint8), trial (int32), outcome (int8: 1 hit, 0 miss, -1 none),
//             coincident (int8), and each extra frames.csv column by its name
//   /conditions (--reference-condition) attrs column, reference, permutations; values,
//             mean_residual, n_events [N, C], test_value, mean_difference, n_neurons (int32),
//             paired_t, paired_p, permutation_p, neuron_difference [N, C - 1]
//   /sensitivity (--sensitivity) threshold_scale, threshold, window_s, n_events (int64),
//             beta/p/perm_p of role:d_error and role:reward, one row per setting
//   /decoding_time bin_start_s, bin_end_s, trials_with_events (int32), balanced_accuracy,
//             shuffle_mean, shuffle_lo, shuffle_hi, p [bins, 2]
//   /error_reducing role (int8), n (int32), beta, se, p
//   /network  r2, shuffle_mean, shuffle_p95, p [N]; attr shuffles
//   /learning early_residual, rate_early, rate_late (events/min), amplitude_early,
//             amplitude_late [N]; by_role/{role (int8), n (int32), r_rate, p_rate,
//             r_amplitude, p_amplitude}
//   /decoding attrs n_trials, n_features, n_shuffles, accuracy, chance, shuffle_mean,
//             shuffle_p95, p; shuffle_accuracy [shuffles]
//   /learning_curve first_trial, last_trial, trials, hits (int32), start_frame, end_frame
//             (int64), hits_per_min
//   /ensemble neuron, soma_roi (int32, -1 unmatched), role (int8), y, x, distance_px
#include <string>
#include <vector>

#include "core/regress_params.hpp"
#include "core/regress_result.hpp"
#include "io/provenance.hpp"

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

// What regress.h5 records about the analysis inputs beside the result.
struct RegressInputRecord {
  int soma_plane = 0, dendrite_plane = -1;
  std::vector<int> ensemble_neuron;            // per neuron: ensemble.csv id or -1
  std::vector<double> centroid_y, centroid_x;  // per neuron: its soma ROI's centroid, px
  EnsembleMatch ensemble;
  std::vector<double> frame_times_s;           // the BCI log's clock per frame (may be empty)
};

// Writes regress.h5 (layout above) at `path` (the caller's temporary name).
void write_regress(const std::string& path, const RegressResult& result, const RegressParams& params,
                   const RegressInputRecord& inputs, const Provenance& provenance);

// What `apical figures` and `apical evaluate` need back from a regress.h5.
struct RegressFile {
  std::string path;
  double frame_rate_hz = 0;
  RegressResult result;       // every table of the layout above (params-only fields left default)
  RegressInputRecord inputs;  // /ensemble empty in files without it
};
// InputError naming the file for a missing table or tables of different lengths.
RegressFile read_regress(const std::string& path);

// The per-neuron results as one flat table (NWB export): every 1-D /neurons column, and each
// /glm statistic [N, terms] as one column per term (e.g. beta_reward), as doubles.
struct RegressNeuronColumn {
  std::string name, description;
  std::vector<double> values;
};
struct RegressNeuronTable {
  std::vector<int32_t> soma_roi;
  std::vector<RegressNeuronColumn> columns;
};
RegressNeuronTable read_regress_neuron_table(const std::string& path);

}  // namespace apical
