// Decoding over time (issue 14 §5): balanced accuracy of the cross-validated classifiers, on
// data with and without an outcome signal.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "pipeline/regress/regress.hpp"
#include "pipeline/validation/simulate.hpp"
#include "pipeline/validation/truth.hpp"
#include "simulated_analysis.hpp"
#include "stats/decoding.hpp"

using namespace apical;

TEST_CASE("both classifiers decode a separable lopsided outcome; balanced accuracy ignores the imbalance", "[decoding_time]") {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> noise(0.0, 1.0);
  arma::mat X(120, 5);
  arma::uvec y(120);
  for (arma::uword i = 0; i < 120; ++i) {
    y[i] = i % 4 == 0;  // 25 % hits
    for (arma::uword j = 0; j < 5; ++j) X(i, j) = noise(rng) + (j == 2 && y[i] ? 3.0 : 0.0);
  }
  for (auto c : {stats::Classifier::logistic, stats::Classifier::linear_svm})
    CHECK(stats::balanced_accuracy(y, stats::cv_predict(X, y, 5, c, 1e-2)) > 0.85);
  CHECK(stats::balanced_accuracy(y, arma::uvec(120, arma::fill::zeros)) == 0.5);  // always "miss"
}

namespace {

RegressResult analyse(double c_reward, double c_derr, uint64_t seed) {
  SimulationParams sp;
  sp.frames = 27000;  // 15 min at 30 Hz
  sp.neurons = 16;
  sp.distractors = 0;
  sp.seed = seed;
  sp.c_reward = c_reward;
  sp.c_derr = c_derr;
  const test::SimulatedAnalysis s = test::simulated_analysis(sp);
  RegressParams p;
  p.frame_rate_hz = sp.frame_rate_hz;
  p.permutations = 0;
  p.network_shuffles = 0;
  p.decoding_shuffles = 200;
  return analyze_session(s.soma, s.dendrite, s.neurons, s.log, p);
}

}  // namespace

TEST_CASE("on the null session balanced accuracy stays within the shuffle's 95 % band", "[decoding_time]") {
  // No task effect on the residuals (c_reward = c_derr = 0): nothing to decode in any bin.
  const RegressResult r = analyse(0, 0, 31);
  const auto& D = r.decoding_time;
  REQUIRE(D.bin_start_s.size() == 6);
  for (size_t b = 0; b < D.bin_start_s.size(); ++b)
    for (int c = 0; c < 2; ++c) {
      INFO("bin " << D.bin_start_s[b] << ".." << D.bin_end_s[b] << " s, " << (c ? "SVM" : "logistic") << ": "
                  << D.balanced_accuracy(b, c) << " vs band " << D.shuffle_lo(b, c) << ".." << D.shuffle_hi(b, c));
      CHECK(D.balanced_accuracy(b, c) >= D.shuffle_lo(b, c));
      CHECK(D.balanced_accuracy(b, c) <= D.shuffle_hi(b, c));
    }
}

TEST_CASE("with a reward effect, outcome is decoded above the shuffle just after the outcome", "[decoding_time]") {
  // Reward shifts residuals within 1 s of a hit's reward frame (role-signed; twice the default
  // c_reward, as a 1 s bin holds ~0.3 events per neuron), so the bin [0, 1) s after the
  // outcome separates hits from misses.
  const RegressResult r = analyse(0.6, -0.15, 31);
  const auto& D = r.decoding_time;
  for (size_t b = 0; b < D.bin_start_s.size(); ++b)
    if (D.bin_start_s[b] == 0.0)
      for (int c = 0; c < 2; ++c) {
        INFO((c ? "SVM" : "logistic") << ": " << D.balanced_accuracy(b, c) << " vs 97.5 % " << D.shuffle_hi(b, c));
        CHECK(D.balanced_accuracy(b, c) > D.shuffle_hi(b, c));
      }
  // Error-reducing epochs: the d_error slope follows the role (c_derr < 0: P+ negative, P- positive).
  CHECK(r.error_reducing.beta[0] < 0);
  CHECK(r.error_reducing.beta[1] > 0);
}
