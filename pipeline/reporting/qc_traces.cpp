// qc/traces.png: a dF/F raster per plane via plot::heatmap.
#include "pipeline/reporting/qc_traces.hpp"

#include <opencv2/imgproc.hpp>

#include <algorithm>

#include "pipeline/reporting/plot.hpp"

namespace apical {

namespace {

cv::Mat empty_panel(const TracesRaster& r) {
  cv::Mat canvas(120, 900, CV_8UC3, cv::Scalar(255, 255, 255));
  cv::putText(canvas, "plane" + std::to_string(r.plane) + " (" + r.role + "): no ROIs", {20, 65},
              cv::FONT_HERSHEY_SIMPLEX, 0.7, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
  return canvas;
}

cv::Mat raster_panel(const TracesRaster& r) {
  if (r.rows == 0 || r.bins == 0) return empty_panel(r);
  cv::Mat values(r.rows, r.bins, CV_32F, const_cast<float*>(r.values.data()));
  plot::HeatmapOptions options;
  options.colour_label = "dF/F";
  options.size = {900, std::clamp(200 + 4 * r.rows, 320, 700)};
  const std::string title = "plane" + std::to_string(r.plane) + " (" + r.role + "): dF/F of " +
                            std::to_string(r.rows) + " ROIs";
  return plot::heatmap(values.clone(), title, "time (s)", "ROI", r.duration_s > 0 ? r.duration_s : 1.0, options);
}

}  // namespace

void write_traces_qc(const std::string& png_path, const std::vector<TracesRaster>& planes) {
  std::vector<cv::Mat> panels;
  for (const TracesRaster& r : planes) panels.push_back(raster_panel(r));
  if (panels.empty()) panels.push_back(cv::Mat(120, 900, CV_8UC3, cv::Scalar(255, 255, 255)));
  plot::write_png(png_path, plot::vstack(panels));
}

}  // namespace apical
