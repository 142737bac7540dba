// TraceExtractor: per-ROI F pixels (shared pixels excluded) and neuropil rings, precomputed
// once per plane as CSR arrays, then one sparse gather per frame.
#include "pipeline/extract/extract.hpp"

#include <algorithm>
#include <limits>
#include <cmath>
#include <numeric>
#include <string>
#include <utility>

#include <opencv2/imgproc.hpp>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "io/error.hpp"

namespace apical {
namespace {

void require(bool ok, const std::string& message) {
  if (!ok) throw InputError("extract: " + message);
}

void check_masks(const SparseMasks& m) {
  require(m.height > 0 && m.width > 0, "ROI masks have no frame size (height/width)");
  require(!m.offsets.empty() && m.offsets.front() == 0 && m.offsets.back() == m.pixels.size() &&
              m.weights.size() == m.pixels.size() && m.kind.size() + 1 == m.offsets.size(),
          "ROI mask arrays are inconsistent (pixels, weights, offsets, kind)");
  const uint64_t frame_pixels = uint64_t(m.height) * uint64_t(m.width);
  for (size_t i = 0; i < m.count(); ++i) {
    require(m.offsets[i + 1] >= m.offsets[i], "ROI offsets decrease at ROI " + std::to_string(i));
    require(m.offsets[i + 1] > m.offsets[i], "ROI " + std::to_string(i) + " has no pixels");
  }
  for (size_t k = 0; k < m.pixels.size(); ++k) {
    require(m.pixels[k] < frame_pixels, "ROI pixel index " + std::to_string(m.pixels[k]) + " outside the " +
                                            std::to_string(m.height) + "x" + std::to_string(m.width) + " frame");
    require(std::isfinite(m.weights[k]), "ROI weight is not finite");
  }
}

// Number of distinct ROIs claiming each pixel (saturating at 255).
std::vector<uint8_t> roi_membership(const SparseMasks& m) {
  const size_t n = size_t(m.height) * size_t(m.width);
  std::vector<uint8_t> count(n, 0);
  std::vector<int32_t> last(n, -1);
  for (size_t i = 0; i < m.count(); ++i)
    for (uint64_t k = m.offsets[i]; k < m.offsets[i + 1]; ++k) {
      const uint32_t p = m.pixels[k];
      if (last[p] == int32_t(i)) continue;  // duplicate entry within one ROI
      last[p] = int32_t(i);
      if (count[p] < 255) ++count[p];
    }
  return count;
}

// Pixels no ring may use: every ROI pixel and those within `margin` px of one.
std::vector<uint8_t> ring_exclusion(const SparseMasks& m, const std::vector<uint8_t>& members, float margin) {
  cv::Mat outside(m.height, m.width, CV_8U);
  for (size_t p = 0; p < members.size(); ++p) outside.data[p] = members[p] ? 0 : 255;
  cv::Mat distance;
  cv::distanceTransform(outside, distance, cv::DIST_L2, cv::DIST_MASK_PRECISE, CV_32F);
  std::vector<uint8_t> excluded(members.size());
  for (size_t p = 0; p < members.size(); ++p) excluded[p] = distance.ptr<float>()[p] <= margin;
  return excluded;
}

struct WeightedPixels {
  std::vector<uint32_t> pixels;
  std::vector<float> weights;
};

// Pixels used for F: exclusive pixels with positive weight, normalised to sum 1, sorted by
// pixel index (gather locality). Falls back to the whole mask when nothing is exclusive.
WeightedPixels f_pixels_of(const SparseMasks& m, size_t roi, const std::vector<uint8_t>& members,
                           ExtractorRoiInfo& info) {
  std::vector<std::pair<uint32_t, double>> kept;
  for (uint64_t k = m.offsets[roi]; k < m.offsets[roi + 1]; ++k) {
    if (members[m.pixels[k]] > 1) {
      ++info.shared_pixels;
      continue;
    }
    if (m.weights[k] > 0) kept.emplace_back(m.pixels[k], m.weights[k]);
  }
  if (kept.empty()) {
    info.all_shared = info.shared_pixels > 0;
    for (uint64_t k = m.offsets[roi]; k < m.offsets[roi + 1]; ++k)
      if (m.weights[k] > 0) kept.emplace_back(m.pixels[k], m.weights[k]);
  }
  if (kept.empty())  // no positive weight at all: the plain mask mean
    for (uint64_t k = m.offsets[roi]; k < m.offsets[roi + 1]; ++k) kept.emplace_back(m.pixels[k], 1.0);
  std::stable_sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  double total = 0;
  for (const auto& [p, w] : kept) total += w;
  WeightedPixels out;
  for (const auto& [p, w] : kept) {
    out.pixels.push_back(p);
    out.weights.push_back(float(w / total));
  }
  info.f_pixels = int(out.pixels.size());
  return out;
}

// The neuropil ring of one ROI: pixels in no ROI (nor its margin), farther than the inner gap from this ROI,
// nearest first until neuropil_min_pixels (ties at the last distance included, so the ring
// does not depend on pixel order), within neuropil_max_radius_px. Distances are exact
// Euclidean (OpenCV precise distance transform) inside a window around the ROI that is
// enlarged until it contains every pixel up to the distance needed.
std::vector<uint32_t> neuropil_ring_of(const SparseMasks& m, size_t roi, const std::vector<uint8_t>& excluded,
                                       const ExtractParams& params, ExtractorRoiInfo& info) {
  const int W = m.width, H = m.height;
  int y0 = H, y1 = -1, x0 = W, x1 = -1;
  for (uint64_t k = m.offsets[roi]; k < m.offsets[roi + 1]; ++k) {
    const int y = int(m.pixels[k] / uint32_t(W)), x = int(m.pixels[k] % uint32_t(W));
    y0 = std::min(y0, y), y1 = std::max(y1, y), x0 = std::min(x0, x), x1 = std::max(x1, x);
  }
  const double gap = params.neuropil_inner_gap_px, max_radius = params.neuropil_max_radius_px;
  const size_t wanted = size_t(params.neuropil_min_pixels);
  std::vector<std::pair<float, uint32_t>> candidates;  // (distance, pixel index)
  double reach = std::min(max_radius, gap + 16.0);
  for (;;) {
    const int e = int(std::ceil(reach)) + 1;
    const int wy0 = std::max(0, y0 - e), wy1 = std::min(H - 1, y1 + e);
    const int wx0 = std::max(0, x0 - e), wx1 = std::min(W - 1, x1 + e);
    cv::Mat outside(wy1 - wy0 + 1, wx1 - wx0 + 1, CV_8U, cv::Scalar(255));
    for (uint64_t k = m.offsets[roi]; k < m.offsets[roi + 1]; ++k) {
      const int y = int(m.pixels[k] / uint32_t(W)), x = int(m.pixels[k] % uint32_t(W));
      outside.at<uint8_t>(y - wy0, x - wx0) = 0;
    }
    cv::Mat distance;
    cv::distanceTransform(outside, distance, cv::DIST_L2, cv::DIST_MASK_PRECISE, CV_32F);
    candidates.clear();
    for (int y = wy0; y <= wy1; ++y)
      for (int x = wx0; x <= wx1; ++x) {
        const float d = distance.at<float>(y - wy0, x - wx0);
        const uint32_t p = uint32_t(y) * uint32_t(W) + uint32_t(x);
        if (d > gap && d <= reach && !excluded[p]) candidates.emplace_back(d, p);
      }
    if (candidates.size() >= wanted || reach >= max_radius) break;
    reach = std::min(max_radius, 2.0 * reach);
  }
  std::sort(candidates.begin(), candidates.end());
  size_t take = std::min(wanted, candidates.size());
  if (take > 0)
    while (take < candidates.size() && candidates[take].first == candidates[take - 1].first) ++take;
  std::vector<uint32_t> ring;
  ring.reserve(take);
  for (size_t k = 0; k < take; ++k) ring.push_back(candidates[k].second);
  std::sort(ring.begin(), ring.end());
  info.neuropil_pixels = int(ring.size());
  info.neuropil_radius_px = take > 0 ? candidates[take - 1].first : 0.0f;
  info.neuropil_short = ring.size() < wanted;
  return ring;
}

// Weighted sum of frame values at `pixels`, in four interleaved lanes combined in a fixed
// order: deterministic, and not limited by the latency of one long addition chain.
inline double weighted_gather(const float* frame, const uint32_t* pixels, const float* weights, size_t n) {
  double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  size_t k = 0;
  for (; k + 4 <= n; k += 4) {
    a0 += double(weights[k]) * frame[pixels[k]];
    a1 += double(weights[k + 1]) * frame[pixels[k + 1]];
    a2 += double(weights[k + 2]) * frame[pixels[k + 2]];
    a3 += double(weights[k + 3]) * frame[pixels[k + 3]];
  }
  for (; k < n; ++k) a0 += double(weights[k]) * frame[pixels[k]];
  return (a0 + a1) + (a2 + a3);
}

inline double plain_gather(const float* frame, const uint32_t* pixels, size_t n) {
  double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  size_t k = 0;
  for (; k + 4 <= n; k += 4) {
    a0 += frame[pixels[k]];
    a1 += frame[pixels[k + 1]];
    a2 += frame[pixels[k + 2]];
    a3 += frame[pixels[k + 3]];
  }
  for (; k < n; ++k) a0 += frame[pixels[k]];
  return (a0 + a1) + (a2 + a3);
}

}  // namespace

void validate(const ExtractParams& p) {
  require(std::isfinite(p.neuropil_roi_margin_px) && p.neuropil_roi_margin_px >= 0,
          "--neuropil-roi-margin must be >= 0 px");
  require(std::isfinite(p.neuropil_inner_gap_px) && p.neuropil_inner_gap_px >= 0,
          "--neuropil-inner-gap must be >= 0 px");
  require(p.neuropil_min_pixels >= 1, "--neuropil-min-pixels must be >= 1");
  require(std::isfinite(p.neuropil_max_radius_px) && p.neuropil_max_radius_px > p.neuropil_inner_gap_px &&
              p.neuropil_max_radius_px <= 1000,
          "--neuropil-max-radius must exceed the inner gap and be <= 1000 px");
}

TraceExtractor TraceExtractor::build(const SparseMasks& masks, const ExtractParams& params) {
  validate(params);
  check_masks(masks);
  const std::vector<uint8_t> members = roi_membership(masks);
  const std::vector<uint8_t> excluded = ring_exclusion(masks, members, params.neuropil_roi_margin_px);
  const size_t n = masks.count();
  std::vector<WeightedPixels> f(n);
  std::vector<std::vector<uint32_t>> rings(n);
  TraceExtractor ex;
  ex.height_ = masks.height;
  ex.width_ = masks.width;
  ex.info_.assign(n, {});
  tbb::parallel_for(size_t(0), n, [&](size_t i) {
    f[i] = f_pixels_of(masks, i, members, ex.info_[i]);
    rings[i] = neuropil_ring_of(masks, i, excluded, params, ex.info_[i]);
  });
  for (size_t i = 0; i < n; ++i) {
    ex.f_pixels_.insert(ex.f_pixels_.end(), f[i].pixels.begin(), f[i].pixels.end());
    ex.f_weights_.insert(ex.f_weights_.end(), f[i].weights.begin(), f[i].weights.end());
    ex.f_offsets_.push_back(ex.f_pixels_.size());
    ex.neu_pixels_.insert(ex.neu_pixels_.end(), rings[i].begin(), rings[i].end());
    ex.neu_offsets_.push_back(ex.neu_pixels_.size());
  }
  return ex;
}

std::vector<uint32_t> TraceExtractor::f_pixels(int roi) const {
  return {f_pixels_.begin() + long(f_offsets_[size_t(roi)]), f_pixels_.begin() + long(f_offsets_[size_t(roi) + 1])};
}
std::vector<float> TraceExtractor::f_weights(int roi) const {
  return {f_weights_.begin() + long(f_offsets_[size_t(roi)]), f_weights_.begin() + long(f_offsets_[size_t(roi) + 1])};
}
std::vector<uint32_t> TraceExtractor::neuropil_pixels(int roi) const {
  return {neu_pixels_.begin() + long(neu_offsets_[size_t(roi)]),
          neu_pixels_.begin() + long(neu_offsets_[size_t(roi) + 1])};
}

namespace {

// F and Fneu of one ROI from its pixels at or below row `first_row` only. Pixels are sorted by
// index, so those are a suffix of each list; NaN when the suffix is empty.
std::pair<float, float> gather_below(const float* frame, size_t first_pixel, const uint32_t* f_pixels,
                                     const float* f_weights, size_t nf, const uint32_t* neu_pixels, size_t nn) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const size_t f_from = size_t(std::lower_bound(f_pixels, f_pixels + nf, uint32_t(first_pixel)) - f_pixels);
  const size_t n_from = size_t(std::lower_bound(neu_pixels, neu_pixels + nn, uint32_t(first_pixel)) - neu_pixels);
  double weight = 0;
  for (size_t k = f_from; k < nf; ++k) weight += f_weights[k];
  const float f = weight > 0 ? float(weighted_gather(frame, f_pixels + f_from, f_weights + f_from, nf - f_from) / weight)
                             : nan;
  const float neu = nn > n_from ? float(plain_gather(frame, neu_pixels + n_from, nn - n_from) / double(nn - n_from)) : nan;
  return {f, neu};
}

}  // namespace

void TraceExtractor::extract(const FrameStack& batch, float* out_f, float* out_fneu, size_t row_stride,
                             const int* skip_rows) const {
  require(batch.height == height_ && batch.width == width_,
          "frames are " + std::to_string(batch.height) + "x" + std::to_string(batch.width) +
              " but the ROI masks are " + std::to_string(height_) + "x" + std::to_string(width_));
  require(batch.count >= 0 && batch.pixels.size() >= size_t(batch.count) * batch.frame_size(),
          "frame batch holds fewer pixels than its frame count says");
  const size_t stride = row_stride == 0 ? size_t(batch.count) : row_stride;
  require(stride >= size_t(batch.count), "output row stride is shorter than the batch");
  const size_t n = info_.size();
  // Frame-major: one frame (1 MB at 512x512) stays in cache while every ROI gathers from it.
  tbb::parallel_for(tbb::blocked_range<int>(0, batch.count, 4), [&](const tbb::blocked_range<int>& range) {
    for (int t = range.begin(); t < range.end(); ++t) {
      const float* frame = batch.frame_data(t);
      if (skip_rows && skip_rows[t] > 0) {
        const size_t first_pixel = size_t(std::min(skip_rows[t], height_)) * size_t(width_);
        for (size_t i = 0; i < n; ++i) {
          const uint64_t f0 = f_offsets_[i], n0 = neu_offsets_[i];
          const auto [f, neu] = gather_below(frame, first_pixel, f_pixels_.data() + f0, f_weights_.data() + f0,
                                             size_t(f_offsets_[i + 1] - f0), neu_pixels_.data() + n0,
                                             size_t(neu_offsets_[i + 1] - n0));
          out_f[i * stride + size_t(t)] = f;
          out_fneu[i * stride + size_t(t)] = neu;
        }
        continue;
      }
      for (size_t i = 0; i < n; ++i) {
        const uint64_t f0 = f_offsets_[i], f1 = f_offsets_[i + 1];
        out_f[i * stride + size_t(t)] =
            float(weighted_gather(frame, f_pixels_.data() + f0, f_weights_.data() + f0, size_t(f1 - f0)));
        const uint64_t n0 = neu_offsets_[i], n1 = neu_offsets_[i + 1];
        const double ring = n1 > n0 ? plain_gather(frame, neu_pixels_.data() + n0, size_t(n1 - n0)) / double(n1 - n0)
                                    : 0.0;
        out_fneu[i * stride + size_t(t)] = float(ring);
      }
    }
  });
}

}  // namespace apical
