#pragma once
// Models of the somato-dendritic (SD) relation, dendritic ~ somatic event amplitude, and the
// choice among them by AIC (`apical regress --sd-fit aic`):
//   linear        y = a + b x          (2 parameters; the default --sd-fit linear)
//   proportional  y = b x              (1: the affine fit through the origin)
//   saturating    y = a x / (x + b)    (2: a the plateau, b the half-saturation amplitude > 0)
// AIC = n ln(RSS / n) + 2 k (Gaussian errors; the shared variance parameter cancels). Ties
// go to the model with fewer parameters, then to the earlier one in the list above.
#include <cmath>
#include <string>
#include <vector>

#include <armadillo>

namespace apical::stats {

enum class SdModel : int { linear = 0, proportional = 1, saturating = 2 };
const char* sd_model_name(SdModel model);
// "linear" or "aic"; InputError otherwise.
void check_sd_fit_choice(const std::string& choice);

struct SdFit {
  bool ok = false;            // false: too few points or a degenerate x
  SdModel model = SdModel::linear;
  double a = NAN, b = NAN;    // linear: intercept, slope; proportional: 0, slope; saturating: plateau, half-saturation
  double r2 = NAN;            // 1 - RSS / SS_tot
  double aic[3] = {NAN, NAN, NAN};  // of each model (NaN when not fitted)
  double predict(double x) const;
};

SdFit fit_sd_model(const arma::vec& x, const arma::vec& y, SdModel model);
// "linear": the linear model; "aic": the model of least AIC.
SdFit fit_sd(const arma::vec& x, const arma::vec& y, const std::string& choice);

}  // namespace apical::stats
