#include "pipeline/reporting/qc_rois.hpp"

#include "io/error.hpp"
#include "pipeline/reporting/plot.hpp"

namespace apical {

namespace {

// Okabe-Ito: somata orange, dendrites sky blue, pair links reddish purple.
const cv::Scalar kSomaColour = plot::palette(3);
const cv::Scalar kDendriteColour = plot::palette(5);
const cv::Scalar kLinkColour = plot::palette(4);
// Rejected candidates: grey, thin, so accepted ROIs stand out.
const cv::Scalar kRejectedColour(150, 150, 150);

cv::Point2d centroid(const SparseMasks& masks, size_t i) {
  const auto px = masks.roi_pixels(i);
  double sy = 0, sx = 0;
  for (uint32_t p : px) sy += double(p / uint32_t(masks.width)), sx += double(p % uint32_t(masks.width));
  const double n = std::max<double>(1, double(px.size()));
  return {sx / n, sy / n};
}

void cross(plot::ImagePanel& panel, cv::Point2d c, cv::Scalar colour) {
  panel.link({c.x - 2, c.y}, {c.x + 2, c.y}, colour, 2);
  panel.link({c.x, c.y - 2}, {c.x, c.y + 2}, colour, 2);
}

}  // namespace

cv::Mat render_roi_overlay(const RoiFile& rois, const std::vector<cv::Mat>& mean_images) {
  if (mean_images.size() != rois.planes.size())
    throw InputError("qc: " + std::to_string(mean_images.size()) + " mean images for " +
                     std::to_string(rois.planes.size()) + " planes");
  std::vector<plot::ImagePanel> panels;
  for (size_t k = 0; k < rois.planes.size(); ++k) {
    const RoiPlane& plane = rois.planes[k];
    if (mean_images[k].rows != plane.masks.height || mean_images[k].cols != plane.masks.width)
      throw InputError("qc: plane " + std::to_string(k) + " mean image and masks differ in size");
    const size_t accepted = plane.accepted_count();
    size_t somata = 0;
    for (size_t i = 0; i < accepted; ++i) somata += plane.masks.kind[i] == 0;
    const size_t dendrites = accepted - somata;
    std::string title = "plane " + std::to_string(k) + ": " +
                        (somata >= dendrites ? std::to_string(somata) + " somata" : std::to_string(dendrites) + " dendrites");
    if (accepted < plane.masks.count()) title += " (grey: " + std::to_string(plane.masks.count() - accepted) + " rejected)";
    plot::ImagePanel panel = plot::image_panel(mean_images[k], title);
    for (size_t i = accepted; i < plane.masks.count(); ++i)
      panel.outline(plane.masks.roi_pixels(i), plane.masks.width, kRejectedColour, 1);
    for (size_t i = 0; i < accepted; ++i) {
      const bool soma = i >= plane.masks.kind.size() || plane.masks.kind[i] == 0;
      panel.outline(plane.masks.roi_pixels(i), plane.masks.width, soma ? kSomaColour : kDendriteColour, 1);
    }
    panels.push_back(std::move(panel));
  }
  // Each pair: a link on both panels between the soma's and the dendrite's centroids, and
  // the soma's centroid marked on the dendrite panel (and vice versa).
  for (const RoiPair& p : rois.pairs) {
    const RoiPlane& sp = rois.planes.at(size_t(p.soma_plane));
    const RoiPlane& dp = rois.planes.at(size_t(p.dendrite_plane));
    const cv::Point2d s = centroid(sp.masks, size_t(p.soma_roi)), d = centroid(dp.masks, size_t(p.dendrite_roi));
    for (size_t k : {size_t(p.soma_plane), size_t(p.dendrite_plane)}) {
      panels[k].link(s, d, kLinkColour, 1);
    }
    cross(panels[size_t(p.dendrite_plane)], s, kSomaColour);
    cross(panels[size_t(p.soma_plane)], d, kDendriteColour);
  }
  std::vector<cv::Mat> canvases;
  for (auto& p : panels) canvases.push_back(p.canvas);
  return plot::hstack(canvases);
}

void write_roi_overlay(const std::string& path, const RoiFile& rois, const std::vector<cv::Mat>& mean_images) {
  plot::write_png(path, render_roi_overlay(rois, mean_images));
}

}  // namespace apical
