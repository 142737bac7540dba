#pragma once
// Cross-validated binary decoding with balanced accuracy (issue 14 §5): L2-penalised logistic
// regression (stats/regression.hpp) and a linear support-vector machine (L2-regularised hinge
// loss, dual coordinate descent as in LIBLINEAR, Hsieh et al. 2008; columns standardised on
// the training fold, bias as a constant feature). Balanced accuracy, the mean of the per-class
// recalls, is 0.5 for any constant guess however lopsided the classes are.
#include <armadillo>

#include "stats/regression.hpp"

namespace apical::stats {

enum class Classifier { logistic, linear_svm };

struct LinearSvm {
  arma::vec mean, scale;  // standardisation of X's columns
  arma::vec w;            // weights on standardised columns, bias last
  arma::uvec predict(const arma::mat& X) const;  // 0/1
};
// labels 0/1; cost C > 0. Deterministic (samples visited in order, at most max_epochs).
LinearSvm linear_svm_fit(const arma::mat& X, const arma::uvec& labels, double cost = 1.0, int max_epochs = 500);

// Out-of-fold predicted labels (interleaved folds). A training fold holding one class
// predicts that class. l2: logistic penalty; the SVM's cost is 1 / (l2 x training rows)
// so both penalise alike.
arma::uvec cv_predict(const arma::mat& X, const arma::uvec& labels, int folds, Classifier classifier, double l2);

// Mean over the classes present in `truth` of the fraction predicted correctly; NaN if empty.
double balanced_accuracy(const arma::uvec& truth, const arma::uvec& predicted);

}  // namespace apical::stats
