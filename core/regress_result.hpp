#pragma once
// What `apical regress` finds in a session (computed by analyze_session in
// pipeline/regress/regress.hpp, which documents the conventions): the per-event table and
// every per-neuron, pooled and session-level table regress.h5 holds (io/regress_file.hpp).
// Here in core because io writes and reads it and links only core.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <armadillo>

#include "core/event_params.hpp"

namespace apical {

// One row per somatic event, in neuron order then frame order.
struct EventTable {
  std::vector<int32_t> neuron;  // index into the neurons vector
  std::vector<int64_t> frame;
  std::vector<double> soma_amplitude, dendrite_amplitude, residual;  // NaN when not defined
  std::vector<uint8_t> reward;
  std::vector<double> d_error, error;
  std::vector<int32_t> trial;   // trial id at the event frame, -1 between trials
  std::vector<int8_t> outcome;  // 1 hit, 0 miss, -1 between trials
  // 1 when the paired dendrite has an event in the window or its detection trace reaches its
  // own threshold there; 0 soma-only; -1 no paired dendrite.
  std::vector<int8_t> coincident;
  std::vector<std::vector<double>> columns;  // BehaviourLog::columns at each event's frame
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
  // SD model per neuron (sd_slope/sd_intercept stay the linear fit): the model used for the
  // residuals, its parameters (stats::SdFit a, b), each model's AIC [N, 3] (NaN unless aic).
  std::vector<int8_t> sd_model;
  std::vector<double> sd_param_a, sd_param_b;
  arma::mat sd_aic;
  std::vector<int32_t> sd_reference_events;  // events the SD fit used
  // Coincidence counts per neuron (-1 without a paired dendrite).
  std::vector<int32_t> n_soma_only, n_dendrite_only, n_coincident;
  std::string event_method, sd_fit;
  std::vector<std::string> column_names;  // of EventTable::columns

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

  // Outcome decoded in time bins around each trial's outcome from the vector of each neuron's
  // mean residual of the events in the bin (0 without one). Columns of the [bins, 2] tables:
  // logistic regression, linear SVM. Balanced accuracy; null from shuffled trial labels
  // (decoding_shuffles, the same shuffles for every bin): mean, 2.5 % and 97.5 % quantiles,
  // upper-tail p.
  struct DecodingOverTime {
    std::vector<double> bin_start_s, bin_end_s;
    std::vector<int32_t> trials_with_events;
    arma::mat balanced_accuracy, shuffle_mean, shuffle_lo, shuffle_hi, p;
    int n_trials = 0, n_features = 0, n_shuffles = 0;
  } decoding_time;

  // d_error within error-reducing epochs (events with d_error < 0), by role (+1, -1, 0):
  // residual ~ 1 + d_error over the role's events.
  struct ErrorReducing {
    std::vector<int8_t> role;
    std::vector<int32_t> n;
    std::vector<double> beta, se, p;
  } error_reducing;

  // --reference-condition: residuals by condition value (values sorted, the reference among
  // them), per neuron [N, C]; and across neurons each other value against the reference.
  struct Conditions {
    std::string column;
    double reference = NAN;
    std::vector<double> values;
    arma::mat mean_residual, n_events;  // [N, C]; NaN mean where no event
    std::vector<double> test_value, mean_difference, paired_t, paired_p, permutation_p;
    std::vector<int32_t> n_neurons;
    arma::mat neuron_difference;        // [N, C - 1]
    int permutations = 0;
  } conditions;

  // --sensitivity: the pooled model re-fitted with the event threshold x 0.7, 1, 1.3 and the
  // analysis window (d_error, reward) 0.5, 1, 2 s; one row per setting.
  struct Sensitivity {
    std::vector<double> threshold_scale, threshold, window_s;
    std::vector<int64_t> n_events;
    std::vector<double> beta_role_d_error, p_role_d_error, perm_p_role_d_error;
    std::vector<double> beta_role_reward, p_role_reward, perm_p_role_reward;
  } sensitivity;
};

}  // namespace apical
