#pragma once
// The published event detector (Francioni et al. 2026; the authors' eLife 2019 code), as
// `--event-method paper`:
//  1. zero-phase Butterworth high-pass of the dF/F (cut-off cutoff_fraction x frame rate,
//     about fs/16; order `order`, applied forward and backward);
//  2. threshold = k (threshold_sd) x the standard deviation of the filtered trace;
//  3. peaks of the filtered trace at least min_distance_s apart (the higher peak wins), whose
//     prominence (scipy.signal.find_peaks' definition) is >= the threshold;
//  4. trough = the minimum of the dF/F over [peak - window_s, peak]; amplitude = the maximum of
//     the dF/F over [trough, peak + window_s] minus the trough. The event's frame is that
//     maximum's frame, base_frame the trough's.
// Not published, chosen here: filter order 2 (4 after forward-backward), window_s 1 s.
#include <vector>

#include <armadillo>

#include "core/event_params.hpp"
#include "stats/events.hpp"

namespace apical::stats {

// InputError naming the parameter.
void validate(const PaperEventParams& params);

// The high-passed trace the peaks are found on.
arma::fvec paper_filtered_trace(const arma::fvec& dff, const PaperEventParams& params);

// Peaks of a trace (scipy.signal.find_peaks with `distance` then `prominence`): indices in
// increasing order, and each one's prominence.
struct Peaks {
  std::vector<int64_t> index;
  std::vector<double> prominence;
};
Peaks find_peaks(const arma::fvec& x, int64_t min_distance, double min_prominence);

// Events sorted by frame; `threshold_out`, if given, receives k x SD (dF/F). NaN rejected.
std::vector<Event> detect_events_paper(const arma::fvec& dff, const PaperEventParams& params,
                                       double* threshold_out = nullptr);

}  // namespace apical::stats
