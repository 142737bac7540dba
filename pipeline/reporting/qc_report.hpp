#pragma once
// The per-session QC report (SESSION/apical/qc/): pictures a scientist looks at before
// reading numbers — mean images, shift traces, ROI overlays, the dF/F raster, the figure
// panels — and index.html, one page that shows them all, viewable offline.
#include <filesystem>
#include <string>
#include <vector>

namespace apical {

struct QcReport {
  std::vector<std::string> pictures;  // written or found, relative to the qc folder
  std::string index_html;             // path of the page
};

// Draws qc/registration.png (mean images and shift traces per plane) from registered.h5 when
// present, then writes qc/index.html linking every picture in qc/ and figures/ with a summary
// table read from the stage outputs. Missing stages are listed as "not run yet".
QcReport write_qc_report(const std::filesystem::path& session);

}  // namespace apical
