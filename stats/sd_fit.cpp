#include "stats/sd_fit.hpp"

#include <cmath>

#include "io/error.hpp"
#include "stats/regression.hpp"

namespace apical::stats {
namespace {

constexpr int kParameters[3] = {2, 1, 2};

double rss_of(const SdFit& f, const arma::vec& x, const arma::vec& y) {
  double rss = 0;
  for (arma::uword i = 0; i < x.n_elem; ++i) rss += std::pow(y[i] - f.predict(x[i]), 2);
  return rss;
}

// Least-squares plateau for a given half-saturation b (closed form), and its RSS.
std::pair<double, double> plateau_for(const arma::vec& x, const arma::vec& y, double b) {
  double gy = 0, gg = 0;
  for (arma::uword i = 0; i < x.n_elem; ++i) {
    const double g = x[i] / (x[i] + b);
    gy += g * y[i];
    gg += g * g;
  }
  const double a = gg > 0 ? gy / gg : 0.0;
  double rss = 0;
  for (arma::uword i = 0; i < x.n_elem; ++i) rss += std::pow(y[i] - a * x[i] / (x[i] + b), 2);
  return {a, rss};
}

// Half-saturation by a log-spaced grid over [0.01, 100] x max(x), then golden-section refinement.
SdFit fit_saturating(const arma::vec& x, const arma::vec& y) {
  SdFit f;
  f.model = SdModel::saturating;
  const double top = x.max();
  if (!(x.min() >= 0) || !(top > 0)) return f;
  const int steps = 200;
  double best_b = 0, best_rss = INFINITY;
  for (int s = 0; s <= steps; ++s) {
    const double b = top * std::pow(10.0, -2.0 + 4.0 * s / steps);
    const double rss = plateau_for(x, y, b).second;
    if (rss < best_rss) best_rss = rss, best_b = b;
  }
  double lo = std::log(best_b) - std::log(10.0) * 4.0 / steps, hi = std::log(best_b) + std::log(10.0) * 4.0 / steps;
  const double g = (std::sqrt(5.0) - 1) / 2;
  for (int it = 0; it < 60; ++it) {
    const double c = hi - g * (hi - lo), d = lo + g * (hi - lo);
    if (plateau_for(x, y, std::exp(c)).second < plateau_for(x, y, std::exp(d)).second) hi = d;
    else lo = c;
  }
  f.b = std::exp(0.5 * (lo + hi));
  f.a = plateau_for(x, y, f.b).first;
  f.ok = std::isfinite(f.a);
  return f;
}

}  // namespace

const char* sd_model_name(SdModel m) {
  switch (m) {
    case SdModel::linear: return "linear";
    case SdModel::proportional: return "proportional";
    case SdModel::saturating: return "saturating";
  }
  return "?";
}

void check_sd_fit_choice(const std::string& choice) {
  if (choice != "linear" && choice != "aic")
    throw InputError("--sd-fit: '" + choice + "' is not 'linear' or 'aic'");
}

double SdFit::predict(double x) const {
  switch (model) {
    case SdModel::linear: return a + b * x;
    case SdModel::proportional: return b * x;
    case SdModel::saturating: return a * x / (x + b);
  }
  return NAN;
}

SdFit fit_sd_model(const arma::vec& x, const arma::vec& y, SdModel model) {
  SdFit f;
  f.model = model;
  const arma::uword n = x.n_elem;
  if (n < 3) return f;
  if (model == SdModel::linear) {
    const OlsFit fit = ols(arma::join_rows(arma::ones(n), x), y);
    if (!std::isfinite(fit.beta[1])) return f;
    f.a = fit.beta[0];
    f.b = fit.beta[1];
    f.ok = true;
  } else if (model == SdModel::proportional) {
    const double xx = arma::dot(x, x);
    if (!(xx > 0)) return f;
    f.a = 0;
    f.b = arma::dot(x, y) / xx;
    f.ok = true;
  } else {
    f = fit_saturating(x, y);
    if (!f.ok) return f;
  }
  const double rss = rss_of(f, x, y), tss = arma::accu(arma::square(y - arma::mean(y)));
  f.r2 = tss > 0 ? 1.0 - rss / tss : NAN;
  f.aic[int(model)] = double(n) * std::log(std::max(rss, 1e-300) / double(n)) + 2.0 * kParameters[int(model)];
  return f;
}

SdFit fit_sd(const arma::vec& x, const arma::vec& y, const std::string& choice) {
  check_sd_fit_choice(choice);
  if (choice == "linear") return fit_sd_model(x, y, SdModel::linear);
  SdFit fits[3] = {fit_sd_model(x, y, SdModel::linear), fit_sd_model(x, y, SdModel::proportional),
                   fit_sd_model(x, y, SdModel::saturating)};
  int best = -1;
  for (int m : {1, 0, 2}) {  // fewer parameters first, so they win ties
    if (!fits[m].ok) continue;
    if (best < 0 || fits[m].aic[m] < fits[best].aic[best]) best = m;
  }
  if (best < 0) return fits[0];
  SdFit out = fits[best];
  for (int m = 0; m < 3; ++m) out.aic[m] = fits[m].aic[m];
  return out;
}

}  // namespace apical::stats
