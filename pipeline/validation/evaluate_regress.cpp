// score_regression: regress.h5 against the simulator's truth (roles and coefficients).
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/numeric.hpp"
#include "io/error.hpp"
#include "io/regress_file.hpp"
#include "pipeline/regress/regress_io.hpp"
#include "pipeline/validation/evaluate.hpp"

namespace apical {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Ranks 1..n with ties given their average rank.
std::vector<double> average_ranks(const std::vector<double>& v) {
  std::vector<size_t> order(v.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> rank(v.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    for (size_t k = i; k <= j; ++k) rank[order[k]] = 0.5 * double(i + j) + 1.0;
    i = j + 1;
  }
  return rank;
}

double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  const std::vector<double> ra = average_ranks(a), rb = average_ranks(b);
  return pearson(ra.data(), rb.data(), std::min(ra.size(), rb.size()));
}

// Centroid (mean pixel position) of each truth ROI of a plane.
void truth_centroids(const TruthPlane& plane, std::vector<double>& cy, std::vector<double>& cx) {
  const SparseMasks& m = plane.masks;
  cy.assign(m.count(), kNaN);
  cx.assign(m.count(), kNaN);
  for (size_t r = 0; r < m.count(); ++r) {
    const std::vector<uint32_t> px = m.roi_pixels(r);
    if (px.empty()) continue;
    double sy = 0, sx = 0;
    for (uint32_t p : px) {
      sy += double(p / uint32_t(m.width));
      sx += double(p % uint32_t(m.width));
    }
    cy[r] = sy / double(px.size());
    cx[r] = sx / double(px.size());
  }
}

// The true opto effect (simulate --opto): per paired neuron with events in both conditions,
// the mean dendritic amplitude change of its stimulated events; averaged over neurons. It is
// what --reference-condition opto=0's mean residual difference estimates. NaN without /opto.
double true_opto_effect(const Truth& truth) {
  if (!truth.opto) return kNaN;
  const std::vector<uint8_t>& opto = truth.opto->event_opto;
  const std::vector<float>& shift = truth.opto->event_shift;
  std::vector<double> sum(truth.neuron_soma_roi.size(), 0), on(sum.size(), 0), off(sum.size(), 0);
  for (size_t i = 0; i < opto.size(); ++i) {
    const size_t n = size_t(truth.events[i].neuron);
    if (n >= sum.size()) continue;
    (opto[i] ? on : off)[n] += 1;
    if (opto[i]) sum[n] += shift[i];
  }
  double total = 0, neurons = 0;
  for (size_t n = 0; n < sum.size(); ++n)
    if (on[n] > 0 && off[n] > 0 && sum[n] != 0) total += sum[n] / on[n], neurons += 1;  // 0: unpaired
  return neurons > 0 ? total / neurons : kNaN;
}

}  // namespace

std::vector<ScoreRow> score_regression(const Truth& truth, const std::string& regress_path) {
  const RegressFile file = read_regress(regress_path);
  const RegressResult& R = file.result;
  if (truth.planes.empty()) throw file_error(truth.path, "has no planes");
  if (R.frames != int64_t(truth.planes[0].dff.n_cols))
    throw file_error(regress_path, "analysed " + std::to_string(R.frames) + " frames but the truth has " +
                                       std::to_string(truth.planes[0].dff.n_cols));
  const auto column = [&](const std::string& term) {
    for (size_t k = 0; k < R.glm_terms.size(); ++k)
      if (R.glm_terms[k] == term) return arma::uword(k);
    throw file_error(regress_path, "/glm has no term '" + term + "'");
  };
  const arma::uword c_reward = column("reward"), c_derr = column("d_error");

  // Regress neurons -> truth neurons by soma centroid (works for true and segmented ROIs).
  std::vector<double> ty, tx;
  truth_centroids(truth.planes[0], ty, tx);
  const std::vector<double>& ry = file.inputs.centroid_y;
  const std::vector<double>& rx = file.inputs.centroid_x;
  std::vector<EnsembleRow> as_rows;
  for (size_t n = 0; n < truth.neuron_soma_roi.size(); ++n) {
    const int roi = truth.neuron_soma_roi[n];
    as_rows.push_back({int(n), 0, float(ty.at(size_t(roi))), float(tx.at(size_t(roi)))});
  }
  const EnsembleMatch match = match_ensemble(as_rows, ry, rx, 4.0);

  int matched = 0, role_correct = 0, ensemble = 0, ensemble_correct = 0;
  struct Coefficient {
    const char* name;
    arma::uword column;
    const std::vector<float>& truth;
    std::vector<double> est, tru;
    int signed_n = 0, sign_correct = 0;
  };
  Coefficient coefs[] = {{"reward", c_reward, truth.beta_reward, {}, {}},
                         {"d_error", c_derr, truth.beta_derr, {}, {}}};
  for (size_t n = 0; n < match.soma_roi.size(); ++n) {
    const int r = match.soma_roi[n];
    const int true_role = truth.neuron_role.at(n);
    if (true_role != 0) ++ensemble;
    if (r < 0) continue;
    ++matched;
    role_correct += R.role.at(size_t(r)) == true_role;
    if (true_role != 0) ensemble_correct += R.role.at(size_t(r)) == true_role;
    for (Coefficient& c : coefs) {
      const double est = R.glm_beta(arma::uword(r), c.column), tru = c.truth.at(n);
      if (!std::isfinite(est)) continue;
      c.est.push_back(est);
      c.tru.push_back(tru);
      if (std::abs(tru) > 1e-6) {
        ++c.signed_n;
        c.sign_correct += (est > 0) == (tru > 0);
      }
    }
  }
  std::vector<ScoreRow> rows;
  const double n_truth = double(truth.neuron_soma_roi.size());
  rows.push_back({"regress", "neurons", "matched_fraction", n_truth > 0 ? matched / n_truth : kNaN});
  rows.push_back({"regress", "neurons", "role_accuracy", matched > 0 ? double(role_correct) / matched : kNaN});
  rows.push_back({"regress", "ensemble", "role_recall", ensemble > 0 ? double(ensemble_correct) / ensemble : kNaN});
  for (const Coefficient& c : coefs) {
    const std::string term = c.name;
    rows.push_back({"regress", term, "sign_accuracy", c.signed_n > 0 ? double(c.sign_correct) / c.signed_n : kNaN});
    rows.push_back({"regress", term, "sign_tested_neurons", double(c.signed_n)});
    rows.push_back({"regress", term, "rank_correlation", spearman(c.est, c.tru)});
  }
  const double opto_truth = true_opto_effect(truth);
  if (std::isfinite(opto_truth) && !R.conditions.mean_difference.empty()) {
    const double measured = R.conditions.mean_difference[0];
    rows.push_back({"regress", "opto", "effect_measured", measured});
    rows.push_back({"regress", "opto", "effect_true", opto_truth});
    rows.push_back({"regress", "opto", "effect_relative_error", (measured - opto_truth) / std::abs(opto_truth)});
  }
  return rows;
}

}  // namespace apical
