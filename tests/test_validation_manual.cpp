// Scoring ROIs against manual labels: counts, and the label offset measured and undone.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

#include "pipeline/validation/evaluate_manual.hpp"

using namespace apical;

namespace {

constexpr int kHeight = 120, kWidth = 160;

// A disc of radius r centred at (cy, cx), ascending pixel indices.
std::vector<uint32_t> disc(double cy, double cx, double r) {
  std::vector<uint32_t> pixels;
  for (int y = 0; y < kHeight; ++y)
    for (int x = 0; x < kWidth; ++x)
      if (std::hypot(y - cy, x - cx) <= r) pixels.push_back(uint32_t(y * kWidth + x));
  return pixels;
}

// Cells on a 20 px grid, away from the border: 5 rows x 7 columns.
std::vector<std::vector<uint32_t>> grid_of_cells(int dy, int dx, double r = 4.5) {
  std::vector<std::vector<uint32_t>> cells;
  for (int row = 0; row < 5; ++row)
    for (int col = 0; col < 7; ++col) cells.push_back(disc(20 + 20 * row + dy, 20 + 20 * col + dx, r));
  return cells;
}

}  // namespace

TEST_CASE("manual scores count matches by centroid and by IoU", "[validation]") {
  auto found = grid_of_cells(0, 0);
  auto labelled = grid_of_cells(0, 0);
  found.resize(30);  // 5 labels missed
  found.push_back(disc(10, 150, 4.5));  // 2 false positives, far from every label
  found.push_back(disc(110, 150, 4.5));
  const ManualScores s = score_against_manual(found, labelled, kWidth, kHeight);
  CHECK(s.centroid.matched == 30);
  CHECK(s.centroid.precision == Approx(30.0 / 32.0));
  CHECK(s.centroid.recall == Approx(30.0 / 35.0));
  CHECK(s.iou.matched == 30);
  CHECK(s.offset.y_px == Approx(0.0).margin(1e-9));
  CHECK(s.offset.moved_y_px == 0);
  CHECK(s.iou_aligned.f1 == Approx(s.iou.f1));
}

TEST_CASE("labels drawn 2 px down and 2 px right of the cells: the offset is measured and undone for IoU",
          "[validation]") {
  const auto found = grid_of_cells(0, 0);
  const auto labelled = grid_of_cells(2, 2);
  const ManualScores s = score_against_manual(found, labelled, kWidth, kHeight);
  CHECK(s.centroid.f1 == Approx(1.0));  // 2.8 px is within neurofinder's 5 px
  CHECK(s.iou.f1 < 0.5);                // but most pairs fall below IoU 0.5
  CHECK(s.offset.y_px == Approx(2.0).margin(1e-4));
  CHECK(s.offset.x_px == Approx(2.0).margin(1e-4));
  CHECK(s.offset.moved_y_px == -2);
  CHECK(s.offset.moved_x_px == -2);
  CHECK(s.iou_aligned.matched == 35);
  CHECK(s.iou_aligned.f1 == Approx(1.0));
}

TEST_CASE("with too few matches the label offset is not estimated", "[validation]") {
  auto found = grid_of_cells(0, 0);
  auto labelled = grid_of_cells(2, 2);
  found.resize(LabelOffset::kMinMatchesForOffset - 1);
  const ManualScores s = score_against_manual(found, labelled, kWidth, kHeight);
  CHECK(s.centroid.matched == LabelOffset::kMinMatchesForOffset - 1);
  CHECK(std::isnan(s.offset.y_px));
  CHECK(std::isnan(s.offset.x_px));
  CHECK(s.offset.moved_x_px == 0);
  CHECK(s.iou_aligned.f1 == Approx(s.iou.f1));
}
