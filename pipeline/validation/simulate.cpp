// Simulator: session assembly, neuron parameters, somatic and dendritic activity, truth.
// Order matters (closed loop): somatic activity -> BCI log -> task variables -> dendrites.
#include "pipeline/validation/simulate.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "io/error.hpp"
#include "pipeline/validation/simulate_internal.hpp"

namespace apical {
namespace {

constexpr double kRefractoryS = 1.0;       // min interval between events of one source
constexpr double kRiseS = 0.05;            // GCaMP rise time constant
constexpr float kMinDendriteAmplitude = 0.05f;
constexpr double kIsolatedGuardS = 1.5;    // isolated dendritic events stay this far from
                                           // the owner's somatic events (clean b_k truth)

void require(bool ok, const std::string& message) {
  if (!ok) throw InputError("simulate: " + message);
}

// Per-frame onset probability giving a mean rate near rate_hz despite the refractory period.
double onset_probability(double rate_hz, double frame_rate_hz) {
  const double busy = std::min(0.8, rate_hz * kRefractoryS);
  const double hazard = rate_hz / (1.0 - busy);
  return 1.0 - std::exp(-hazard / frame_rate_hz);
}

double rate_multiplier(const SimulationParams& p, int role, int64_t t) {
  const double progress = double(t) / double(p.frames);
  if (role > 0) return 1.0 + p.learning * progress;
  if (role < 0) return std::max(0.1, 1.0 - 0.5 * p.learning * progress);
  return 1.0;
}

struct Onset {
  int64_t frame;
  float amplitude;
};

// Poisson onsets with a refractory period; rate(t) may vary; `blocked(t)` vetoes a frame.
template <class RateFn, class BlockedFn>
std::vector<Onset> draw_onsets(sim::Rng& rng, const SimulationParams& p, RateFn rate, BlockedFn blocked,
                               double median_amplitude) {
  std::vector<Onset> onsets;
  const int64_t refractory = int64_t(std::lround(kRefractoryS * p.frame_rate_hz));
  int64_t last = -refractory;
  for (int64_t t = 0; t < p.frames; ++t) {
    const double u = rng.uniform();
    const double amplitude = std::clamp(rng.lognormal(median_amplitude, 0.45), 0.3, 3.0);
    if (t - last < refractory || blocked(t)) continue;
    if (u < onset_probability(rate(t), p.frame_rate_hz)) {
      onsets.push_back({t, float(amplitude)});
      last = t;
    }
  }
  return onsets;
}

void make_neurons(SimulatedSession& s, const std::vector<std::vector<int>>& dendrites) {
  const SimulationParams& p = s.params;
  const int total = int(s.planes[0].rois.size());
  s.neurons.resize(total);
  // Ensemble: a random subset of the paired neurons.
  std::vector<int> order(p.neurons);
  for (int n = 0; n < p.neurons; ++n) order[n] = n;
  sim::Rng pick(sim::stream_key(p.seed, sim::kEnsemble));
  for (int i = p.neurons - 1; i > 0; --i) std::swap(order[i], order[pick.integer(0, i)]);
  for (int i = 0; i < p.ensemble_plus + p.ensemble_minus; ++i)
    s.neurons[order[i]].role = i < p.ensemble_plus ? 1 : -1;

  for (int n = 0; n < total; ++n) {
    SimulatedNeuron& neuron = s.neurons[n];
    sim::Rng rng(sim::stream_key(p.seed, sim::kNeuronParams, n));
    neuron.soma_roi = n;
    if (n < p.neurons) neuron.dendrite_rois = dendrites[n];
    neuron.base_rate_hz = float(p.event_rate_hz * rng.lognormal(1.0, 0.25));
    neuron.tau_decay_s = float(rng.uniform(0.5, 1.0));
    const double u = rng.uniform(0.5, 1.5), v = rng.uniform(0.5, 1.5);
    neuron.sd_gain = float(rng.uniform(0.6, 1.3));
    if (n < p.neurons) {
      neuron.beta_reward = float(neuron.role * p.c_reward * u);
      neuron.beta_derr = float(neuron.role * p.c_derr * v);
    }
  }

  for (const SimulatedNeuron& neuron : s.neurons) {
    if (neuron.role == 0) continue;
    sim::Rng jitter(sim::stream_key(p.seed, sim::kEnsemble, 1, neuron.soma_roi));
    const RoiMask& soma = s.planes[0].rois[neuron.soma_roi];
    // The online centroid was picked by hand: within ~1 px of the true one.
    s.ensemble.push_back({neuron.soma_roi, neuron.role, soma.cy + float(jitter.uniform(-0.7, 0.7)),
                          soma.cx + float(jitter.uniform(-0.7, 0.7))});
  }
}

// Somatic events of every neuron and the soma-plane dF/F.
std::vector<std::vector<Onset>> simulate_somata(SimulatedSession& s) {
  const SimulationParams& p = s.params;
  SimulatedPlane& plane = s.planes[0];
  plane.dff.zeros(plane.rois.size(), p.frames);
  std::vector<std::vector<Onset>> onsets(s.neurons.size());
  for (size_t n = 0; n < s.neurons.size(); ++n) {
    const SimulatedNeuron& neuron = s.neurons[n];
    sim::Rng rng(sim::stream_key(p.seed, sim::kSomaEvents, n));
    onsets[n] = draw_onsets(
        rng, p, [&](int64_t t) { return neuron.base_rate_hz * rate_multiplier(p, neuron.role, t); },
        [](int64_t) { return false; }, 0.9);
    const std::vector<float> kernel = sim::calcium_kernel(p.frame_rate_hz, kRiseS, neuron.tau_decay_s);
    std::vector<float> trace(p.frames, 0.0f);
    for (const Onset& o : onsets[n]) sim::add_kernel(trace.data(), p.frames, o.frame, o.amplitude, kernel);
    for (int64_t t = 0; t < p.frames; ++t) plane.dff(neuron.soma_roi, t) = trace[t];
  }
  return onsets;
}

// SD model (docs/SCIENCE_SPEC.md) for every somatic event, then the dendrite-plane dF/F.
void simulate_dendrites(SimulatedSession& s, const std::vector<std::vector<Onset>>& onsets) {
  const SimulationParams& p = s.params;
  const TaskVariables task = task_variables(s.bci_frames, s.trials, p.frame_rate_hz);
  SimulatedPlane& plane = s.planes[1];
  plane.dff.zeros(plane.rois.size(), p.frames);
  std::vector<int> owner(plane.rois.size(), -1);
  for (size_t n = 0; n < s.neurons.size(); ++n)
    for (int roi : s.neurons[n].dendrite_rois) owner[roi] = int(n);

  for (size_t n = 0; n < s.neurons.size(); ++n) {
    const SimulatedNeuron& neuron = s.neurons[n];
    sim::Rng rng(sim::stream_key(p.seed, sim::kResidual, n));
    sim::Rng kernel_rng(sim::stream_key(p.seed, sim::kNeuronParams, n, 1));
    const std::vector<float> kernel =
        sim::calcium_kernel(p.frame_rate_hz, kRiseS, neuron.tau_decay_s * kernel_rng.uniform(0.6, 0.9));
    std::vector<float> trace(p.frames, 0.0f);
    for (const Onset& o : onsets[n]) {
      SimulatedEvent e;
      e.neuron = int(n);
      e.frame = o.frame;
      e.soma_amplitude = o.amplitude;
      e.reward = task.reward[o.frame];
      e.d_error = float(task.d_error[o.frame]);
      const double noise = p.residual_noise * rng.normal();
      e.opto = s.stimulated[o.frame];
      if (!neuron.dendrite_rois.empty()) {
        e.residual = float(neuron.beta_reward * e.reward + neuron.beta_derr * e.d_error + noise);
        const float unstimulated = std::max(kMinDendriteAmplitude, neuron.sd_gain * e.soma_amplitude + e.residual);
        const float gain = e.opto ? float(p.opto_dendrite_gain) * neuron.sd_gain : neuron.sd_gain;
        e.dendrite_amplitude = std::max(kMinDendriteAmplitude, gain * e.soma_amplitude + e.residual);
        e.opto_shift = e.dendrite_amplitude - unstimulated;
        sim::add_kernel(trace.data(), p.frames, o.frame, e.dendrite_amplitude, kernel);
      }
      s.events.push_back(e);
    }
    for (int roi : neuron.dendrite_rois)
      for (int64_t t = 0; t < p.frames; ++t) plane.dff(roi, t) = trace[t];
  }

  // Isolated dendritic events, per ROI; unpaired dendrites get the somatic rate.
  const int64_t guard = int64_t(std::lround(kIsolatedGuardS * p.frame_rate_hz));
  for (size_t roi = 0; roi < plane.rois.size(); ++roi) {
    std::vector<char> blocked(p.frames, 0);
    if (owner[roi] >= 0)
      for (const Onset& o : onsets[owner[roi]])
        for (int64_t t = std::max<int64_t>(0, o.frame - guard); t < std::min(p.frames, o.frame + guard); ++t)
          blocked[t] = 1;
    const double rate = owner[roi] >= 0 ? p.dendrite_event_rate_hz : p.event_rate_hz;
    sim::Rng rng(sim::stream_key(p.seed, sim::kDendriteEvents, roi));
    sim::Rng kernel_rng(sim::stream_key(p.seed, sim::kDendriteEvents, roi, 1));
    const std::vector<float> kernel = sim::calcium_kernel(p.frame_rate_hz, kRiseS, kernel_rng.uniform(0.4, 0.8));
    const std::vector<Onset> isolated = draw_onsets(
        rng, p, [&](int64_t) { return rate; }, [&](int64_t t) { return blocked[t] != 0; }, 0.7);
    std::vector<float> trace(p.frames, 0.0f);
    for (const Onset& o : isolated) {
      sim::add_kernel(trace.data(), p.frames, o.frame, o.amplitude, kernel);
      s.isolated_dendrite_events.push_back({int(roi), o.frame, o.amplitude});
    }
    for (int64_t t = 0; t < p.frames; ++t) plane.dff(roi, t) += trace[t];
  }
}

// Opto: a random opto_trial_fraction of the trials is stimulated, on all of its frames.
void choose_stimulated_trials(SimulatedSession& s) {
  const SimulationParams& p = s.params;
  s.stimulated.assign(size_t(p.frames), 0);
  if (!p.opto) return;
  sim::Rng rng(sim::stream_key(p.seed, sim::kOpto));
  for (BciTrial& trial : s.trials) {
    trial.stimulated = rng.uniform() < p.opto_trial_fraction;
    if (!trial.stimulated) continue;
    for (int64_t t = trial.start_frame; t <= trial.end_frame && t < p.frames; ++t) s.stimulated[t] = 1;
  }
}

}  // namespace

namespace sim {

std::vector<float> calcium_kernel(double frame_rate_hz, double rise_s, double decay_s) {
  const int64_t length = std::max<int64_t>(4, int64_t(std::ceil(7.0 * decay_s * frame_rate_hz)));
  std::vector<float> kernel(length);
  double peak = 0;
  std::vector<double> k(length);
  for (int64_t i = 0; i < length; ++i) {
    const double t = double(i) / frame_rate_hz;
    k[i] = (1.0 - std::exp(-t / rise_s)) * std::exp(-t / decay_s);
    peak = std::max(peak, k[i]);
  }
  for (int64_t i = 0; i < length; ++i) kernel[i] = float(k[i] / peak);
  return kernel;
}

void add_kernel(float* trace, int64_t length, int64_t t0, float amplitude, const std::vector<float>& kernel) {
  const int64_t end = std::min<int64_t>(length, t0 + int64_t(kernel.size()));
  for (int64_t t = std::max<int64_t>(0, t0); t < end; ++t) trace[t] += amplitude * kernel[t - t0];
}

}  // namespace sim

void apply_preset(SimulationParams& p, const std::string& preset) {
  if (preset == "default") return;
  if (preset == "irregular-somata") {
    p.irregular_somata = true;
    return;
  }
  if (preset != "dense-cortex")
    throw InputError("--preset: '" + preset + "' is not 'default', 'dense-cortex' or 'irregular-somata'");
  p.dense_cortex = true;
  // ~230 somata per 512 x 512 px at 1 µm/px, a fifth of them unpaired distractors.
  const double area = double(p.height) * p.width * p.pixel_size_um * p.pixel_size_um;
  const int somata = std::max(10, int(std::lround(230.0 * area / (512.0 * 512.0))));
  p.distractors = 2 * (somata / 5);
  p.neurons = somata - p.distractors / 2;
}

void validate(const SimulationParams& p) {
  require(p.height >= 32 && p.width >= 32, "--height and --width must be >= 32 px");
  require(p.frames >= 1, "--frames must be >= 1");
  require(p.frame_rate_hz > 0 && std::isfinite(p.frame_rate_hz), "--frame-rate-hz must be > 0");
  require(p.pixel_size_um > 0.1 && p.pixel_size_um <= 10, "--pixel-size-um must be in (0.1, 10]");
  require(p.neurons >= 0 && p.distractors >= 0, "--neurons and --distractors must be >= 0");
  require(p.ensemble_plus >= 0 && p.ensemble_minus >= 0 &&
              p.ensemble_plus + p.ensemble_minus <= p.neurons,
          "--ensemble-plus + --ensemble-minus must be <= --neurons");
  require(p.max_shift_px >= 0 && p.max_shift_px <= 100, "--max-shift-px must be in [0, 100]");
  require(p.nonrigid_px >= 0 && p.nonrigid_px <= 20, "--nonrigid-px must be in [0, 20]");
  require(std::abs(p.bidi_px) <= 10, "--bidi-px must be in [-10, 10]");
  require(std::isfinite(p.photons_per_unit), "--photons-per-unit must be finite");
  require(std::isfinite(p.c_reward) && std::isfinite(p.c_derr), "--c-reward/--c-derr must be finite");
  require(p.residual_noise >= 0, "--residual-noise must be >= 0");
  require(p.event_rate_hz > 0 && p.event_rate_hz < 5, "--event-rate-hz must be in (0, 5)");
  require(p.dendrite_event_rate_hz >= 0 && p.dendrite_event_rate_hz < 5,
          "--dendrite-event-rate-hz must be in [0, 5)");
  require(p.learning >= 0 && p.learning <= 5, "--learning must be in [0, 5]");
  require(p.early_hit_rate > 0 && p.early_hit_rate < 1, "--early-hit-rate must be in (0, 1)");
  require(p.opto_trial_fraction >= 0 && p.opto_trial_fraction <= 1, "--opto-trial-fraction must be in [0, 1]");
  require(p.opto_dendrite_gain >= 0 && p.opto_dendrite_gain <= 2, "--opto-dendrite-gain must be in [0, 2]");
}

TaskVariables task_variables(const BciFrames& frames, const std::vector<BciTrial>& trials,
                             double frame_rate_hz) {
  const int64_t length = int64_t(frames.cursor.size());
  const int64_t w = int64_t(std::lround(frame_rate_hz));
  TaskVariables v;
  v.error.resize(length);
  v.d_error.resize(length);
  v.reward.assign(length, 0);
  for (int64_t t = 0; t < length; ++t) v.error[t] = std::abs(frames.target[t] - frames.cursor[t]);
  for (int64_t t = 0; t < length; ++t) v.d_error[t] = v.error[t] - v.error[std::max<int64_t>(0, t - w)];
  for (const BciTrial& trial : trials) {
    if (!trial.hit || trial.reward_frame < 0) continue;
    for (int64_t t = std::max<int64_t>(0, trial.reward_frame - w);
         t <= std::min(length - 1, trial.reward_frame + w); ++t)
      v.reward[t] = 1;
  }
  return v;
}

std::vector<std::pair<int, int>> soma_dendrite_pairs(const SimulatedSession& session) {
  std::vector<std::pair<int, int>> pairs;
  for (const SimulatedNeuron& n : session.neurons)
    for (int d : n.dendrite_rois) pairs.emplace_back(n.soma_roi, d);
  return pairs;
}

SimulatedSession simulate_session(const SimulationParams& params) {
  validate(params);
  SimulatedSession s;
  s.params = params;
  const std::vector<std::vector<int>> dendrites = sim::build_geometry(params, s.planes);
  make_neurons(s, dendrites);
  const std::vector<std::vector<Onset>> onsets = simulate_somata(s);
  sim::simulate_bci(s);
  choose_stimulated_trials(s);
  simulate_dendrites(s, onsets);
  std::sort(s.isolated_dendrite_events.begin(), s.isolated_dendrite_events.end(),
            [](const IsolatedDendriteEvent& a, const IsolatedDendriteEvent& b) {
              return a.roi != b.roi ? a.roi < b.roi : a.frame < b.frame;
            });
  sim::simulate_motion(params, s.planes);
  return s;
}

}  // namespace apical
