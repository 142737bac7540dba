#include "pipeline/segment/segment_filters.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include <tbb/parallel_for.h>

namespace apical::detail {

int mirror(int i, int n) {
  if (n == 1) return 0;
  const int period = 2 * (n - 1);
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - i;
}

namespace {

// One box pass of radius r along a line of n values with stride.
void box_line(const float* in, int in_stride, float* out, int out_stride, int n, int r,
              std::vector<double>& prefix) {
  const int len = n + 2 * r;
  prefix.assign(size_t(len) + 1, 0.0);
  for (int k = 0; k < len; ++k) prefix[k + 1] = prefix[k] + in[size_t(mirror(k - r, n)) * in_stride];
  const double norm = 1.0 / (2 * r + 1);
  for (int i = 0; i < n; ++i) out[size_t(i) * out_stride] = float((prefix[i + 2 * r + 1] - prefix[i]) * norm);
}

void convolve_line(const float* in, float* out, int n, int stride, const std::vector<float>& kernel,
                   std::vector<float>& line) {
  const int r = int(kernel.size() / 2);
  line.resize(size_t(n));
  for (int i = 0; i < n; ++i) line[i] = in[size_t(i) * stride];
  for (int i = 0; i < n; ++i) {
    float acc = 0;
    for (int k = -r; k <= r; ++k) acc += kernel[k + r] * line[mirror(i + k, n)];
    out[size_t(i) * stride] = acc;
  }
}

// Applies a per-line operation along rows then along columns, in parallel over lines
// (each line is independent, so the result does not depend on the partition).
template <typename LineOp>
cv::Mat separable(const cv::Mat& image, LineOp op) {
  CV_Assert(image.type() == CV_32F);
  cv::Mat src = image.isContinuous() ? image : image.clone();
  cv::Mat tmp(src.size(), CV_32F), dst(src.size(), CV_32F);
  const int h = src.rows, w = src.cols;
  tbb::parallel_for(0, h, [&](int y) { op(src.ptr<float>(y), tmp.ptr<float>(y), w, 1); });
  tbb::parallel_for(0, w, [&](int x) { op(tmp.ptr<float>(0) + x, dst.ptr<float>(0) + x, h, w); });
  return dst;
}

}  // namespace

cv::Mat gaussian_blur(const cv::Mat& image, float sigma) {
  if (sigma <= 0) return image.clone();
  const int r = std::max(1, int(std::ceil(3 * sigma)));
  std::vector<float> kernel(size_t(2 * r + 1));
  double total = 0;
  for (int k = -r; k <= r; ++k) total += kernel[k + r] = float(std::exp(-0.5 * k * k / (sigma * sigma)));
  for (float& v : kernel) v = float(v / total);
  return separable(image, [&](const float* in, float* out, int n, int stride) {
    std::vector<float> line;
    convolve_line(in, out, n, stride, kernel, line);
  });
}

cv::Mat box_blur3(const cv::Mat& image, float sigma) {
  if (sigma <= 0) return image.clone();
  // Three boxes of width w have variance 3 (w^2 - 1) / 12 = sigma^2.
  const int r = std::max(1, int(std::lround((std::sqrt(4.0 * sigma * sigma + 1.0) - 1.0) / 2.0)));
  return separable(image, [&](const float* in, float* out, int n, int stride) {
    std::vector<double> prefix;
    std::vector<float> a(static_cast<size_t>(n)), b(static_cast<size_t>(n));
    box_line(in, stride, a.data(), 1, n, r, prefix);
    box_line(a.data(), 1, b.data(), 1, n, r, prefix);
    box_line(b.data(), 1, out, stride, n, r, prefix);
  });
}

void robust_stats(const cv::Mat& image, float& median, float& sigma) {
  std::vector<float> v;
  v.reserve(image.total());
  for (int y = 0; y < image.rows; ++y) v.insert(v.end(), image.ptr<float>(y), image.ptr<float>(y) + image.cols);
  if (v.empty()) {
    median = sigma = 0;
    return;
  }
  auto mid = v.begin() + v.size() / 2;
  std::nth_element(v.begin(), mid, v.end());
  median = *mid;
  for (float& x : v) x = std::fabs(x - median);
  std::nth_element(v.begin(), mid, v.end());
  sigma = 1.4826f * *mid;
}

}  // namespace apical::detail
