#include "stats/events_paper.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "io/error.hpp"
#include "stats/butterworth.hpp"

namespace apical::stats {
namespace {

int64_t frames_of(double seconds, double rate) { return int64_t(std::llround(seconds * rate)); }

// Local maxima; a flat top counts once, at its middle (scipy's _local_maxima_1d).
std::vector<int64_t> local_maxima(const arma::fvec& x) {
  std::vector<int64_t> out;
  const int64_t n = int64_t(x.n_elem);
  int64_t i = 1;
  while (i < n - 1) {
    if (x[i - 1] < x[i]) {
      int64_t ahead = i + 1;
      while (ahead < n - 1 && x[ahead] == x[i]) ++ahead;
      if (x[ahead] < x[i]) {
        out.push_back((i + ahead - 1) / 2);
        i = ahead;
      }
    }
    ++i;
  }
  return out;
}

// Keeps the highest peaks first; drops any within `distance` samples of a kept one.
std::vector<int64_t> enforce_distance(const arma::fvec& x, const std::vector<int64_t>& peaks, int64_t distance) {
  if (distance <= 1) return peaks;
  std::vector<size_t> order(peaks.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return x[peaks[a]] > x[peaks[b]]; });
  std::vector<char> keep(peaks.size(), 1);
  for (size_t o : order) {
    if (!keep[o]) continue;
    for (size_t j = o; j-- > 0 && peaks[o] - peaks[j] < distance;) keep[j] = 0;
    for (size_t j = o + 1; j < peaks.size() && peaks[j] - peaks[o] < distance; ++j) keep[j] = 0;
  }
  std::vector<int64_t> out;
  for (size_t i = 0; i < peaks.size(); ++i)
    if (keep[i]) out.push_back(peaks[i]);
  return out;
}

// Peak height above the higher of its two bases; a base is the minimum between the peak and
// the nearest higher sample on that side (or the trace's end).
double prominence(const arma::fvec& x, int64_t peak) {
  const int64_t n = int64_t(x.n_elem);
  float left = x[peak], right = x[peak];
  for (int64_t j = peak - 1; j >= 0 && x[j] <= x[peak]; --j) left = std::min(left, x[j]);
  for (int64_t j = peak + 1; j < n && x[j] <= x[peak]; ++j) right = std::min(right, x[j]);
  return double(x[peak]) - double(std::max(left, right));
}

}  // namespace

void validate(const PaperEventParams& p) {
  if (!(p.frame_rate_hz > 0) || !std::isfinite(p.frame_rate_hz))
    throw InputError("events (paper): frame rate must be > 0 Hz (got " + std::to_string(p.frame_rate_hz) + ")");
  if (!(p.threshold_sd >= 0)) throw InputError("events (paper): the threshold must be >= 0 SD");
  if (!(p.cutoff_fraction > 0 && p.cutoff_fraction < 0.5))
    throw InputError("events (paper): the high-pass cut-off must lie between 0 and half the frame rate");
  if (p.order < 2 || p.order % 2) throw InputError("events (paper): the filter order must be even and >= 2");
  if (!(p.min_distance_s >= 0)) throw InputError("events (paper): the minimum peak distance must be >= 0 s");
  if (!(p.window_s > 0)) throw InputError("events (paper): the amplitude window must be > 0 s");
}

arma::fvec paper_filtered_trace(const arma::fvec& dff, const PaperEventParams& p) {
  validate(p);
  for (arma::uword i = 0; i < dff.n_elem; ++i)
    if (!std::isfinite(dff[i]))
      throw InputError("events: dF/F trace has a non-finite value at frame " + std::to_string(i));
  // Cut-off relative to Nyquist: (fs * fraction) / (fs / 2).
  const std::vector<Biquad> sections = butterworth_highpass(p.order, 2.0 * p.cutoff_fraction);
  return arma::conv_to<arma::fvec>::from(filtfilt(sections, arma::conv_to<arma::vec>::from(dff)));
}

Peaks find_peaks(const arma::fvec& x, int64_t min_distance, double min_prominence) {
  Peaks out;
  for (int64_t i : enforce_distance(x, local_maxima(x), min_distance)) {
    const double prom = prominence(x, i);
    if (prom < min_prominence) continue;
    out.index.push_back(i);
    out.prominence.push_back(prom);
  }
  return out;
}

std::vector<Event> detect_events_paper(const arma::fvec& dff, const PaperEventParams& p, double* threshold_out) {
  const arma::fvec filtered = paper_filtered_trace(dff, p);
  const double threshold = filtered.n_elem > 1 ? p.threshold_sd * arma::stddev(arma::conv_to<arma::vec>::from(filtered)) : 0.0;
  if (threshold_out) *threshold_out = threshold;
  const Peaks peaks = find_peaks(filtered, frames_of(p.min_distance_s, p.frame_rate_hz), threshold);
  const int64_t n = int64_t(dff.n_elem), w = std::max<int64_t>(1, frames_of(p.window_s, p.frame_rate_hz));
  std::vector<Event> events;
  for (size_t k = 0; k < peaks.index.size(); ++k) {
    const int64_t peak = peaks.index[k];
    int64_t trough = peak;
    for (int64_t j = std::max<int64_t>(0, peak - w); j <= peak; ++j)
      if (dff[j] < dff[trough]) trough = j;
    int64_t top = trough;
    for (int64_t j = trough; j <= std::min(n - 1, peak + w); ++j)
      if (dff[j] > dff[top]) top = j;
    events.push_back(Event{top, dff[top] - dff[trough], float(peaks.prominence[k]), trough});
  }
  std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) { return a.frame < b.frame; });
  return events;
}

}  // namespace apical::stats
