#pragma once
// Comparing SD residuals between two conditions (e.g. opto on vs off) across neurons.
// Each neuron contributes the difference of its mean residual in the test condition and in
// the reference condition, when it has events in both. Across neurons:
//   paired t-test: mean difference / (SD / sqrt(n)), Student t with n - 1 df, two-sided;
//   permutation test: the condition labels are shuffled among each neuron's own events
//     (keeping every neuron's event counts), the statistic is the mean difference across
//     neurons, two-sided p = (1 + #{|null| >= |observed|}) / (1 + permutations).
#include <cmath>
#include <cstdint>
#include <vector>

namespace apical::stats {

// One neuron's events: residual and label (1 test condition, 0 reference).
struct ConditionEvents {
  std::vector<double> residual;
  std::vector<uint8_t> is_test;
};

struct ConditionComparison {
  int n_neurons = 0;                 // neurons with events in both conditions
  double mean_difference = NAN;      // mean over those neurons of (test mean - reference mean)
  double paired_t = NAN, paired_p = NAN, permutation_p = NAN;
  std::vector<double> neuron_difference;  // per input neuron (NaN when not in both)
};

// Deterministic for a seed at any thread count (one random stream per permutation).
ConditionComparison compare_conditions(const std::vector<ConditionEvents>& neurons, int permutations, uint64_t seed);

}  // namespace apical::stats
