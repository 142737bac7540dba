#include "stats/regression.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "io/error.hpp"

namespace apical::stats {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Continued fraction of I_x(a, b) (modified Lentz); converges fast for x < (a+1)/(a+b+2).
double incomplete_beta_fraction(double a, double b, double x) {
  constexpr double tiny = 1e-300, eps = 1e-15;
  double f = 1.0, c = 1.0, d = 0.0;  // evaluates 1 + d1/(1 + d2/(1 + ...))
  for (int j = 1; j <= 10000; ++j) {
    double coeff;
    if (j % 2 == 1) {
      const double m = (j - 1) / 2;
      coeff = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));
    } else {
      const double m = j / 2;
      coeff = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
    }
    d = 1.0 + coeff * d;
    if (std::abs(d) < tiny) d = tiny;
    c = 1.0 + coeff / c;
    if (std::abs(c) < tiny) c = tiny;
    d = 1.0 / d;
    const double delta = c * d;
    f *= delta;
    if (std::abs(delta - 1.0) < eps) break;
  }
  return 1.0 / f;
}

arma::vec column_means(const arma::mat& X) { return arma::vec(arma::mean(X, 0).t()); }

arma::vec column_scales(const arma::mat& X, const arma::vec& mean) {
  arma::vec s(X.n_cols);
  for (arma::uword j = 0; j < X.n_cols; ++j) {
    const double ss = arma::accu(arma::square(X.col(j) - mean[j]));
    const double sd = X.n_rows > 0 ? std::sqrt(ss / double(X.n_rows)) : 0.0;
    s[j] = sd > 0 ? sd : 1.0;  // constant column: centred to 0, contributes nothing
  }
  return s;
}

arma::mat standardise(const arma::mat& X, const arma::vec& mean, const arma::vec& scale) {
  arma::mat Z = X;
  for (arma::uword j = 0; j < X.n_cols; ++j) Z.col(j) = (X.col(j) - mean[j]) / scale[j];
  return Z;
}

// Symmetric positive (semi)definite solve; falls back to the pseudo-inverse when singular.
arma::mat spd_solve(const arma::mat& A, const arma::mat& B) {
  arma::mat R;
  if (arma::chol(R, A)) return arma::solve(arma::trimatu(R), arma::solve(arma::trimatl(R.t()), B));
  return arma::pinv(A) * B;
}

arma::uvec indices_in_fold(const std::vector<int>& folds, int k, bool inside) {
  std::vector<arma::uword> idx;
  for (size_t i = 0; i < folds.size(); ++i)
    if ((folds[i] == k) == inside) idx.push_back(i);
  return arma::uvec(idx);
}

}  // namespace

// ---------------------------------------------------------------- distributions

double incomplete_beta(double a, double b, double x) {
  if (std::isnan(a) || std::isnan(b) || std::isnan(x)) return kNaN;
  if (x <= 0) return 0.0;
  if (x >= 1) return 1.0;
  const double log_front =
      std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  if (x < (a + 1) / (a + b + 2)) return std::exp(log_front) * incomplete_beta_fraction(a, b, x) / a;
  // Symmetry I_x(a,b) = 1 - I_{1-x}(b,a) keeps the fraction in its fast-converging region.
  return 1.0 - std::exp(log_front) * incomplete_beta_fraction(b, a, 1.0 - x) / b;
}

double student_t_two_sided_p(double t, double df) {
  if (std::isnan(t) || !(df > 0)) return kNaN;
  if (std::isinf(t)) return 0.0;
  const double x = df / (df + t * t);
  return std::clamp(incomplete_beta(0.5 * df, 0.5, x), 0.0, 1.0);
}

// ---------------------------------------------------------------- OLS

std::vector<arma::uword> independent_columns(const arma::mat& X) {
  std::vector<arma::uword> kept;
  std::vector<arma::vec> basis;  // orthonormal basis of the kept columns (modified Gram-Schmidt)
  for (arma::uword j = 0; j < X.n_cols; ++j) {
    arma::vec v = X.col(j);
    const double norm0 = arma::norm(v);
    if (!(norm0 > 0) || !std::isfinite(norm0)) continue;
    for (const arma::vec& q : basis) v -= arma::dot(q, v) * q;
    const double norm1 = arma::norm(v);
    if (norm1 <= 1e-9 * norm0) continue;
    basis.push_back(v / norm1);
    kept.push_back(j);
  }
  return kept;
}

OlsFit ols(const arma::mat& X, const arma::vec& y) {
  if (X.n_rows != y.n_elem)
    throw InputError("ols: design has " + std::to_string(X.n_rows) + " rows but response has " +
                     std::to_string(y.n_elem));
  OlsFit fit;
  const arma::uword p = X.n_cols;
  fit.beta.set_size(p); fit.beta.fill(kNaN);
  fit.se = fit.beta; fit.t = fit.beta; fit.p = fit.beta;
  fit.n = int64_t(y.n_elem);
  const std::vector<arma::uword> kept = independent_columns(X);
  fit.df = fit.n - int64_t(kept.size());
  if (kept.empty() || fit.n == 0) return fit;

  const arma::uvec cols(kept);
  const arma::mat Xk = X.cols(cols);
  const arma::mat xtx = Xk.t() * Xk;
  const arma::mat xtx_inv = spd_solve(xtx, arma::eye(xtx.n_rows, xtx.n_cols));
  const arma::vec beta = xtx_inv * (Xk.t() * y);
  fit.residuals = y - Xk * beta;
  const double ss_res = arma::dot(fit.residuals, fit.residuals);
  const double ss_tot = arma::accu(arma::square(y - arma::mean(y)));
  fit.r2 = ss_tot > 0 ? 1.0 - ss_res / ss_tot : kNaN;
  for (arma::uword i = 0; i < cols.n_elem; ++i) fit.beta[cols[i]] = beta[i];
  if (fit.df <= 0) return fit;
  fit.residual_variance = ss_res / double(fit.df);
  for (arma::uword i = 0; i < cols.n_elem; ++i) {
    const double se = std::sqrt(std::max(0.0, xtx_inv(i, i)) * fit.residual_variance);
    const arma::uword j = cols[i];
    fit.se[j] = se;
    fit.t[j] = se > 0 ? beta[i] / se : kNaN;
    fit.p[j] = student_t_two_sided_p(fit.t[j], double(fit.df));
  }
  return fit;
}

// ---------------------------------------------------------------- BH

arma::vec benjamini_hochberg(const arma::vec& p) {
  arma::vec q(p.n_elem);
  q.fill(kNaN);
  std::vector<arma::uword> idx;
  for (arma::uword i = 0; i < p.n_elem; ++i)
    if (std::isfinite(p[i])) idx.push_back(i);
  const double m = double(idx.size());
  std::stable_sort(idx.begin(), idx.end(), [&](arma::uword a, arma::uword b) { return p[a] < p[b]; });
  double running_min = 1.0;
  for (size_t r = idx.size(); r-- > 0;) {  // from the largest p down: q_(r) = min_{j>=r} p_(j) m / j
    running_min = std::min(running_min, p[idx[r]] * m / double(r + 1));
    q[idx[r]] = running_min;
  }
  return q;
}

// ---------------------------------------------------------------- cross-validation

std::vector<int> make_folds(size_t n, int folds, FoldScheme scheme) {
  std::vector<int> f(n, 0);
  if (n < 2) return f;
  const size_t k = size_t(std::clamp<int64_t>(folds, 2, int64_t(n)));
  for (size_t i = 0; i < n; ++i)
    f[i] = scheme == FoldScheme::interleaved ? int(i % k) : int((i * k) / n);
  return f;
}

arma::vec ridge_fit(const arma::mat& X, const arma::vec& y, double lambda) {
  const arma::vec mean = column_means(X), scale = column_scales(X, mean);
  const arma::mat Z = standardise(X, mean, scale);
  const double ymean = arma::mean(y);
  arma::mat A = Z.t() * Z;
  A.diag() += lambda;
  arma::vec beta(X.n_cols + 1);
  beta[0] = ymean;
  if (X.n_cols > 0) beta.subvec(1, X.n_cols) = spd_solve(A, Z.t() * (y - ymean));
  return beta;
}

arma::vec ridge_cv_r2(const arma::mat& X, const arma::mat& Y, double lambda, int folds, FoldScheme scheme) {
  if (X.n_rows != Y.n_rows)
    throw InputError("ridge_cv_r2: X has " + std::to_string(X.n_rows) + " rows, Y has " + std::to_string(Y.n_rows));
  arma::vec r2(Y.n_cols);
  r2.fill(kNaN);
  const size_t n = X.n_rows;
  if (n < 4) return r2;
  const std::vector<int> fold = make_folds(n, folds, scheme);
  const int k = *std::max_element(fold.begin(), fold.end()) + 1;
  arma::mat prediction(arma::size(Y));
  for (int f = 0; f < k; ++f) {
    const arma::uvec train = indices_in_fold(fold, f, false), test = indices_in_fold(fold, f, true);
    const arma::mat Xtr = X.rows(train);
    const arma::vec mean = column_means(Xtr), scale = column_scales(Xtr, mean);
    const arma::mat Ztr = standardise(Xtr, mean, scale), Zte = standardise(X.rows(test), mean, scale);
    const arma::rowvec ymean = arma::mean(Y.rows(train), 0);
    arma::mat pred = arma::repmat(ymean, test.n_elem, 1);
    if (X.n_cols > 0) {
      // Objective |y - Z b|^2 + lambda |b|^2 on standardised columns.
      arma::mat A = Ztr.t() * Ztr;
      A.diag() += lambda;
      const arma::mat Yc = Y.rows(train) - arma::repmat(ymean, train.n_elem, 1);
      pred += Zte * spd_solve(A, Ztr.t() * Yc);
    }
    prediction.rows(test) = pred;
  }
  for (arma::uword c = 0; c < Y.n_cols; ++c) {
    const double ss_tot = arma::accu(arma::square(Y.col(c) - arma::mean(Y.col(c))));
    const double ss_res = arma::accu(arma::square(Y.col(c) - prediction.col(c)));
    r2[c] = ss_tot > 0 ? 1.0 - ss_res / ss_tot : kNaN;
  }
  return r2;
}

arma::vec LogisticModel::probability(const arma::mat& X) const {
  const arma::mat Z = standardise(X, mean, scale);
  arma::vec eta = beta[0] + (Z.n_cols > 0 ? arma::vec(Z * beta.subvec(1, beta.n_elem - 1)) : arma::vec(Z.n_rows, arma::fill::zeros));
  return 1.0 / (1.0 + arma::exp(-eta));
}

LogisticModel logistic_fit(const arma::mat& X, const arma::uvec& labels, double l2, int max_iterations) {
  if (X.n_rows != labels.n_elem)
    throw InputError("logistic_fit: X has " + std::to_string(X.n_rows) + " rows, labels " +
                     std::to_string(labels.n_elem));
  LogisticModel m;
  m.mean = column_means(X);
  m.scale = column_scales(X, m.mean);
  const arma::mat Z = arma::join_rows(arma::ones(X.n_rows), standardise(X, m.mean, m.scale));
  const arma::vec y = arma::conv_to<arma::vec>::from(labels);
  const double n = double(X.n_rows);
  arma::vec penalty(Z.n_cols, arma::fill::value(l2 * n));
  penalty[0] = 0;  // intercept not penalised
  m.beta.zeros(Z.n_cols);
  for (int it = 0; it < max_iterations; ++it) {
    const arma::vec mu = arma::clamp(1.0 / (1.0 + arma::exp(-(Z * m.beta))), 1e-12, 1.0 - 1e-12);
    const arma::vec w = mu % (1.0 - mu);
    const arma::vec gradient = Z.t() * (y - mu) - penalty % m.beta;
    arma::mat H = Z.t() * (Z.each_col() % w);
    H.diag() += penalty + 1e-10;
    const arma::vec step = spd_solve(H, gradient);
    m.beta += step;
    if (arma::abs(step).max() < 1e-9) break;
  }
  return m;
}

double logistic_cv_accuracy(const arma::mat& X, const arma::uvec& labels, int folds, double l2, FoldScheme scheme) {
  if (X.n_rows != labels.n_elem)
    throw InputError("logistic_cv_accuracy: X rows and labels differ in length");
  const size_t n = X.n_rows;
  if (n < 4) return kNaN;
  const std::vector<int> fold = make_folds(n, folds, scheme);
  const int k = *std::max_element(fold.begin(), fold.end()) + 1;
  size_t correct = 0;
  for (int f = 0; f < k; ++f) {
    const arma::uvec train = indices_in_fold(fold, f, false), test = indices_in_fold(fold, f, true);
    const arma::uvec ytr = labels.elem(train);
    const arma::uword ones = arma::accu(ytr);
    arma::uvec predicted(test.n_elem);
    if (ones == 0 || ones == ytr.n_elem) {
      predicted.fill(ones == 0 ? 0 : 1);  // one class in training: the model is that class
    } else {
      const LogisticModel model = logistic_fit(X.rows(train), ytr, l2);
      const arma::vec prob = model.probability(X.rows(test));
      for (arma::uword i = 0; i < test.n_elem; ++i) predicted[i] = prob[i] >= 0.5 ? 1 : 0;
    }
    for (arma::uword i = 0; i < test.n_elem; ++i) correct += predicted[i] == labels[test[i]];
  }
  return double(correct) / double(n);
}

}  // namespace apical::stats
