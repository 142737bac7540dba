// Simulated brain motion: a rigid random walk with jumps shared by both planes (small
// per-plane differences), a smooth non-rigid field, and the scanner's bidi phase offset.
#include <algorithm>
#include <cmath>

#include "pipeline/validation/simulate_internal.hpp"

namespace apical {
namespace sim {
namespace {

void clamp_norm(double& dy, double& dx, double limit) {
  const double norm = std::hypot(dy, dx);
  if (norm > limit && norm > 0) {
    dy *= limit / norm;
    dx *= limit / norm;
  }
}

// Mean-reverting random walk with occasional jumps (~every 20 s), |shift| <= max_shift.
std::vector<Shift> rigid_walk(const SimulationParams& p) {
  std::vector<Shift> shifts(p.frames);
  const double limit = p.max_shift_px;
  if (limit <= 0) return shifts;
  Rng rng(stream_key(p.seed, kMotion, 0));
  const double step = 0.02 * limit, reversion = 0.01;
  const double jump_probability = 1.0 / (20.0 * p.frame_rate_hz);
  double dy = 0.25 * limit * rng.normal(), dx = 0.25 * limit * rng.normal();
  for (int64_t t = 0; t < p.frames; ++t) {
    clamp_norm(dy, dx, limit);
    shifts[t] = {float(dy), float(dx)};
    dy += -reversion * dy + step * rng.normal();
    dx += -reversion * dx + step * rng.normal();
    if (rng.uniform() < jump_probability) {
      dy += 0.4 * limit * rng.normal();
      dx += 0.4 * limit * rng.normal();
    }
  }
  return shifts;
}

// The second plane sits at another depth: same walk plus a small slowly varying offset.
std::vector<Shift> plane_offset(const SimulationParams& p, const std::vector<Shift>& walk) {
  std::vector<Shift> shifts = walk;
  if (p.max_shift_px <= 0) return shifts;
  Rng rng(stream_key(p.seed, kMotion, 1));
  const double oy = rng.uniform(-0.3, 0.3), ox = rng.uniform(-0.3, 0.3);
  const double phi = std::exp(-1.0 / (2.0 * p.frame_rate_hz)), sd = 0.08;
  const double innovation = sd * std::sqrt(1 - phi * phi);
  double ay = 0, ax = 0;
  for (int64_t t = 0; t < p.frames; ++t) {
    double ddy = oy + ay, ddx = ox + ax;
    clamp_norm(ddy, ddx, 0.5);
    double dy = walk[t].dy + ddy, dx = walk[t].dx + ddx;
    clamp_norm(dy, dx, p.max_shift_px);
    shifts[t] = {float(dy), float(dx)};
    ay = phi * ay + innovation * rng.normal();
    ax = phi * ax + innovation * rng.normal();
  }
  return shifts;
}

}  // namespace

void simulate_motion(const SimulationParams& p, std::vector<SimulatedPlane>& planes) {
  const std::vector<Shift> walk = rigid_walk(p);
  planes[0].shifts = walk;
  planes[1].shifts = plane_offset(p, walk);

  // Non-rigid: K low-frequency sinusoidal fields, coefficients slow sinusoids whose sum of
  // magnitudes never exceeds nonrigid_px. Shared by both planes.
  const int k_fields = p.nonrigid_px > 0 ? 3 : 0;
  Rng rng(stream_key(p.seed, kMotion, 2));
  std::vector<NonrigidBasis> basis(k_fields);
  arma::fmat coef(k_fields, p.frames);
  for (int k = 0; k < k_fields; ++k) {
    const double sign_y = rng.uniform() < 0.5 ? -1 : 1, sign_x = rng.uniform() < 0.5 ? -1 : 1;
    basis[k] = {float(sign_y * rng.uniform(0.3, 1.0)), float(sign_x * rng.uniform(0.3, 1.0)),
                float(rng.uniform(0, 2 * M_PI)), float(rng.uniform(0, 2 * M_PI))};
    const double slow = rng.uniform(5.0, 30.0) * p.frame_rate_hz, fast = rng.uniform(1.0, 5.0) * p.frame_rate_hz;
    const double psi1 = rng.uniform(0, 2 * M_PI), psi2 = rng.uniform(0, 2 * M_PI);
    for (int64_t t = 0; t < p.frames; ++t)
      coef(k, t) = float(p.nonrigid_px / k_fields *
                         (0.7 * std::sin(2 * M_PI * t / slow + psi1) + 0.3 * std::sin(2 * M_PI * t / fast + psi2)));
  }
  for (SimulatedPlane& plane : planes) {
    plane.nonrigid_basis = basis;
    plane.nonrigid_coef = coef;
    plane.bidi_offset_px = float(p.bidi_px);
  }
}

}  // namespace sim

Shift displacement_at(const SimulatedPlane& plane, int64_t t, double y, double x) {
  double dy = plane.shifts[t].dy, dx = plane.shifts[t].dx;
  const double h = plane.static_image.rows, w = plane.static_image.cols;
  for (size_t k = 0; k < plane.nonrigid_basis.size(); ++k) {
    const NonrigidBasis& b = plane.nonrigid_basis[k];
    const double arg = 2 * M_PI * (double(b.ky) * y / h + double(b.kx) * x / w);
    dy += plane.nonrigid_coef(k, t) * std::sin(arg + b.phase_y);
    dx += plane.nonrigid_coef(k, t) * std::sin(arg + b.phase_x);
  }
  return {float(dy), float(dx)};
}

}  // namespace apical
