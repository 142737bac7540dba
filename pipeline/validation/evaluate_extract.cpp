// Scores traces.h5 against the simulator's truth (docs/DESIGN.md §5): found ROIs are matched to true
// ROIs (IoU >= 0.5, optimal one-to-one), then per matched ROI the Pearson r of dF/F with the
// clean truth dF/F (median per plane and kind), somatic event precision/recall/F1, and the
// neuropil coefficient error when it was estimated.
//
// Event matching: the truth stores each somatic event's ONSET frame; the detector reports the
// PEAK frame. So each true event's peak is taken from the clean truth dF/F (its maximum between
// the onset and the next onset of that ROI, at most 1 s later), and a detected event counts as
// a hit when its frame lies within +-2 frames of an unmatched true peak (one-to-one, in time
// order). Dendrite-plane events are not scored: the truth lists somatic events only.
#include <algorithm>
#include <cmath>
#include <map>

#include "io/error.hpp"
#include "core/numeric.hpp"
#include "io/rois_file.hpp"
#include "io/traces_file.hpp"
#include "pipeline/validation/evaluate.hpp"
#include "pipeline/segment/segment.hpp"
#include "pipeline/validation/matching.hpp"

namespace apical {

namespace {

constexpr int64_t kEventToleranceFrames = 2;

std::vector<std::vector<uint32_t>> sorted_pixel_lists(const SparseMasks& m) {
  std::vector<std::vector<uint32_t>> lists;
  for (size_t i = 0; i < m.count(); ++i) {
    std::vector<uint32_t> p = m.roi_pixels(i);
    std::sort(p.begin(), p.end());
    p.erase(std::unique(p.begin(), p.end()), p.end());
    lists.push_back(std::move(p));
  }
  return lists;
}

// Peak frame of each true event from its onset (see the file comment).
std::vector<int64_t> true_peaks(const std::vector<int64_t>& onsets, const float* dff, int64_t T, double rate) {
  std::vector<int64_t> peaks;
  const int64_t reach = std::max<int64_t>(1, int64_t(std::lround(rate)));
  for (size_t e = 0; e < onsets.size(); ++e) {
    int64_t end = std::min(T, onsets[e] + reach);
    if (e + 1 < onsets.size()) end = std::min(end, std::max(onsets[e] + 1, onsets[e + 1]));
    int64_t best = onsets[e];
    for (int64_t t = onsets[e]; t < end; ++t)
      if (dff[t] > dff[best]) best = t;
    peaks.push_back(best);
  }
  return peaks;
}

// One-to-one hits between sorted detected and true frames within the tolerance.
int count_hits(const std::vector<int64_t>& detected, const std::vector<int64_t>& truth) {
  std::vector<bool> used(detected.size(), false);
  int hits = 0;
  for (int64_t t : truth) {
    int best = -1;
    for (size_t d = 0; d < detected.size(); ++d) {
      if (used[d] || std::llabs(detected[d] - t) > kEventToleranceFrames) continue;
      if (best < 0 || std::llabs(detected[d] - t) < std::llabs(detected[size_t(best)] - t)) best = int(d);
    }
    if (best >= 0) used[size_t(best)] = true, ++hits;
  }
  return hits;
}

}  // namespace

std::vector<ScoreRow> score_extraction(const Truth& truth, const std::string& rois_path,
                                       const std::string& traces_path) {
  const RoiFile rois = accepted_rois(read_rois(rois_path), rois_path);
  TraceMatrixSelection dff_only;
  dff_only.dff = true;
  const std::vector<TracesPlane> planes = read_traces(traces_path, dff_only);
  // Somatic event onsets per soma-plane ROI.
  std::map<int, std::vector<int64_t>> onsets_of_soma;
  for (const TruthEvent& e : truth.events)
    if (e.neuron >= 0 && size_t(e.neuron) < truth.neuron_soma_roi.size())
      onsets_of_soma[truth.neuron_soma_roi[size_t(e.neuron)]].push_back(e.frame);
  for (auto& [roi, onsets] : onsets_of_soma) std::sort(onsets.begin(), onsets.end());

  std::vector<ScoreRow> rows;
  for (size_t k = 0; k < truth.planes.size() && k < rois.planes.size(); ++k) {
    const std::string plane = "plane" + std::to_string(k);
    if (k >= planes.size()) continue;
    const TracesPlane& traces = planes[k];
    const TruthPlane& tp = truth.planes[k];
    const int64_t T = int64_t(tp.dff.n_cols);
    if (traces.dff.n_rows != rois.planes[k].masks.count())
      throw file_error(traces_path, plane + "/dff is not [N, T] with N = the ROIs of " + rois_path);
    if (int64_t(traces.dff.n_cols) != T)
      throw file_error(traces_path, plane + "/dff has " + std::to_string(traces.dff.n_cols) +
                                        " frames but the truth has " + std::to_string(T));
    const double rate = traces.settings.frame_rate_hz > 0 ? traces.settings.frame_rate_hz : truth.frame_rate_hz;
    const bool estimated = traces.settings.neuropil_estimated;
    const std::vector<float>& coef = traces.table.neuropil_coef;
    const std::vector<int32_t>& ev_roi = traces.events.roi;
    const std::vector<int64_t>& ev_frame = traces.events.frame;

    const auto matches = match_rois_by_iou(sorted_pixel_lists(rois.planes[k].masks), sorted_pixel_lists(tp.masks));
    std::map<std::string, std::vector<double>> r_by_kind;
    double coef_error_sum = 0, coef_bias_sum = 0;
    int64_t detected = 0, true_events = 0, hits = 0;
    std::vector<float> row(static_cast<size_t>(T));
    arma::fmat truth_rows = tp.dff.t();  // column t of the transpose is ROI t's trace, contiguous
    for (const auto& [found, true_roi] : matches) {
      const arma::frowvec found_row = traces.dff.row(arma::uword(found));
      std::copy(found_row.begin(), found_row.end(), row.begin());
      const float* truth_row = truth_rows.colptr(arma::uword(true_roi));
      const std::string kind = tp.masks.kind[size_t(true_roi)] == 0 ? "soma" : "dendrite";
      const double r = pearson(row.data(), truth_row, size_t(T));
      r_by_kind[kind].push_back(std::isfinite(r) ? r : 0.0);  // a flat trace recovers nothing
      if (estimated && size_t(found) < coef.size()) {
        const double e = double(coef[size_t(found)]) - tp.neuropil_coef[size_t(true_roi)];
        coef_error_sum += std::abs(e), coef_bias_sum += e;
      }
      if (tp.role == "soma" && kind == "soma") {
        std::vector<int64_t> mine;
        for (size_t e = 0; e < ev_roi.size(); ++e)
          if (ev_roi[e] == found) mine.push_back(ev_frame[e]);
        std::sort(mine.begin(), mine.end());
        const auto it = onsets_of_soma.find(true_roi);
        const std::vector<int64_t> peaks =
            it == onsets_of_soma.end() ? std::vector<int64_t>{} : true_peaks(it->second, truth_row, T, rate);
        detected += int64_t(mine.size());
        true_events += int64_t(peaks.size());
        hits += count_hits(mine, peaks);
      }
    }
    rows.push_back({"extract", plane, "matched_rois", double(matches.size())});
    for (const auto& [kind, rs] : r_by_kind) {
      rows.push_back({"extract", plane + "/" + kind, "dff_r_median", median(rs)});
      rows.push_back({"extract", plane + "/" + kind, "matched_rois", double(rs.size())});
    }
    if (estimated && !matches.empty()) {
      rows.push_back({"extract", plane, "neuropil_coef_mean_abs_error", coef_error_sum / double(matches.size())});
      rows.push_back({"extract", plane, "neuropil_coef_mean_bias", coef_bias_sum / double(matches.size())});
    }
    if (true_events > 0 || detected > 0) {
      const double precision = detected ? double(hits) / double(detected) : 0.0;
      const double recall = true_events ? double(hits) / double(true_events) : 0.0;
      const double f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
      rows.push_back({"extract", plane + "/soma", "event_precision", precision});
      rows.push_back({"extract", plane + "/soma", "event_recall", recall});
      rows.push_back({"extract", plane + "/soma", "event_f1", f1});
    }
  }
  return rows;
}

}  // namespace apical
