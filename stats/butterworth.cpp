#include "stats/butterworth.hpp"

#include <algorithm>
#include <cmath>
#include <complex>
#include <string>

#include "io/error.hpp"

namespace apical::stats {
namespace {

// Transposed direct form II state that the response to a unit step settles to
// (scipy.signal.lfilter_zi for one biquad).
std::pair<double, double> steady_state(const Biquad& s) {
  const double B0 = s.b1 - s.a1 * s.b0, B1 = s.b2 - s.a2 * s.b0;
  const double z0 = (B0 + B1) / (1.0 + s.a1 + s.a2);
  return {z0, B1 - s.a2 * z0};
}

// Runs the cascade over x in place; each section starts from its steady state for a
// constant input equal to x[0] (scaled by the DC gain of the sections before it).
void filter_in_place(const std::vector<Biquad>& sections, std::vector<double>& x) {
  if (x.empty()) return;
  double dc_in = x[0];
  for (const Biquad& s : sections) {
    auto [z0, z1] = steady_state(s);
    z0 *= dc_in;
    z1 *= dc_in;
    for (double& v : x) {
      const double y = s.b0 * v + z0;
      z0 = s.b1 * v - s.a1 * y + z1;
      z1 = s.b2 * v - s.a2 * y;
      v = y;
    }
    dc_in *= (s.b0 + s.b1 + s.b2) / (1.0 + s.a1 + s.a2);
  }
}

}  // namespace

std::vector<Biquad> butterworth_highpass(int order, double cutoff_fraction) {
  if (order < 2 || order % 2 != 0)
    throw InputError("Butterworth filter: order must be even and >= 2 (got " + std::to_string(order) + ")");
  if (!(cutoff_fraction > 0 && cutoff_fraction < 1))
    throw InputError("Butterworth filter: cut-off must lie strictly between 0 and the Nyquist frequency");
  const double k = std::tan(M_PI * cutoff_fraction / 2.0);  // pre-warped analogue cut-off
  std::vector<Biquad> sections;
  for (int i = 0; i < order / 2; ++i) {
    // Conjugate pole pair i of the analogue prototype: quality factor 1 / (2 sin θ).
    const double q = 1.0 / (2.0 * std::sin(M_PI * (2.0 * i + 1.0) / (2.0 * order)));
    const double norm = 1.0 / (1.0 + k / q + k * k);
    sections.push_back({norm, -2.0 * norm, norm, 2.0 * (k * k - 1.0) * norm, (1.0 - k / q + k * k) * norm});
  }
  return sections;
}

double magnitude_response(const std::vector<Biquad>& sections, double f) {
  const std::complex<double> z1 = std::polar(1.0, -M_PI * f), z2 = z1 * z1;
  std::complex<double> h = 1.0;
  for (const Biquad& s : sections) h *= (s.b0 + s.b1 * z1 + s.b2 * z2) / (1.0 + s.a1 * z1 + s.a2 * z2);
  return std::abs(h);
}

arma::vec filtfilt(const std::vector<Biquad>& sections, const arma::vec& x) {
  const int64_t n = int64_t(x.n_elem);
  if (n == 0) return x;
  const int64_t pad = std::min<int64_t>(3 * (2 * int64_t(sections.size()) + 1), n - 1);
  std::vector<double> ext(size_t(n + 2 * pad));
  for (int64_t i = 0; i < pad; ++i) ext[size_t(i)] = 2.0 * x[0] - x[arma::uword(pad - i)];
  for (int64_t i = 0; i < n; ++i) ext[size_t(pad + i)] = x[arma::uword(i)];
  for (int64_t i = 0; i < pad; ++i) ext[size_t(pad + n + i)] = 2.0 * x[arma::uword(n - 1)] - x[arma::uword(n - 2 - i)];
  filter_in_place(sections, ext);
  std::reverse(ext.begin(), ext.end());
  filter_in_place(sections, ext);
  std::reverse(ext.begin(), ext.end());
  return arma::vec(std::vector<double>(ext.begin() + pad, ext.begin() + pad + n));
}

}  // namespace apical::stats
