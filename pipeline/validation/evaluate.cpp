#include "pipeline/validation/evaluate.hpp"

#include <cmath>

#include "io/error.hpp"
#include "io/h5.hpp"

namespace apical {

namespace {

std::vector<Shift> read_shift_rows(const h5::Group& g, const std::string& name) {
  std::vector<float> rows = g.read<float>(name);
  std::vector<Shift> shifts;
  for (size_t i = 0; i + 1 < rows.size(); i += 2) shifts.push_back({rows[i], rows[i + 1]});
  return shifts;
}

}  // namespace

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
  h5::File file = h5::File::open_read(registered_path);
  h5::Group root = file.root();
  std::vector<RegistrationScore> scores;
  for (size_t k = 0; k < truth.planes.size() && root.has("plane" + std::to_string(k)); ++k) {
    h5::Group g = root.group("plane" + std::to_string(k));
    const TruthPlane& tp = truth.planes[k];
    std::vector<Shift> est = read_shift_rows(g, "shifts");
    if (est.size() != tp.shifts.size())
      throw file_error(registered_path, "plane" + std::to_string(k) + " has " + std::to_string(est.size()) +
                                            " frames but the truth has " + std::to_string(tp.shifts.size()));
    RegistrationScore s;
    s.plane = int(k);
    offset_free_errors(est, tp.shifts, s.shift_rms_error_px, s.shift_max_error_px, s.fraction_within_half_px);
    s.bidi_error_px = g.number_attribute("bidi_offset_px").value_or(0) - tp.bidi_offset_px;
    if (g.has("block_shifts")) {
      std::vector<float> cy = g.read<float>("block_centres_y"), cx = g.read<float>("block_centres_x");
      std::vector<float> blocks = g.read<float>("block_shifts");
      size_t nb = cy.size() * cx.size(), T = est.size();
      // Per block, the mean difference is a constant the reference absorbed: remove it.
      std::vector<Shift> e_block, t_block;
      double sum_sq = 0;
      for (size_t b = 0; b < nb; ++b) {
        double y = cy[b / cx.size()], x = cx[b % cx.size()];
        e_block.clear();
        t_block.clear();
        for (size_t t = 0; t < T; ++t) {
          const float* bs = blocks.data() + (t * nb + b) * 2;
          e_block.push_back({est[t].dy + bs[0], est[t].dx + bs[1]});
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
