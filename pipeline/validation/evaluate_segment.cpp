// Scores rois.h5 against the simulator's truth: ROI detection per plane and kind, and pairing.
#include <algorithm>
#include <map>
#include <set>

#include "io/error.hpp"
#include "io/rois_file.hpp"
#include "pipeline/validation/evaluate.hpp"
#include "pipeline/segment/segment.hpp"
#include "pipeline/validation/matching.hpp"

namespace apical {

namespace {

// ROIs of one kind: their pixel lists and their index in the plane.
struct KindRois {
  std::vector<std::vector<uint32_t>> pixels;
  std::vector<int> index;
};

KindRois rois_of_kind(const SparseMasks& masks, int kind) {
  KindRois out;
  for (size_t i = 0; i < masks.count(); ++i) {
    if (i < masks.kind.size() && masks.kind[i] != kind) continue;
    auto px = masks.roi_pixels(i);
    std::sort(px.begin(), px.end());
    out.pixels.push_back(std::move(px));
    out.index.push_back(int(i));
  }
  return out;
}

}  // namespace

std::vector<ScoreRow> score_segmentation(const Truth& truth, const std::string& rois_path) {
  const RoiFile found = accepted_rois(read_rois(rois_path), rois_path);
  std::vector<ScoreRow> rows;
  auto add = [&](const std::string& subject, const std::string& metric, double value) {
    rows.push_back({"segment", subject, metric, value});
  };
  // Per plane: truth ROI index -> found ROI index, for the pairing score.
  std::vector<std::map<int, int>> truth_to_found(truth.planes.size());
  for (size_t k = 0; k < truth.planes.size() && k < found.planes.size(); ++k) {
    const SparseMasks& t = truth.planes[k].masks;
    const SparseMasks& f = found.planes[k].masks;
    if (f.height != 0 && f.width != 0 && (f.height != truth.height || f.width != truth.width))
      throw file_error(rois_path, "plane" + std::to_string(k) + " is " + std::to_string(f.height) + "x" +
                                      std::to_string(f.width) + " but the truth is " + std::to_string(truth.height) +
                                      "x" + std::to_string(truth.width));
    for (int kind : {int(kSoma), int(kDendrite)}) {
      const KindRois tk = rois_of_kind(t, kind), fk = rois_of_kind(f, kind);
      if (tk.pixels.empty() && fk.pixels.empty()) continue;
      const auto matches = match_rois_by_iou(fk.pixels, tk.pixels, 0.5);
      for (const auto& [fi, ti] : matches) truth_to_found[k][tk.index[size_t(ti)]] = fk.index[size_t(fi)];
      const double n_match = double(matches.size());
      const double precision = fk.pixels.empty() ? 0.0 : n_match / double(fk.pixels.size());
      const double recall = tk.pixels.empty() ? 0.0 : n_match / double(tk.pixels.size());
      const double f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
      const std::string subject = "plane" + std::to_string(k) + "/" + (kind == kSoma ? "soma" : "dendrite");
      add(subject, "precision", precision);
      add(subject, "recall", recall);
      add(subject, "f1", f1);
      add(subject, "n_found", double(fk.pixels.size()));
      add(subject, "n_true", double(tk.pixels.size()));
    }
  }

  // Pairing, between truth plane 0 (somata) and plane 1 (dendrites), over ROIs both found.
  if (truth.planes.size() >= 2 && found.planes.size() >= 2 && !truth.pair_soma_roi.empty()) {
    std::set<std::pair<int, int>> true_pairs_found_ids;  // in found indices
    int matchable = 0;
    for (size_t i = 0; i < truth.pair_soma_roi.size(); ++i) {
      auto s = truth_to_found[0].find(truth.pair_soma_roi[i]);
      auto d = truth_to_found[1].find(truth.pair_dendrite_roi[i]);
      if (s == truth_to_found[0].end() || d == truth_to_found[1].end()) continue;
      ++matchable;
      true_pairs_found_ids.insert({s->second, d->second});
    }
    std::set<int> matched_soma, matched_dendrite;
    for (const auto& [t, f] : truth_to_found[0]) matched_soma.insert(f);
    for (const auto& [t, f] : truth_to_found[1]) matched_dendrite.insert(f);
    int recovered = 0, wrong = 0, verifiable = 0, found_pairs = 0;
    for (const RoiPair& p : found.pairs) {
      if (p.soma_plane != 0 || p.dendrite_plane != 1) continue;
      ++found_pairs;
      if (!matched_soma.count(p.soma_roi) || !matched_dendrite.count(p.dendrite_roi)) continue;
      ++verifiable;
      if (true_pairs_found_ids.count({p.soma_roi, p.dendrite_roi})) ++recovered;
      else ++wrong;
    }
    add("pairs", "pairing_accuracy", matchable ? double(recovered) / matchable : 0.0);
    add("pairs", "wrong_pair_fraction", verifiable ? double(wrong) / verifiable : 0.0);
    add("pairs", "n_true", double(truth.pair_soma_roi.size()));
    add("pairs", "n_matchable", double(matchable));
    add("pairs", "n_found", double(found_pairs));
    add("pairs", "n_recovered", double(recovered));
    add("pairs", "n_wrong", double(wrong));
  }
  return rows;
}

}  // namespace apical
