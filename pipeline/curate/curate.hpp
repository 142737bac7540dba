#pragma once
// ROI curation (docs/curation.md): a person's accept/reject decisions, made on the QC
// report's ROI page, applied to rois.h5. A decided ROI is marked `curated`; one rejected by
// hand gets the rejection reason kCuratedRejection. Each plane is reordered so that the
// accepted ROIs come first again (the file's contract); pairs follow their ROIs, and a pair
// whose soma or dendrite was rejected is dropped.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "io/curation_file.hpp"
#include "io/rois_file.hpp"

namespace apical {

// What a curation changed, per plane.
struct PlaneCuration {
  size_t accepted_before = 0, accepted_after = 0;
  size_t accepted_by_hand = 0, rejected_by_hand = 0;  // decisions of each kind
  size_t changed = 0;                                 // decisions that overturned the detector's (or an earlier curation's)
};

struct CurationResult {
  RoiFile rois;                        // the curated file's content
  std::vector<PlaneCuration> planes;
  size_t pairs_dropped = 0;            // pairs whose soma or dendrite was rejected by hand
};

// Applies `decisions` to `rois` (pure: no files). InputError naming `decisions_path` for a
// plane out of range or an ROI that does not exist.
CurationResult apply_curation(const RoiFile& rois, const CurationDecisions& decisions,
                              const std::string& decisions_path, const std::string& rois_path = "rois.h5");

// Reads SESSION/apical/rois.h5 whole, applies the decisions file and writes rois.h5 again
// (atomically, with provenance: the decisions file and the previous rois.h5 as inputs, and
// the segmentation it was curated from as curated_from_*). InputError, with rois.h5 left as
// it was, when the session has no rois.h5, the decisions file is not one, or it was made on
// another rois.h5.
// `provenance` gives the command line and parameters; its inputs are set here.
CurationResult curate_session(const std::filesystem::path& session, const std::string& decisions_path,
                              Provenance provenance);

}  // namespace apical
