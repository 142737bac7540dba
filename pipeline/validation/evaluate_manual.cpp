#include "pipeline/validation/evaluate_manual.hpp"

#include <cmath>
#include <limits>

#include "core/numeric.hpp"
#include "io/error.hpp"
#include "io/manual_labels.hpp"
#include "io/rois_file.hpp"
#include "pipeline/reporting/plot.hpp"
#include "pipeline/segment/segment.hpp"
#include "pipeline/validation/matching.hpp"

namespace apical {
namespace {

DetectionScore detection_score(size_t found, size_t labelled, size_t matched) {
  DetectionScore s{found, labelled, matched, 0, 0, 0};
  s.precision = found ? double(matched) / double(found) : 0.0;
  s.recall = labelled ? double(matched) / double(labelled) : 0.0;
  s.f1 = found + labelled ? 2.0 * double(matched) / double(found + labelled) : 0.0;
  return s;
}

std::vector<cv::Point2f> centroids(const std::vector<std::vector<uint32_t>>& rois, int width) {
  std::vector<cv::Point2f> out;
  for (const auto& roi : rois) {
    const RoiStats s = shape_stats(roi, width);
    out.emplace_back(s.cx, s.cy);
  }
  return out;
}

std::vector<bool> matched_side(const std::vector<std::pair<int, int>>& matches, size_t n, bool found_side) {
  std::vector<bool> matched(n, false);
  for (const auto& [f, l] : matches) matched[size_t(found_side ? f : l)] = true;
  return matched;
}

LabelOffset label_offset(const std::vector<cv::Point2f>& found, const std::vector<cv::Point2f>& labelled,
                         const std::vector<std::pair<int, int>>& matches) {
  LabelOffset offset;
  if (matches.size() < LabelOffset::kMinMatchesForOffset) {
    offset.y_px = offset.x_px = std::numeric_limits<double>::quiet_NaN();
    return offset;
  }
  std::vector<double> dy, dx;
  for (const auto& [f, l] : matches) {
    dy.push_back(double(labelled[size_t(l)].y) - double(found[size_t(f)].y));
    dx.push_back(double(labelled[size_t(l)].x) - double(found[size_t(f)].x));
  }
  offset.y_px = median(dy);
  offset.x_px = median(dx);
  offset.moved_y_px = -int(std::lround(offset.y_px));
  offset.moved_x_px = -int(std::lround(offset.x_px));
  return offset;
}

// The ROIs moved by (dy, dx) px; pixels moved off the image are dropped. Order is kept.
std::vector<std::vector<uint32_t>> moved_rois(const std::vector<std::vector<uint32_t>>& rois, int width, int height,
                                              int dy, int dx) {
  std::vector<std::vector<uint32_t>> out(rois.size());
  for (size_t i = 0; i < rois.size(); ++i)
    for (uint32_t p : rois[i]) {
      const int y = int(p / uint32_t(width)) + dy, x = int(p % uint32_t(width)) + dx;
      if (y >= 0 && y < height && x >= 0 && x < width) out[i].push_back(uint32_t(y) * uint32_t(width) + uint32_t(x));
    }
  return out;
}

}  // namespace

std::pair<int, int> parse_pixel_range(const std::string& text, const std::string& option) {
  if (text.empty()) return {0, -1};
  const size_t colon = text.find(':');
  auto number = [&](const std::string& part) {
    if (part.empty() || part.size() > 9 || part.find_first_not_of("0123456789") != std::string::npos)
      throw InputError(option + ": '" + text + "' is not a pixel range A:B (two whole numbers, A < B)");
    return std::stoi(part);
  };
  if (colon == std::string::npos) number("");
  const int begin = number(text.substr(0, colon)), end = number(text.substr(colon + 1));
  if (begin >= end) throw InputError(option + ": '" + text + "' is empty (A:B needs A < B)");
  return {begin, end};
}

std::vector<std::vector<uint32_t>> rois_in_part(const std::vector<std::vector<uint32_t>>& rois, int width,
                                                const FieldPart& part) {
  std::vector<std::vector<uint32_t>> kept;
  for (const auto& roi : rois) {
    const RoiStats s = shape_stats(roi, width);
    if (!roi.empty() && part.holds(s.cy, s.cx)) kept.push_back(roi);
  }
  return kept;
}

ManualScores score_against_manual(const std::vector<std::vector<uint32_t>>& found,
                                  const std::vector<std::vector<uint32_t>>& labelled, int width, int height,
                                  double max_distance_px, double min_iou) {
  if (width < 1 || height < 1) throw InputError("evaluate: image size must be positive");
  ManualScores s;
  const std::vector<cv::Point2f> found_centres = centroids(found, width), label_centres = centroids(labelled, width);
  s.centroid_matches = match_points(found_centres, label_centres, max_distance_px);
  s.iou_matches = match_rois_by_iou(found, labelled, min_iou);
  s.centroid = detection_score(found.size(), labelled.size(), s.centroid_matches.size());
  s.iou = detection_score(found.size(), labelled.size(), s.iou_matches.size());
  s.offset = label_offset(found_centres, label_centres, s.centroid_matches);
  s.iou_aligned = s.iou;
  if (s.offset.moved_y_px != 0 || s.offset.moved_x_px != 0) {
    const auto moved = moved_rois(labelled, width, height, s.offset.moved_y_px, s.offset.moved_x_px);
    s.iou_aligned = detection_score(found.size(), labelled.size(), match_rois_by_iou(found, moved, min_iou).size());
  }
  return s;
}

cv::Mat render_manual_overlay(const cv::Mat& mean_image, const std::vector<std::vector<uint32_t>>& found,
                              const std::vector<std::vector<uint32_t>>& labelled, const ManualScores& scores) {
  const std::string title = "manual " + std::to_string(labelled.size()) + ", found " + std::to_string(found.size()) +
                            ", matched " + std::to_string(scores.centroid.matched);
  plot::ImagePanel panel = plot::image_panel(mean_image, title);
  const std::vector<bool> label_hit = matched_side(scores.centroid_matches, labelled.size(), false);
  const std::vector<bool> found_hit = matched_side(scores.centroid_matches, found.size(), true);
  // Okabe-Ito: bluish green / vermillion for labels, sky blue / orange for found ROIs.
  for (size_t i = 0; i < labelled.size(); ++i)
    panel.outline(labelled[i], mean_image.cols, label_hit[i] ? plot::palette(2) : plot::palette(1), 2);
  for (size_t i = 0; i < found.size(); ++i)
    panel.outline(found[i], mean_image.cols, found_hit[i] ? plot::palette(5) : plot::palette(3), 1);
  return panel.canvas;
}

ManualEvaluation evaluate_against_manual(const std::string& rois_path, const std::string& labels_path, int plane,
                                         const std::string& labels_dataset, const FieldPart& part) {
  const RoiFile rois = accepted_rois(read_rois(rois_path), rois_path);
  if (plane < 0)
    for (size_t k = 0; k < rois.planes.size() && plane < 0; ++k)
      if (rois.planes[k].role == "soma") plane = int(k);
  if (plane < 0) plane = 0;
  if (size_t(plane) >= rois.planes.size())
    throw file_error(rois_path, "has no plane " + std::to_string(plane) + " (" + std::to_string(rois.planes.size()) +
                                    " planes)");
  const SparseMasks& masks = rois.planes[size_t(plane)].masks;
  ManualLabels labels = read_manual_labels(labels_path, masks.height, masks.width, labels_dataset);
  std::vector<std::vector<uint32_t>> found;
  for (size_t i = 0; i < masks.count(); ++i) found.push_back(masks.roi_pixels(i));
  if (part.row_begin >= masks.height || part.col_begin >= masks.width)
    throw file_error(rois_path, "is " + std::to_string(masks.height) + "x" + std::to_string(masks.width) +
                                    " px: --rows/--cols start outside it");
  if (!part.whole()) {
    found = rois_in_part(found, masks.width, part);
    labels.rois = rois_in_part(labels.rois, masks.width, part);
  }
  ManualEvaluation e;
  e.part = part;
  e.plane = plane;
  e.format = labels.format;
  e.scores = score_against_manual(found, labels.rois, masks.width, masks.height);
  const std::string subject = "plane" + std::to_string(plane);
  for (const auto& [name, score] : {std::pair{"centroid", e.scores.centroid}, std::pair{"iou", e.scores.iou}}) {
    e.rows.push_back({"manual", subject + "/" + name, "precision", score.precision});
    e.rows.push_back({"manual", subject + "/" + name, "recall", score.recall});
    e.rows.push_back({"manual", subject + "/" + name, "f1", score.f1});
  }
  const LabelOffset& offset = e.scores.offset;
  e.rows.push_back({"manual", subject + "/offset", "label_minus_roi_y_px", offset.y_px});
  e.rows.push_back({"manual", subject + "/offset", "label_minus_roi_x_px", offset.x_px});
  e.rows.push_back({"manual", subject + "/iou_aligned", "precision", e.scores.iou_aligned.precision});
  e.rows.push_back({"manual", subject + "/iou_aligned", "recall", e.scores.iou_aligned.recall});
  e.rows.push_back({"manual", subject + "/iou_aligned", "f1", e.scores.iou_aligned.f1});
  e.rows.push_back({"manual", subject, "found", double(found.size())});
  e.rows.push_back({"manual", subject, "labelled", double(labels.rois.size())});
  if (!part.whole()) {
    e.rows.push_back({"manual", subject + "/part", "row_begin", double(part.row_begin)});
    e.rows.push_back({"manual", subject + "/part", "row_end", double(part.row_end < 0 ? masks.height : part.row_end)});
    e.rows.push_back({"manual", subject + "/part", "col_begin", double(part.col_begin)});
    e.rows.push_back({"manual", subject + "/part", "col_end", double(part.col_end < 0 ? masks.width : part.col_end)});
  }
  e.overlay = render_manual_overlay(read_roi_image(rois_path, plane, RoiImage::mean), found, labels.rois, e.scores);
  return e;
}

}  // namespace apical
