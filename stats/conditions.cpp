#include "stats/conditions.hpp"

#include <cmath>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "stats/random.hpp"
#include "stats/regression.hpp"

namespace apical::stats {
namespace {

// Test mean minus reference mean, NaN unless both conditions have events.
double difference(const std::vector<double>& residual, const std::vector<uint8_t>& is_test) {
  double sum[2] = {0, 0}, count[2] = {0, 0};
  for (size_t i = 0; i < residual.size(); ++i) {
    sum[is_test[i] ? 1 : 0] += residual[i];
    count[is_test[i] ? 1 : 0] += 1;
  }
  if (count[0] == 0 || count[1] == 0) return NAN;
  return sum[1] / count[1] - sum[0] / count[0];
}

double mean_finite(const std::vector<double>& v) {
  double sum = 0, n = 0;
  for (double d : v)
    if (std::isfinite(d)) sum += d, n += 1;
  return n > 0 ? sum / n : NAN;
}

}  // namespace

ConditionComparison compare_conditions(const std::vector<ConditionEvents>& neurons, int permutations, uint64_t seed) {
  ConditionComparison out;
  for (const ConditionEvents& n : neurons) out.neuron_difference.push_back(difference(n.residual, n.is_test));
  double sum = 0, sum2 = 0;
  for (double d : out.neuron_difference)
    if (std::isfinite(d)) ++out.n_neurons, sum += d, sum2 += d * d;
  if (out.n_neurons == 0) return out;
  out.mean_difference = sum / out.n_neurons;
  if (out.n_neurons >= 2) {
    const double var = (sum2 - out.n_neurons * out.mean_difference * out.mean_difference) / (out.n_neurons - 1);
    out.paired_t = var > 0 ? out.mean_difference / std::sqrt(var / out.n_neurons) : NAN;
    out.paired_p = student_t_two_sided_p(out.paired_t, out.n_neurons - 1);
  }
  if (permutations <= 0) return out;
  std::vector<double> null(size_t(permutations), NAN);
  tbb::parallel_for(tbb::blocked_range<size_t>(0, null.size()), [&](const tbb::blocked_range<size_t>& r) {
    for (size_t s = r.begin(); s != r.end(); ++s) {
      ItemRng rng(seed, s);
      std::vector<double> d(neurons.size(), NAN);
      for (size_t n = 0; n < neurons.size(); ++n) {
        if (!std::isfinite(out.neuron_difference[n])) continue;
        const std::vector<size_t> perm = random_permutation(neurons[n].is_test.size(), rng);
        std::vector<uint8_t> shuffled(perm.size());
        for (size_t i = 0; i < perm.size(); ++i) shuffled[i] = neurons[n].is_test[perm[i]];
        d[n] = difference(neurons[n].residual, shuffled);
      }
      null[s] = mean_finite(d);
    }
  });
  double exceed = 0;
  for (double v : null) exceed += std::abs(v) >= std::abs(out.mean_difference) - 1e-15 ? 1 : 0;
  out.permutation_p = (1.0 + exceed) / (1.0 + double(permutations));
  return out;
}

}  // namespace apical::stats
