#include "stats/decoding.hpp"

#include <algorithm>
#include <cmath>

#include "io/error.hpp"

namespace apical::stats {
namespace {

arma::mat standardised_with_bias(const arma::mat& X, const arma::vec& mean, const arma::vec& scale) {
  arma::mat Z(X.n_rows, X.n_cols + 1);
  for (arma::uword c = 0; c < X.n_cols; ++c) Z.col(c) = (X.col(c) - mean[c]) / scale[c];
  Z.col(X.n_cols).ones();
  return Z;
}

arma::uvec rows_in_fold(const std::vector<int>& fold, int f, bool in) {
  std::vector<arma::uword> rows;
  for (size_t i = 0; i < fold.size(); ++i)
    if ((fold[i] == f) == in) rows.push_back(arma::uword(i));
  return arma::uvec(rows);
}

}  // namespace

arma::uvec LinearSvm::predict(const arma::mat& X) const {
  const arma::vec score = standardised_with_bias(X, mean, scale) * w;
  arma::uvec out(score.n_elem);
  for (arma::uword i = 0; i < score.n_elem; ++i) out[i] = score[i] >= 0 ? 1 : 0;
  return out;
}

LinearSvm linear_svm_fit(const arma::mat& X, const arma::uvec& labels, double cost, int max_epochs) {
  if (X.n_rows != labels.n_elem) throw InputError("linear_svm_fit: X rows and labels differ in length");
  if (!(cost > 0)) throw InputError("linear_svm_fit: cost must be > 0");
  LinearSvm m;
  m.mean = arma::mean(X, 0).t();
  m.scale = arma::stddev(X, 0, 0).t();
  m.scale.transform([](double s) { return s > 1e-12 ? s : 1.0; });  // constant column: leave as is
  const arma::mat Z = standardised_with_bias(X, m.mean, m.scale);
  const arma::uword n = Z.n_rows;
  arma::vec alpha(n, arma::fill::zeros), y(n);
  for (arma::uword i = 0; i < n; ++i) y[i] = labels[i] ? 1.0 : -1.0;
  const arma::vec q = arma::sum(arma::square(Z), 1);
  m.w.zeros(Z.n_cols);
  for (int epoch = 0; epoch < max_epochs; ++epoch) {
    double largest = 0;
    for (arma::uword i = 0; i < n; ++i) {
      const double g = y[i] * arma::dot(m.w, Z.row(i).t()) - 1.0;
      const double pg = alpha[i] <= 0 ? std::min(g, 0.0) : alpha[i] >= cost ? std::max(g, 0.0) : g;
      largest = std::max(largest, std::abs(pg));
      if (std::abs(pg) < 1e-12 || !(q[i] > 0)) continue;
      const double old = alpha[i];
      alpha[i] = std::clamp(alpha[i] - g / q[i], 0.0, cost);
      m.w += (alpha[i] - old) * y[i] * Z.row(i).t();
    }
    if (largest < 1e-4) break;
  }
  return m;
}

arma::uvec cv_predict(const arma::mat& X, const arma::uvec& labels, int folds, Classifier classifier, double l2) {
  if (X.n_rows != labels.n_elem) throw InputError("cv_predict: X rows and labels differ in length");
  const std::vector<int> fold = make_folds(X.n_rows, folds, FoldScheme::interleaved);
  const int k = fold.empty() ? 0 : *std::max_element(fold.begin(), fold.end()) + 1;
  arma::uvec predicted(X.n_rows, arma::fill::zeros);
  for (int f = 0; f < k; ++f) {
    const arma::uvec train = rows_in_fold(fold, f, false), test = rows_in_fold(fold, f, true);
    const arma::uvec ytr = labels.elem(train);
    const arma::uword ones = arma::accu(ytr);
    arma::uvec out(test.n_elem);
    if (ones == 0 || ones == ytr.n_elem) {
      out.fill(ones == 0 ? 0 : 1);
    } else if (classifier == Classifier::logistic) {
      const arma::vec prob = logistic_fit(X.rows(train), ytr, l2).probability(X.rows(test));
      for (arma::uword i = 0; i < test.n_elem; ++i) out[i] = prob[i] >= 0.5 ? 1 : 0;
    } else {
      out = linear_svm_fit(X.rows(train), ytr, 1.0 / (l2 * double(train.n_elem))).predict(X.rows(test));
    }
    predicted.elem(test) = out;
  }
  return predicted;
}

double balanced_accuracy(const arma::uvec& truth, const arma::uvec& predicted) {
  double sum = 0;
  int classes = 0;
  for (arma::uword c : {0u, 1u}) {
    double n = 0, right = 0;
    for (arma::uword i = 0; i < truth.n_elem; ++i)
      if (truth[i] == c) n += 1, right += predicted[i] == c;
    if (n > 0) sum += right / n, ++classes;
  }
  return classes ? sum / classes : NAN;
}

}  // namespace apical::stats
