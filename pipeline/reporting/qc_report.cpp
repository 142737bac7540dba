#include "pipeline/reporting/qc_report.hpp"

#include <algorithm>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "io/atomic_output.hpp"
#include "io/error.hpp"
#include "io/provenance.hpp"
#include "io/registered_file.hpp"
#include "io/regress_file.hpp"
#include "io/rois_file.hpp"
#include "io/traces_file.hpp"
#include "pipeline/reporting/plot.hpp"
#include "pipeline/reporting/qc_rois_page.hpp"

namespace apical {

namespace fs = std::filesystem;

namespace {

// Mean image and shift trace of every plane: did motion correction work?
void draw_registration(const fs::path& registered, const fs::path& png) {
  const std::vector<RegisteredPlane> planes =
      read_registered(registered.string(), {.images = true, .block_shifts = false});
  std::vector<cv::Mat> rows;
  for (size_t k = 0; k < planes.size(); ++k) {
    const RegisteredPlane& plane = planes[k];
    if (plane.mean_image.empty()) continue;  // a registered.h5 from elsewhere, movie only
    const double rate = plane.frame_rate_hz;
    plot::ImagePanel mean =
        plot::image_panel(plane.mean_image, "plane " + std::to_string(k) + " (" + plane.role + ") mean");
    plot::Axes axes;
    axes.title = "plane " + std::to_string(k) + " rigid shifts (bidi " +
                 std::to_string(plane.bidi_offset_px).substr(0, 5) + " px)";
    axes.x_label = rate > 0 ? "time (s)" : "frame";
    axes.y_label = "shift (px)";
    std::vector<double> t, dy, dx, c;
    for (size_t i = 0; i < plane.shifts.size(); ++i) {
      const double frame = double(i);
      t.push_back(rate > 0 ? frame / rate : frame);
      dy.push_back(plane.shifts[i].dy);
      dx.push_back(plane.shifts[i].dx);
    }
    axes.series.push_back(plot::make_series("dy", t, dy));
    axes.series.push_back(plot::make_series("dx", t, dx));
    plot::Axes quality;
    quality.title = "plane " + std::to_string(k) + " correlation with reference";
    quality.x_label = axes.x_label;
    quality.y_label = "Pearson r";
    for (float v : plane.frame_correlation) c.push_back(v);
    quality.series.push_back(plot::make_series("frame r", t, c));
    cv::Mat traces = plot::vstack({plot::render(axes, {700, 300}), plot::render(quality, {700, 260})});
    rows.push_back(plot::hstack({mean.canvas, traces}));
  }
  plot::write_png(png.string(), plot::vstack(rows));
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else out += c;
  }
  return out;
}

// One table row per stage: what the output holds, read from the file itself.
std::vector<std::pair<std::string, std::string>> stage_summary(const fs::path& apical_dir) {
  std::vector<std::pair<std::string, std::string>> rows;
  auto describe = [&](const std::string& stage, const std::string& file, auto&& what) {
    fs::path p = apical_dir / file;
    if (!fs::exists(p)) {
      rows.push_back({stage, "not run yet"});
      return;
    }
    try {
      std::ostringstream text;
      what(p.string(), text);
      const RecordedProvenance made = read_provenance(p.string());
      text << " <span class=prov>(" << html_escape(made.command_line) << ", " << made.created_utc << ")</span>";
      rows.push_back({stage, text.str()});
    } catch (const std::exception& e) {
      rows.push_back({stage, std::string("unreadable: ") + html_escape(e.what())});
    }
  };
  describe("register", "registered.h5", [](const std::string& path, std::ostringstream& t) {
    const std::vector<RegisteredPlane> planes = read_registered(path, {.images = false, .block_shifts = false});
    for (size_t k = 0; k < planes.size(); ++k) {
      const RegisteredPlane& p = planes[k];
      t << "plane " << k << " (" << (p.role.empty() ? "?" : p.role) << "): " << p.movie.frames << " frames of "
        << p.movie.width << "x" << p.movie.height << ", mean frame correlation " << std::setprecision(3)
        << p.mean_frame_correlation << ", crispness " << p.crispness_raw << " &rarr; " << p.crispness_registered
        << ". ";
    }
  });
  describe("segment", "rois.h5", [](const std::string& path, std::ostringstream& t) {
    const RoiFile rois = read_rois(path);
    for (size_t k = 0; k < rois.planes.size(); ++k) {
      const std::vector<uint8_t>& kind = rois.planes[k].masks.kind;
      const size_t soma = size_t(std::count(kind.begin(), kind.end(), 0));
      t << "plane " << k << ": " << soma << " somata, " << kind.size() - soma << " dendrites. ";
    }
    t << rois.pairs.size() << " soma-dendrite pairs.";
  });
  describe("extract", "traces.h5", [](const std::string& path, std::ostringstream& t) {
    const std::vector<TracesPlane> planes = read_traces(path);
    for (size_t k = 0; k < planes.size(); ++k) {
      t << "plane " << k << ": " << planes[k].rois << " traces of " << planes[k].frames << " frames, "
        << planes[k].events.roi.size() << " events. ";
    }
  });
  describe("regress", "regress.h5", [](const std::string& path, std::ostringstream& t) {
    const RegressResult r = read_regress(path).result;
    t << r.role.size() << " neurons (" << std::count(r.role.begin(), r.role.end(), 1) << " P+, "
      << std::count(r.role.begin(), r.role.end(), -1) << " P-). ";
    std::string terms;
    for (const std::string& term : r.glm_terms) terms += (terms.empty() ? "" : ",") + term;
    if (!terms.empty()) t << "GLM terms: " << html_escape(terms) << ".";
  });
  return rows;
}

std::vector<std::string> pngs_in(const fs::path& folder) {
  std::vector<std::string> names;
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) return names;
  for (const auto& e : fs::directory_iterator(folder))
    if (e.path().extension() == ".png") names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

QcReport write_qc_report(const fs::path& session) {
  fs::path apical_dir = session / "apical";
  fs::path qc = apical_dir / "qc";
  fs::create_directories(qc);
  if (fs::exists(apical_dir / "registered.h5")) draw_registration(apical_dir / "registered.h5", qc / "registration.png");

  QcReport report;
  std::ostringstream html;
  html << "<!doctype html>\n<html><head><meta charset=utf-8><title>apical QC: " << html_escape(session.filename().string())
       << "</title>\n<style>body{font-family:sans-serif;margin:2em;max-width:1400px}img{max-width:100%;border:1px solid #ccc;"
          "margin:.5em 0}td,th{padding:.3em .8em;vertical-align:top;text-align:left}.prov{color:#777;font-size:80%}"
          "h2{margin-top:1.5em}</style></head><body>\n<h1>apical QC report: "
       << html_escape(session.string()) << "</h1>\n<p>Generated " << utc_now_iso8601() << ". Look at the pictures "
       << "before reading numbers: sharp mean images, small smooth shifts, outlines on cells, rasters with transients.</p>\n"
       << "<h2>Summary</h2>\n<table>\n";
  for (const auto& [stage, text] : stage_summary(apical_dir))
    html << "<tr><th>" << stage << "</th><td>" << text << "</td></tr>\n";
  html << "</table>\n";
  const RoiPage roi_page = write_roi_page(apical_dir);  // qc/rois.html: curate the ROIs (docs/curation.md)
  if (roi_page.written) html << "<p><a href=\"rois.html\">ROI page: check every candidate ROI, accept or reject it</a></p>\n";
  if (!roi_page.problem.empty()) html << "<p>No ROI page: " << html_escape(roi_page.problem) << "</p>\n";
  for (const auto& name : pngs_in(qc)) {
    report.pictures.push_back(name);
    html << "<h2>" << html_escape(name) << "</h2>\n<img src=\"" << html_escape(name) << "\" alt=\"" << html_escape(name) << "\">\n";
  }
  std::vector<std::string> figures = pngs_in(apical_dir / "figures");
  if (!figures.empty()) html << "<h2>Figure panels</h2>\n";
  for (const auto& name : figures) {
    report.pictures.push_back("../figures/" + name);
    html << "<h3>" << html_escape(name) << "</h3>\n<img src=\"../figures/" << html_escape(name) << "\" alt=\""
         << html_escape(name) << "\">\n";
  }
  html << "</body></html>\n";
  AtomicOutput out(qc / "index.html", true);
  out.write(html.str());
  out.commit();
  report.index_html = (qc / "index.html").string();
  return report;
}

}  // namespace apical
