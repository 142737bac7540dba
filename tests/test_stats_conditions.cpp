// Conditions (issue 14 §1): the optogenetic experiment of `apical simulate --opto` analysed
// with --reference-condition opto=0, against the simulator's known gain change; the SD model
// choice by AIC; the coincidence labels.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>

#include <tbb/task_arena.h>
#include <random>
#include <vector>

#include "io/error.hpp"
#include "pipeline/regress/regress.hpp"
#include "pipeline/validation/simulate.hpp"
#include "pipeline/validation/truth.hpp"
#include "simulated_analysis.hpp"
#include "stats/conditions.hpp"
#include "stats/sd_fit.hpp"

using namespace apical;

namespace {

// A simulated opto session as regress reads it (tests/simulated_analysis.hpp).
using OptoSession = test::SimulatedAnalysis;

OptoSession opto_session(uint64_t seed, double gain, bool task_effects) {
  SimulationParams sp;
  sp.frames = 18000;  // 10 min at 30 Hz
  sp.neurons = 16;
  sp.distractors = 0;
  sp.seed = seed;
  sp.opto = true;
  sp.opto_dendrite_gain = gain;
  if (!task_effects) sp.c_reward = sp.c_derr = 0;
  return test::simulated_analysis(sp);
}

RegressParams opto_params(double rate_hz) {
  RegressParams p;
  p.frame_rate_hz = rate_hz;
  p.permutations = 200;
  p.network_shuffles = 0;
  p.decoding_shuffles = 0;
  p.reference_column = "opto";
  p.reference_value = 0;
  return p;
}

// The true effect: per neuron, the mean over its stimulated events of the dendritic amplitude
// change the stimulation caused (SimulatedEvent::opto_shift), averaged over neurons that have
// events in both conditions. Relative to a fit of the unstimulated SD relation this change is
// exactly what a stimulated event's residual gains, so it is what the mean difference of
// residuals (opto=1 minus opto=0) estimates.
double true_gain_shift(const SimulatedSession& s) {
  double total = 0;
  int neurons = 0;
  for (const SimulatedNeuron& n : s.neurons) {
    double sum = 0;
    int on = 0, off = 0;
    for (const SimulatedEvent& e : s.events) {
      if (e.neuron != n.soma_roi) continue;
      if (e.opto) sum += e.opto_shift, ++on;
      else ++off;
    }
    if (on > 0 && off > 0) total += sum / on, ++neurons;
  }
  return total / neurons;
}

}  // namespace

TEST_CASE("simulate --opto stimulates whole trials and scales the dendritic gain by the given factor", "[conditions]") {
  const OptoSession s = opto_session(3, 0.5, true);
  int stimulated = 0;
  for (const BciTrial& t : s.sim.trials) {
    stimulated += t.stimulated;
    for (int64_t f = t.start_frame; f <= t.end_frame; ++f) REQUIRE(s.sim.stimulated[size_t(f)] == (t.stimulated ? 1 : 0));
  }
  CHECK(stimulated > 0.3 * s.sim.trials.size());
  CHECK(stimulated < 0.7 * s.sim.trials.size());
  for (const SimulatedEvent& e : s.sim.events) {
    const SimulatedNeuron& n = s.sim.neurons[size_t(e.neuron)];
    REQUIRE(e.opto == s.sim.stimulated[size_t(e.frame)]);
    if (n.dendrite_rois.empty()) continue;
    const float gain = e.opto ? 0.5f * n.sd_gain : n.sd_gain;
    REQUIRE(e.dendrite_amplitude == Approx(std::max(0.05f, gain * e.soma_amplitude + e.residual)).margin(1e-6));
  }
  // The opto column reaches the analysis, one value per frame.
  REQUIRE(s.log.column_names == std::vector<std::string>{"opto"});
  for (size_t t = 0; t < s.sim.stimulated.size(); ++t) REQUIRE(s.log.columns[0][t] == double(s.sim.stimulated[t]));
}

TEST_CASE("regress with reference condition opto=0 recovers the opto effect: sign always, magnitude within 25 %", "[conditions]") {
  for (double gain : {0.5, 1.5}) {
    for (uint64_t seed : {1, 2, 3}) {
      const OptoSession s = opto_session(seed, gain, false);
      const RegressResult r = analyze_session(s.soma, s.dendrite, s.neurons, s.log, opto_params(30));
      const auto& C = r.conditions;
      REQUIRE(C.test_value == std::vector<double>{1.0});
      const double truth = true_gain_shift(s.sim), measured = C.mean_difference[0];
      INFO("gain " << gain << " seed " << seed << ": measured " << measured << " true " << truth << " (paired p "
                   << C.paired_p[0] << ", permutation p " << C.permutation_p[0] << ", " << C.n_neurons[0] << " neurons)");
      CHECK((measured > 0) == (truth > 0));
      CHECK(std::abs(measured - truth) <= 0.25 * std::abs(truth));
      CHECK(C.paired_p[0] < 0.01);
      CHECK(C.permutation_p[0] < 0.01);
    }
  }
}

TEST_CASE("with task effects on, the opto effect keeps its sign and stays significant", "[conditions]") {
  for (uint64_t seed : {4, 5}) {
    const OptoSession s = opto_session(seed, 0.5, true);
    const RegressResult r = analyze_session(s.soma, s.dendrite, s.neurons, s.log, opto_params(30));
    const double truth = true_gain_shift(s.sim), measured = r.conditions.mean_difference.at(0);
    INFO("seed " << seed << ": measured " << measured << " true " << truth);
    CHECK(truth < 0);
    CHECK(measured < 0);
    CHECK(r.conditions.permutation_p.at(0) < 0.01);
  }
}

TEST_CASE("without stimulation the condition test is not significant more often than chance", "[conditions]") {
  // gain factor 1: the opto column marks trials but changes nothing.
  int significant = 0;
  for (uint64_t seed : {11, 12, 13, 14, 15}) {
    const OptoSession s = opto_session(seed, 1.0, false);
    const RegressResult r = analyze_session(s.soma, s.dendrite, s.neurons, s.log, opto_params(30));
    significant += r.conditions.permutation_p.at(0) < 0.05;
  }
  CHECK(significant <= 1);
}

TEST_CASE("reference fits use only reference events; a missing column or bad spec is an InputError", "[conditions]") {
  const OptoSession s = opto_session(1, 0.5, false);
  const RegressResult r = analyze_session(s.soma, s.dendrite, s.neurons, s.log, opto_params(30));
  for (size_t n = 0; n < r.soma_roi.size(); ++n) {
    if (!std::isfinite(r.sd_slope[n])) continue;
    int reference = 0;
    for (size_t i = 0; i < r.events.size(); ++i)
      reference += r.events.neuron[i] == int32_t(n) && r.events.columns[0][i] == 0.0;
    CHECK(r.sd_reference_events[n] == reference);
  }
  RegressParams p = opto_params(30);
  p.reference_column = "laser";
  CHECK_THROWS_AS(analyze_session(s.soma, s.dendrite, s.neurons, s.log, p), InputError);
  CHECK_THROWS_AS(parse_reference_condition("opto"), InputError);
  CHECK_THROWS_AS(parse_reference_condition("opto=on"), InputError);
  CHECK(parse_reference_condition("opto=0") == std::make_pair(std::string("opto"), 0.0));
}

TEST_CASE("AIC picks the model that generated the SD relation", "[conditions]") {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> amplitude(0.3, 3.0);
  std::normal_distribution<double> noise(0.0, 0.05);
  arma::vec x(400), linear(400), proportional(400), saturating(400);
  for (arma::uword i = 0; i < x.n_elem; ++i) {
    x[i] = amplitude(rng);
    linear[i] = 0.4 + 0.8 * x[i] + noise(rng);
    proportional[i] = 0.9 * x[i] + noise(rng);
    saturating[i] = 2.0 * x[i] / (x[i] + 0.7) + noise(rng);
  }
  CHECK(stats::fit_sd(x, linear, "aic").model == stats::SdModel::linear);
  CHECK(stats::fit_sd(x, proportional, "aic").model == stats::SdModel::proportional);
  const stats::SdFit sat = stats::fit_sd(x, saturating, "aic");
  CHECK(sat.model == stats::SdModel::saturating);
  CHECK(sat.a == Approx(2.0).epsilon(0.05));
  CHECK(sat.b == Approx(0.7).epsilon(0.1));
  CHECK_THROWS_AS(stats::fit_sd(x, linear, "cubic"), InputError);
}

TEST_CASE("coincidence labels: every paired somatic event of the simulator is coincident, counts add up", "[conditions]") {
  // Every simulated somatic event of a paired neuron drives its dendrite (b >= 0.05 dF/F,
  // mostly ~g a), and isolated dendritic events occur at 0.05 Hz per ROI.
  const OptoSession s = opto_session(2, 1.0, true);
  RegressParams p = opto_params(30);
  p.reference_column.clear();
  for (const std::string method : {"apical", "paper"}) {
    p.event_method = method;
    const RegressResult r = analyze_session(s.soma, s.dendrite, s.neurons, s.log, p);
    int64_t coincident = 0, events = 0, dendrite_only = 0;
    for (size_t n = 0; n < r.soma_roi.size(); ++n) {
      REQUIRE(r.n_soma_only[n] + r.n_coincident[n] == r.n_events[n]);
      coincident += r.n_coincident[n];
      events += r.n_events[n];
      dendrite_only += r.n_dendrite_only[n];
    }
    INFO(method << ": " << coincident << " of " << events << " coincident, " << dendrite_only << " dendrite-only");
    CHECK(coincident >= 0.9 * events);
    // Isolated dendritic events on the first dendrite ROI of each neuron.
    int64_t isolated = 0;
    for (const IsolatedDendriteEvent& e : s.sim.isolated_dendrite_events)
      for (const NeuronInput& n : s.neurons) isolated += e.roi == n.dendrite_roi;
    CHECK(dendrite_only >= 0.5 * isolated);
    CHECK(dendrite_only <= 2.0 * isolated + 10);
  }
}

TEST_CASE("conditions, sensitivity and decoding over time are bit-identical with 1 and 2 threads", "[conditions]") {
  const OptoSession s = opto_session(6, 0.5, true);
  RegressParams p = opto_params(30);
  p.permutations = 50;
  p.decoding_shuffles = 20;
  p.sensitivity = true;
  p.event_method = "paper";
  p.sd_fit = "aic";
  RegressResult one, two;
  tbb::task_arena(1).execute([&] { one = analyze_session(s.soma, s.dendrite, s.neurons, s.log, p); });
  tbb::task_arena(2).execute([&] { two = analyze_session(s.soma, s.dendrite, s.neurons, s.log, p); });
  const auto same = [](const std::vector<double>& a, const std::vector<double>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
  };
  CHECK(same(one.events.residual, two.events.residual));
  CHECK(same(one.conditions.permutation_p, two.conditions.permutation_p));
  CHECK(same(one.sensitivity.perm_p_role_d_error, two.sensitivity.perm_p_role_d_error));
  CHECK(arma::approx_equal(one.decoding_time.shuffle_hi, two.decoding_time.shuffle_hi, "absdiff", 0.0));
  CHECK(arma::approx_equal(one.decoding_time.balanced_accuracy, two.decoding_time.balanced_accuracy, "absdiff", 0.0));
  CHECK(one.sd_model == two.sd_model);
}
