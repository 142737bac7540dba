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

// Where the labels sit relative to the ROIs they match: the median of (label centroid - ROI
// centroid) over the centroid matches. Labels drawn on a differently aligned image (another
// registration, an annotation tool's offset) sit off by a constant; at 9 px cells 1 px of offset
// on top of a detector's own centring error drops many true matches below IoU 0.5, so the
// offset is measured and IoU is scored again with the labels moved back by it (whole pixels).
struct LabelOffset {
  double y_px = 0, x_px = 0;  // NaN with fewer than kMinMatchesForOffset centroid matches
  int moved_y_px = 0, moved_x_px = 0;  // what the labels were moved by for iou_aligned
  static constexpr size_t kMinMatchesForOffset = 10;
};

struct ManualScores {
  DetectionScore centroid, iou;
  LabelOffset offset;
  DetectionScore iou_aligned;  // IoU scores with the labels moved by offset.moved_*
  std::vector<std::pair<int, int>> centroid_matches, iou_matches;  // (found, labelled)
};

// found and labelled: per ROI, ascending pixel indices y*width+x of a height x width image.
ManualScores score_against_manual(const std::vector<std::vector<uint32_t>>& found,
                                  const std::vector<std::vector<uint32_t>>& labelled, int width, int height,
                                  double max_distance_px = 5.0, double min_iou = 0.5);

// The mean image with the labelled ROIs (matched by centroid: bluish green, missed:
// vermillion) and the found ROIs (matched: sky blue, unmatched: orange) outlined. BGR.
cv::Mat render_manual_overlay(const cv::Mat& mean_image, const std::vector<std::vector<uint32_t>>& found,
                              const std::vector<std::vector<uint32_t>>& labelled, const ManualScores& scores);

// A part of the field scored on its own (`--rows A:B`, `--cols A:B`): half-open pixel ranges
// [begin, end); end < 0 means "to the edge". A label or ROI belongs to the part when its
// centroid does, so a cell is counted once, in the part that holds most of it.
struct FieldPart {
  int row_begin = 0, row_end = -1, col_begin = 0, col_end = -1;
  bool whole() const { return row_begin == 0 && row_end < 0 && col_begin == 0 && col_end < 0; }
  bool holds(double y, double x) const {
    return y >= row_begin && (row_end < 0 || y < row_end) && x >= col_begin && (col_end < 0 || x < col_end);
  }
};

// "A:B" -> [A, B) (A, B >= 0, A < B); InputError naming `option` otherwise. Empty: whole range.
std::pair<int, int> parse_pixel_range(const std::string& text, const std::string& option);

// The ROIs (ascending pixel indices of a `width`-wide image) whose centroid lies in `part`.
std::vector<std::vector<uint32_t>> rois_in_part(const std::vector<std::vector<uint32_t>>& rois, int width,
                                                const FieldPart& part);

// What `apical evaluate --manual` reports for one plane of a rois.h5.
// Scores plane `plane` (-1: the first soma plane) of rois.h5's accepted ROIs against the
// labels file (see io/manual_labels.hpp). InputError naming the file for bad input.
struct ManualEvaluation;
// With a `part`, only labels and ROIs whose centroid falls in it are scored.
ManualEvaluation evaluate_against_manual(const std::string& rois_path, const std::string& labels_path, int plane,
                                         const std::string& labels_dataset = "", const FieldPart& part = {});

struct ManualEvaluation {
  int plane = 0;
  std::string format;        // of the labels file
  ManualScores scores;
  FieldPart part;
  std::vector<ScoreRow> rows;  // stage "manual", subject plane{k}/centroid | plane{k}/iou
  cv::Mat overlay;           // BGR
};

}  // namespace apical
