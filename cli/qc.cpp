// apical qc SESSION: the per-session QC report (pictures and one offline HTML page).
#include "cli/command.hpp"
#include "io/error.hpp"
#include "pipeline/reporting/qc_report.hpp"

namespace apical::cli {

Usage qc_usage() {
  Usage u;
  u.synopsis = "apical qc [options] SESSION";
  u.description =
      "Writes SESSION/apical/qc/: registration.png (mean image, rigid shift traces and frame\n"
      "correlation per plane) and index.html, one offline page with a summary table of every stage\n"
      "output and every picture in qc/ (ROI overlays, dF/F raster) and figures/ (the figure panels);\n"
      "and rois.html, the ROI page: every candidate ROI to check, accept or reject (apical curate).";
  u.options.add_options()("input", po::value<std::vector<std::string>>()->required(), "SESSION folder");
  u.positional.add("input", 1);
  return u;
}

int qc_run(const Invocation& inv) {
  Stopwatch clock;
  if (!inv.session) throw InputError("apical qc needs a SESSION folder (with raw/, apical.ini or apical/)");
  QcReport report = write_qc_report(*inv.session);
  summary(inv, "wrote " + report.index_html + " with " + std::to_string(report.pictures.size()) + " pictures",
          clock.seconds());
  return kOk;
}

}  // namespace apical::cli
