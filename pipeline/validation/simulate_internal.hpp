#pragma once
// Internals of the simulator shared by its source files: a counter-based RNG and the steps
// simulate_session() chains (geometry -> activity -> BCI -> dendrites -> motion).
#include <cmath>
#include <cstdint>
#include <vector>

#include "pipeline/validation/simulate.hpp"

namespace apical::sim {

inline uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// A key for an independent random stream: hash of (seed, tag, i, j). Streams are per item so
// results never depend on the order items are processed in.
inline uint64_t stream_key(uint64_t seed, uint64_t tag, uint64_t i = 0, uint64_t j = 0) {
  uint64_t s = seed;
  uint64_t h = splitmix64(s);
  s = h ^ (tag * 0xd6e8feb86659fd93ULL);
  h = splitmix64(s);
  s = h ^ (i * 0x9fb21c651e98df25ULL);
  h = splitmix64(s);
  s = h ^ (j * 0xc2b2ae3d27d4eb4fULL);
  return splitmix64(s);
}

// Stream tags: one per kind of randomness.
enum StreamTag : uint64_t {
  kGeometry = 1, kNeuronParams, kSomaEvents, kDendriteEvents, kResidual, kEnsemble,
  kBciTargets, kMotion, kNeuropil, kNoise, kOpto,
};

// Splitmix64 stream with the distributions the model needs (own implementations so results
// do not depend on the standard library's distribution algorithms).
class Rng {
 public:
  explicit Rng(uint64_t key) : state_(key) {}
  uint64_t next() { return splitmix64(state_); }
  double uniform() { return double(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  int integer(int lo, int hi) {  // inclusive
    return lo + int(uniform() * double(hi - lo + 1));
  }
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = 1.0 - uniform();  // (0, 1]
    const double u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(2.0 * M_PI * u2);
    has_spare_ = true;
    return r * std::cos(2.0 * M_PI * u2);
  }
  double lognormal(double median, double sigma) { return median * std::exp(sigma * normal()); }

 private:
  uint64_t state_;
  bool has_spare_ = false;
  double spare_ = 0;
};

// Geometry: masks, F0 maps, neuropil, vessels, render model; fills planes[*] except dff and
// motion. Returns, per paired neuron, its dendrite ROI indices in plane 1.
std::vector<std::vector<int>> build_geometry(const SimulationParams& p,
                                             std::vector<SimulatedPlane>& planes);

// --preset irregular-somata (simulate_irregular.cpp): a star-shaped soma (mean radius 4-8 µm,
// 3-6 lobes) with an off-centre dark nucleus, centred near (cy, cx): pixels and resting counts.
struct SomaPixel {
  int y, x;
  float f0;
};
std::vector<SomaPixel> irregular_soma_shape(Rng& rng, double cy, double cx, double px_per_um);

// Peak-normalised GCaMP-like kernel sampled at frames: (1 - e^{-t/rise}) e^{-t/decay}.
std::vector<float> calcium_kernel(double frame_rate_hz, double rise_s, double decay_s);
// trace[t0 + i] += amplitude * kernel[i] within bounds.
void add_kernel(float* trace, int64_t length, int64_t t0, float amplitude,
                const std::vector<float>& kernel);

// Runs the BCI closed loop on a per-frame control signal (already smoothed).
void run_bci(const std::vector<double>& control, const std::vector<int>& trial_targets,
             const BciSettings& settings, double frame_rate_hz, BciFrames& frames,
             std::vector<BciTrial>& trials);
// Picks gain and threshold (calibrated hit rate) and runs the BCI: fills session.bci,
// bci_frames and trials from the soma-plane clean dF/F and the ensemble.
void simulate_bci(SimulatedSession& session);

// Rigid walk, per-plane offsets, non-rigid basis and coefficients, bidi.
void simulate_motion(const SimulationParams& p, std::vector<SimulatedPlane>& planes);

}  // namespace apical::sim
