#include "pipeline/regress/regress.hpp"
#include "core/numeric.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <tuple>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "io/error.hpp"
#include "stats/permutation.hpp"
#include "stats/random.hpp"
#include "stats/regression.hpp"

namespace apical {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Salts keep the RNG streams of the different analyses independent under one user seed.
constexpr uint64_t kSaltPermutation = 0x7065726D;  // "perm"
constexpr uint64_t kSaltNetwork = 0x6E657477;      // "netw"
constexpr uint64_t kSaltDecoding = 0x6465636F;     // "deco"

int64_t to_frames(double seconds, double rate) { return int64_t(std::llround(seconds * rate)); }

std::string str(int64_t v) { return std::to_string(v); }

void validate_inputs(const arma::fmat& soma, const arma::fmat& dend, const std::vector<NeuronInput>& neurons,
                     const RegressParams& p) {
  if (!(p.frame_rate_hz > 0) || !std::isfinite(p.frame_rate_hz))
    throw InputError("regress: frame rate must be > 0 Hz");
  if (p.cv_folds < 2) throw InputError("regress: cv_folds must be >= 2");
  if (p.permutations < 0 || p.network_shuffles < 0 || p.decoding_shuffles < 0)
    throw InputError("regress: permutation / shuffle counts must be >= 0");
  if (!(p.ridge_lambda >= 0)) throw InputError("regress: ridge_lambda must be >= 0");
  if (!(p.window_s > 0)) throw InputError("regress: window_s must be > 0");
  if (p.min_events < 3) throw InputError("regress: min_events must be >= 3");
  if (p.trials_per_block < 1) throw InputError("regress: trials_per_block must be >= 1");
  const int64_t T = int64_t(soma.n_cols);
  if (T < 2) throw InputError("regress: soma traces have " + str(T) + " frames");
  if (dend.n_rows > 0 && int64_t(dend.n_cols) != T)
    throw InputError("regress: soma traces have " + str(T) + " frames but dendrite traces have " +
                     str(int64_t(dend.n_cols)));
  for (size_t i = 0; i < neurons.size(); ++i) {
    const NeuronInput& n = neurons[i];
    if (n.soma_roi < 0 || size_t(n.soma_roi) >= soma.n_rows)
      throw InputError("regress: neuron " + str(int64_t(i)) + " has soma ROI " + str(n.soma_roi) + " but there are " +
                       str(int64_t(soma.n_rows)) + " soma traces");
    if (n.dendrite_roi < -1 || (n.dendrite_roi >= 0 && size_t(n.dendrite_roi) >= dend.n_rows))
      throw InputError("regress: neuron " + str(int64_t(i)) + " has dendrite ROI " + str(n.dendrite_roi) +
                       " but there are " + str(int64_t(dend.n_rows)) + " dendrite traces");
    if (n.role < -1 || n.role > 1)
      throw InputError("regress: neuron " + str(int64_t(i)) + " has role " + str(n.role) + " (must be -1, 0 or +1)");
  }
}

// Mean of row r of M over frames [a, b] via a prefix-sum table (double accumulation).
struct PrefixSums {
  arma::mat cumulative;  // [rows, T+1]
  explicit PrefixSums(const arma::fmat& M) : cumulative(M.n_rows, M.n_cols + 1, arma::fill::zeros) {
    for (arma::uword r = 0; r < M.n_rows; ++r)
      for (arma::uword t = 0; t < M.n_cols; ++t) cumulative(r, t + 1) = cumulative(r, t) + double(M(r, t));
  }
  double mean(arma::uword row, int64_t a, int64_t b) const {
    return (cumulative(row, arma::uword(b + 1)) - cumulative(row, arma::uword(a))) / double(b - a + 1);
  }
};

// Everything known about one neuron after event detection and the SD fit.
struct NeuronEvents {
  std::vector<stats::Event> events;
  std::vector<double> dendrite_amplitude, residual;
  double slope = kNaN, intercept = kNaN, r2 = kNaN, noise_sigma = kNaN;
  bool has_fit = false;
};

double dendritic_amplitude(const arma::fvec& m, const stats::Event& e, int64_t pre, int64_t post) {
  const int64_t n = int64_t(m.n_elem);
  int64_t peak = std::max<int64_t>(0, e.frame - pre);
  for (int64_t j = peak; j <= std::min(n - 1, e.frame + post); ++j)
    if (m[j] > m[peak]) peak = j;
  float base = m[peak];
  for (int64_t j = std::max<int64_t>(0, std::min(e.base_frame, e.frame) - pre); j <= peak; ++j)
    base = std::min(base, m[j]);
  return double(m[peak]) - double(base);
}

NeuronEvents analyse_neuron(const arma::fmat& soma, const arma::fmat& dend, const NeuronInput& n,
                            const RegressParams& p, const stats::EventParams& ep) {
  NeuronEvents out;
  const arma::fvec s = soma.row(arma::uword(n.soma_roi)).t();
  out.events = stats::detect_events(s, ep);
  out.noise_sigma = stats::detection_noise_sigma(s, ep);
  const size_t k = out.events.size();
  out.dendrite_amplitude.assign(k, kNaN);
  out.residual.assign(k, kNaN);
  if (n.dendrite_roi < 0) return out;
  stats::EventParams measure = ep;
  measure.smoothing_s = std::min(ep.smoothing_s, ep.measure_smoothing_s);
  const arma::fvec m = stats::detection_trace(arma::fvec(dend.row(arma::uword(n.dendrite_roi)).t()), measure);
  const int64_t pre = to_frames(p.dendrite_pre_s, p.frame_rate_hz), post = to_frames(p.dendrite_post_s, p.frame_rate_hz);
  for (size_t i = 0; i < k; ++i) out.dendrite_amplitude[i] = dendritic_amplitude(m, out.events[i], pre, post);
  if (int(k) < p.min_events) return out;
  arma::mat X(k, 2);
  arma::vec y(k);
  for (size_t i = 0; i < k; ++i) {
    X(i, 0) = 1.0;
    X(i, 1) = out.events[i].amplitude;
    y[i] = out.dendrite_amplitude[i];
  }
  const stats::OlsFit fit = stats::ols(X, y);
  if (!std::isfinite(fit.beta[1])) return out;  // all somatic amplitudes equal: no SD relation
  out.has_fit = true;
  out.intercept = fit.beta[0];
  out.slope = fit.beta[1];
  out.r2 = fit.r2;
  for (size_t i = 0; i < k; ++i) out.residual[i] = fit.residuals[i];
  return out;
}

// Rows of the per-neuron and pooled GLMs: events with a residual, and their frames.
struct GlmData {
  std::vector<std::vector<size_t>> rows_of_neuron;  // indices into the event table
  std::vector<size_t> pooled_rows;
};

// Task regressors of the GLMs, in column order after the intercept (SCIENCE_SPEC, issue:
// reward, error and its change).
constexpr size_t kTaskTerms = 3;  // reward, error, d_error
const std::vector<std::string>& task_term_names() {
  static const std::vector<std::string> names{"reward", "error", "d_error"};
  return names;
}

arma::mat neuron_design(const EventTable& ev, const std::vector<size_t>& rows, const Behaviour& b, int64_t shift) {
  const int64_t T = int64_t(b.error.size());
  arma::mat X(rows.size(), 1 + kTaskTerms);
  for (size_t i = 0; i < rows.size(); ++i) {
    const int64_t t = (ev.frame[rows[i]] + shift) % T;  // behaviour rotated against imaging
    X(i, 0) = 1.0;
    X(i, 1) = b.reward[size_t(t)];
    X(i, 2) = b.error[size_t(t)];
    X(i, 3) = b.d_error[size_t(t)];
  }
  return X;
}

// [1, task..., role, role x task...]
arma::mat pooled_design(const EventTable& ev, const std::vector<size_t>& rows, const std::vector<int8_t>& role,
                        const Behaviour& b, int64_t shift) {
  const arma::mat base = neuron_design(ev, rows, b, shift);
  arma::mat X(rows.size(), 2 + 2 * kTaskTerms);
  for (size_t i = 0; i < rows.size(); ++i) {
    const double r = role[size_t(ev.neuron[rows[i]])];
    X(i, 0) = 1.0;
    for (size_t k = 0; k < kTaskTerms; ++k) {
      X(i, 1 + k) = base(i, 1 + k);
      X(i, 2 + kTaskTerms + k) = r * base(i, 1 + k);
    }
    X(i, 1 + kTaskTerms) = r;
  }
  return X;
}

arma::vec gather(const std::vector<double>& v, const std::vector<size_t>& rows) {
  arma::vec out(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) out[i] = v[rows[i]];
  return out;
}

double upper_tail_p(double observed, const arma::vec& null_draws) {
  if (!std::isfinite(observed)) return kNaN;
  double exceed = 0, valid = 0;
  for (double v : null_draws) {
    if (!std::isfinite(v)) continue;
    valid += 1;
    if (v >= observed) exceed += 1;
  }
  return (1.0 + exceed) / (1.0 + valid);
}

double finite_mean(const arma::vec& v) {
  const arma::vec f = v.elem(arma::find_finite(v));
  return f.n_elem ? arma::mean(f) : kNaN;
}

void fit_glms(RegressResult& R, const Behaviour& b, const RegressParams& p) {
  const size_t N = R.soma_roi.size();
  const EventTable& ev = R.events;
  const size_t K = kTaskTerms, P = 2 + 2 * K;  // per-neuron columns 1 + K, pooled columns P
  R.glm_terms = {"intercept"};
  R.pooled_terms = {"intercept"};
  for (const auto& name : task_term_names()) {
    R.glm_terms.push_back(name);
    R.pooled_terms.push_back(name);
  }
  R.pooled_terms.push_back("role");
  for (const auto& name : task_term_names()) R.pooled_terms.push_back("role:" + name);
  GlmData g;
  g.rows_of_neuron.resize(N);
  for (size_t i = 0; i < ev.size(); ++i) {
    if (!std::isfinite(ev.residual[i])) continue;
    g.rows_of_neuron[size_t(ev.neuron[i])].push_back(i);
    g.pooled_rows.push_back(i);
  }
  R.glm_beta.set_size(N, 1 + K);
  R.glm_beta.fill(kNaN);
  R.glm_se = R.glm_t = R.glm_p = R.glm_perm_p = R.glm_beta;
  R.glm_n.assign(N, 0);
  std::vector<bool> fitted(N, false);
  for (size_t n = 0; n < N; ++n) {
    const auto& rows = g.rows_of_neuron[n];
    R.glm_n[n] = int32_t(rows.size());
    if (int(rows.size()) < p.min_events) continue;
    fitted[n] = true;
    const stats::OlsFit fit = stats::ols(neuron_design(ev, rows, b, 0), gather(ev.residual, rows));
    R.glm_beta.row(n) = fit.beta.t();
    R.glm_se.row(n) = fit.se.t();
    R.glm_t.row(n) = fit.t.t();
    R.glm_p.row(n) = fit.p.t();
  }
  R.pooled_beta.set_size(P);
  R.pooled_beta.fill(kNaN);
  R.pooled_se = R.pooled_t = R.pooled_p = R.pooled_perm_p = R.pooled_beta;
  R.pooled_n = int64_t(g.pooled_rows.size());
  const arma::vec pooled_y = gather(ev.residual, g.pooled_rows);
  const bool pooled_fitted = R.pooled_n > int64_t(P);
  if (pooled_fitted) {
    const stats::OlsFit fit = stats::ols(pooled_design(ev, g.pooled_rows, R.role, b, 0), pooled_y);
    R.pooled_beta = fit.beta;
    R.pooled_se = fit.se;
    R.pooled_t = fit.t;
    R.pooled_p = fit.p;
    R.pooled_r2 = fit.r2;
  }

  // Permutations: one circular shift of the behaviour per draw, shared by all neurons and the
  // pooled model (the same rotation of the session). Statistics: per-neuron t of every task
  // term, then the pooled t of every task term and every role x task interaction. The role
  // column itself does not move with the behaviour, so it gets no permutation p.
  if (p.permutations > 0) {
    const int64_t T = int64_t(b.error.size());
    const auto statistic = [&](int64_t shift) {
      arma::vec s(K * N + 2 * K);
      s.fill(kNaN);
      for (size_t n = 0; n < N; ++n) {
        if (!fitted[n]) continue;
        const auto& rows = g.rows_of_neuron[n];
        const stats::OlsFit fit = stats::ols(neuron_design(ev, rows, b, shift), gather(ev.residual, rows));
        for (size_t k = 0; k < K; ++k) s[K * n + k] = fit.t[1 + k];
      }
      if (pooled_fitted) {
        const arma::vec t = stats::ols(pooled_design(ev, g.pooled_rows, R.role, b, shift), pooled_y).t;
        for (size_t k = 0; k < K; ++k) {
          s[K * N + k] = t[1 + k];
          s[K * N + K + k] = t[2 + K + k];
        }
      }
      return s;
    };
    const stats::CircularShiftTest test = stats::circular_shift_test(
        T, p.permutations, p.seed ^ kSaltPermutation, to_frames(p.permutation_min_shift_s, p.frame_rate_hz), statistic);
    for (size_t n = 0; n < N; ++n)
      for (size_t k = 0; k < K; ++k) R.glm_perm_p(n, 1 + k) = test.p[K * n + k];
    for (size_t k = 0; k < K; ++k) {
      R.pooled_perm_p[1 + k] = test.p[K * N + k];
      R.pooled_perm_p[2 + K + k] = test.p[K * N + K + k];
    }
  }
  R.glm_p_bh = R.glm_p;
  R.glm_perm_p_bh = R.glm_perm_p;
  for (arma::uword c = 0; c < R.glm_p.n_cols; ++c) {
    R.glm_p_bh.col(c) = stats::benjamini_hochberg(R.glm_p.col(c));
    R.glm_perm_p_bh.col(c) = stats::benjamini_hochberg(R.glm_perm_p.col(c));
  }
}

void predict_from_network(RegressResult& R, const arma::fmat& soma, const RegressParams& p) {
  const size_t N = R.soma_roi.size();
  R.network_shuffles = p.network_shuffles;
  R.network_r2.assign(N, kNaN);
  R.network_shuffle_mean.assign(N, kNaN);
  R.network_shuffle_p95.assign(N, kNaN);
  R.network_p.assign(N, kNaN);
  if (N < 2) return;
  std::vector<std::vector<size_t>> rows(N);
  for (size_t i = 0; i < R.events.size(); ++i)
    if (std::isfinite(R.events.residual[i])) rows[size_t(R.events.neuron[i])].push_back(i);
  const PrefixSums sums(soma);
  const int64_t T = int64_t(soma.n_cols);
  const int64_t half = to_frames(0.5 * p.network_window_s, p.frame_rate_hz);
  tbb::parallel_for(tbb::blocked_range<size_t>(0, N), [&](const tbb::blocked_range<size_t>& range) {
    for (size_t n = range.begin(); n != range.end(); ++n) {
      const auto& r = rows[n];
      if (int(r.size()) < std::max(2 * p.cv_folds, p.min_events)) continue;
      arma::mat X(r.size(), N - 1);
      for (size_t i = 0; i < r.size(); ++i) {
        const int64_t t = R.events.frame[r[i]];
        const int64_t a = std::max<int64_t>(0, t - half), b = std::min<int64_t>(T - 1, t + half);
        size_t c = 0;
        for (size_t m = 0; m < N; ++m)
          if (m != n) X(i, c++) = sums.mean(arma::uword(R.soma_roi[m]), a, b);
      }
      const arma::vec y = gather(R.events.residual, r);
      arma::mat Y(r.size(), size_t(p.network_shuffles) + 1);
      Y.col(0) = y;
      stats::ItemRng rng(p.seed ^ kSaltNetwork, n);
      for (int s = 0; s < p.network_shuffles; ++s) {
        const std::vector<size_t> perm = stats::random_permutation(r.size(), rng);
        for (size_t i = 0; i < r.size(); ++i) Y(i, size_t(s) + 1) = y[perm[i]];
      }
      const arma::vec r2 = stats::ridge_cv_r2(X, Y, p.ridge_lambda, p.cv_folds, stats::FoldScheme::contiguous);
      R.network_r2[n] = r2[0];
      if (p.network_shuffles > 0) {
        const arma::vec null_r2 = r2.subvec(1, r2.n_elem - 1);
        R.network_shuffle_mean[n] = finite_mean(null_r2);
        R.network_shuffle_p95[n] = quantile(arma::conv_to<std::vector<double>>::from(null_r2), 0.95);
        R.network_p[n] = upper_tail_p(r2[0], null_r2);
      }
    }
  });
}

std::pair<double, double> correlation_with_p(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() < 3) return {kNaN, kNaN};
  const arma::vec xv(x), yv(y);
  const double sx = arma::stddev(xv), sy = arma::stddev(yv);
  if (!(sx > 0) || !(sy > 0)) return {kNaN, kNaN};
  const double r = arma::as_scalar(arma::cor(xv, yv));
  arma::mat X = arma::join_rows(arma::ones(x.size()), xv);
  return {r, stats::ols(X, yv).p[1]};  // slope t-test = test of the correlation
}

void learning(RegressResult& R, const RegressParams& p) {
  const size_t N = R.soma_roi.size();
  const int64_t T = R.frames;
  const int64_t third = T / 3;
  const double third_min = double(third) / p.frame_rate_hz / 60.0;
  R.early_residual.assign(N, kNaN);
  R.rate_early.assign(N, kNaN);
  R.rate_late.assign(N, kNaN);
  R.amplitude_early.assign(N, kNaN);
  R.amplitude_late.assign(N, kNaN);
  std::vector<double> count_e(N, 0), count_l(N, 0), amp_e(N, 0), amp_l(N, 0), res_e(N, 0), res_n(N, 0);
  const EventTable& ev = R.events;
  for (size_t i = 0; i < ev.size(); ++i) {
    const size_t n = size_t(ev.neuron[i]);
    if (ev.frame[i] < third) {
      count_e[n] += 1;
      amp_e[n] += ev.soma_amplitude[i];
      if (std::isfinite(ev.residual[i])) { res_e[n] += ev.residual[i]; res_n[n] += 1; }
    } else if (ev.frame[i] >= T - third) {
      count_l[n] += 1;
      amp_l[n] += ev.soma_amplitude[i];
    }
  }
  for (size_t n = 0; n < N && third > 0; ++n) {
    R.rate_early[n] = count_e[n] / third_min;
    R.rate_late[n] = count_l[n] / third_min;
    if (count_e[n] > 0) R.amplitude_early[n] = amp_e[n] / count_e[n];
    if (count_l[n] > 0) R.amplitude_late[n] = amp_l[n] / count_l[n];
    if (res_n[n] > 0) R.early_residual[n] = res_e[n] / res_n[n];
  }
  for (int role : {1, -1, 0}) {
    RegressResult::LearningByRole s;
    s.role = role;
    std::vector<double> xr, yr, xa, ya;
    for (size_t n = 0; n < N; ++n) {
      if (R.role[n] != role || !std::isfinite(R.early_residual[n])) continue;
      ++s.n;
      xr.push_back(R.early_residual[n]);
      yr.push_back(R.rate_late[n] - R.rate_early[n]);
      const double da = R.amplitude_late[n] - R.amplitude_early[n];
      if (std::isfinite(da)) { xa.push_back(R.early_residual[n]); ya.push_back(da); }
    }
    std::tie(s.r_rate, s.p_rate) = correlation_with_p(xr, yr);
    std::tie(s.r_amplitude, s.p_amplitude) = correlation_with_p(xa, ya);
    R.learning_by_role.push_back(s);
  }
}

void decode_outcome(RegressResult& R, const BehaviourLog& log, const RegressParams& p) {
  auto& D = R.decoding;
  D.n_shuffles = p.decoding_shuffles;
  std::vector<size_t> features;  // neurons with residuals
  for (size_t n = 0; n < R.soma_roi.size(); ++n)
    if (std::isfinite(R.sd_slope[n])) features.push_back(n);
  std::vector<size_t> column(R.soma_roi.size(), 0);
  for (size_t j = 0; j < features.size(); ++j) column[features[j]] = j;
  const size_t K = log.trials.size();
  D.n_trials = int(K);
  D.n_features = int(features.size());
  if (features.empty() || int(K) < 2 * p.cv_folds) return;
  // Trial of every frame, so each event is assigned in O(1).
  std::vector<int> trial_of_frame(size_t(R.frames), -1);
  std::vector<size_t> order(K);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return log.trials[a].start_frame != log.trials[b].start_frame ? log.trials[a].start_frame < log.trials[b].start_frame : a < b;
  });
  for (size_t k = 0; k < K; ++k)
    for (int64_t t = log.trials[order[k]].start_frame; t <= log.trials[order[k]].end_frame; ++t)
      trial_of_frame[size_t(t)] = int(k);
  arma::mat sum(K, features.size(), arma::fill::zeros), count(K, features.size(), arma::fill::zeros);
  for (size_t i = 0; i < R.events.size(); ++i) {
    if (!std::isfinite(R.events.residual[i])) continue;
    const int k = trial_of_frame[size_t(R.events.frame[i])];
    if (k < 0) continue;
    const size_t j = column[size_t(R.events.neuron[i])];
    sum(size_t(k), j) += R.events.residual[i];
    count(size_t(k), j) += 1;
  }
  arma::mat X(K, features.size(), arma::fill::zeros);
  arma::uvec y(K);
  for (size_t k = 0; k < K; ++k) {
    y[k] = log.trials[order[k]].hit ? 1 : 0;
    for (size_t j = 0; j < features.size(); ++j)
      if (count(k, j) > 0) X(k, j) = sum(k, j) / count(k, j);
  }
  const double hits = double(arma::accu(y));
  D.chance = std::max(hits, double(K) - hits) / double(K);
  if (hits == 0 || hits == double(K)) return;
  D.accuracy = stats::logistic_cv_accuracy(X, y, p.cv_folds, p.decoding_l2, stats::FoldScheme::interleaved);
  if (p.decoding_shuffles == 0) return;
  arma::vec null_acc(size_t(p.decoding_shuffles));
  tbb::parallel_for(tbb::blocked_range<size_t>(0, size_t(p.decoding_shuffles)), [&](const tbb::blocked_range<size_t>& r) {
    for (size_t s = r.begin(); s != r.end(); ++s) {
      stats::ItemRng rng(p.seed ^ kSaltDecoding, s);
      const std::vector<size_t> perm = stats::random_permutation(K, rng);
      arma::uvec ys(K);
      for (size_t k = 0; k < K; ++k) ys[k] = y[perm[k]];
      null_acc[s] = stats::logistic_cv_accuracy(X, ys, p.cv_folds, p.decoding_l2, stats::FoldScheme::interleaved);
    }
  });
  D.shuffle_accuracy.assign(null_acc.begin(), null_acc.end());
  D.shuffle_mean = finite_mean(null_acc);
  D.shuffle_p95 = quantile(arma::conv_to<std::vector<double>>::from(null_acc), 0.95);
  D.p = upper_tail_p(D.accuracy, null_acc);
}

void learning_curve(RegressResult& R, const BehaviourLog& log, const RegressParams& p) {
  std::vector<BehaviourLog::Trial> trials = log.trials;
  std::stable_sort(trials.begin(), trials.end(),
                   [](const BehaviourLog::Trial& a, const BehaviourLog::Trial& b) { return a.start_frame < b.start_frame; });
  for (size_t first = 0; first < trials.size(); first += size_t(p.trials_per_block)) {
    const size_t last = std::min(trials.size(), first + size_t(p.trials_per_block)) - 1;
    RegressResult::Block b;
    b.first_trial = trials[first].id;
    b.last_trial = trials[last].id;
    b.trials = int(last - first + 1);
    b.start_frame = trials[first].start_frame;
    b.end_frame = trials[first].end_frame;
    for (size_t k = first; k <= last; ++k) {
      b.hits += trials[k].hit ? 1 : 0;
      b.end_frame = std::max(b.end_frame, trials[k].end_frame);
    }
    b.hits_per_min = double(b.hits) / (double(b.end_frame - b.start_frame + 1) / p.frame_rate_hz / 60.0);
    R.learning_curve.push_back(b);
  }
}

}  // namespace

BehaviourLog behaviour_log(const BciLog& log) {
  BehaviourLog out;
  for (const BciFrameRow& f : log.frames) {
    out.cursor.push_back(f.cursor);
    out.target.push_back(f.target);
    out.trial.push_back(f.trial);
    out.control.push_back(f.control);
  }
  for (const BciTrialRow& t : log.trials) out.trials.push_back({t.trial, t.start_frame, t.end_frame, t.hit, t.reward_frame});
  return out;
}

Behaviour behaviour_series(const BehaviourLog& log, int64_t frames, double frame_rate_hz, double window_s) {
  const auto check = [&](size_t n, const char* what) {
    if (int64_t(n) != frames)
      throw InputError(std::string("regress: BCI log has ") + str(int64_t(n)) + " " + what + " entries but the traces have " +
                       str(frames) + " frames");
  };
  check(log.cursor.size(), "cursor");
  check(log.target.size(), "target");
  check(log.trial.size(), "trial");
  if (!log.control.empty()) check(log.control.size(), "control");
  Behaviour b;
  b.window_frames = std::max<int64_t>(1, to_frames(window_s, frame_rate_hz));
  const int64_t w = b.window_frames;
  b.error.resize(size_t(frames));
  b.d_error.resize(size_t(frames));
  b.reward.assign(size_t(frames), 0);
  for (int64_t t = 0; t < frames; ++t) b.error[size_t(t)] = std::abs(log.target[size_t(t)] - log.cursor[size_t(t)]);
  for (int64_t t = 0; t < frames; ++t) b.d_error[size_t(t)] = b.error[size_t(t)] - b.error[size_t(std::max<int64_t>(0, t - w))];
  for (const BehaviourLog::Trial& tr : log.trials) {
    if (tr.start_frame < 0 || tr.end_frame < tr.start_frame || tr.end_frame >= frames)
      throw InputError("regress: trial " + str(tr.id) + " spans frames " + str(tr.start_frame) + ".." + str(tr.end_frame) +
                       ", outside 0.." + str(frames - 1));
    if (!tr.hit) continue;
    if (tr.reward_frame < 0 || tr.reward_frame >= frames)
      throw InputError("regress: hit trial " + str(tr.id) + " has reward frame " + str(tr.reward_frame) +
                       ", outside 0.." + str(frames - 1));
    for (int64_t t = std::max<int64_t>(0, tr.reward_frame - w); t <= std::min(frames - 1, tr.reward_frame + w); ++t)
      b.reward[size_t(t)] = 1;
  }
  return b;
}

RegressResult analyze_session(const arma::fmat& soma_dff, const arma::fmat& dendrite_dff,
                              const std::vector<NeuronInput>& neurons, const BehaviourLog& log,
                              const RegressParams& params) {
  validate_inputs(soma_dff, dendrite_dff, neurons, params);
  RegressResult R;
  R.frames = int64_t(soma_dff.n_cols);
  const Behaviour b = behaviour_series(log, R.frames, params.frame_rate_hz, params.window_s);
  R.window_frames = b.window_frames;
  R.events_used = params.events;
  R.events_used.frame_rate_hz = params.frame_rate_hz;
  stats::validate(R.events_used);

  const size_t N = neurons.size();
  std::vector<NeuronEvents> per(N);
  tbb::parallel_for(tbb::blocked_range<size_t>(0, N), [&](const tbb::blocked_range<size_t>& r) {
    for (size_t n = r.begin(); n != r.end(); ++n)
      per[n] = analyse_neuron(soma_dff, dendrite_dff, neurons[n], params, R.events_used);
  });

  for (size_t n = 0; n < N; ++n) {
    R.soma_roi.push_back(neurons[n].soma_roi);
    R.dendrite_roi.push_back(neurons[n].dendrite_roi);
    R.role.push_back(int8_t(neurons[n].role));
    R.sd_slope.push_back(per[n].slope);
    R.sd_intercept.push_back(per[n].intercept);
    R.sd_r2.push_back(per[n].r2);
    R.noise_sigma.push_back(per[n].noise_sigma);
    R.n_events.push_back(int32_t(per[n].events.size()));
  }
  std::vector<std::pair<int, bool>> outcome_by_id;
  for (const auto& tr : log.trials) outcome_by_id.emplace_back(tr.id, tr.hit);
  std::sort(outcome_by_id.begin(), outcome_by_id.end());
  EventTable& ev = R.events;
  for (size_t n = 0; n < N; ++n) {
    for (size_t i = 0; i < per[n].events.size(); ++i) {
      const stats::Event& e = per[n].events[i];
      const size_t t = size_t(e.frame);
      ev.neuron.push_back(int32_t(n));
      ev.frame.push_back(e.frame);
      ev.soma_amplitude.push_back(e.amplitude);
      ev.dendrite_amplitude.push_back(per[n].dendrite_amplitude[i]);
      ev.residual.push_back(per[n].residual[i]);
      ev.reward.push_back(b.reward[t]);
      ev.d_error.push_back(b.d_error[t]);
      ev.error.push_back(b.error[t]);
      const int trial = log.trial[t];
      ev.trial.push_back(trial);
      int8_t outcome = -1;
      const auto it = std::lower_bound(outcome_by_id.begin(), outcome_by_id.end(), std::make_pair(trial, false));
      if (trial >= 0 && it != outcome_by_id.end() && it->first == trial) outcome = it->second ? 1 : 0;
      ev.outcome.push_back(outcome);
    }
  }
  fit_glms(R, b, params);
  predict_from_network(R, soma_dff, params);
  learning(R, params);
  decode_outcome(R, log, params);
  learning_curve(R, log, params);
  return R;
}

}  // namespace apical
