#include "pipeline/regress/regress_io.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <tuple>

#include "io/error.hpp"
#include "io/rois_file.hpp"
#include "io/traces_file.hpp"

namespace apical {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string str(int64_t v) { return std::to_string(v); }

// ------------------------------------------------------------------ reading the inputs

int plane_with_role(const std::vector<TracesPlane>& planes, const std::string& role) {
  for (size_t k = 0; k < planes.size(); ++k)
    if (planes[k].settings.role == role) return int(k);
  return -1;
}

void mask_centroid(const SparseMasks& masks, size_t roi, double& cy, double& cx) {
  const std::vector<uint32_t> pixels = masks.roi_pixels(roi);
  const std::vector<float> weights = masks.roi_weights(roi);
  double sw = 0, sy = 0, sx = 0;
  for (size_t i = 0; i < pixels.size(); ++i) {
    const double w = i < weights.size() && weights[i] > 0 ? weights[i] : 0.0;
    sw += w;
    sy += w * double(pixels[i] / uint32_t(masks.width));
    sx += w * double(pixels[i] % uint32_t(masks.width));
  }
  if (!(sw > 0)) {  // all weights zero: plain mean of the pixels
    sw = double(pixels.size());
    sy = sx = 0;
    for (uint32_t p : pixels) {
      sy += double(p / uint32_t(masks.width));
      sx += double(p % uint32_t(masks.width));
    }
  }
  cy = sw > 0 ? sy / sw : kNaN;
  cx = sw > 0 ? sx / sw : kNaN;
}

// Per soma ROI, its best paired dendrite ROI (highest confidence, then lowest index), or -1.
std::vector<int> dendrite_of_soma(const RoiFile& rois, int soma_plane, int dendrite_plane, size_t n_soma,
                                  size_t n_dendrite, const std::string& rois_path) {
  std::vector<int> best(n_soma, -1);
  std::vector<float> confidence(n_soma, -std::numeric_limits<float>::infinity());
  for (const RoiPair& p : rois.pairs) {
    if (p.soma_plane != soma_plane || p.dendrite_plane != dendrite_plane) continue;
    if (p.soma_roi < 0 || size_t(p.soma_roi) >= n_soma || p.dendrite_roi < 0 || size_t(p.dendrite_roi) >= n_dendrite)
      throw file_error(rois_path, "pair (" + str(p.soma_roi) + ", " + str(p.dendrite_roi) + ") names an ROI that does not exist");
    int& b = best[size_t(p.soma_roi)];
    float& c = confidence[size_t(p.soma_roi)];
    if (p.confidence > c || (p.confidence == c && (b < 0 || p.dendrite_roi < b))) {
      b = p.dendrite_roi;
      c = p.confidence;
    }
  }
  return best;
}

}  // namespace

EnsembleMatch match_ensemble(const std::vector<EnsembleRow>& ensemble, const std::vector<double>& roi_y,
                             const std::vector<double>& roi_x, double radius_px) {
  if (!(radius_px > 0)) throw InputError("regress: --match-radius must be > 0 px");
  EnsembleMatch m;
  for (const EnsembleRow& e : ensemble) {
    m.neuron.push_back(e.neuron);
    m.role.push_back(e.role);
    m.y.push_back(e.y);
    m.x.push_back(e.x);
  }
  m.soma_roi.assign(ensemble.size(), -1);
  m.distance_px.assign(ensemble.size(), kNaN);
  std::vector<std::tuple<double, size_t, size_t>> candidates;  // distance, ensemble row, ROI
  for (size_t e = 0; e < ensemble.size(); ++e)
    for (size_t r = 0; r < roi_y.size(); ++r) {
      const double d = std::hypot(roi_y[r] - ensemble[e].y, roi_x[r] - ensemble[e].x);
      if (d <= radius_px) candidates.emplace_back(d, e, r);
    }
  std::sort(candidates.begin(), candidates.end());
  std::vector<bool> roi_used(roi_y.size(), false);
  for (const auto& [d, e, r] : candidates) {
    if (m.soma_roi[e] >= 0 || roi_used[r]) continue;
    m.soma_roi[e] = int(r);
    m.distance_px[e] = d;
    roi_used[r] = true;
  }
  return m;
}

RegressInputs read_regress_inputs(const std::string& traces_path, const std::string& rois_path,
                                  const std::string& bci_folder, const RegressInputOptions& options) {
  TraceMatrixSelection dff_only;
  dff_only.dff = true;
  std::vector<TracesPlane> planes = read_traces(traces_path, dff_only);
  const RoiFile rois = accepted_rois(read_rois(rois_path), rois_path);
  if (rois.planes.size() != planes.size())
    throw file_error(traces_path, "has " + str(int64_t(planes.size())) + " planes but " + rois_path + " has " +
                                      str(int64_t(rois.planes.size())));
  for (size_t k = 0; k < planes.size(); ++k) {
    if (planes[k].settings.role.empty()) planes[k].settings.role = rois.planes[k].role;
    if (planes[k].dff.n_rows != rois.planes[k].masks.count())
      throw file_error(traces_path, "/plane" + str(int64_t(k)) + "/dff has " + str(int64_t(planes[k].dff.n_rows)) +
                                        " rows but " + rois_path + " has " + str(int64_t(rois.planes[k].masks.count())) +
                                        " ROIs in that plane");
  }
  RegressInputs in;
  in.soma_plane = plane_with_role(planes, "soma");
  in.dendrite_plane = plane_with_role(planes, "dendrite");
  if (in.soma_plane < 0) throw file_error(traces_path, "has no plane with role 'soma'");
  const TracesPlane& soma = planes[size_t(in.soma_plane)];
  const int64_t T = int64_t(soma.dff.n_cols);
  for (size_t k = 0; k < planes.size(); ++k)
    if (int64_t(planes[k].dff.n_cols) != T)
      throw file_error(traces_path, "/plane" + str(int64_t(k)) + "/dff has " + str(int64_t(planes[k].dff.n_cols)) +
                                        " frames but the soma plane has " + str(T));
  in.frame_rate_hz = soma.settings.frame_rate_hz > 0 ? soma.settings.frame_rate_hz : options.frame_rate_hz;
  if (!(in.frame_rate_hz > 0))
    throw file_error(traces_path, "has no frame_rate_hz attribute on /plane" + str(in.soma_plane) +
                                      " (give --frame-rate, or frame-rate in the [regress] section of apical.ini)");

  const BciLog log = read_bci_log(bci_folder);
  if (int64_t(log.frames.size()) != T)
    throw file_error((std::filesystem::path(bci_folder) / "frames.csv").string(),
                     "has " + str(int64_t(log.frames.size())) + " frames but " + traces_path + " has " + str(T) +
                         ": the BCI log and the imaging disagree (check that they belong to the same session "
                         "and that no frames were dropped)");
  for (size_t t = 0; t < log.frames.size(); ++t)
    if (log.frames[t].frame != int64_t(t))
      throw file_error((std::filesystem::path(bci_folder) / "frames.csv").string(),
                       "row " + str(int64_t(t) + 2) + " has frame " + str(log.frames[t].frame) + "; expected " +
                           str(int64_t(t)) + " (one row per imaging frame, from 0)");
  in.log = behaviour_log(log);

  const SparseMasks& masks = rois.planes[size_t(in.soma_plane)].masks;
  check_bci_log_fits(log, T, masks.height, masks.width);
  const size_t n = masks.count();
  in.centroid_y.resize(n);
  in.centroid_x.resize(n);
  for (size_t r = 0; r < n; ++r) mask_centroid(masks, r, in.centroid_y[r], in.centroid_x[r]);
  in.ensemble = match_ensemble(log.ensemble, in.centroid_y, in.centroid_x, options.match_radius_px);

  const size_t n_dendrite = in.dendrite_plane >= 0 ? planes[size_t(in.dendrite_plane)].dff.n_rows : 0;
  const std::vector<int> dendrite = dendrite_of_soma(rois, in.soma_plane, in.dendrite_plane, n, n_dendrite, rois_path);
  in.ensemble_neuron.assign(n, -1);
  in.neurons.resize(n);
  for (size_t r = 0; r < n; ++r) {
    in.neurons[r].soma_roi = int(r);
    in.neurons[r].dendrite_roi = dendrite[r];
  }
  for (size_t e = 0; e < in.ensemble.soma_roi.size(); ++e) {
    const int r = in.ensemble.soma_roi[e];
    if (r < 0) continue;
    in.neurons[size_t(r)].role = in.ensemble.role[e];
    in.ensemble_neuron[size_t(r)] = in.ensemble.neuron[e];
  }
  in.soma_dff = std::move(planes[size_t(in.soma_plane)].dff);
  if (in.dendrite_plane >= 0) in.dendrite_dff = std::move(planes[size_t(in.dendrite_plane)].dff);
  return in;
}

RegressInputRecord input_record(const RegressInputs& in) {
  return {in.soma_plane, in.dendrite_plane, in.ensemble_neuron, in.centroid_y, in.centroid_x, in.ensemble, in.log.time_s};
}

}  // namespace apical
