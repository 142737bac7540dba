#pragma once
// qc/rois.html: the ROI curation page of the QC report (docs/curation.md). One offline file,
// plain HTML + JavaScript with everything embedded (summary images as PNG data URIs, ROI
// outlines as SVG paths, dF/F traces downsampled): every candidate ROI outlined on the mean
// or correlation image, accepted and rejected distinguishable; click one to see its trace
// and features; accept or reject it; save the decisions as JSON for `apical curate`.
#include <filesystem>
#include <string>

namespace apical {

struct RoiPage {
  bool written = false;
  std::string problem;  // why not, when rois.h5 exists but cannot be read ("" otherwise)
};

// Writes apical_dir/qc/rois.html from apical_dir/rois.h5 (and traces.h5 when it was made from
// that rois.h5). Writes nothing when there is no rois.h5, or one that cannot be read (the QC
// report then says why); an error writing the page is an InputError as for any output.
RoiPage write_roi_page(const std::filesystem::path& apical_dir);

// The page's HTML (for tests): from rois.h5 at `rois_path`, traces.h5 at `traces_path` (may
// not exist), titled with `session`.
std::string roi_page_html(const std::string& rois_path, const std::string& traces_path, const std::string& session);

}  // namespace apical
