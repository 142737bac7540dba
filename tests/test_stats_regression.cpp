// OLS, Student t, Benjamini–Hochberg, ridge / logistic cross-validation and circular-shift
// permutation tests, each against truth generated here.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include <tbb/task_arena.h>

#include "io/error.hpp"
#include "stats/permutation.hpp"
#include "stats/random.hpp"
#include "stats/regression.hpp"

using namespace apical;
using namespace apical::stats;

namespace {

arma::mat random_design(std::mt19937_64& rng, size_t n, size_t p) {
  std::normal_distribution<double> g(0, 1);
  arma::mat X(n, p + 1);
  for (size_t i = 0; i < n; ++i) {
    X(i, 0) = 1;
    for (size_t j = 1; j <= p; ++j) X(i, j) = g(rng);
  }
  return X;
}

arma::vec normal_vector(std::mt19937_64& rng, size_t n, double sd = 1) {
  std::normal_distribution<double> g(0, sd);
  arma::vec v(n);
  for (auto& x : v) x = g(rng);
  return v;
}

arma::vec ar1(std::mt19937_64& rng, size_t n, double rho) {
  arma::vec v = normal_vector(rng, n);
  for (size_t i = 1; i < n; ++i) v[i] = rho * v[i - 1] + std::sqrt(1 - rho * rho) * v[i];
  return v;
}

}  // namespace

TEST_CASE("Student t two-sided p matches tabulated critical values to 1e-6", "[stats][t]") {
  CHECK(student_t_two_sided_p(2.228138852, 10) == Approx(0.05).margin(1e-6));
  CHECK(student_t_two_sided_p(-2.228138852, 10) == Approx(0.05).margin(1e-6));
  CHECK(student_t_two_sided_p(4.032142984, 5) == Approx(0.01).margin(1e-6));
  CHECK(student_t_two_sided_p(12.70620474, 1) == Approx(0.05).margin(1e-6));
  CHECK(student_t_two_sided_p(2.042272456, 30) == Approx(0.05).margin(1e-6));
  CHECK(student_t_two_sided_p(1.959963985, 1e7) == Approx(0.05).margin(1e-5));  // ~normal
  CHECK(student_t_two_sided_p(0, 7) == Approx(1.0).margin(1e-12));
  CHECK(student_t_two_sided_p(INFINITY, 7) == 0.0);
  CHECK(std::isnan(student_t_two_sided_p(NAN, 7)));
  // Incomplete beta identities: I_x(1,1) = x, I_x(a,1) = x^a, I_0.5(a,a) = 0.5.
  CHECK(incomplete_beta(1, 1, 0.3) == Approx(0.3).margin(1e-12));
  CHECK(incomplete_beta(3.5, 1, 0.7) == Approx(std::pow(0.7, 3.5)).margin(1e-12));
  CHECK(incomplete_beta(40, 40, 0.5) == Approx(0.5).margin(1e-12));
}

TEST_CASE("OLS recovers coefficients and its SEs match the Monte Carlo spread within 6 %", "[stats][ols]") {
  std::mt19937_64 rng(1);
  const arma::mat X = random_design(rng, 60, 2);
  const arma::vec beta{1.0, -2.0, 0.5};
  const double sigma = 1.5;
  const arma::vec analytic_se = sigma * arma::sqrt(arma::diagvec(arma::inv_sympd(X.t() * X)));
  const int reps = 2000;
  arma::mat estimates(reps, 3), ses(reps, 3);
  for (int r = 0; r < reps; ++r) {
    const OlsFit fit = ols(X, X * beta + normal_vector(rng, X.n_rows, sigma));
    estimates.row(r) = fit.beta.t();
    ses.row(r) = fit.se.t();
  }
  const arma::rowvec mean = arma::mean(estimates, 0), spread = arma::stddev(estimates, 0, 0);
  const arma::rowvec mean_se = arma::mean(ses, 0);
  for (int j = 0; j < 3; ++j) {
    INFO("coef " << j << " mean " << mean[j] << " mc sd " << spread[j] << " analytic " << analytic_se[j]
                 << " mean reported se " << mean_se[j]);
    CHECK(std::abs(mean[j] - beta[j]) < 4 * analytic_se[j] / std::sqrt(double(reps)));
    CHECK(spread[j] == Approx(analytic_se[j]).epsilon(0.06));
    CHECK(mean_se[j] == Approx(analytic_se[j]).epsilon(0.03));
  }
}

TEST_CASE("OLS p-values are uniform under the null: fraction p < 0.05 within [0.03, 0.07]", "[stats][ols]") {
  std::mt19937_64 rng(2);
  int below = 0, below_01 = 0;
  const int reps = 3000;
  for (int r = 0; r < reps; ++r) {
    const arma::mat X = random_design(rng, 25, 2);
    const OlsFit fit = ols(X, 3.0 + 0.7 * X.col(2) + normal_vector(rng, 25));  // column 1 null
    below += fit.p[1] < 0.05;
    below_01 += fit.p[1] < 0.01;
  }
  CHECK(below / double(reps) >= 0.03);
  CHECK(below / double(reps) <= 0.07);
  CHECK(below_01 / double(reps) <= 0.02);
}

TEST_CASE("OLS drops linearly dependent columns as NaN and reports R^2", "[stats][ols]") {
  std::mt19937_64 rng(3);
  arma::mat X = random_design(rng, 40, 2);
  X.insert_cols(3, arma::vec(40, arma::fill::zeros));  // e.g. no rewarded events
  X.insert_cols(4, 2.0 * X.col(1));                    // duplicate of column 1
  const arma::vec y = 1 + 2 * X.col(1) + 0.1 * normal_vector(rng, 40);
  const OlsFit fit = ols(X, y);
  CHECK(fit.beta[1] == Approx(2).margin(0.05));
  CHECK(std::isnan(fit.beta[3]));
  CHECK(std::isnan(fit.p[4]));
  CHECK(fit.df == 40 - 3);
  CHECK(fit.r2 > 0.99);
  CHECK_THROWS_AS(ols(X, arma::vec(5)), InputError);
}

TEST_CASE("Benjamini-Hochberg matches the definition on a hand-checked example", "[stats][bh]") {
  // Sorted p: .005 .01 .03 .04 .5 (m = 5); m p_(i) / i = .025 .025 .05 .05 .5; running min from the top.
  const arma::vec p{0.01, 0.04, 0.03, 0.005, NAN, 0.5};
  const arma::vec q = benjamini_hochberg(p);
  CHECK(q[0] == Approx(0.025));
  CHECK(q[1] == Approx(0.05));
  CHECK(q[2] == Approx(0.05));
  CHECK(q[3] == Approx(0.025));
  CHECK(std::isnan(q[4]));
  CHECK(q[5] == Approx(0.5));
  CHECK(benjamini_hochberg(arma::vec{0.9, 0.8})[0] == Approx(0.9));  // capped by the monotone minimum
}

TEST_CASE("Benjamini-Hochberg controls the FDR at 10 % in simulation", "[stats][bh]") {
  std::mt19937_64 rng(4);
  std::normal_distribution<double> g(0, 1);
  const int reps = 300, m = 100, true_effects = 20;
  double fdp_sum = 0, power_sum = 0;
  for (int r = 0; r < reps; ++r) {
    arma::vec p(m);
    for (int i = 0; i < m; ++i) {
      const double z = g(rng) + (i < true_effects ? 3.0 : 0.0);
      p[i] = std::erfc(std::abs(z) / std::sqrt(2.0));
    }
    const arma::vec q = benjamini_hochberg(p);
    int rejected = 0, false_rejected = 0, true_rejected = 0;
    for (int i = 0; i < m; ++i)
      if (q[i] <= 0.1) {
        ++rejected;
        false_rejected += i >= true_effects;
        true_rejected += i < true_effects;
      }
    fdp_sum += rejected ? double(false_rejected) / rejected : 0.0;
    power_sum += true_rejected / double(true_effects);
  }
  const double fdr = fdp_sum / reps;
  INFO("FDR " << fdr << " power " << power_sum / reps);
  CHECK(fdr <= 0.1);
  CHECK(fdr >= 0.05);  // not trivially conservative: BH's FDR is pi0 * alpha = 0.08 here
  CHECK(power_sum / reps > 0.5);
}

TEST_CASE("ridge CV R^2 is high for a linear signal and about zero for noise", "[stats][ridge]") {
  std::mt19937_64 rng(5);
  const arma::mat X = random_design(rng, 300, 10).cols(1, 10);
  const arma::vec b = normal_vector(rng, 10);
  const arma::vec signal = X * b;
  const double noise_sd = std::sqrt(arma::var(signal) / 4.0);  // true R^2 = 0.8
  arma::mat Y(300, 2);
  Y.col(0) = signal + normal_vector(rng, 300, noise_sd);
  Y.col(1) = normal_vector(rng, 300);
  const arma::vec r2 = ridge_cv_r2(X, Y, 0.01, 5);
  INFO("signal R2 " << r2[0] << " noise R2 " << r2[1]);
  CHECK(r2[0] > 0.7);
  CHECK(r2[0] < 0.85);
  CHECK(r2[1] < 0.03);
  // Columns are independent problems: fitting one alone gives the same number.
  CHECK(ridge_cv_r2(X, Y.col(1), 0.01, 5)[0] == Approx(r2[1]).margin(1e-12));
}

TEST_CASE("logistic CV accuracy separates informative from random labels", "[stats][logistic]") {
  std::mt19937_64 rng(6);
  std::uniform_real_distribution<double> u(0, 1);
  const arma::mat X = random_design(rng, 200, 4).cols(1, 4);
  arma::uvec informative(200), random_labels(200);
  for (size_t i = 0; i < 200; ++i) {
    const double eta = 3.0 * X(i, 0) - 2.0 * X(i, 1);
    informative[i] = u(rng) < 1.0 / (1.0 + std::exp(-eta)) ? 1 : 0;
    random_labels[i] = u(rng) < 0.5 ? 1 : 0;
  }
  const double good = logistic_cv_accuracy(X, informative, 5), chance = logistic_cv_accuracy(X, random_labels, 5);
  INFO("informative " << good << " random " << chance);
  CHECK(good > 0.8);
  CHECK(chance > 0.35);
  CHECK(chance < 0.65);
  // Fitted probabilities follow the generating model's sign pattern.
  const LogisticModel m = logistic_fit(X, informative);
  CHECK(m.beta[1] > 1.0);
  CHECK(m.beta[2] < -0.7);
}

TEST_CASE("circular-shift permutation p is calibrated for autocorrelated series", "[stats][permutation]") {
  // Both series AR(1) with rho = 0.95: naive OLS p-values are far too small, shifts are not.
  std::mt19937_64 rng(8);
  int naive = 0, shifted = 0;
  const int reps = 150;
  for (int r = 0; r < reps; ++r) {
    const arma::vec x = ar1(rng, 400, 0.95), y = ar1(rng, 400, 0.95);
    const arma::mat X = arma::join_rows(arma::ones(400), x);
    naive += ols(X, y).p[1] < 0.05;
    shifted += ols_circular_shift_pvalues(X, y, {1}, 99, uint64_t(r), 20)[0] < 0.05;
  }
  INFO("naive " << naive << " shifted " << shifted << " of " << reps);
  CHECK(naive > 0.2 * reps);
  CHECK(shifted <= 0.09 * reps);
  // ...and it detects a real relation.
  const arma::vec x = ar1(rng, 400, 0.5);
  const arma::vec y = 0.5 * x + normal_vector(rng, 400);
  const arma::mat X = arma::join_rows(arma::ones(400), x);
  CHECK(ols_circular_shift_pvalues(X, y, {1}, 199, 1, 20)[0] <= 0.01);
}

TEST_CASE("circular-shift test is bit-identical with 1 and 2 threads and reproducible by seed", "[stats][permutation]") {
  std::mt19937_64 rng(9);
  const arma::vec x = ar1(rng, 300, 0.8), y = 0.1 * x + normal_vector(rng, 300);
  const arma::mat X = arma::join_rows(arma::ones(300), x);
  const auto statistic = [&](int64_t s) {
    arma::mat Xs = X;
    Xs.col(1) = arma::shift(X.col(1), s);
    return arma::vec{ols(Xs, y).t[1]};
  };
  CircularShiftTest a, b;
  tbb::task_arena(1).execute([&] { a = circular_shift_test(300, 500, 77, 10, statistic); });
  tbb::task_arena(2).execute([&] { b = circular_shift_test(300, 500, 77, 10, statistic); });
  REQUIRE(a.null.n_elem == b.null.n_elem);
  CHECK(std::memcmp(a.null.memptr(), b.null.memptr(), a.null.n_elem * sizeof(double)) == 0);
  CHECK(a.p[0] == b.p[0]);
  CHECK(a.shifts == circular_shifts(300, 500, 77, 10));
  for (int64_t s : a.shifts) {
    CHECK(s >= 10);
    CHECK(s <= 290);
  }
  CHECK(std::vector<int64_t>(a.shifts.begin(), a.shifts.begin() + 20) != circular_shifts(300, 20, 78, 10));
}
