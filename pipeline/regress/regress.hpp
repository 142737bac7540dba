#pragma once
// Session-level science of `apical regress` (DESIGN §4, SCIENCE_SPEC): events, somato-
// dendritic (SD) residuals, task GLMs with permutation and BH, network prediction, learning,
// decoding and the learning curve. Pure functions over in-memory inputs; the caller reads
// traces.h5 / the BCI log and writes regress.h5.
//
// Conventions (SCIENCE_SPEC):
//   error(t)   = |target(t) - cursor(t)|
//   d_error(t) = error(t) - error(max(t - w, 0)),  w = round(window_s * f)
//   reward(t)  = 1 if some hit's reward_frame r has t - w <= r <= t + w
// Events are detected on the soma trace. For a somatic event at peak frame t with rise start
// (base) frame t0, the dendritic amplitude is max(dendrite, [t - pre, t + post]) minus
// min(dendrite, [t0 - pre, that maximum]) on the dendrite's measurement trace (high-passed,
// lightly smoothed like the soma: stats::detection_trace with measure_smoothing_s).
// Neurons without a paired dendrite (dendrite_roi = -1), or with fewer than min_events
// somatic events, get NaN in every SD / GLM / residual field and are left out of the pooled
// model, network prediction and decoding; their events still count for rates and amplitudes.
#include <cstdint>
#include <string>
#include <vector>

#include <armadillo>

#include "io/bci_log.hpp"
#include "stats/events.hpp"

namespace apical {

// The BCI log in the columnar form the analysis uses (per-frame vectors); see behaviour_log()
// for the conversion from the CSV rows of io/bci_log.hpp.
struct BehaviourLog {
  std::vector<int> cursor, target, trial;  // per frame; trial = -1 between trials
  std::vector<double> control;             // per frame (may be empty: not used by the analysis)
  struct Trial {
    int id = 0;
    int64_t start_frame = 0, end_frame = 0;  // inclusive
    bool hit = false;
    int64_t reward_frame = -1;  // -1 for a miss
  };
  std::vector<Trial> trials;
};

// Per-frame columns and trials of a BCI log read by read_bci_log (frame rows in file order).
BehaviourLog behaviour_log(const BciLog& log);

struct NeuronInput {
  int soma_roi = 0;
  int dendrite_roi = -1;  // -1 if unpaired
  int role = 0;           // +1 P+, -1 P-, 0 other
};

struct RegressParams {
  double frame_rate_hz = 0;     // required
  stats::EventParams events;    // its frame_rate_hz is overwritten by frame_rate_hz
  int permutations = 1000;      // circular-shift permutations (0 = none; perm p NaN)
  uint64_t seed = 1;
  int cv_folds = 5;
  double ridge_lambda = 1.0;    // on standardised columns, objective |r|^2 + lambda |b|^2
  double window_s = 1.0;        // w of d_error and reward
  double dendrite_pre_s = 0.2;  // dendritic peak window [t - pre, t + post]
  double dendrite_post_s = 0.5;
  int min_events = 5;           // per neuron, for the SD fit and the GLM
  double permutation_min_shift_s = 30;  // smallest circular shift (clamped to < T/2)
  double network_window_s = 1.0;        // other neurons' mean soma dF/F in [t - w/2, t + w/2]
  int network_shuffles = 100;
  int decoding_shuffles = 100;
  double decoding_l2 = 1e-2;
  int trials_per_block = 10;    // learning curve
};

// Per-frame task variables (SCIENCE_SPEC).
struct Behaviour {
  std::vector<double> error, d_error;
  std::vector<uint8_t> reward;
  int64_t window_frames = 0;
};
// Throws InputError if the log's per-frame vectors do not have `frames` entries or a trial's
// frames fall outside [0, frames).
Behaviour behaviour_series(const BehaviourLog& log, int64_t frames, double frame_rate_hz, double window_s);

// One row per somatic event, in neuron order then frame order.
struct EventTable {
  std::vector<int32_t> neuron;  // index into the neurons vector
  std::vector<int64_t> frame;
  std::vector<double> soma_amplitude, dendrite_amplitude, residual;  // NaN when not defined
  std::vector<uint8_t> reward;
  std::vector<double> d_error, error;
  std::vector<int32_t> trial;   // trial id at the event frame, -1 between trials
  std::vector<int8_t> outcome;  // 1 hit, 0 miss, -1 between trials
  size_t size() const { return frame.size(); }
};

struct RegressResult {
  stats::EventParams events_used;  // as applied (for provenance)
  int64_t frames = 0;
  int64_t window_frames = 0;

  // Per neuron (rows in the order of the neurons input).
  std::vector<int32_t> soma_roi, dendrite_roi;
  std::vector<int8_t> role;
  std::vector<double> sd_slope, sd_intercept, sd_r2, noise_sigma;  // noise of the soma detection trace
  std::vector<int32_t> n_events;  // somatic events

  EventTable events;

  // Per-neuron GLM: residual ~ 1 + reward + error + d_error. Matrices [N, n_terms]; NaN rows for
  // neurons without an SD fit. perm_p: circular-shift permutation p (NaN for the intercept).
  // p_bh / perm_p_bh: Benjamini–Hochberg across neurons, per term (column).
  std::vector<std::string> glm_terms;  // "intercept", "reward", "error", "d_error"
  arma::mat glm_beta, glm_se, glm_t, glm_p, glm_perm_p, glm_p_bh, glm_perm_p_bh;
  std::vector<int32_t> glm_n;

  // Pooled: residual ~ 1 + reward + error + d_error + role + role:reward + role:error +
  // role:d_error (terms in pooled_terms).
  std::vector<std::string> pooled_terms;
  arma::vec pooled_beta, pooled_se, pooled_t, pooled_p, pooled_perm_p;  // perm p NaN for intercept, role
  int64_t pooled_n = 0;
  double pooled_r2 = NAN;

  // Network prediction per neuron: ridge CV R^2 of residuals from other neurons' soma
  // activity around each event, vs the same with residuals shuffled across events.
  std::vector<double> network_r2, network_shuffle_mean, network_shuffle_p95, network_p;
  int network_shuffles = 0;

  // Learning, per neuron: first third vs last third of the session (by frame).
  std::vector<double> early_residual, rate_early, rate_late, amplitude_early, amplitude_late;
  struct LearningByRole {
    int role = 0;
    int n = 0;  // neurons with finite early residual
    double r_rate = NAN, p_rate = NAN, r_amplitude = NAN, p_amplitude = NAN;
  };
  std::vector<LearningByRole> learning_by_role;  // roles +1, -1, 0

  // Decoding hit/miss from per-trial mean residual per neuron (0 if no event in the trial).
  struct Decoding {
    int n_trials = 0, n_features = 0, n_shuffles = 0;
    double accuracy = NAN, chance = NAN, shuffle_mean = NAN, shuffle_p95 = NAN, p = NAN;
    std::vector<double> shuffle_accuracy;  // one per shuffle of the trial labels
  } decoding;

  // Learning curve: blocks of trials_per_block consecutive trials (by start frame).
  struct Block {
    int first_trial = 0, last_trial = 0, trials = 0, hits = 0;
    int64_t start_frame = 0, end_frame = 0;
    double hits_per_min = NAN;  // hits / ((end - start + 1) / f / 60)
  };
  std::vector<Block> learning_curve;
};

// soma_dff [N_soma_rois, T], dendrite_dff [N_dend_rois, T] (may be 0x0 if nothing is paired).
// Throws InputError on inconsistent frame counts, bad ROI indices or roles, bad parameters.
RegressResult analyze_session(const arma::fmat& soma_dff, const arma::fmat& dendrite_dff,
                              const std::vector<NeuronInput>& neurons, const BehaviourLog& log,
                              const RegressParams& params);

}  // namespace apical
