#include "stats/permutation.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "io/error.hpp"
#include "stats/random.hpp"
#include "stats/regression.hpp"

namespace apical::stats {

std::vector<int64_t> circular_shifts(int64_t length, int permutations, uint64_t seed, int64_t min_shift) {
  if (length < 2) throw InputError("permutation test: need a series of at least 2 samples");
  if (permutations < 0) throw InputError("permutation test: number of permutations must be >= 0");
  const int64_t lo = std::clamp<int64_t>(min_shift, 1, (length - 1) / 2 > 0 ? (length - 1) / 2 : 1);
  const int64_t range = std::max<int64_t>(1, length - 2 * lo + 1);
  std::vector<int64_t> shifts(static_cast<size_t>(permutations));
  for (int i = 0; i < permutations; ++i) {
    ItemRng rng(seed, uint64_t(i));
    shifts[size_t(i)] = lo + int64_t(rng.below(uint64_t(range)));
  }
  return shifts;
}

double permutation_p(double observed, const arma::vec& null_draws) {
  if (!std::isfinite(observed)) return std::numeric_limits<double>::quiet_NaN();
  double exceed = 0, valid = 0;
  for (double v : null_draws) {
    if (!std::isfinite(v)) continue;
    valid += 1;
    if (std::abs(v) >= std::abs(observed)) exceed += 1;
  }
  return (1.0 + exceed) / (1.0 + valid);
}

CircularShiftTest circular_shift_test(int64_t length, int permutations, uint64_t seed, int64_t min_shift,
                                      const std::function<arma::vec(int64_t shift)>& statistic) {
  CircularShiftTest out;
  out.shifts = circular_shifts(length, permutations, seed, min_shift);
  out.observed = statistic(0);
  const arma::uword m = out.observed.n_elem;
  out.null.set_size(size_t(permutations), m);
  tbb::parallel_for(tbb::blocked_range<size_t>(0, size_t(permutations)), [&](const tbb::blocked_range<size_t>& r) {
    for (size_t i = r.begin(); i != r.end(); ++i) {
      const arma::vec s = statistic(out.shifts[i]);
      if (s.n_elem != m) throw std::logic_error("circular_shift_test: statistic changed length");
      out.null.row(i) = s.t();
    }
  });
  out.p.set_size(m);
  for (arma::uword j = 0; j < m; ++j) out.p[j] = permutation_p(out.observed[j], out.null.col(j));
  return out;
}

arma::vec ols_circular_shift_pvalues(const arma::mat& X, const arma::vec& y,
                                     const std::vector<arma::uword>& shifted_columns, int permutations,
                                     uint64_t seed, int64_t min_shift) {
  if (X.n_rows != y.n_elem) throw InputError("permutation test: X rows and y length differ");
  for (arma::uword c : shifted_columns)
    if (c >= X.n_cols) throw InputError("permutation test: column " + std::to_string(c) + " out of range");
  const arma::uvec cols(shifted_columns);
  const auto statistic = [&](int64_t shift) {
    arma::mat Xs = X;
    if (shift != 0) Xs.cols(cols) = arma::shift(X.cols(cols), shift, 0);
    return arma::vec(ols(Xs, y).t.elem(cols));
  };
  return circular_shift_test(int64_t(y.n_elem), permutations, seed, min_shift, statistic).p;
}

}  // namespace apical::stats
