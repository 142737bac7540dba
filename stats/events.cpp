#include "stats/events.hpp"
#include "core/numeric.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <set>
#include <string>

#include "io/error.hpp"

namespace apical::stats {
namespace {

int64_t frames_of(double seconds, double rate) { return int64_t(std::llround(seconds * rate)); }

std::vector<double> gaussian_kernel(double sigma_frames) {
  const int radius = int(std::ceil(4.0 * sigma_frames));
  std::vector<double> w(size_t(2 * radius + 1));
  double sum = 0;
  for (int k = -radius; k <= radius; ++k) {
    double v = std::exp(-0.5 * (k / sigma_frames) * (k / sigma_frames));
    w[size_t(k + radius)] = v;
    sum += v;
  }
  for (double& v : w) v /= sum;
  return w;
}

struct Bases {
  float left_min;
  int64_t left_frame;
  float right_min;
};

// Minimum on each side of the peak, up to the nearest higher sample or `reach` frames.
Bases find_bases(const arma::fvec& s, int64_t peak, int64_t reach) {
  const int64_t n = int64_t(s.n_elem);
  const float h = s[peak];
  Bases b{h, peak, h};
  for (int64_t j = peak - 1; j >= std::max<int64_t>(0, peak - reach); --j) {
    if (s[j] > h) break;
    if (s[j] < b.left_min) { b.left_min = s[j]; b.left_frame = j; }
  }
  for (int64_t j = peak + 1; j <= std::min<int64_t>(n - 1, peak + reach); ++j) {
    if (s[j] > h) break;
    b.right_min = std::min(b.right_min, s[j]);
  }
  return b;
}

}  // namespace

void validate(const EventParams& p) {
  if (!(p.frame_rate_hz > 0) || !std::isfinite(p.frame_rate_hz))
    throw InputError("events: frame rate must be > 0 Hz (got " + std::to_string(p.frame_rate_hz) + ")");
  if (!(p.threshold_sigma >= 0)) throw InputError("events: threshold_sigma must be >= 0");
  if (!(p.min_interval_s >= 0)) throw InputError("events: min_interval_s must be >= 0");
  if (!(p.highpass_window_s >= 0)) throw InputError("events: highpass_window_s must be >= 0");
  if (!(p.smoothing_s >= 0)) throw InputError("events: smoothing_s must be >= 0");
  if (!(p.measure_smoothing_s >= 0)) throw InputError("events: measure_smoothing_s must be >= 0");
  if (!(p.lookback_s > 0)) throw InputError("events: lookback_s must be > 0");
}

arma::fvec running_median_baseline(const arma::fvec& x, int64_t window_frames) {
  const int64_t n = int64_t(x.n_elem);
  arma::fvec baseline(x.n_elem, arma::fill::zeros);
  if (window_frames <= 1 || n == 0) return baseline;
  const int64_t half = window_frames / 2;
  const int64_t stride = std::max<int64_t>(1, window_frames / 10);
  std::vector<int64_t> centres;
  for (int64_t c = 0; c < n; c += stride) centres.push_back(c);
  if (centres.back() != n - 1) centres.push_back(n - 1);
  std::vector<double> values(centres.size());
  std::vector<float> buf;
  for (size_t i = 0; i < centres.size(); ++i) {
    const int64_t lo = std::max<int64_t>(0, centres[i] - half);
    const int64_t hi = std::min<int64_t>(n - 1, centres[i] + half);
    buf.assign(x.memptr() + lo, x.memptr() + hi + 1);
    values[i] = median_in_place(buf);
  }
  for (size_t i = 0; i + 1 < centres.size(); ++i) {
    const int64_t a = centres[i], b = centres[i + 1];
    for (int64_t t = a; t <= b; ++t) {
      const double f = b > a ? double(t - a) / double(b - a) : 0.0;
      baseline[t] = float(values[i] + f * (values[i + 1] - values[i]));
    }
  }
  if (centres.size() == 1) baseline.fill(float(values[0]));
  return baseline;
}

arma::fvec gaussian_smooth(const arma::fvec& x, double sigma_frames) {
  if (!(sigma_frames > 0) || x.n_elem == 0) return x;
  const std::vector<double> w = gaussian_kernel(sigma_frames);
  const int64_t radius = int64_t(w.size() / 2);
  const int64_t n = int64_t(x.n_elem);
  arma::fvec out(x.n_elem);
  for (int64_t t = 0; t < n; ++t) {
    double acc = 0, wsum = 0;
    for (int64_t k = -radius; k <= radius; ++k) {
      const int64_t j = t + k;
      if (j < 0 || j >= n) continue;  // renormalise at the edges so a constant stays constant
      acc += w[size_t(k + radius)] * x[j];
      wsum += w[size_t(k + radius)];
    }
    out[t] = float(acc / wsum);
  }
  return out;
}

double gaussian_kernel_noise_gain(double sigma_frames) {
  if (!(sigma_frames > 0)) return 1.0;
  double ss = 0;
  for (double v : gaussian_kernel(sigma_frames)) ss += v * v;
  return std::sqrt(ss);
}

double robust_sigma_from_differences(const arma::fvec& x) {
  if (x.n_elem < 3) return 0.0;
  std::vector<float> d(x.n_elem - 1);
  for (size_t i = 0; i + 1 < x.n_elem; ++i) d[i] = x[i + 1] - x[i];
  std::vector<float> tmp = d;
  const double med = median_in_place(tmp);
  for (float& v : d) v = float(std::abs(v - med));
  return 1.4826 * median_in_place(d) / std::sqrt(2.0);
}

static void require_finite(const arma::fvec& dff) {
  for (size_t i = 0; i < dff.n_elem; ++i)
    if (!std::isfinite(dff[i]))
      throw InputError("events: dF/F trace has a non-finite value at frame " + std::to_string(i));
}

static arma::fvec high_passed(const arma::fvec& dff, const EventParams& p) {
  validate(p);
  require_finite(dff);
  return dff - running_median_baseline(dff, frames_of(p.highpass_window_s, p.frame_rate_hz));
}

arma::fvec detection_trace(const arma::fvec& dff, const EventParams& p) {
  return gaussian_smooth(high_passed(dff, p), p.smoothing_s * p.frame_rate_hz);
}

double detection_noise_sigma(const arma::fvec& dff, const EventParams& p) {
  return robust_sigma_from_differences(high_passed(dff, p)) * gaussian_kernel_noise_gain(p.smoothing_s * p.frame_rate_hz);
}

std::vector<Event> detect_events(const arma::fvec& dff, const EventParams& p) {
  const arma::fvec hp = high_passed(dff, p);  // baseline computed once
  const arma::fvec s = gaussian_smooth(hp, p.smoothing_s * p.frame_rate_hz);
  const double sigma = robust_sigma_from_differences(hp) * gaussian_kernel_noise_gain(p.smoothing_s * p.frame_rate_hz);
  const float threshold = float(p.threshold_sigma * sigma);
  const int64_t reach = std::max<int64_t>(1, frames_of(p.lookback_s, p.frame_rate_hz));
  const int64_t n = int64_t(s.n_elem);
  // Peak timing and amplitude are read from a lightly smoothed trace: the detection
  // smoothing delays and flattens the fast-rising peaks.
  const double measure_sd = std::min(p.smoothing_s, p.measure_smoothing_s);
  const arma::fvec m = measure_sd == p.smoothing_s ? s : gaussian_smooth(hp, measure_sd * p.frame_rate_hz);
  const int64_t refine = int64_t(std::ceil(2.0 * p.smoothing_s * p.frame_rate_hz));

  std::vector<Event> candidates;
  for (int64_t t = 1; t + 1 < n; ++t) {
    if (!(s[t] > s[t - 1] && s[t] >= s[t + 1])) continue;
    if (s[t] < threshold) continue;  // height above baseline
    const Bases b = find_bases(s, t, reach);
    const float prominence = s[t] - std::max(b.left_min, b.right_min);
    if (prominence < threshold || prominence <= 0) continue;
    int64_t peak = t;
    for (int64_t j = std::max<int64_t>(b.left_frame, t - refine); j <= std::min(n - 1, t + refine); ++j)
      if (m[j] > m[peak]) peak = j;
    int64_t base = b.left_frame;
    for (int64_t j = std::max<int64_t>(0, b.left_frame - refine); j <= std::min(peak, b.left_frame + refine); ++j)
      if (m[j] < m[base]) base = j;
    candidates.push_back(Event{peak, m[peak] - m[base], prominence, base});
  }
  // Larger events first; ties broken by frame so the order is total.
  std::sort(candidates.begin(), candidates.end(), [](const Event& a, const Event& b) {
    if (a.prominence != b.prominence) return a.prominence > b.prominence;
    return a.frame < b.frame;
  });
  const int64_t min_gap = frames_of(p.min_interval_s, p.frame_rate_hz);
  std::set<int64_t> accepted_frames;
  std::vector<Event> accepted;
  for (const Event& e : candidates) {
    auto next = accepted_frames.lower_bound(e.frame);
    if (next != accepted_frames.end() && *next - e.frame < min_gap) continue;
    if (next != accepted_frames.begin() && e.frame - *std::prev(next) < min_gap) continue;
    accepted_frames.insert(e.frame);
    accepted.push_back(e);
  }
  std::sort(accepted.begin(), accepted.end(), [](const Event& a, const Event& b) { return a.frame < b.frame; });
  return accepted;
}

}  // namespace apical::stats
