// Small numeric helpers shared by every layer: one copy of each, so that two stages
// that report "the median" or "the correlation" compute the same number.
#pragma once
#include <algorithm>
#include <cstddef>
#include <limits>
#include <vector>

namespace apical {

// Median of v (mean of the two middle values for an even count); NaN when v is empty.
// Reorders v: pass a copy when its order matters.
template <typename T>
double median_in_place(std::vector<T>& v) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + long(mid), v.end());
  const double upper = v[mid];
  if (v.size() % 2 == 1) return upper;
  const double lower = *std::max_element(v.begin(), v.begin() + long(mid));
  return 0.5 * (lower + upper);
}

template <typename T>
double median(std::vector<T> v) {
  return median_in_place(v);
}

// Linearly interpolated q-quantile (numpy's default) of ascending values; NaN when empty.
double quantile_of_sorted(const std::vector<double>& sorted, double q);

// Linearly interpolated q-quantile of the finite values of v; NaN when none is finite.
double quantile(std::vector<double> v, double q);

// The value of rank round(q * (n - 1)) (no interpolation: an element of v); 0 when empty.
double nearest_rank_quantile(std::vector<float> v, double q);

// Pearson correlation of a[0..n) and b[0..n); NaN when n < 3 or either is constant.
double pearson(const float* a, const float* b, size_t n);
double pearson(const double* a, const double* b, size_t n);

// Union-find: the root of i's set, halving the path on the way.
inline int find_root(std::vector<int>& parent, int i) {
  while (parent[size_t(i)] != i) i = parent[size_t(i)] = parent[size_t(parent[size_t(i)])];
  return i;
}

}  // namespace apical
