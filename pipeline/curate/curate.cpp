#include "pipeline/curate/curate.hpp"

#include <algorithm>
#include <filesystem>
#include <numeric>

#include "core/roi_codes.hpp"
#include "io/atomic_output.hpp"
#include "io/error.hpp"
#include "io/schema.hpp"

namespace apical {

namespace fs = std::filesystem;

namespace {

std::string plane_roi(int64_t plane, int64_t roi) {
  return "plane " + std::to_string(plane) + " ROI " + std::to_string(roi);
}

void check_decisions(const RoiFile& rois, const CurationDecisions& decisions, const std::string& path) {
  for (size_t i = 0; i < decisions.decisions.size(); ++i) {
    const RoiDecision& d = decisions.decisions[i];
    const std::string where = "decision " + std::to_string(i) + ": ";
    if (size_t(d.plane) >= rois.planes.size())
      throw file_error(path, where + "plane " + std::to_string(d.plane) + " is out of range (rois.h5 has " +
                                 std::to_string(rois.planes.size()) + " plane(s), 0.." +
                                 std::to_string(rois.planes.size() - 1) + ")");
    const size_t n = rois.planes[size_t(d.plane)].masks.count();
    if (uint64_t(d.roi) >= n)
      throw file_error(path, where + "unknown ROI: " + plane_roi(d.plane, d.roi) + " does not exist (plane " +
                                 std::to_string(d.plane) + " has " + std::to_string(n) + " ROIs, 0.." +
                                 std::to_string(int64_t(n) - 1) + ")");
  }
}

// A per-ROI column in the new order; empty stays empty, any other length is a broken file.
template <typename T>
std::vector<T> reordered(const std::vector<T>& column, const std::vector<size_t>& order, const std::string& what,
                         const std::string& rois_path) {
  if (column.empty()) return column;
  if (column.size() != order.size())
    throw file_error(rois_path, what + " has " + std::to_string(column.size()) + " values for " +
                                    std::to_string(order.size()) + " ROIs");
  std::vector<T> out;
  out.reserve(order.size());
  for (size_t i : order) out.push_back(column[i]);
  return out;
}

// Accepted ROIs first (each group in its old order), so the file's contract holds again.
std::vector<size_t> accepted_first(const std::vector<uint8_t>& rejection) {
  std::vector<size_t> order(rejection.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_partition(order.begin(), order.end(), [&](size_t i) { return rejection[i] == 0; });
  return order;
}

std::string with_curated_label(const std::string& labels) {
  const std::string base = labels.empty() ? std::string(kRejectionLabels) : labels;
  return base.find(kCuratedRejectionLabel) == std::string::npos ? base + ";" + kCuratedRejectionLabel : base;
}

// The plane with its ROIs in `order` (masks, features, codes; images stay as they are).
RoiPlane reordered_plane(const RoiPlane& in, const std::vector<size_t>& order, size_t k, const std::string& rois_path) {
  const std::string group = "/plane" + std::to_string(k) + "/";
  RoiPlane out = in;
  out.masks = SparseMasks{};
  out.masks.height = in.masks.height;
  out.masks.width = in.masks.width;
  for (size_t i : order) out.masks.add(in.masks.roi_pixels(i), in.masks.roi_weights(i), in.masks.kind.at(i));
  out.rejection = reordered(in.rejection, order, group + "rejection", rois_path);
  out.source = reordered(in.source, order, group + "source", rois_path);
  out.curated = reordered(in.curated, order, group + "curated", rois_path);
  if (in.features) {
    auto columns = out.features->columns();
    const auto originals = in.features->columns();
    for (size_t c = 0; c < columns.size(); ++c)
      *columns[c].second = reordered(*originals[c].second, order, group + "stats/" + originals[c].first, rois_path);
  }
  return out;
}

// Sets each decided ROI's rejection code and curated flag, counting per plane.
RoiFile decided_rois(const RoiFile& rois, const CurationDecisions& decisions, std::vector<PlaneCuration>& counts) {
  RoiFile decided = rois;
  counts.assign(rois.planes.size(), {});
  for (size_t k = 0; k < decided.planes.size(); ++k) {
    RoiPlane& p = decided.planes[k];
    counts[k].accepted_before = p.accepted_count();
    if (p.rejection.empty()) p.rejection.assign(p.masks.count(), 0);  // older files: every ROI accepted
    if (p.curated.empty()) p.curated.assign(p.masks.count(), 0);
  }
  for (const RoiDecision& d : decisions.decisions) {
    RoiPlane& p = decided.planes[size_t(d.plane)];
    PlaneCuration& c = counts[size_t(d.plane)];
    const size_t i = size_t(d.roi);
    c.changed += (p.rejection[i] == 0) != d.accepted;
    (d.accepted ? c.accepted_by_hand : c.rejected_by_hand) += 1;
    p.rejection[i] = d.accepted ? 0 : kCuratedRejection;
    p.curated[i] = 1;
    if (!d.accepted) p.rejection_labels = with_curated_label(p.rejection_labels);
  }
  return decided;
}

// The pairs with their ROIs' new indices; a pair with a rejected end is dropped (counted).
std::vector<RoiPair> moved_pairs(const std::vector<RoiPair>& pairs, const std::vector<std::vector<size_t>>& new_index,
                                 const std::vector<PlaneCuration>& planes, size_t& dropped) {
  std::vector<RoiPair> kept;
  for (const RoiPair& pair : pairs) {
    const size_t sp = size_t(pair.soma_plane), dp = size_t(pair.dendrite_plane);
    RoiPair moved = pair;
    moved.soma_roi = int(new_index[sp][size_t(pair.soma_roi)]);
    moved.dendrite_roi = int(new_index[dp][size_t(pair.dendrite_roi)]);
    if (size_t(moved.soma_roi) < planes[sp].accepted_after && size_t(moved.dendrite_roi) < planes[dp].accepted_after)
      kept.push_back(moved);
    else
      ++dropped;
  }
  return kept;
}

}  // namespace

CurationResult apply_curation(const RoiFile& rois, const CurationDecisions& decisions,
                              const std::string& decisions_path, const std::string& rois_path) {
  check_decisions(rois, decisions, decisions_path);
  CurationResult result;
  const RoiFile decided = decided_rois(rois, decisions, result.planes);
  result.rois = decided;
  std::vector<std::vector<size_t>> new_index(decided.planes.size());  // old index -> new, per plane
  for (size_t k = 0; k < decided.planes.size(); ++k) {
    const std::vector<size_t> order = accepted_first(decided.planes[k].rejection);
    new_index[k].resize(order.size());
    for (size_t j = 0; j < order.size(); ++j) new_index[k][order[j]] = j;
    result.rois.planes[k] = reordered_plane(decided.planes[k], order, k, rois_path);
    result.planes[k].accepted_after = result.rois.planes[k].accepted_count();
  }
  result.rois.pairs = moved_pairs(decided.pairs, new_index, result.planes, result.pairs_dropped);
  return result;
}

CurationResult curate_session(const fs::path& session, const std::string& decisions_path, Provenance provenance) {
  const std::string rois_path = (session / "apical" / "rois.h5").string();
  if (!fs::exists(rois_path))
    throw file_error(rois_path, "not found: the session has no ROIs to curate (run apical segment or apical run first)");
  const CurationDecisions decisions = read_curation_file(decisions_path);
  RoiFile rois = read_rois(rois_path);
  read_roi_images(rois_path, rois);
  const RecordedProvenance made = read_provenance(rois_path);
  const CuratedRoisIdentity identity = rois_identity(made.created_utc, rois);
  if (decisions.rois_h5 && !(*decisions.rois_h5 == identity))
    throw file_error(decisions_path, "was decided on another rois.h5 (written " + decisions.rois_h5->created_utc +
                                         ", fingerprint " + decisions.rois_h5->fingerprint + ") than " + rois_path +
                                         " (written " + made.created_utc + ", fingerprint " + identity.fingerprint +
                                         "); ROI indices differ between files: open the ROI page of this rois.h5 "
                                         "(apical qc) and decide again");
  CurationResult result = apply_curation(rois, decisions, decisions_path, rois_path);
  // The segmentation the candidates came from (kept through later curations).
  result.rois.curated_from =
      rois.curated_from ? *rois.curated_from : CuratedFrom{made.command_line, made.parameters, made.input_provenance};
  provenance.inputs = {rois_path, decisions_path};
  const Timebase timebase = read_timebase(rois_path);
  AtomicOutput out(rois_path, true);
  write_rois_file(out.temp_path().string(), result.rois, provenance, timebase);
  out.commit();
  return result;
}

}  // namespace apical
