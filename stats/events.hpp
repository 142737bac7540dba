#pragma once
// Calcium-event detection on a dF/F trace (docs/DESIGN.md §4.1).
//
// Method (all steps deterministic, O(T) apart from the baseline medians):
//  1. High-pass: subtract a running median baseline (window highpass_window_s). The median
//     is evaluated every ~window/10 frames and linearly interpolated between, which is
//     exact for slow drifts and keeps the cost O(T * 10) instead of O(T * window).
//  2. Smooth with a Gaussian of s.d. smoothing_s (matched-filter-like: calcium transients
//     last many frames, white shot noise does not). Prominence and amplitude are measured
//     on this "detection trace".
//  3. Noise: sigma_raw = 1.4826 * MAD(first differences of the high-passed trace) / sqrt(2).
//     Differences are insensitive to events (only the few rising frames are outliers) and to
//     residual drift. The noise of the detection trace is sigma = sigma_raw * ||w||_2 (w the
//     smoothing kernel), valid for white per-frame noise (shot noise).
//  4. Candidates: local maxima of the detection trace whose height above the baseline and
//     whose prominence are both >= threshold_sigma * sigma. The height test rejects noise
//     wiggles; the prominence test separates events riding on a previous event's decay.
//  5. Minimum inter-event interval: candidates are accepted in order of decreasing
//     prominence; a candidate closer than min_interval_s to an accepted event is dropped
//     (the larger event is kept).
// Prominence (on the detection trace): peak minus the higher of the two bases, where a base
// is the minimum between the peak and the nearest higher sample on that side, searched at
// most lookback_s away.
//  6. Peak frame and amplitude are then read from a more lightly smoothed trace
//     (measure_smoothing_s), because the detection smoothing delays and flattens fast rises:
//     the peak is the maximum within +-2 detection-smoothing s.d. of the detection peak, the
//     amplitude is that peak minus the minimum near the detection trace's left base
//     (the preceding minimum).
#include <cstdint>
#include <vector>

#include <armadillo>

#include "core/event_params.hpp"

namespace apical::stats {

struct Event {
  int64_t frame = 0;       // frame of the peak of the detection trace
  float amplitude = 0;     // peak minus the preceding minimum (dF/F)
  float prominence = 0;    // peak minus the higher of the two bases (dF/F)
  int64_t base_frame = 0;  // frame of the preceding minimum (start of the rise)
};

// Throws InputError for non-positive frame rate or negative windows.
void validate(const EventParams& params);

// High-passed (baseline-subtracted) and smoothed trace on which events are measured.
arma::fvec detection_trace(const arma::fvec& dff, const EventParams& params);

// Noise s.d. of detection_trace(dff) (see step 3 above).
double detection_noise_sigma(const arma::fvec& dff, const EventParams& params);

// Events of one dF/F trace, sorted by frame. NaN samples are rejected (InputError).
std::vector<Event> detect_events(const arma::fvec& dff, const EventParams& params);

// Building blocks, exposed for tests and for measuring dendritic amplitudes.
arma::fvec running_median_baseline(const arma::fvec& x, int64_t window_frames);
arma::fvec gaussian_smooth(const arma::fvec& x, double sigma_frames);
double robust_sigma_from_differences(const arma::fvec& x);
double gaussian_kernel_noise_gain(double sigma_frames);

}  // namespace apical::stats
