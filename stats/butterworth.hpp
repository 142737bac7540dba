#pragma once
// Butterworth filters as second-order sections, designed by the bilinear transform with
// pre-warping, and zero-phase forward-backward filtering (as scipy.signal.butter with
// output='sos' and scipy.signal.sosfiltfilt, whose coefficients and outputs the tests match).
// Used by the published event detector (stats/events_paper.hpp).
#include <vector>

#include <armadillo>

namespace apical::stats {

// One biquad: y = b0 x + b1 x[-1] + b2 x[-2] - a1 y[-1] - a2 y[-2] (a0 = 1).
struct Biquad {
  double b0 = 1, b1 = 0, b2 = 0, a1 = 0, a2 = 0;
};

// High-pass Butterworth of even `order` (2, 4, ...) with its -3 dB cut-off at
// cutoff_fraction x the Nyquist frequency (0 < cutoff_fraction < 1). Each section has unit
// gain at Nyquist. InputError for an odd or non-positive order or a cut-off outside (0, 1).
std::vector<Biquad> butterworth_highpass(int order, double cutoff_fraction);

// |H(e^{i pi f})| of the cascade at f x Nyquist (for tests and documentation).
double magnitude_response(const std::vector<Biquad>& sections, double f);

// Zero-phase filtering: forward then backward through the cascade, with scipy's odd
// extension of 3 (2 sections + 1) samples at each end (fewer for short traces) and steady-state
// initial conditions, so a constant or a ramp at the edges causes no transient.
arma::vec filtfilt(const std::vector<Biquad>& sections, const arma::vec& x);

}  // namespace apical::stats
