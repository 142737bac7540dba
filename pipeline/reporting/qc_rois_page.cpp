// qc/rois.html: the data half (what the page shows, as one JSON object); the page's HTML,
// CSS and JavaScript are in qc_rois_page_script.cpp.
#include "pipeline/reporting/qc_rois_page.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/roi_codes.hpp"
#include "io/atomic_output.hpp"
#include "io/curation_file.hpp"
#include "io/provenance.hpp"
#include "io/rois_file.hpp"
#include "io/traces_file.hpp"

namespace apical {

std::string roi_page_document(const std::string& title, const std::string& data_json);  // qc_rois_page_script.cpp

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int kTraceBins = 400;  // points per trace on the page: enough for transients, small file

std::string base64(const std::vector<uchar>& bytes) {
  static const char* digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const uint32_t n = uint32_t(bytes[i]) << 16 | (i + 1 < bytes.size() ? uint32_t(bytes[i + 1]) << 8 : 0) |
                       (i + 2 < bytes.size() ? uint32_t(bytes[i + 2]) : 0);
    out += digits[n >> 18 & 63];
    out += digits[n >> 12 & 63];
    out += i + 1 < bytes.size() ? digits[n >> 6 & 63] : '=';
    out += i + 2 < bytes.size() ? digits[n & 63] : '=';
  }
  return out;
}

// An 8-bit PNG data URI of a float image, contrast from its 0.5th to 99.5th percentile.
std::string png_data_uri(const cv::Mat& image) {
  if (image.empty()) return "";
  std::vector<float> values;
  for (int y = 0; y < image.rows; ++y)
    for (int x = 0; x < image.cols; ++x)
      if (std::isfinite(image.at<float>(y, x))) values.push_back(image.at<float>(y, x));
  if (values.empty()) return "";
  std::sort(values.begin(), values.end());
  const double lo = values[size_t(0.005 * double(values.size() - 1))];
  const double hi = values[size_t(0.995 * double(values.size() - 1))];
  cv::Mat scaled, clean;
  cv::patchNaNs(clean = image.clone(), lo);
  clean.convertTo(scaled, CV_8U, 255.0 / std::max(hi - lo, 1e-12), -lo * 255.0 / std::max(hi - lo, 1e-12));
  std::vector<uchar> png;
  cv::imencode(".png", scaled, png);
  return "data:image/png;base64," + base64(png);
}

// The outline of ROI i as an SVG path in pixel coordinates (pixel (x, y) spans x..x+1): the
// contour of the mask at half-pixel resolution, grown by a quarter pixel, so it runs just
// outside the ROI's pixels and a one-pixel-wide dendrite still has an inside to click.
std::string outline_path(const SparseMasks& masks, size_t i) {
  const std::vector<uint32_t> px = masks.roi_pixels(i);
  if (px.empty()) return "";
  int y0 = masks.height, x0 = masks.width, y1 = 0, x1 = 0;
  for (uint32_t p : px) {
    const int y = int(p) / masks.width, x = int(p) % masks.width;
    y0 = std::min(y0, y), x0 = std::min(x0, x), y1 = std::max(y1, y), x1 = std::max(x1, x);
  }
  cv::Mat mask = cv::Mat::zeros(y1 - y0 + 3, x1 - x0 + 3, CV_8U);  // 1 px border: room to grow
  for (uint32_t p : px) mask.at<uchar>(int(p) / masks.width - y0 + 1, int(p) % masks.width - x0 + 1) = 1;
  cv::Mat half;
  cv::resize(mask, half, {}, 2, 2, cv::INTER_NEAREST);
  cv::dilate(half, half, cv::Mat::ones(3, 3, CV_8U));
  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(half, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
  std::ostringstream d;
  for (const auto& contour : contours) {
    for (size_t k = 0; k < contour.size(); ++k)  // half-pixel (u, v) has its centre at (u + 0.5) / 2
      d << (k ? "L" : "M") << (contour[k].x + 0.5) / 2 + x0 - 1 << " " << (contour[k].y + 0.5) / 2 + y0 - 1;
    d << "Z";
  }
  return d.str();
}

// "0=accepted;1=low score" -> {"0": "accepted", "1": "low score"}.
json code_labels(const std::string& labels) {
  json out = json::object();
  std::stringstream s(labels);
  std::string item;
  while (std::getline(s, item, ';')) {
    const size_t eq = item.find('=');
    if (eq != std::string::npos) out[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return out;
}

double rounded(double v, double scale) { return std::isfinite(v) ? std::round(v * scale) / scale : 0.0; }

// dF/F downsampled to kTraceBins means (NaN frames left out; a bin of NaN only: null), in
// thousandths of dF/F as whole numbers (a third of the page's size for decimals).
json downsampled(const arma::fmat& dff, size_t row) {
  const size_t frames = dff.n_cols, bins = std::min<size_t>(frames, kTraceBins);
  json trace = json::array();
  for (size_t b = 0; b < bins; ++b) {
    double sum = 0;
    size_t n = 0;
    for (size_t t = b * frames / bins; t < (b + 1) * frames / bins; ++t)
      if (std::isfinite(dff(row, t))) sum += dff(row, t), ++n;
    trace.push_back(n ? json(int64_t(std::llround(std::clamp(sum / double(n), -1e6, 1e6) * 1000))) : json(nullptr));
  }
  return trace;
}

// traces.h5's dF/F when it was made from this very rois.h5 (else the traces belong to other ROIs).
std::vector<TracesPlane> matching_traces(const std::string& traces_path, const std::string& rois_path,
                                         const RoiFile& rois, std::string& note) {
  if (!fs::exists(traces_path)) {
    note = "no traces.h5 yet: run apical extract (or apical run) to see traces";
    return {};
  }
  const RecordedProvenance made = read_provenance(traces_path);
  if (made.input_provenance.find(describe_inputs({rois_path})) == std::string::npos) {
    note = "traces.h5 was made from another rois.h5 (before a curation?): apical run SESSION --update shows traces";
    return {};
  }
  std::vector<TracesPlane> planes = read_traces(traces_path, {.dff = true});
  for (size_t k = 0; k < planes.size() && k < rois.planes.size(); ++k)
    if (planes[k].rois != rois.planes[k].accepted_count()) return note = "traces.h5 does not match rois.h5", std::vector<TracesPlane>{};
  return planes;
}

json roi_entry(const RoiPlane& plane, size_t i, const TracesPlane* traces) {
  json roi = {{"kind", plane.masks.kind.at(i) == 0 ? "soma" : "dendrite"},
              {"rej", plane.rejection.empty() ? 0 : int(plane.rejection[i])},
              {"cur", i < plane.curated.size() ? int(plane.curated[i]) : 0},
              {"d", outline_path(plane.masks, i)}};
  if (i < plane.source.size()) roi["src"] = int(plane.source[i]);
  json features = json::object();
  features["pixels"] = plane.masks.offsets[i + 1] - plane.masks.offsets[i];
  if (plane.features)
    for (const auto& [name, values] : plane.features->columns())
      if (i < values->size() && std::isfinite((*values)[i])) features[name] = rounded((*values)[i], 1000);
  roi["f"] = features;
  if (traces && i < traces->dff.n_rows) roi["t"] = downsampled(traces->dff, i);
  return roi;
}

json plane_entry(const RoiPlane& plane, const TracesPlane* traces) {
  json p = {{"role", plane.role},
            {"width", plane.masks.width},
            {"height", plane.masks.height},
            {"mean", png_data_uri(plane.mean_image)},
            {"correlation", png_data_uri(plane.correlation_image)},
            {"reasons", code_labels(plane.rejection_labels.empty() ? kRejectionLabels : plane.rejection_labels)},
            {"sources", code_labels(plane.source_labels.empty() ? kSourceLabels : plane.source_labels)}};
  if (traces) p["trace_seconds"] = traces->settings.frame_rate_hz > 0 ? double(traces->frames) / traces->settings.frame_rate_hz : 0.0;
  p["rois"] = json::array();
  for (size_t i = 0; i < plane.masks.count(); ++i) p["rois"].push_back(roi_entry(plane, i, traces));
  return p;
}

}  // namespace

std::string roi_page_html(const std::string& rois_path, const std::string& traces_path, const std::string& session) {
  RoiFile rois = read_rois(rois_path);
  read_roi_images(rois_path, rois);
  const RecordedProvenance made = read_provenance(rois_path);
  const CuratedRoisIdentity id = rois_identity(made.created_utc, rois);
  std::string note;
  const std::vector<TracesPlane> traces = matching_traces(traces_path, rois_path, rois, note);
  json data = {{"session", session},
               {"rois_made_by", made.command_line},
               {"identity", {{"created_utc", id.created_utc}, {"rois_per_plane", id.rois_per_plane}, {"fingerprint", id.fingerprint}}},
               {"traces_note", note}};
  data["planes"] = json::array();
  for (size_t k = 0; k < rois.planes.size(); ++k)
    data["planes"].push_back(plane_entry(rois.planes[k], k < traces.size() ? &traces[k] : nullptr));
  return roi_page_document("apical ROIs: " + session, data.dump());
}

RoiPage write_roi_page(const fs::path& apical_dir) {
  const fs::path rois = apical_dir / "rois.h5";
  if (!fs::exists(rois)) return {};
  const std::string session = apical_dir.parent_path().filename().string();
  std::string html;
  try {
    html = roi_page_html(rois.string(), (apical_dir / "traces.h5").string(), session);
  } catch (const std::exception& e) {  // a broken input: the report says so and goes on
    return {false, e.what()};
  }
  fs::create_directories(apical_dir / "qc");
  AtomicOutput out(apical_dir / "qc" / "rois.html", true);
  out.write(html);
  out.commit();
  return {true, ""};
}

}  // namespace apical
