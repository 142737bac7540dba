// Baselines (maximin, running percentile, constant), the neuropil coefficient and dF/F.
#include <algorithm>
#include <cmath>
#include <deque>
#include <string>

#include "io/error.hpp"
#include "core/numeric.hpp"
#include "pipeline/extract/extract.hpp"

namespace apical {
namespace {

void require(bool ok, const std::string& message) {
  if (!ok) throw InputError("extract: " + message);
}

void require_finite(const std::vector<float>& v, const char* what) {
  for (float x : v) require(std::isfinite(x), std::string(what) + " holds a non-finite value");
}

// Gaussian smoothing with sigma in frames, kernel truncated at 4 sigma, edges replicated.
std::vector<double> gaussian_smooth(const std::vector<float>& x, double sigma) {
  const long n = long(x.size());
  std::vector<double> out(x.begin(), x.end());
  if (sigma <= 0 || n == 0) return out;
  const long radius = std::max(1L, long(std::ceil(4.0 * sigma)));
  std::vector<double> kernel(size_t(2 * radius + 1));
  double total = 0;
  for (long k = -radius; k <= radius; ++k) total += kernel[size_t(k + radius)] = std::exp(-0.5 * k * k / (sigma * sigma));
  for (double& k : kernel) k /= total;
  for (long t = 0; t < n; ++t) {
    double s = 0;
    for (long k = -radius; k <= radius; ++k) s += kernel[size_t(k + radius)] * x[size_t(std::clamp(t + k, 0L, n - 1))];
    out[size_t(t)] = s;
  }
  return out;
}

// Running extreme over the centred window [t - half, t + half] (truncated at the ends):
// a monotone deque, O(n). `better(a, b)` is true when a should replace b (min: a <= b).
template <class Better>
std::vector<double> running_extreme(const std::vector<double>& x, long half, Better better) {
  const long n = long(x.size());
  std::vector<double> out(x.size());
  std::deque<long> window;  // indices, values monotone from front (the extreme) to back
  long next = 0;            // next index to enter
  for (long t = 0; t < n; ++t) {
    for (; next < n && next <= t + half; ++next) {
      while (!window.empty() && better(x[size_t(next)], x[size_t(window.back())])) window.pop_back();
      window.push_back(next);
    }
    while (window.front() < t - half) window.pop_front();
    out[size_t(t)] = x[size_t(window.front())];
  }
  return out;
}

// Linear-interpolated percentile (numpy's default) of sorted values.
double percentile_of_sorted(const std::vector<double>& sorted, double percent) {
  return quantile_of_sorted(sorted, percent / 100.0);
}

// Running percentile over the centred window (truncated at the ends), keeping the window
// sorted: O(n * window) memmove, cheap for windows of a few thousand frames.
std::vector<double> running_percentile(const std::vector<double>& x, long half, double percent) {
  const long n = long(x.size());
  std::vector<double> out(x.size()), window;
  long next = 0, oldest = 0;
  for (long t = 0; t < n; ++t) {
    for (; next < n && next <= t + half; ++next)
      window.insert(std::upper_bound(window.begin(), window.end(), x[size_t(next)]), x[size_t(next)]);
    for (; oldest < t - half; ++oldest)
      window.erase(std::lower_bound(window.begin(), window.end(), x[size_t(oldest)]));
    out[size_t(t)] = percentile_of_sorted(window, percent);
  }
  return out;
}

// Pinball (quantile) loss of the best line with slope b: the intercept is the q-quantile of
// y - b x, and the loss sum of rho_q over the residuals. Convex in b.
double quantile_loss(const std::vector<double>& x, const std::vector<double>& y, double b, double q,
                     std::vector<double>& scratch) {
  scratch.resize(x.size());
  for (size_t t = 0; t < x.size(); ++t) scratch[t] = y[t] - b * x[t];
  std::vector<double> sorted = scratch;
  const size_t k = size_t(std::floor(q * double(sorted.size() - 1)));
  std::nth_element(sorted.begin(), sorted.begin() + long(k), sorted.end());
  const double a = sorted[k];
  double loss = 0;
  for (double r : scratch) loss += (r - a) * (r < a ? q - 1.0 : q);
  return loss;
}

}  // namespace

void validate(const BaselineParams& p) {
  require(std::isfinite(p.frame_rate_hz) && p.frame_rate_hz > 0, "frame rate must be > 0 Hz");
  require(std::isfinite(p.sigma_s) && p.sigma_s >= 0, "--baseline-sigma must be >= 0 s");
  require(std::isfinite(p.window_s) && p.window_s > 0, "--baseline-window must be > 0 s");
  require(std::isfinite(p.percentile) && p.percentile >= 0 && p.percentile <= 100,
          "--baseline-percentile must be in [0, 100]");
}

std::vector<float> baseline(const std::vector<float>& f, const BaselineParams& params) {
  validate(params);
  require_finite(f, "F");
  if (f.empty()) return {};
  const std::vector<double> smooth = gaussian_smooth(f, params.sigma_s * params.frame_rate_hz);
  const long half = std::max(0L, long(std::lround(params.window_s * params.frame_rate_hz)) / 2);
  std::vector<double> f0;
  switch (params.method) {
    case BaselineMethod::maximin: {
      const std::vector<double> lower = running_extreme(smooth, half, [](double a, double b) { return a <= b; });
      f0 = running_extreme(lower, half, [](double a, double b) { return a >= b; });
      break;
    }
    case BaselineMethod::percentile:
      f0 = running_percentile(smooth, half, params.percentile);
      break;
    case BaselineMethod::constant: {
      std::vector<double> sorted = smooth;
      std::sort(sorted.begin(), sorted.end());
      f0.assign(f.size(), percentile_of_sorted(sorted, params.percentile));
      break;
    }
  }
  return std::vector<float>(f0.begin(), f0.end());
}

NeuropilCoefEstimate estimate_neuropil_coef(const std::vector<float>& f, const std::vector<float>& fneu,
                                            const NeuropilCoefParams& params) {
  require(f.size() == fneu.size(), "F and Fneu differ in length");
  require(params.min_coef <= params.max_coef, "neuropil coefficient range is empty");
  require(params.quantile > 0 && params.quantile < 1, "neuropil coefficient quantile must be in (0, 1)");
  require(params.max_samples >= 3, "neuropil coefficient max_samples must be >= 3");
  require_finite(f, "F");
  require_finite(fneu, "Fneu");
  // Neuropil varies over seconds: a fixed stride through long traces loses little.
  const size_t stride = std::max<size_t>(1, (f.size() + size_t(params.max_samples) - 1) / size_t(params.max_samples));
  std::vector<double> x, y;
  for (size_t t = 0; t < f.size(); t += stride) x.push_back(fneu[t]), y.push_back(f[t]);
  NeuropilCoefEstimate est;
  est.frames_used = int(x.size());
  double mx = 0, sxx = 0;
  for (double v : x) mx += v;
  mx /= std::max<double>(1, double(x.size()));
  for (double v : x) sxx += (v - mx) * (v - mx);
  // Fneu that does not vary (relative to its level) says nothing about the coefficient.
  if (x.size() < 3 || !(sxx > 1e-12 * double(x.size()) * (mx * mx + 1.0))) {
    est.coef = params.fallback;
    est.fallback = true;
    return est;
  }
  // Golden-section search of the convex profile loss over a range wider than the clip
  // range, so a slope outside it is seen (and reported) rather than silently pinned.
  const double golden = (std::sqrt(5.0) - 1) / 2;
  double lo = double(params.min_coef) - 1.0, hi = double(params.max_coef) + 1.0;
  std::vector<double> scratch;
  double b1 = hi - golden * (hi - lo), b2 = lo + golden * (hi - lo);
  double l1 = quantile_loss(x, y, b1, params.quantile, scratch), l2 = quantile_loss(x, y, b2, params.quantile, scratch);
  for (int iter = 0; iter < 60; ++iter) {
    if (l1 <= l2) {
      hi = b2, b2 = b1, l2 = l1;
      b1 = hi - golden * (hi - lo);
      l1 = quantile_loss(x, y, b1, params.quantile, scratch);
    } else {
      lo = b1, b1 = b2, l1 = l2;
      b2 = lo + golden * (hi - lo);
      l2 = quantile_loss(x, y, b2, params.quantile, scratch);
    }
  }
  est.slope = 0.5 * (lo + hi);
  est.coef = float(std::clamp(est.slope, double(params.min_coef), double(params.max_coef)));
  est.clipped = est.slope < params.min_coef || est.slope > params.max_coef;
  return est;
}

DffResult compute_dff(const std::vector<float>& f, const std::vector<float>& fneu, float r,
                      const BaselineParams& params) {
  require(f.size() == fneu.size(), "F and Fneu differ in length");
  require(std::isfinite(r), "neuropil coefficient is not finite");
  require_finite(f, "F");
  require_finite(fneu, "Fneu");
  DffResult out;
  out.corrected_f.resize(f.size());
  for (size_t t = 0; t < f.size(); ++t) out.corrected_f[t] = float(double(f[t]) - double(r) * fneu[t]);
  out.f0 = baseline(out.corrected_f, params);
  std::vector<double> magnitude(f.begin(), f.end());
  for (double& m : magnitude) m = std::abs(m);
  const float floor = float(std::max(0.01 * median(magnitude), 1e-6));
  out.dff.resize(f.size());
  for (size_t t = 0; t < f.size(); ++t) {
    if (!(out.f0[t] > floor)) {
      out.f0[t] = floor;
      out.f0_nonpositive = true;
    }
    out.dff[t] = float((double(out.corrected_f[t]) - out.f0[t]) / out.f0[t]);
  }
  return out;
}

}  // namespace apical
