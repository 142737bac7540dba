// analyze_session on synthetic sessions built per docs/SCIENCE_SPEC.md, with known coefficients.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include <tbb/task_arena.h>

#include "io/error.hpp"
#include "pipeline/regress/regress.hpp"

using namespace apical;

namespace {

struct SyntheticSession {
  arma::fmat soma, dendrite;
  std::vector<NeuronInput> neurons;
  BehaviourLog log;
  std::vector<double> beta_reward, beta_derr;
  double rate_hz = 15;
};

struct SessionSpec {
  uint64_t seed = 1;
  double rate_hz = 15;
  double minutes = 15;
  int per_role = 4;         // P+, P- and other neurons each
  double c_reward = 0.2;    // dF/F at reward
  double c_derr = -0.1;     // dF/F per position of error change
  double residual_sd = 0.05;
  double noise_sd = 0.05;
  double toward_p = 0.6;    // probability that a cursor step goes towards the target
  double network_gain = 0;  // neuron 1's residual += gain * mean soma_0 dF/F in [t - 0.5 s, t + 0.5 s]
};

std::vector<double> gcamp_kernel(double rate_hz, int& peak_offset) {
  std::vector<double> k;
  for (int i = 0; i < int(4.0 * rate_hz); ++i) {
    const double t = i / rate_hz;
    k.push_back((1 - std::exp(-t / 0.07)) * std::exp(-t / 0.6));
  }
  const auto peak = std::max_element(k.begin(), k.end());
  const double top = *peak;
  peak_offset = int(peak - k.begin());
  for (double& v : k) v /= top;
  return k;
}

// A crude closed loop: the cursor steps every 0.5 s, towards the target with p = toward_p;
// a trial ends on the target (hit, reward) or after 10 s (miss); 2 s inter-trial interval.
BehaviourLog make_bci_log(std::mt19937_64& rng, int64_t T, double rate_hz, double toward_p) {
  BehaviourLog log;
  log.cursor.assign(size_t(T), 3);
  log.target.assign(size_t(T), 3);
  log.trial.assign(size_t(T), -1);
  log.control.assign(size_t(T), 0.0);
  std::uniform_real_distribution<double> u(0, 1);
  const int64_t step = int64_t(0.5 * rate_hz), timeout = int64_t(10 * rate_hz), iti = int64_t(2 * rate_hz);
  int64_t t = iti;
  int cursor = 3, id = 0;
  while (t + timeout + iti < T) {
    int target = int(u(rng) * 7) % 7;
    if (target == cursor) target = (target + 3) % 7;
    BehaviourLog::Trial tr;
    tr.id = id++;
    tr.start_frame = t;
    bool hit = false;
    for (int64_t k = 0; k < timeout && !hit; ++k, ++t) {
      if (k % step == step - 1) {
        const int dir = target > cursor ? 1 : -1;
        cursor = std::clamp(cursor + (u(rng) < toward_p ? dir : -dir), 0, 6);
      }
      log.cursor[size_t(t)] = cursor;
      log.target[size_t(t)] = target;
      log.trial[size_t(t)] = tr.id;
      log.control[size_t(t)] = double(cursor);
      if (cursor == target) {
        hit = true;
        tr.reward_frame = t;
      }
    }
    tr.end_frame = t - 1;
    tr.hit = hit;
    log.trials.push_back(tr);
    for (int64_t k = 0; k < iti; ++k, ++t) {  // cursor parked, target kept
      log.cursor[size_t(t)] = cursor;
      log.target[size_t(t)] = target;
    }
  }
  for (; t < T; ++t) {
    log.cursor[size_t(t)] = cursor;
    log.target[size_t(t)] = log.target[size_t(t - 1)];
  }
  return log;
}

SyntheticSession make_session(const SessionSpec& spec) {
  std::mt19937_64 rng(spec.seed);
  std::uniform_real_distribution<double> u(0, 1);
  std::normal_distribution<double> gauss(0, 1);
  std::exponential_distribution<double> extra_gap(1.0 / 3.0);
  SyntheticSession s;
  s.rate_hz = spec.rate_hz;
  const int64_t T = int64_t(spec.minutes * 60 * spec.rate_hz);
  s.log = make_bci_log(rng, T, spec.rate_hz, spec.toward_p);
  const Behaviour b = behaviour_series(s.log, T, spec.rate_hz, 1.0);
  int peak_offset = 0;
  const std::vector<double> kernel = gcamp_kernel(spec.rate_hz, peak_offset);
  const int N = 3 * spec.per_role;
  s.soma.set_size(N, T);
  s.dendrite.set_size(N, T);
  std::vector<double> clean_soma0;
  for (int n = 0; n < N; ++n) {
    const int role = n < spec.per_role ? 1 : (n < 2 * spec.per_role ? -1 : 0);
    s.neurons.push_back({n, n, role});
    const double gain = 0.8 + 0.4 * u(rng);
    s.beta_reward.push_back(role * spec.c_reward * (0.5 + u(rng)));
    s.beta_derr.push_back(role * spec.c_derr * (0.5 + u(rng)));
    std::vector<double> soma(size_t(T), 0.0), dend(size_t(T), 0.0);
    const auto add = [&](std::vector<double>& x, int64_t onset, double amp) {
      for (size_t i = 0; i < kernel.size() && onset + int64_t(i) < T; ++i) x[size_t(onset) + i] += amp * kernel[i];
    };
    for (double t = 1.0 + 3 * u(rng);; t += 1.5 + extra_gap(rng)) {
      const int64_t onset = int64_t(t * spec.rate_hz);
      if (onset + peak_offset >= T) break;
      const size_t peak = size_t(onset + peak_offset);
      const double a = 0.5 + u(rng);
      double r = s.beta_reward.back() * b.reward[peak] + s.beta_derr.back() * b.d_error[peak] +
                 spec.residual_sd * gauss(rng);
      if (n == 1 && spec.network_gain != 0) {
        const int64_t h = int64_t(0.5 * spec.rate_hz);
        const int64_t lo = std::max<int64_t>(0, int64_t(peak) - h), hi = std::min<int64_t>(T - 1, int64_t(peak) + h);
        double m = 0;
        for (int64_t t2 = lo; t2 <= hi; ++t2) m += clean_soma0[size_t(t2)];
        r += spec.network_gain * m / double(hi - lo + 1);
      }
      add(soma, onset, a);
      add(dend, onset, std::max(0.02, gain * a + r));
    }
    for (double t = 5 * u(rng);; t += 20 + 20 * u(rng)) {  // isolated dendritic events
      const int64_t onset = int64_t(t * spec.rate_hz);
      if (onset >= T) break;
      add(dend, onset, 0.3 + 0.5 * u(rng));
    }
    if (n == 0) clean_soma0 = soma;
    for (int64_t t = 0; t < T; ++t) {
      s.soma(n, t) = float(soma[size_t(t)] + spec.noise_sd * gauss(rng));
      s.dendrite(n, t) = float(dend[size_t(t)] + spec.noise_sd * gauss(rng));
    }
  }
  return s;
}

RegressParams fast_params(double rate_hz) {
  RegressParams p;
  p.frame_rate_hz = rate_hz;
  p.permutations = 200;
  p.network_shuffles = 20;
  p.decoding_shuffles = 20;
  return p;
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

bool identical(const arma::mat& a, const arma::mat& b) {
  if (a.n_rows != b.n_rows || a.n_cols != b.n_cols) return false;
  for (arma::uword i = 0; i < a.n_elem; ++i)
    if (!same_bits(a[i], b[i])) return false;
  return true;
}

bool identical(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!same_bits(a[i], b[i])) return false;
  return true;
}

}  // namespace

TEST_CASE("behaviour series follow the docs/SCIENCE_SPEC.md definitions", "[regress]") {
  BehaviourLog log;
  // 10 frames at 2 Hz -> w = 2 frames.
  log.cursor = {0, 1, 2, 3, 3, 3, 2, 1, 1, 1};
  log.target = {3, 3, 3, 3, 3, 3, 3, 3, 3, 3};
  log.trial = {0, 0, 0, 0, -1, -1, 1, 1, 1, 1};
  log.trials = {{0, 0, 3, true, 3}, {1, 6, 9, false, -1}};
  const Behaviour b = behaviour_series(log, 10, 2.0, 1.0);
  REQUIRE(b.window_frames == 2);
  const std::vector<double> error = {3, 2, 1, 0, 0, 0, 1, 2, 2, 2};
  const std::vector<double> d_error = {0, -1, -2, -2, -1, 0, 1, 2, 1, 0};  // error(t) - error(max(t-2,0))
  const std::vector<uint8_t> reward = {0, 1, 1, 1, 1, 1, 0, 0, 0, 0};      // |t - 3| <= 2
  CHECK(b.error == error);
  CHECK(b.d_error == d_error);
  CHECK(b.reward == reward);
}

TEST_CASE("analyze_session recovers d_error signs and the pooled role:d_error interaction", "[regress]") {
  SessionSpec spec;
  spec.seed = 42;
  const SyntheticSession s = make_session(spec);
  const RegressResult r = analyze_session(s.soma, s.dendrite, s.neurons, s.log, fast_params(s.rate_hz));
  REQUIRE(r.glm_terms == std::vector<std::string>{"intercept", "reward", "error", "d_error"});
  REQUIRE(r.pooled_terms[7] == "role:d_error");
  int ensemble = 0, correct_sign = 0, reward_correct = 0;
  for (size_t n = 0; n < s.neurons.size(); ++n) {
    if (s.neurons[n].role == 0) continue;
    ++ensemble;
    INFO("neuron " << n << " true " << s.beta_derr[n] << " est " << r.glm_beta(n, 3) << " p " << r.glm_p(n, 3));
    correct_sign += (r.glm_beta(n, 3) > 0) == (s.beta_derr[n] > 0);
    reward_correct += (r.glm_beta(n, 1) > 0) == (s.beta_reward[n] > 0);
  }
  INFO("d_error signs " << correct_sign << "/" << ensemble << ", reward signs " << reward_correct);
  CHECK(correct_sign >= int(std::ceil(0.9 * ensemble)));
  CHECK(reward_correct >= int(std::ceil(0.9 * ensemble)));
  INFO("pooled role:d_error beta " << r.pooled_beta[7] << " p " << r.pooled_p[7] << " perm p " << r.pooled_perm_p[7]);
  CHECK(r.pooled_p[7] < 0.01);
  CHECK(r.pooled_beta[7] < 0);  // c_derr < 0
  CHECK(r.pooled_perm_p[7] < 0.02);
  // SD slopes near the simulated gains (0.8..1.2) and every neuron had enough events.
  for (size_t n = 0; n < s.neurons.size(); ++n) {
    CHECK(r.n_events[n] > 100);
    CHECK(r.sd_slope[n] > 0.5);
    CHECK(r.sd_slope[n] < 1.5);
  }
}

TEST_CASE("with zero true effect at most 7 % of per-neuron tests reach p < 0.05", "[regress]") {
  int tests = 0, parametric = 0, permutation = 0;
  for (uint64_t seed = 100; seed < 125; ++seed) {
    SessionSpec spec;
    spec.seed = seed;
    spec.c_reward = 0;
    spec.c_derr = 0;
    spec.minutes = 6;
    spec.per_role = 3;
    const SyntheticSession s = make_session(spec);
    RegressParams p = fast_params(s.rate_hz);
    p.permutations = 40;
    p.network_shuffles = 0;
    p.decoding_shuffles = 0;
    const RegressResult r = analyze_session(s.soma, s.dendrite, s.neurons, s.log, p);
    for (size_t n = 0; n < s.neurons.size(); ++n)
      for (int term : {1, 2, 3}) {
        if (!std::isfinite(r.glm_p(n, term))) continue;
        ++tests;
        parametric += r.glm_p(n, term) < 0.05;
        permutation += r.glm_perm_p(n, term) < 0.05;
      }
  }
  INFO(tests << " tests, parametric " << parametric << ", permutation " << permutation);
  REQUIRE(tests >= 600);
  CHECK(parametric <= 0.07 * tests);
  CHECK(permutation <= 0.07 * tests);
}

TEST_CASE("analyze_session is bit-identical with 1 and 2 TBB threads", "[regress]") {
  SessionSpec spec;
  spec.seed = 7;
  spec.minutes = 6;
  const SyntheticSession s = make_session(spec);
  RegressParams p = fast_params(s.rate_hz);
  p.permutations = 50;
  RegressResult one, two;
  tbb::task_arena(1).execute([&] { one = analyze_session(s.soma, s.dendrite, s.neurons, s.log, p); });
  tbb::task_arena(2).execute([&] { two = analyze_session(s.soma, s.dendrite, s.neurons, s.log, p); });
  CHECK(identical(one.glm_beta, two.glm_beta));
  CHECK(identical(one.glm_p, two.glm_p));
  CHECK(identical(one.glm_perm_p, two.glm_perm_p));
  CHECK(identical(one.glm_perm_p_bh, two.glm_perm_p_bh));
  CHECK(identical(one.pooled_perm_p, two.pooled_perm_p));
  CHECK(identical(one.events.residual, two.events.residual));
  CHECK(identical(one.network_r2, two.network_r2));
  CHECK(identical(one.network_p, two.network_p));
  CHECK(same_bits(one.decoding.accuracy, two.decoding.accuracy));
  CHECK(same_bits(one.decoding.shuffle_mean, two.decoding.shuffle_mean));
  CHECK(identical(one.early_residual, two.early_residual));
}

TEST_CASE("analyze_session rejects inconsistent inputs with InputError", "[regress]") {
  SessionSpec spec;
  spec.minutes = 2;
  spec.per_role = 1;
  const SyntheticSession s = make_session(spec);
  const RegressParams p = fast_params(s.rate_hz);
  const arma::fmat short_dendrite = s.dendrite.cols(0, s.dendrite.n_cols - 2);
  CHECK_THROWS_AS(analyze_session(s.soma, short_dendrite, s.neurons, s.log, p), InputError);
  BehaviourLog short_log = s.log;
  short_log.cursor.pop_back();
  CHECK_THROWS_AS(analyze_session(s.soma, s.dendrite, s.neurons, short_log, p), InputError);
  std::vector<NeuronInput> bad = s.neurons;
  bad[0].dendrite_roi = 99;
  CHECK_THROWS_AS(analyze_session(s.soma, s.dendrite, bad, s.log, p), InputError);
  RegressParams no_rate = p;
  no_rate.frame_rate_hz = 0;
  CHECK_THROWS_AS(analyze_session(s.soma, s.dendrite, s.neurons, s.log, no_rate), InputError);
}

TEST_CASE("unpaired neurons get NaN SD and GLM rows but keep their events", "[regress]") {
  SessionSpec spec;
  spec.minutes = 4;
  spec.per_role = 2;
  const SyntheticSession s = make_session(spec);
  std::vector<NeuronInput> neurons = s.neurons;
  neurons[1].dendrite_roi = -1;
  RegressParams p = fast_params(s.rate_hz);
  p.permutations = 20;
  const RegressResult r = analyze_session(s.soma, s.dendrite, neurons, s.log, p);
  CHECK(r.n_events[1] > 0);
  CHECK(std::isnan(r.sd_slope[1]));
  CHECK(r.glm_beta.row(1).has_nan());
  CHECK(std::isfinite(r.sd_slope[0]));
  CHECK(std::isfinite(r.glm_beta(0, 3)));
}

TEST_CASE("network prediction finds a residual driven by another neuron and not by chance", "[regress]") {
  SessionSpec spec;
  spec.seed = 5;
  spec.minutes = 10;
  spec.c_reward = 0;
  spec.c_derr = 0;
  spec.network_gain = 0.5;
  const SyntheticSession s = make_session(spec);
  RegressParams p = fast_params(s.rate_hz);
  p.permutations = 0;
  p.network_shuffles = 50;
  const RegressResult r = analyze_session(s.soma, s.dendrite, s.neurons, s.log, p);
  INFO("driven neuron R2 " << r.network_r2[1] << " shuffle p95 " << r.network_shuffle_p95[1]);
  CHECK(r.network_r2[1] > 0.15);
  CHECK(r.network_r2[1] > r.network_shuffle_p95[1] + 0.1);
  CHECK(r.network_p[1] <= 0.02);
  int undriven = 0, significant = 0;
  for (size_t n = 2; n < s.neurons.size(); ++n) {
    ++undriven;
    significant += r.network_p[n] <= 0.05;
    CHECK(r.network_r2[n] < 0.1);
  }
  CHECK(significant <= 2);
}

TEST_CASE("decoding predicts hit/miss above shuffled labels when residuals carry reward", "[regress]") {
  SessionSpec spec;
  spec.seed = 11;
  spec.c_reward = 0.5;
  spec.toward_p = 0.5;
  const SyntheticSession s = make_session(spec);
  RegressParams p = fast_params(s.rate_hz);
  p.permutations = 0;
  p.decoding_shuffles = 50;
  const RegressResult r = analyze_session(s.soma, s.dendrite, s.neurons, s.log, p);
  const auto& d = r.decoding;
  INFO("accuracy " << d.accuracy << " chance " << d.chance << " shuffle mean " << d.shuffle_mean << " p95 "
                   << d.shuffle_p95 << " trials " << d.n_trials);
  CHECK(d.n_features == int(s.neurons.size()));
  CHECK(d.accuracy > d.shuffle_p95);
  CHECK(d.p <= 0.05);
  CHECK(d.shuffle_mean < d.chance + 0.05);  // shuffled labels do no better than the majority class
}

TEST_CASE("learning curve counts every hit once and learning rates follow event counts", "[regress]") {
  SessionSpec spec;
  spec.seed = 3;
  spec.minutes = 6;
  const SyntheticSession s = make_session(spec);
  RegressParams p = fast_params(s.rate_hz);
  p.permutations = 0;
  p.trials_per_block = 7;
  const RegressResult r = analyze_session(s.soma, s.dendrite, s.neurons, s.log, p);
  int hits = 0, trials = 0;
  for (const auto& t : s.log.trials) hits += t.hit;
  int block_hits = 0;
  for (const auto& b : r.learning_curve) {
    block_hits += b.hits;
    trials += b.trials;
    CHECK(b.hits_per_min == Approx(b.hits / ((b.end_frame - b.start_frame + 1) / s.rate_hz / 60.0)));
  }
  CHECK(block_hits == hits);
  CHECK(trials == int(s.log.trials.size()));
  CHECK(r.learning_curve.size() == (s.log.trials.size() + 6) / 7);
  // Event rates per third: generated at ~1 event per 4.5 s = ~13 / min.
  for (size_t n = 0; n < s.neurons.size(); ++n) {
    CHECK(r.rate_early[n] > 8);
    CHECK(r.rate_early[n] < 18);
    CHECK(r.rate_late[n] > 8);
    CHECK(r.rate_late[n] < 18);
  }
  REQUIRE(r.learning_by_role.size() == 3);
  CHECK(r.learning_by_role[0].role == 1);
  CHECK(r.learning_by_role[0].n == spec.per_role);
}
