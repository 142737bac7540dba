// Simulated closed-loop BCI: ensemble control -> 7-position cursor -> trials and rewards.
#include <algorithm>
#include <cmath>

#include "pipeline/validation/simulate_internal.hpp"

namespace apical::sim {
namespace {

constexpr int kMaxPosition = 6;

// Smoothed control: mean dF/F of P+ somata minus mean dF/F of P- somata.
std::vector<double> ensemble_control(const SimulatedSession& s) {
  const SimulatedPlane& plane = s.planes[0];
  const int64_t frames = s.params.frames;
  std::vector<double> control(frames, 0.0);
  int plus = 0, minus = 0;
  for (const SimulatedNeuron& n : s.neurons) {
    plus += n.role > 0;
    minus += n.role < 0;
  }
  for (const SimulatedNeuron& n : s.neurons) {
    if (n.role == 0) continue;
    const double weight = n.role > 0 ? 1.0 / plus : -1.0 / minus;
    for (int64_t t = 0; t < frames; ++t) control[t] += weight * plane.dff(n.soma_roi, t);
  }
  const double alpha = 1.0 - std::exp(-1.0 / (s.bci.smoothing_s * s.params.frame_rate_hz));
  double smooth = frames > 0 ? control[0] : 0.0;
  for (int64_t t = 0; t < frames; ++t) {
    smooth += alpha * (control[t] - smooth);
    control[t] = smooth;
  }
  return control;
}

double hit_rate_of_early_trials(const std::vector<BciTrial>& trials, int64_t frames) {
  int early = 0, hits = 0;
  for (const BciTrial& t : trials)
    if (t.start_frame < frames / 3) {
      ++early;
      hits += t.hit;
    }
  if (early < 3) {  // short sessions: calibrate on all trials
    early = int(trials.size());
    hits = 0;
    for (const BciTrial& t : trials) hits += t.hit;
  }
  return early > 0 ? double(hits) / early : 0.0;
}

}  // namespace

void run_bci(const std::vector<double>& control, const std::vector<int>& trial_targets,
             const BciSettings& settings, double frame_rate_hz, BciFrames& frames,
             std::vector<BciTrial>& trials) {
  const int64_t length = int64_t(control.size());
  const int64_t iti = std::max<int64_t>(1, std::lround(settings.iti_s * frame_rate_hz));
  const int64_t timeout = std::max<int64_t>(1, std::lround(settings.timeout_s * frame_rate_hz));
  frames.time_s.resize(length);
  frames.control = control;
  frames.cursor.assign(length, 0);
  frames.target.assign(length, 0);
  frames.trial.assign(length, -1);
  trials.clear();
  for (int64_t t = 0; t < length; ++t) frames.time_s[t] = double(t) / frame_rate_hz;

  int64_t t = 0;
  int id = 0;
  while (t < length) {
    const int target = trial_targets[std::min<size_t>(id, trial_targets.size() - 1)];
    const int64_t iti_end = std::min(length, t + iti);
    for (; t < iti_end; ++t) frames.target[t] = target;  // cursor parked at 0
    if (t + timeout > length) {  // no room for a whole trial: the rest is inter-trial
      for (; t < length; ++t) frames.target[t] = target;
      break;
    }
    BciTrial trial;
    trial.trial = id;
    trial.start_frame = t;
    trial.end_frame = t + timeout - 1;
    double position = 0;
    for (int64_t f = t; f < t + timeout; ++f) {
      if (f > t)
        position = std::clamp(position + settings.gain * (control[f] - settings.threshold) / frame_rate_hz,
                              0.0, double(kMaxPosition));
      const int cursor = std::min(target, int(std::lround(position)));
      frames.cursor[f] = cursor;
      frames.target[f] = target;
      frames.trial[f] = id;
      if (cursor == target) {
        trial.hit = true;
        trial.end_frame = f;
        trial.reward_frame = f;
        break;
      }
    }
    trials.push_back(trial);
    t = trial.end_frame + 1;
    ++id;
  }
}

void simulate_bci(SimulatedSession& s) {
  const SimulationParams& p = s.params;
  const std::vector<double> control = ensemble_control(s);
  double mean = 0, var = 0, lo = 0, hi = 0;
  if (!control.empty()) {
    for (double c : control) mean += c;
    mean /= control.size();
    for (double c : control) var += (c - mean) * (c - mean);
    var /= control.size();
    lo = *std::min_element(control.begin(), control.end());
    hi = *std::max_element(control.begin(), control.end());
  }
  // One control s.d. held for a second moves the cursor 3 positions.
  s.bci.gain = var > 1e-12 ? 3.0 / std::sqrt(var) : 0.0;

  Rng rng(stream_key(p.seed, kBciTargets));
  const int64_t iti = std::max<int64_t>(1, std::lround(s.bci.iti_s * p.frame_rate_hz));
  std::vector<int> targets(size_t(p.frames / iti + 2));
  for (int& target : targets) target = rng.integer(4, kMaxPosition);

  // The online threshold was set for a fixed early hit rate; the hit rate falls as the
  // threshold rises, so bisect.
  s.bci.threshold = mean;
  if (s.bci.gain > 0) {
    for (int iter = 0; iter < 40; ++iter) {
      const double mid = 0.5 * (lo + hi);
      s.bci.threshold = mid;
      run_bci(control, targets, s.bci, p.frame_rate_hz, s.bci_frames, s.trials);
      if (s.trials.empty()) break;
      if (hit_rate_of_early_trials(s.trials, p.frames) > p.early_hit_rate)
        lo = mid;
      else
        hi = mid;
    }
    if (!s.trials.empty()) s.bci.threshold = 0.5 * (lo + hi);
  }
  run_bci(control, targets, s.bci, p.frame_rate_hz, s.bci_frames, s.trials);
}

}  // namespace apical::sim
