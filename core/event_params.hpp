#pragma once
// Parameters of the two event detectors (stats/events.hpp, stats/events_paper.hpp, where the
// methods are described). Here in core because regress.h5 records them (io/regress_file.hpp)
// and io links only core.
namespace apical::stats {

// apical's detector (stats/events.hpp).
struct EventParams {
  double frame_rate_hz = 0;       // required, > 0
  double threshold_sigma = 3;     // minimum prominence and height, in noise s.d.
  double min_interval_s = 1;      // minimum time between accepted events
  double highpass_window_s = 10;  // running-median baseline window
  double smoothing_s = 0.1;       // Gaussian s.d. of the detection smoothing (0 = none)
  double measure_smoothing_s = 0.05;   // lighter smoothing for peak frame and amplitude
  double lookback_s = 1;          // how far the bases (preceding minimum) are searched
};

// The published detector (stats/events_paper.hpp, `--event-method paper`).
struct PaperEventParams {
  double frame_rate_hz = 0;         // required, > 0
  double threshold_sd = 3.0;        // k: minimum prominence in SDs of the filtered trace
  double cutoff_fraction = 1.0 / 16;  // high-pass cut-off / frame rate
  int order = 2;                    // Butterworth order (even)
  double min_distance_s = 1.0;      // minimum time between peaks
  double window_s = 1.0;            // trough search before the peak, maximum search after it
};

}  // namespace apical::stats
