#pragma once
// Linear models and cross-validation over Armadillo matrices (double precision).
// No external statistics library: the Student t tail comes from our own regularized
// incomplete beta function (continued fraction, accurate to ~1e-14 relative).
#include <cstdint>
#include <vector>

#include <armadillo>

namespace apical::stats {

// ---------------------------------------------------------------- distributions
// Regularized incomplete beta I_x(a, b), a, b > 0, x in [0, 1].
double incomplete_beta(double a, double b, double x);
// Two-sided p-value of a Student t statistic with df degrees of freedom (df > 0).
// NaN in -> NaN out; |t| = inf -> 0.
double student_t_two_sided_p(double t, double df);

// ---------------------------------------------------------------- ordinary least squares
// Fit of y = X beta + e. Columns of X that are (numerically) linear combinations of earlier
// columns, e.g. a reward regressor that is all zero, are dropped: their beta/se/t/p are NaN
// and they do not count towards the model degrees of freedom.
struct OlsFit {
  arma::vec beta, se, t, p;     // one per column of X
  double r2 = NAN;              // 1 - SS_res / SS_tot (around the mean of y)
  double residual_variance = NAN;
  int64_t n = 0;                // observations
  int64_t df = 0;               // n - number of estimated columns
  arma::vec residuals;          // y - X beta (estimated columns only)
};

// Requires X.n_rows == y.n_elem (InputError otherwise). With df <= 0 every se/t/p is NaN.
OlsFit ols(const arma::mat& X, const arma::vec& y);

// Column indices of X kept by ols() (greedy in column order, relative tolerance 1e-9).
std::vector<arma::uword> independent_columns(const arma::mat& X);

// ---------------------------------------------------------------- multiple testing
// Benjamini–Hochberg adjusted p-values (q-values) for a family. NaN entries are not part of
// the family (m = number of finite p) and stay NaN. Monotone, capped at 1.
arma::vec benjamini_hochberg(const arma::vec& p);

// ---------------------------------------------------------------- cross-validation
enum class FoldScheme {
  contiguous,   // fold k holds rows [k n / K, (k+1) n / K): respects temporal autocorrelation
  interleaved,  // row i is in fold i mod K: balances slow trends between folds
};
// Fold index (0..K-1) of each of n rows. K is clamped to [2, n]. Deterministic.
std::vector<int> make_folds(size_t n, int folds, FoldScheme scheme);

// Ridge regression of each column of Y on X (an intercept is added and not penalised;
// X columns are standardised on each training fold; objective |y - Z b|^2 + lambda |b|^2 as
// in scikit-learn's Ridge, so lambda is in units of observations). Returns, per column of Y, the
// cross-validated R^2 = 1 - sum (y - yhat_cv)^2 / sum (y - mean y)^2, where yhat_cv are the
// out-of-fold predictions. Many columns share one factorisation per fold, which makes
// shuffle distributions cheap (pass shuffled copies of y as extra columns).
arma::vec ridge_cv_r2(const arma::mat& X, const arma::mat& Y, double lambda, int folds,
                      FoldScheme scheme = FoldScheme::contiguous);

// Ridge coefficients (intercept first) on standardised columns, for inspection.
arma::vec ridge_fit(const arma::mat& X, const arma::vec& y, double lambda);

// L2-penalised logistic regression by IRLS (intercept not penalised, columns standardised).
// labels are 0/1. Returns beta (intercept first) in standardised units.
struct LogisticModel {
  arma::vec mean, scale;  // standardisation of X columns
  arma::vec beta;         // intercept first
  arma::vec probability(const arma::mat& X) const;
};
LogisticModel logistic_fit(const arma::mat& X, const arma::uvec& labels, double l2 = 1e-2,
                           int max_iterations = 50);

// Cross-validated accuracy (fraction of correctly predicted held-out labels, threshold 0.5).
double logistic_cv_accuracy(const arma::mat& X, const arma::uvec& labels, int folds, double l2 = 1e-2,
                            FoldScheme scheme = FoldScheme::interleaved);

}  // namespace apical::stats
