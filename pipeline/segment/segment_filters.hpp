#pragma once
// Small deterministic image filters used by segmentation (internal to apical_segment).
// Written by hand rather than taken from OpenCV so that results never depend on how a
// library splits an image across threads (running sums restart per stripe there).
#include <opencv2/core.hpp>

namespace apical::detail {

// Mirrors index i into [0, n) (reflect-101), for windows that may exceed the line length.
int mirror(int i, int n);

// Separable Gaussian blur (CV_32F in, CV_32F out), mirrored border (reflect-101),
// kernel truncated at 3 sigma. sigma <= 0 returns a copy.
cv::Mat gaussian_blur(const cv::Mat& image, float sigma);

// Three passes of a box filter whose combined variance matches a Gaussian of this sigma:
// O(1) per pixel at any sigma. Mirrored border.
cv::Mat box_blur3(const cv::Mat& image, float sigma);

// Median and MAD-based robust sigma (1.4826 * MAD) of all pixels.
void robust_stats(const cv::Mat& image, float& median, float& sigma);

}  // namespace apical::detail
