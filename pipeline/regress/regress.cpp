#include "pipeline/regress/regress.hpp"
#include "core/numeric.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <set>
#include <tuple>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "io/error.hpp"
#include "stats/conditions.hpp"
#include "stats/decoding.hpp"
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
constexpr uint64_t kSaltConditions = 0x636F6E64;   // "cond"
constexpr uint64_t kSaltDecodingTime = 0x64746D65;  // "dtme"

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
  if (!(p.decoding_bin_s > 0) || !(p.decoding_span_s >= p.decoding_bin_s) || p.decoding_span_s / p.decoding_bin_s > 1000)
    throw InputError("regress: --decoding-bin must be > 0 s and --decoding-span at least one bin (at most 1000 bins)");
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
  std::vector<int8_t> coincident;  // per event; -1 without a paired dendrite
  double slope = kNaN, intercept = kNaN, r2 = kNaN, noise_sigma = kNaN;
  bool has_fit = false;
  stats::SdFit model;               // the model the residuals are relative to
  int32_t reference_events = 0;
  int32_t soma_only = -1, dendrite_only = -1, coincident_count = -1;
};

// A trace's events, with the trace and threshold they were detected against.
struct Detection {
  std::vector<stats::Event> events;
  arma::fvec trace;      // apical: high-passed, smoothed; paper: Butterworth-filtered
  double threshold = 0;  // on `trace`, dF/F
  double noise = kNaN;   // apical: detection noise sigma; paper: SD of the filtered trace
};

stats::PaperEventParams paper_params(const RegressParams& p, const stats::EventParams& ep) {
  stats::PaperEventParams pe = p.paper_events;
  pe.frame_rate_hz = ep.frame_rate_hz;
  pe.threshold_sd = ep.threshold_sigma;
  pe.min_distance_s = ep.min_interval_s;
  return pe;
}

Detection detect(const arma::fvec& x, const RegressParams& p, const stats::EventParams& ep, bool with_trace) {
  Detection d;
  if (p.event_method == "paper") {
    const stats::PaperEventParams pe = paper_params(p, ep);
    d.events = stats::detect_events_paper(x, pe, &d.threshold);
    d.noise = pe.threshold_sd > 0 ? d.threshold / pe.threshold_sd : kNaN;
    if (with_trace) d.trace = stats::paper_filtered_trace(x, pe);
    return d;
  }
  d.events = stats::detect_events(x, ep);
  d.noise = stats::detection_noise_sigma(x, ep);
  d.threshold = ep.threshold_sigma * d.noise;
  if (with_trace) d.trace = stats::detection_trace(x, ep);
  return d;
}

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

// Coincidence (issue 14 §3): a somatic event is coincident when the dendrite has an event
// in [t - pre, t + post], or its detection trace reaches its own threshold there. Dendritic
// events outside every somatic window are dendrite-only.
void label_coincidence(NeuronEvents& out, const arma::fvec& dendrite, const RegressParams& p,
                       const stats::EventParams& ep, int64_t pre, int64_t post) {
  const Detection d = detect(dendrite, p, ep, true);
  const int64_t n = int64_t(dendrite.n_elem);
  out.coincident.assign(out.events.size(), 0);
  std::vector<char> explained(d.events.size(), 0);
  for (size_t i = 0; i < out.events.size(); ++i) {
    const int64_t a = std::max<int64_t>(0, out.events[i].frame - pre), b = std::min(n - 1, out.events[i].frame + post);
    for (size_t j = 0; j < d.events.size(); ++j)
      if (d.events[j].frame >= a && d.events[j].frame <= b) out.coincident[i] = 1, explained[j] = 1;
    if (!out.coincident[i] && a <= b && double(d.trace.subvec(arma::uword(a), arma::uword(b)).max()) >= d.threshold)
      out.coincident[i] = 1;
  }
  out.coincident_count = int32_t(std::count(out.coincident.begin(), out.coincident.end(), int8_t(1)));
  out.soma_only = int32_t(out.events.size()) - out.coincident_count;
  out.dendrite_only = int32_t(std::count(explained.begin(), explained.end(), char(0)));
}

// The SD fit of apical before --sd-fit and --reference-condition (kept bit for bit).
void fit_linear_all_events(NeuronEvents& out) {
  const size_t k = out.events.size();
  arma::mat X(k, 2);
  arma::vec y(k);
  for (size_t i = 0; i < k; ++i) {
    X(i, 0) = 1.0;
    X(i, 1) = out.events[i].amplitude;
    y[i] = out.dendrite_amplitude[i];
  }
  const stats::OlsFit fit = stats::ols(X, y);
  if (!std::isfinite(fit.beta[1])) return;  // all somatic amplitudes equal: no SD relation
  out.has_fit = true;
  out.intercept = fit.beta[0];
  out.slope = fit.beta[1];
  out.r2 = fit.r2;
  out.model.ok = true;
  out.model.a = fit.beta[0];
  out.model.b = fit.beta[1];
  out.reference_events = int32_t(k);
  for (size_t i = 0; i < k; ++i) out.residual[i] = fit.residuals[i];
}

// SD fit on the reference events only (all when no reference column), model by --sd-fit;
// residuals of every event relative to it.
void fit_on_reference(NeuronEvents& out, const RegressParams& p, const std::vector<double>* reference) {
  std::vector<size_t> rows;
  for (size_t i = 0; i < out.events.size(); ++i)
    if (!reference || (*reference)[size_t(out.events[i].frame)] == p.reference_value) rows.push_back(i);
  if (int(rows.size()) < p.min_events) return;
  arma::vec x(rows.size()), y(rows.size());
  for (size_t r = 0; r < rows.size(); ++r) {
    x[r] = out.events[rows[r]].amplitude;
    y[r] = out.dendrite_amplitude[rows[r]];
  }
  const stats::SdFit linear = stats::fit_sd_model(x, y, stats::SdModel::linear);
  if (!linear.ok) return;
  out.model = stats::fit_sd(x, y, p.sd_fit);
  if (!out.model.ok) return;
  out.has_fit = true;
  out.intercept = linear.a;
  out.slope = linear.b;
  out.r2 = out.model.r2;
  out.reference_events = int32_t(rows.size());
  for (size_t i = 0; i < out.events.size(); ++i)
    out.residual[i] = out.dendrite_amplitude[i] - out.model.predict(out.events[i].amplitude);
}

NeuronEvents analyse_neuron(const arma::fmat& soma, const arma::fmat& dend, const NeuronInput& n,
                            const RegressParams& p, const stats::EventParams& ep,
                            const std::vector<double>* reference) {
  NeuronEvents out;
  const Detection d = detect(arma::fvec(soma.row(arma::uword(n.soma_roi)).t()), p, ep, false);
  out.events = d.events;
  out.noise_sigma = d.noise;
  const size_t k = out.events.size();
  out.dendrite_amplitude.assign(k, kNaN);
  out.residual.assign(k, kNaN);
  out.coincident.assign(k, -1);
  if (n.dendrite_roi < 0) return out;
  stats::EventParams measure = ep;
  measure.smoothing_s = std::min(ep.smoothing_s, ep.measure_smoothing_s);
  const arma::fvec dendrite = dend.row(arma::uword(n.dendrite_roi)).t();
  const arma::fvec m = stats::detection_trace(dendrite, measure);
  const int64_t pre = to_frames(p.dendrite_pre_s, p.frame_rate_hz), post = to_frames(p.dendrite_post_s, p.frame_rate_hz);
  for (size_t i = 0; i < k; ++i) out.dendrite_amplitude[i] = dendritic_amplitude(m, out.events[i], pre, post);
  label_coincidence(out, dendrite, p, ep, pre, post);
  if (p.sd_fit == "linear" && p.reference_column.empty()) {
    if (int(k) >= p.min_events) fit_linear_all_events(out);
  } else {
    fit_on_reference(out, p, reference);
  }
  return out;
}

// Rows of the per-neuron and pooled GLMs: events with a residual, and their frames.
struct GlmData {
  std::vector<std::vector<size_t>> rows_of_neuron;  // indices into the event table
  std::vector<size_t> pooled_rows;
};

// Task regressors of the GLMs, in column order after the intercept (docs/SCIENCE_SPEC.md, issue:
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
    out.time_s.push_back(f.time_s);
  }
  for (const BciTrialRow& t : log.trials) out.trials.push_back({t.trial, t.start_frame, t.end_frame, t.hit, t.reward_frame});
  out.column_names = log.extra_columns;
  out.columns.assign(log.extra_columns.size(), {});
  for (const BciFrameRow& f : log.frames)
    for (size_t c = 0; c < f.extra.size() && c < out.columns.size(); ++c) out.columns[c].push_back(f.extra[c]);
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

namespace {

// The per-frame values of the reference column, or nullptr when there is none.
const std::vector<double>* reference_values(const BehaviourLog& log, const RegressParams& p) {
  if (p.reference_column.empty()) return nullptr;
  for (size_t c = 0; c < log.column_names.size(); ++c)
    if (log.column_names[c] == p.reference_column) return &log.columns[c];
  std::string names;
  for (const std::string& n : log.column_names) names += (names.empty() ? "" : ", ") + n;
  throw InputError("--reference-condition: frames.csv has no column '" + p.reference_column + "' (its extra columns: " +
                   (names.empty() ? "none" : names) + ")");
}

void check_columns(const BehaviourLog& log, int64_t frames) {
  if (log.columns.size() != log.column_names.size()) throw InputError("regress: BCI log column names and columns differ");
  static const std::set<std::string> taken{"neuron", "frame", "soma_amplitude", "dendrite_amplitude", "residual", "error",
                                           "d_error", "reward", "trial", "outcome", "coincident"};
  for (const std::string& name : log.column_names)
    if (taken.count(name))
      throw InputError("regress: frames.csv column '" + name + "' would overwrite /events/" + name +
                       " of regress.h5; rename the column");
  for (size_t c = 0; c < log.columns.size(); ++c)
    if (int64_t(log.columns[c].size()) != frames)
      throw InputError("regress: BCI log column '" + log.column_names[c] + "' has " + str(int64_t(log.columns[c].size())) +
                       " entries but the traces have " + str(frames) + " frames");
}

void collect_neuron_rows(RegressResult& R, const std::vector<NeuronInput>& neurons, const std::vector<NeuronEvents>& per) {
  for (size_t n = 0; n < neurons.size(); ++n) {
    R.soma_roi.push_back(neurons[n].soma_roi);
    R.dendrite_roi.push_back(neurons[n].dendrite_roi);
    R.role.push_back(int8_t(neurons[n].role));
    R.sd_slope.push_back(per[n].slope);
    R.sd_intercept.push_back(per[n].intercept);
    R.sd_r2.push_back(per[n].r2);
    R.noise_sigma.push_back(per[n].noise_sigma);
    R.n_events.push_back(int32_t(per[n].events.size()));
    R.sd_model.push_back(per[n].has_fit ? int8_t(per[n].model.model) : int8_t(-1));
    R.sd_param_a.push_back(per[n].has_fit ? per[n].model.a : kNaN);
    R.sd_param_b.push_back(per[n].has_fit ? per[n].model.b : kNaN);
    R.sd_reference_events.push_back(per[n].reference_events);
    R.n_soma_only.push_back(per[n].soma_only);
    R.n_dendrite_only.push_back(per[n].dendrite_only);
    R.n_coincident.push_back(per[n].coincident_count);
  }
  R.sd_aic.set_size(neurons.size(), 3);
  for (size_t n = 0; n < neurons.size(); ++n)
    for (int m = 0; m < 3; ++m) R.sd_aic(n, arma::uword(m)) = per[n].has_fit ? per[n].model.aic[m] : kNaN;
}

void collect_events(RegressResult& R, const std::vector<NeuronEvents>& per, const BehaviourLog& log, const Behaviour& b) {
  std::vector<std::pair<int, bool>> outcome_by_id;
  for (const auto& tr : log.trials) outcome_by_id.emplace_back(tr.id, tr.hit);
  std::sort(outcome_by_id.begin(), outcome_by_id.end());
  EventTable& ev = R.events;
  ev.columns.assign(log.columns.size(), {});
  for (size_t n = 0; n < per.size(); ++n) {
    for (size_t i = 0; i < per[n].events.size(); ++i) {
      const stats::Event& e = per[n].events[i];
      const size_t t = size_t(e.frame);
      ev.neuron.push_back(int32_t(n));
      ev.frame.push_back(e.frame);
      ev.soma_amplitude.push_back(e.amplitude);
      ev.dendrite_amplitude.push_back(per[n].dendrite_amplitude[i]);
      ev.residual.push_back(per[n].residual[i]);
      ev.coincident.push_back(per[n].coincident[i]);
      ev.reward.push_back(b.reward[t]);
      ev.d_error.push_back(b.d_error[t]);
      ev.error.push_back(b.error[t]);
      for (size_t c = 0; c < log.columns.size(); ++c) ev.columns[c].push_back(log.columns[c][t]);
      const int trial = log.trial[t];
      ev.trial.push_back(trial);
      int8_t outcome = -1;
      const auto it = std::lower_bound(outcome_by_id.begin(), outcome_by_id.end(), std::make_pair(trial, false));
      if (trial >= 0 && it != outcome_by_id.end() && it->first == trial) outcome = it->second ? 1 : 0;
      ev.outcome.push_back(outcome);
    }
  }
}

// Events, SD fits and residuals, and the GLMs: the part --sensitivity repeats per setting.
RegressResult events_and_glms(const arma::fmat& soma_dff, const arma::fmat& dendrite_dff,
                              const std::vector<NeuronInput>& neurons, const BehaviourLog& log,
                              const RegressParams& params) {
  RegressResult R;
  R.frames = int64_t(soma_dff.n_cols);
  const Behaviour b = behaviour_series(log, R.frames, params.frame_rate_hz, params.window_s);
  R.window_frames = b.window_frames;
  R.events_used = params.events;
  R.events_used.frame_rate_hz = params.frame_rate_hz;
  R.event_method = params.event_method;
  R.sd_fit = params.sd_fit;
  R.column_names = log.column_names;
  stats::validate(R.events_used);
  if (params.event_method == "paper") stats::validate(paper_params(params, R.events_used));
  const std::vector<double>* reference = reference_values(log, params);
  const size_t N = neurons.size();
  std::vector<NeuronEvents> per(N);
  tbb::parallel_for(tbb::blocked_range<size_t>(0, N), [&](const tbb::blocked_range<size_t>& r) {
    for (size_t n = r.begin(); n != r.end(); ++n)
      per[n] = analyse_neuron(soma_dff, dendrite_dff, neurons[n], params, R.events_used, reference);
  });
  collect_neuron_rows(R, neurons, per);
  collect_events(R, per, log, b);
  fit_glms(R, b, params);
  return R;
}

// Residuals by value of the reference column: per neuron, and each value against the
// reference across neurons (stats/conditions.hpp).
void summarise_conditions(RegressResult& R, const RegressParams& p) {
  auto& C = R.conditions;
  size_t column = 0;
  while (column < R.column_names.size() && R.column_names[column] != p.reference_column) ++column;
  if (column == R.column_names.size()) return;
  const EventTable& ev = R.events;
  const std::vector<double>& value = ev.columns[column];
  C.column = p.reference_column;
  C.reference = p.reference_value;
  C.permutations = p.permutations;
  std::set<double> values{p.reference_value};
  for (size_t i = 0; i < ev.size(); ++i)
    if (std::isfinite(ev.residual[i])) values.insert(value[i]);
  C.values.assign(values.begin(), values.end());
  const size_t N = R.soma_roi.size(), K = C.values.size();
  arma::mat sum(N, K, arma::fill::zeros);
  C.n_events.zeros(N, K);
  for (size_t i = 0; i < ev.size(); ++i) {
    if (!std::isfinite(ev.residual[i])) continue;
    const size_t k = size_t(std::lower_bound(C.values.begin(), C.values.end(), value[i]) - C.values.begin());
    sum(size_t(ev.neuron[i]), k) += ev.residual[i];
    C.n_events(size_t(ev.neuron[i]), k) += 1;
  }
  C.mean_residual = sum / C.n_events;  // 0/0 = NaN where a neuron has no event
  C.neuron_difference.set_size(N, K > 0 ? K - 1 : 0);
  for (double test : C.values) {
    if (test == p.reference_value) continue;
    std::vector<stats::ConditionEvents> groups(N);
    for (size_t i = 0; i < ev.size(); ++i) {
      if (!std::isfinite(ev.residual[i]) || (value[i] != test && value[i] != p.reference_value)) continue;
      groups[size_t(ev.neuron[i])].residual.push_back(ev.residual[i]);
      groups[size_t(ev.neuron[i])].is_test.push_back(value[i] == test ? 1 : 0);
    }
    const uint64_t seed = p.seed ^ kSaltConditions ^ uint64_t(C.test_value.size());
    const stats::ConditionComparison c = stats::compare_conditions(groups, p.permutations, seed);
    C.neuron_difference.col(C.test_value.size()) = arma::vec(c.neuron_difference);
    C.test_value.push_back(test);
    C.mean_difference.push_back(c.mean_difference);
    C.paired_t.push_back(c.paired_t);
    C.paired_p.push_back(c.paired_p);
    C.permutation_p.push_back(c.permutation_p);
    C.n_neurons.push_back(c.n_neurons);
  }
}

double pooled_term(const RegressResult& R, const arma::vec& column, const std::string& term) {
  for (size_t k = 0; k < R.pooled_terms.size(); ++k)
    if (R.pooled_terms[k] == term) return column[k];
  return kNaN;
}

// The pooled role x task interactions over the grid threshold x {0.7, 1, 1.3}, window
// {0.5, 1, 2} s (issue 14 §4); everything else as given.
void sensitivity_grid(RegressResult& R, const arma::fmat& soma, const arma::fmat& dend,
                      const std::vector<NeuronInput>& neurons, const BehaviourLog& log, const RegressParams& params) {
  auto& S = R.sensitivity;
  for (double scale : {0.7, 1.0, 1.3}) {
    for (double window : {0.5, 1.0, 2.0}) {
      RegressParams q = params;
      q.events.threshold_sigma = params.events.threshold_sigma * scale;
      q.window_s = window;
      const RegressResult r = events_and_glms(soma, dend, neurons, log, q);
      S.threshold_scale.push_back(scale);
      S.threshold.push_back(q.events.threshold_sigma);
      S.window_s.push_back(window);
      S.n_events.push_back(r.pooled_n);
      S.beta_role_d_error.push_back(pooled_term(r, r.pooled_beta, "role:d_error"));
      S.p_role_d_error.push_back(pooled_term(r, r.pooled_p, "role:d_error"));
      S.perm_p_role_d_error.push_back(pooled_term(r, r.pooled_perm_p, "role:d_error"));
      S.beta_role_reward.push_back(pooled_term(r, r.pooled_beta, "role:reward"));
      S.p_role_reward.push_back(pooled_term(r, r.pooled_p, "role:reward"));
      S.perm_p_role_reward.push_back(pooled_term(r, r.pooled_perm_p, "role:reward"));
    }
  }
}

// Each trial's outcome frame (hit: reward frame; miss: last frame), label, in start order.
std::vector<std::pair<int64_t, arma::uword>> outcome_frames(const BehaviourLog& log) {
  std::vector<BehaviourLog::Trial> trials = log.trials;
  std::stable_sort(trials.begin(), trials.end(), [](const auto& a, const auto& b) { return a.start_frame < b.start_frame; });
  std::vector<std::pair<int64_t, arma::uword>> out;
  for (const auto& t : trials) out.emplace_back(t.hit ? t.reward_frame : t.end_frame, t.hit ? 1 : 0);
  return out;
}

// Per trial, each feature neuron's mean residual of the events in [outcome + a, outcome + b).
arma::mat binned_residuals(const RegressResult& R, const std::vector<std::pair<int64_t, arma::uword>>& trials,
                           const std::vector<size_t>& column, size_t features, int64_t a, int64_t b, int32_t& with_events) {
  arma::mat sum(trials.size(), features, arma::fill::zeros), count(trials.size(), features, arma::fill::zeros);
  std::vector<int64_t> order_frames;
  for (const auto& t : trials) order_frames.push_back(t.first);
  for (size_t i = 0; i < R.events.size(); ++i) {
    const size_t j = column[size_t(R.events.neuron[i])];
    if (j == SIZE_MAX || !std::isfinite(R.events.residual[i])) continue;
    for (size_t k = 0; k < trials.size(); ++k) {
      const int64_t d = R.events.frame[i] - order_frames[k];
      if (d >= a && d < b) sum(k, j) += R.events.residual[i], count(k, j) += 1;
    }
  }
  with_events = 0;
  for (size_t k = 0; k < trials.size(); ++k) with_events += arma::accu(count.row(k)) > 0;
  arma::mat X = sum / count;
  X.replace(arma::datum::nan, 0.0);
  return X;
}

void decode_over_time(RegressResult& R, const BehaviourLog& log, const RegressParams& p) {
  auto& D = R.decoding_time;
  const auto trials = outcome_frames(log);
  std::vector<size_t> column(R.soma_roi.size(), SIZE_MAX);
  size_t features = 0;
  for (size_t n = 0; n < R.soma_roi.size(); ++n)
    if (std::isfinite(R.sd_slope[n])) column[n] = features++;
  D.n_trials = int(trials.size());
  D.n_features = int(features);
  D.n_shuffles = p.decoding_shuffles;
  arma::uvec y(trials.size());
  for (size_t k = 0; k < trials.size(); ++k) y[k] = trials[k].second;
  const double hits = double(arma::accu(y));
  if (features == 0 || int(trials.size()) < 2 * p.cv_folds || hits == 0 || hits == double(trials.size())) return;
  const int bins = int(std::lround(2.0 * p.decoding_span_s / p.decoding_bin_s));
  const stats::Classifier classifiers[2] = {stats::Classifier::logistic, stats::Classifier::linear_svm};
  for (arma::mat* m : {&D.balanced_accuracy, &D.shuffle_mean, &D.shuffle_lo, &D.shuffle_hi, &D.p}) m->set_size(bins, 2);
  for (int b = 0; b < bins; ++b) {
    const double start = -p.decoding_span_s + b * p.decoding_bin_s, end = start + p.decoding_bin_s;
    D.bin_start_s.push_back(start);
    D.bin_end_s.push_back(end);
    int32_t with_events = 0;
    const arma::mat X = binned_residuals(R, trials, column, features, to_frames(start, p.frame_rate_hz),
                                         to_frames(end, p.frame_rate_hz), with_events);
    D.trials_with_events.push_back(with_events);
    for (int c = 0; c < 2; ++c) {
      const double observed = stats::balanced_accuracy(y, stats::cv_predict(X, y, p.cv_folds, classifiers[c], p.decoding_l2));
      arma::vec null(size_t(p.decoding_shuffles));
      tbb::parallel_for(tbb::blocked_range<size_t>(0, null.n_elem), [&](const tbb::blocked_range<size_t>& r) {
        for (size_t s = r.begin(); s != r.end(); ++s) {
          stats::ItemRng rng(p.seed ^ kSaltDecodingTime, s);
          const std::vector<size_t> perm = stats::random_permutation(y.n_elem, rng);
          arma::uvec ys(y.n_elem);
          for (size_t k = 0; k < y.n_elem; ++k) ys[k] = y[perm[k]];
          null[s] = stats::balanced_accuracy(ys, stats::cv_predict(X, ys, p.cv_folds, classifiers[c], p.decoding_l2));
        }
      });
      const std::vector<double> draws = arma::conv_to<std::vector<double>>::from(null);
      D.balanced_accuracy(b, c) = observed;
      D.shuffle_mean(b, c) = finite_mean(null);
      D.shuffle_lo(b, c) = draws.empty() ? kNaN : quantile(draws, 0.025);
      D.shuffle_hi(b, c) = draws.empty() ? kNaN : quantile(draws, 0.975);
      D.p(b, c) = draws.empty() ? kNaN : upper_tail_p(observed, null);
    }
  }
}

// residual ~ 1 + d_error over each role's events with d_error < 0 (the cursor approached).
void error_reducing_epochs(RegressResult& R) {
  auto& E = R.error_reducing;
  for (int role : {1, -1, 0}) {
    std::vector<double> x, y;
    for (size_t i = 0; i < R.events.size(); ++i)
      if (R.role[size_t(R.events.neuron[i])] == role && R.events.d_error[i] < 0 && std::isfinite(R.events.residual[i]))
        x.push_back(R.events.d_error[i]), y.push_back(R.events.residual[i]);
    E.role.push_back(int8_t(role));
    E.n.push_back(int32_t(x.size()));
    double beta = kNaN, se = kNaN, pv = kNaN;
    if (x.size() >= 3) {
      const stats::OlsFit fit = stats::ols(arma::join_rows(arma::ones(x.size()), arma::vec(x)), arma::vec(y));
      beta = fit.beta[1], se = fit.se[1], pv = fit.p[1];
    }
    E.beta.push_back(beta);
    E.se.push_back(se);
    E.p.push_back(pv);
  }
}

}  // namespace

std::pair<std::string, double> parse_reference_condition(const std::string& text) {
  const size_t eq = text.find('=');
  const auto bad = [&](const std::string& why) {
    return InputError("--reference-condition: '" + text + "' " + why + " (expected COLUMN=VALUE, e.g. opto=0)");
  };
  if (eq == std::string::npos || eq == 0) throw bad("has no column name");
  const std::string value = text.substr(eq + 1);
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(value, &used);
  } catch (const std::exception&) {
    throw bad("has no number after '='");
  }
  if (used != value.size() || !std::isfinite(v)) throw bad("has no number after '='");
  return {text.substr(0, eq), v};
}

void check_event_method(const std::string& method) {
  if (method != "apical" && method != "paper")
    throw InputError("--event-method: '" + method + "' is not 'apical' or 'paper'");
}

RegressResult analyze_session(const arma::fmat& soma_dff, const arma::fmat& dendrite_dff,
                              const std::vector<NeuronInput>& neurons, const BehaviourLog& log,
                              const RegressParams& params) {
  validate_inputs(soma_dff, dendrite_dff, neurons, params);
  check_event_method(params.event_method);
  stats::check_sd_fit_choice(params.sd_fit);
  check_columns(log, int64_t(soma_dff.n_cols));
  RegressResult R = events_and_glms(soma_dff, dendrite_dff, neurons, log, params);
  predict_from_network(R, soma_dff, params);
  learning(R, params);
  decode_outcome(R, log, params);
  learning_curve(R, log, params);
  decode_over_time(R, log, params);
  error_reducing_epochs(R);
  if (!params.reference_column.empty()) summarise_conditions(R, params);
  if (params.sensitivity) sensitivity_grid(R, soma_dff, dendrite_dff, neurons, log, params);
  return R;
}

}  // namespace apical
