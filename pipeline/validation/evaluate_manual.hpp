#pragma once
// Scoring a plane's ROIs against manual labels (neurofinder's criteria): one-to-one matching
// by centroid distance (<= 5 px) and by IoU (>= 0.5), each optimal (most matches, then the
// closest / largest overlap), with precision, recall and F1; and an overlay picture.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <opencv2/core.hpp>

#include "pipeline/validation/evaluate.hpp"

namespace apical {

struct DetectionScore {
  size_t found = 0, labelled = 0, matched = 0;
  double precision = 0, recall = 0, f1 = 0;
};

struct ManualScores {
  DetectionScore centroid, iou;
  std::vector<std::pair<int, int>> centroid_matches, iou_matches;  // (found, labelled)
};

// found and labelled: per ROI, ascending pixel indices y*width+x.
ManualScores score_against_manual(const std::vector<std::vector<uint32_t>>& found,
                                  const std::vector<std::vector<uint32_t>>& labelled, int width,
                                  double max_distance_px = 5.0, double min_iou = 0.5);

// The mean image with the labelled ROIs (matched by centroid: bluish green, missed:
// vermillion) and the found ROIs (matched: sky blue, unmatched: orange) outlined. BGR.
cv::Mat render_manual_overlay(const cv::Mat& mean_image, const std::vector<std::vector<uint32_t>>& found,
                              const std::vector<std::vector<uint32_t>>& labelled, const ManualScores& scores);

// What `apical evaluate --manual` reports for one plane of a rois.h5.
// Scores plane `plane` (-1: the first soma plane) of rois.h5's accepted ROIs against the
// labels file (see io/manual_labels.hpp). InputError naming the file for bad input.
struct ManualEvaluation;
ManualEvaluation evaluate_against_manual(const std::string& rois_path, const std::string& labels_path, int plane,
                                         const std::string& labels_dataset = "");

struct ManualEvaluation {
  int plane = 0;
  std::string format;        // of the labels file
  ManualScores scores;
  std::vector<ScoreRow> rows;  // stage "manual", subject plane{k}/centroid | plane{k}/iou
  cv::Mat overlay;           // BGR
};

}  // namespace apical
