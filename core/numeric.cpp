#include "core/numeric.hpp"

#include <cmath>

namespace apical {
namespace {

template <typename T>
double pearson_of(const T* a, const T* b, size_t n) {
  if (n < 3) return std::numeric_limits<double>::quiet_NaN();
  double ma = 0, mb = 0;
  for (size_t t = 0; t < n; ++t) ma += a[t], mb += b[t];
  ma /= double(n), mb /= double(n);
  double sab = 0, saa = 0, sbb = 0;
  for (size_t t = 0; t < n; ++t) {
    const double da = a[t] - ma, db = b[t] - mb;
    sab += da * db, saa += da * da, sbb += db * db;
  }
  return (saa > 0 && sbb > 0) ? sab / std::sqrt(saa * sbb) : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace

double quantile_of_sorted(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return std::numeric_limits<double>::quiet_NaN();
  const double pos = q * double(sorted.size() - 1);
  const size_t lo = size_t(std::floor(pos));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - double(lo)) * (sorted[hi] - sorted[lo]);
}

double quantile(std::vector<double> v, double q) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return !std::isfinite(x); }), v.end());
  std::sort(v.begin(), v.end());
  return quantile_of_sorted(v, q);
}

double nearest_rank_quantile(std::vector<float> v, double q) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, size_t(q * double(v.size() - 1) + 0.5));
  std::nth_element(v.begin(), v.begin() + long(k), v.end());
  return v[k];
}

double pearson(const float* a, const float* b, size_t n) { return pearson_of(a, b, n); }
double pearson(const double* a, const double* b, size_t n) { return pearson_of(a, b, n); }

}  // namespace apical
