#pragma once
// Permutation tests by circular shifts (the behaviour is rotated against the imaging, which
// keeps each series' autocorrelation intact; a plain shuffle would not).
// Deterministic at any thread count: the shift of permutation i comes from its own RNG stream
// seeded by (seed, i), and every permutation's statistics are stored at index i.
#include <cstdint>
#include <functional>
#include <vector>

#include <armadillo>

namespace apical::stats {

struct CircularShiftTest {
  arma::vec observed;           // statistic at shift 0
  arma::mat null;               // [permutations, n_statistics]
  std::vector<int64_t> shifts;  // shift of each permutation, in [min_shift, length - min_shift]
  arma::vec p;                  // two-sided: (1 + #{|null| >= |observed|}) / (1 + #finite null)
};

// Shift amounts for `permutations` draws over a series of `length` samples. min_shift is
// clamped to (length - 1) / 2 so a valid range always exists. length >= 2 required.
std::vector<int64_t> circular_shifts(int64_t length, int permutations, uint64_t seed, int64_t min_shift);

// statistic(shift) must be thread-safe and return the same number of statistics every time.
// NaN statistics in the null are ignored; a NaN observed statistic gives p = NaN.
CircularShiftTest circular_shift_test(int64_t length, int permutations, uint64_t seed, int64_t min_shift,
                                      const std::function<arma::vec(int64_t shift)>& statistic);

// Two-sided permutation p-value from an observed statistic and its null draws.
double permutation_p(double observed, const arma::vec& null_draws);

// OLS t statistics of the listed columns of X when those columns (rows rotated together by
// the shift) are circularly shifted against y; returns one p per listed column.
arma::vec ols_circular_shift_pvalues(const arma::mat& X, const arma::vec& y,
                                     const std::vector<arma::uword>& shifted_columns, int permutations,
                                     uint64_t seed, int64_t min_shift);

}  // namespace apical::stats
