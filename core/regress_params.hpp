#pragma once
// The settings of `apical regress` (pipeline/regress/regress.hpp). Here in core because
// regress.h5 records them (io/regress_file.hpp) and io links only core.
#include <cstdint>
#include <string>

#include "core/event_params.hpp"

namespace apical {

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
  // Event detector: "apical" (stats/events.hpp, the default) or "paper" (the published one,
  // stats/events_paper.hpp; its k and minimum peak distance are events.threshold_sigma and
  // events.min_interval_s, its other settings paper_events').
  std::string event_method = "apical";
  stats::PaperEventParams paper_events;
  std::string sd_fit = "linear";  // "linear" or "aic" (stats/sd_fit.hpp)
  // --reference-condition COLUMN=VALUE: each neuron's SD relation is fitted on the events
  // whose frames.csv COLUMN equals VALUE; residuals of every event are relative to that fit.
  std::string reference_column;   // empty: every event is a reference event
  double reference_value = 0;
  bool sensitivity = false;       // --sensitivity: the grid of RegressResult::sensitivity
  // Decoding over time: bins of decoding_bin_s from -decoding_span_s to +decoding_span_s
  // around each trial's outcome frame (a hit's reward frame, a miss's last frame).
  double decoding_bin_s = 1.0;
  double decoding_span_s = 3.0;
};

}  // namespace apical
