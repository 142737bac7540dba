// Matching found ROIs to reference ROIs (simulator truth or manual labels), one to one.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include <opencv2/core.hpp>

namespace apical {

// Intersection over union of two ascending pixel lists.
double roi_iou(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b);

// Optimal one-to-one matching of `found` to `truth` among pairs with IoU >= min_iou:
// maximises the number of matches, then total IoU. Returns (found index, truth index)
// sorted by found index.
std::vector<std::pair<int, int>> match_rois_by_iou(const std::vector<std::vector<uint32_t>>& found,
                                                   const std::vector<std::vector<uint32_t>>& truth,
                                                   double min_iou = 0.5);

// Optimal one-to-one matching of points (e.g. centroids, x/y in px) within max_distance:
// most matches, then the nearest. Returns (found index, truth index) sorted by found index.
std::vector<std::pair<int, int>> match_points(const std::vector<cv::Point2f>& found, const std::vector<cv::Point2f>& truth,
                                              double max_distance);

}  // namespace apical
