#pragma once
// The decisions file of ROI curation (docs/curation.md): what a person decided on the QC
// report's ROI page, one entry per ROI they looked at, as a small JSON file:
//   {"apical_curation": 1,
//    "rois_h5": {"created_utc": "2026-12-06T19:09:25Z", "rois_per_plane": [13, 20],
//                "fingerprint": "9c1f0e3a2b4d5e6f"},
//    "decisions": [{"plane": 0, "roi": 4, "accepted": false}, ...]}
// "rois_h5" (optional) names the rois.h5 the decisions were made on, so that they are not
// applied to another one (ROI indices are only meaningful within one file).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "io/rois_file.hpp"

namespace apical {

// The rejection code of an ROI rejected by hand (beside the detector's 1, 2, 3, ... in
// /plane{k}/rejection; far from them so that new detector reasons never collide).
inline constexpr uint8_t kCuratedRejection = 100;
inline constexpr const char* kCuratedRejectionLabel = "100=curated (rejected by hand, apical curate)";

struct RoiDecision {
  int64_t plane = 0;
  int64_t roi = 0;  // index into the plane's ROI list of that rois.h5 (accepted first)
  bool accepted = true;
};

// Which rois.h5 the decisions were made on: its creation time, ROI count per plane, and a
// fingerprint of its ROIs (masks, order and acceptance; see rois_identity).
struct CuratedRoisIdentity {
  std::string created_utc;
  std::vector<int64_t> rois_per_plane;
  std::string fingerprint;
  bool operator==(const CuratedRoisIdentity&) const = default;
};

struct CurationDecisions {
  std::optional<CuratedRoisIdentity> rois_h5;
  std::vector<RoiDecision> decisions;
};

// Reads a decisions file. InputError naming the file for anything that is not one:
// malformed JSON, a missing or wrongly typed field, a negative index, an ROI decided twice.
CurationDecisions read_curation_file(const std::string& path);
// The identity of a rois.h5 as the ROI page records it: its created_utc, ROI counts per
// plane, and an FNV-1a fingerprint of the masks, their order, rejection codes and curated flags.
CuratedRoisIdentity rois_identity(const std::string& created_utc, const RoiFile& rois);
// The JSON text of `decisions` (what the ROI page saves), indented.
std::string curation_json(const CurationDecisions& decisions);

}  // namespace apical
