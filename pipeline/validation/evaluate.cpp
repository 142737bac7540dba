#include "pipeline/validation/evaluate.hpp"

#include <cmath>

#include "io/error.hpp"
#include "io/registered_file.hpp"

namespace apical {


void offset_free_errors(const std::vector<Shift>& estimate, const std::vector<Shift>& truth, double& rms,
                        double& max_error, double& within_half) {
  // Frames without signal carry a NaN shift (not registered): they are not scored.
  std::vector<size_t> scored;
  for (size_t t = 0; t < std::min(estimate.size(), truth.size()); ++t)
    if (std::isfinite(estimate[t].dy) && std::isfinite(estimate[t].dx)) scored.push_back(t);
  const size_t n = scored.size();
  double mean_dy = 0, mean_dx = 0;
  for (size_t t : scored) {
    mean_dy += estimate[t].dy - truth[t].dy;
    mean_dx += estimate[t].dx - truth[t].dx;
  }
  mean_dy /= double(std::max<size_t>(n, 1));
  mean_dx /= double(std::max<size_t>(n, 1));
  double sum_sq = 0;
  size_t within = 0;
  max_error = 0;
  for (size_t t : scored) {
    double ey = estimate[t].dy - truth[t].dy - mean_dy, ex = estimate[t].dx - truth[t].dx - mean_dx;
    double e = std::hypot(ey, ex);
    sum_sq += e * e;
    max_error = std::max(max_error, e);
    within += e <= 0.5;
  }
  rms = std::sqrt(sum_sq / double(std::max<size_t>(n, 1)));
  within_half = double(within) / double(std::max<size_t>(n, 1));
}

std::vector<RegistrationScore> score_registration(const Truth& truth, const std::string& registered_path) {
  const std::vector<RegisteredPlane> planes = read_registered(registered_path, {.images = false, .block_shifts = true});
  std::vector<RegistrationScore> scores;
  for (size_t k = 0; k < truth.planes.size() && k < planes.size(); ++k) {
    const RegisteredPlane& plane = planes[k];
    const TruthPlane& tp = truth.planes[k];
    const std::vector<Shift>& est = plane.shifts;
    if (est.size() != tp.shifts.size())
      throw file_error(registered_path, "plane" + std::to_string(k) + " has " + std::to_string(est.size()) +
                                            " frames but the truth has " + std::to_string(tp.shifts.size()));
    RegistrationScore s;
    s.plane = int(k);
    offset_free_errors(est, tp.shifts, s.shift_rms_error_px, s.shift_max_error_px, s.fraction_within_half_px);
    s.bidi_error_px = plane.bidi_offset_px - tp.bidi_offset_px;
    if (plane.nonrigid()) {
      const std::vector<float>& cy = plane.block_centres_y;
      const std::vector<float>& cx = plane.block_centres_x;
      const size_t nb = cy.size() * cx.size(), T = std::min(est.size(), plane.block_shifts.size());
      // Per block, the mean difference is a constant the reference absorbed: remove it.
      std::vector<Shift> e_block, t_block;
      double sum_sq = 0;
      for (size_t b = 0; b < nb; ++b) {
        double y = cy[b / cx.size()], x = cx[b % cx.size()];
        e_block.clear();
        t_block.clear();
        for (size_t t = 0; t < T; ++t) {
          const Shift& bs = plane.block_shifts[t][b];
          e_block.push_back({est[t].dy + bs.dy, est[t].dx + bs.dx});
          Shift nr = tp.nonrigid_at(int64_t(t), y, x);
          t_block.push_back({tp.shifts[t].dy + nr.dy, tp.shifts[t].dx + nr.dx});
        }
        double rms, max_e, within;
        offset_free_errors(e_block, t_block, rms, max_e, within);
        sum_sq += rms * rms;
      }
      s.block_rms_error_px = std::sqrt(sum_sq / double(std::max<size_t>(nb, 1)));
    }
    scores.push_back(s);
  }
  return scores;
}

}  // namespace apical
