// apical curate SESSION DECISIONS.json: a person's accept/reject decisions (saved from the QC
// report's ROI page, qc/rois.html) applied to SESSION/apical/rois.h5.
#include <filesystem>
#include <sstream>

#include "cli/command.hpp"
#include "io/error.hpp"
#include "io/session_lock.hpp"
#include "pipeline/curate/curate.hpp"
#include "pipeline/reporting/qc_rois.hpp"

namespace apical::cli {

Usage curate_usage() {
  Usage u;
  u.synopsis = "apical curate [options] SESSION DECISIONS.json";
  u.description =
      "Applies the accept/reject decisions saved from the QC report's ROI page (SESSION/apical/qc/\n"
      "rois.html, written by apical qc) to SESSION/apical/rois.h5: each decided ROI is accepted or\n"
      "rejected and marked curated (/plane{k}/curated = 1; rejected by hand: rejection reason 100,\n"
      "\"curated\"). Accepted ROIs come first again, so ROI indices change; pairs follow their ROIs,\n"
      "and a pair whose soma or dendrite was rejected is dropped. rois.h5 is replaced atomically, its\n"
      "provenance names the decisions file, and qc/rois.png is redrawn. Then `apical run SESSION\n"
      "--update` re-runs extract and what follows; segment keeps the curated rois.h5 as long as\n"
      "its own parameters and inputs are unchanged. A decisions file made on another rois.h5 is\n"
      "refused (ROI indices belong to one file).";
  u.options.add_options()
      ("input", po::value<std::vector<std::string>>()->required(), "SESSION folder")
      ("decisions", po::value<std::string>()->required(), "decisions JSON file saved from the ROI page");
  u.positional.add("input", 1).add("decisions", 1);
  return u;
}

namespace {

void redraw_overlay(const std::filesystem::path& session, const RoiFile& rois) {
  std::vector<cv::Mat> means;
  for (const RoiPlane& p : rois.planes) {
    if (p.mean_image.empty()) return;  // an imported rois.h5: nothing to draw on
    means.push_back(p.mean_image);
  }
  write_roi_overlay((session / "apical" / "qc" / "rois.png").string(), rois, means);
}

std::string what_changed(const CurationResult& r) {
  std::ostringstream what;
  for (size_t k = 0; k < r.planes.size(); ++k) {
    const PlaneCuration& p = r.planes[k];
    what << (k ? "; " : "") << "plane " << k << ": " << p.accepted_by_hand << " accepted and " << p.rejected_by_hand
         << " rejected by hand (" << p.changed << " changed), " << p.accepted_before << " -> " << p.accepted_after
         << " accepted ROIs";
  }
  if (r.pairs_dropped) what << "; " << r.pairs_dropped << " pair(s) of rejected ROIs dropped";
  return what.str();
}

}  // namespace

int curate_run(const Invocation& inv) {
  Stopwatch clock;
  if (!inv.session)
    throw InputError("apical curate needs a SESSION folder (with raw/, apical.ini or apical/) and a decisions file");
  const std::string decisions = inv.get<std::string>("decisions");
  SessionLock lock(*inv.session);  // not while apical run works on this session
  const CurationResult result =
      curate_session(*inv.session, decisions, Provenance{inv.command_line, inv.parameters(), {}});
  redraw_overlay(*inv.session, result.rois);
  summary(inv, what_changed(result) + " -> " + (*inv.session / "apical" / "rois.h5").string() +
                   " (apical run " + inv.session->string() + " --update re-runs extract and what follows)",
          clock.seconds());
  return kOk;
}

}  // namespace apical::cli
