// Simulator geometry for --preset irregular-somata: star-shaped cell bodies with off-centre
// nuclei, for checking that soma detection does not rely on round, centred rings.
#include <algorithm>
#include <cmath>

#include "pipeline/validation/simulate_internal.hpp"

namespace apical::sim {

std::vector<SomaPixel> irregular_soma_shape(Rng& rng, double cy, double cx, double px_per_um) {
  // Mean radius 4-8 µm; the outline r(phi) = R (1 + a cos(k phi + p) + b cos((k+1) phi + q))
  // has k = 3..6 lobes (a star) and a weaker second harmonic so no two cells are alike.
  const double radius = rng.uniform(4.0, 8.0) * px_per_um;
  const int lobes = rng.integer(3, 6);
  const double a = rng.uniform(0.15, 0.3), b = rng.uniform(0.0, 0.1);
  const double p = rng.uniform(0, 2 * M_PI), q = rng.uniform(0, 2 * M_PI);
  // The nucleus sits off the centre by up to 40 % of the radius, in a random direction.
  const double offset = rng.uniform(0.15, 0.4) * radius, direction = rng.uniform(0, 2 * M_PI);
  const double ny = cy + offset * std::sin(direction), nx = cx + offset * std::cos(direction);
  const double nucleus_r = rng.uniform(0.3, 0.45) * radius, depth = rng.uniform(0.5, 0.85);
  const double brightness = rng.uniform(350, 700);
  std::vector<SomaPixel> shape;
  const int reach = int(std::ceil(radius * (1 + a + b))) + 1;
  for (int y = int(cy) - reach; y <= int(cy) + reach; ++y)
    for (int x = int(cx) - reach; x <= int(cx) + reach; ++x) {
      const double dy = y - cy, dx = x - cx, phi = std::atan2(dy, dx);
      const double edge = radius * (1 + a * std::cos(lobes * phi + p) + b * std::cos((lobes + 1) * phi + q));
      const double rho = std::hypot(dy, dx) / edge;
      if (rho > 1.0) continue;
      const double in_nucleus = std::hypot(y - ny, x - nx) / nucleus_r;
      const double nucleus = 1.0 - std::clamp((in_nucleus - 0.7) / 0.6, 0.0, 1.0);
      shape.push_back({y, x, float(brightness * (1.0 - 0.3 * rho * rho) * (1.0 - depth * nucleus))});
    }
  return shape;
}

}  // namespace apical::sim
