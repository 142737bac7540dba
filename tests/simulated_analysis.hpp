#pragma once
// The inputs analyze_session() takes, straight from the simulator (no imaging stages): each
// soma's and each neuron's first dendrite ROI's clean dF/F plus white noise (0.03 dF/F,
// seeded by the session's seed), the neurons, and the BCI log as regress reads it.
#include <random>
#include <vector>

#include <armadillo>

#include "pipeline/regress/regress.hpp"
#include "pipeline/validation/simulate.hpp"
#include "pipeline/validation/truth.hpp"

namespace apical::test {

struct SimulatedAnalysis {
  SimulatedSession sim;
  arma::fmat soma, dendrite;
  std::vector<NeuronInput> neurons;
  BehaviourLog log;
};

inline SimulatedAnalysis simulated_analysis(const SimulationParams& sp) {
  SimulatedAnalysis s{simulate_session(sp), {}, {}, {}, {}};
  s.soma = s.sim.planes[0].dff;
  s.dendrite = s.sim.planes[1].dff;
  std::mt19937_64 rng(sp.seed);
  std::normal_distribution<float> noise(0.0f, 0.03f);
  s.soma.transform([&](float v) { return v + noise(rng); });
  s.dendrite.transform([&](float v) { return v + noise(rng); });
  for (const SimulatedNeuron& n : s.sim.neurons)
    s.neurons.push_back({n.soma_roi, n.dendrite_rois.empty() ? -1 : n.dendrite_rois[0], n.role});
  s.log = behaviour_log(simulated_bci_log(s.sim));
  return s;
}

}  // namespace apical::test
