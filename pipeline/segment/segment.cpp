// Summary images (streaming) and ROI detection from them.
#include "pipeline/segment/segment.hpp"
#include "core/numeric.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <array>
#include <queue>

#include <tbb/parallel_for.h>

#include "io/error.hpp"
#include "pipeline/segment/segment_anatomy.hpp"
#include "pipeline/segment/segment_filters.hpp"

namespace apical {

// ================================================================ summary images

SummaryImageAccumulator::SummaryImageAccumulator(int height, int width, int temporal_bin)
    : SummaryImageAccumulator(height, width, SummaryParams{temporal_bin}) {}

SummaryImageAccumulator::SummaryImageAccumulator(int height, int width, const SummaryParams& params)
    : height_(height), width_(width), params_(params) {
  if (height <= 0 || width <= 0) throw InputError("segment: image size must be positive");
  if (params.temporal_bin < 1) throw InputError("segment: temporal bin must be at least 1 frame");
  if (!(params.baseline_tau_bins >= 1)) throw InputError("segment: baseline time constant must be >= 1 bin");
  const size_t n = size_t(height) * width;
  frame_sum_.assign(n, 0.0);
  bin_sum_.assign(n, 0.0f);
  bin_max_.assign(n, -std::numeric_limits<float>::infinity());
  baseline_.assign(n, 0.0f);
  highpassed_ = cv::Mat(height, width, CV_32F);
  for (auto* v : {&sum_, &sum_sq_, &prod_r_, &prod_d_, &prod_dr_, &prod_dl_}) v->assign(n, 0.0);
}

void SummaryImageAccumulator::add(const FrameStack& batch) {
  if (batch.count == 0) return;
  if (batch.height != height_ || batch.width != width_)
    throw InputError("segment: batch of " + std::to_string(batch.height) + "x" +
                     std::to_string(batch.width) + " frames, expected " + std::to_string(height_) +
                     "x" + std::to_string(width_));
  if (next_frame_ >= 0 && batch.first_frame != next_frame_)
    throw InputError("segment: batches must be consecutive (expected frame " +
                     std::to_string(next_frame_) + ", got " + std::to_string(batch.first_frame) + ")");
  for (int t = 0; t < batch.count; ++t) add_frame(batch.frame_data(t));
  next_frame_ = batch.first_frame + batch.count;
}

void SummaryImageAccumulator::add_frame(const float* frame) {
  tbb::parallel_for(0, height_, [&](int y) {
    const size_t row = size_t(y) * width_;
    for (int x = 0; x < width_; ++x) {
      frame_sum_[row + x] += frame[row + x];
      bin_sum_[row + x] += frame[row + x];
    }
  });
  ++frames_;
  if (++frames_in_bin_ == params_.temporal_bin) close_bin();
}

void SummaryImageAccumulator::close_bin() {
  const float inv_bin = 1.0f / float(params_.temporal_bin);
  const float alpha = 1.0f / params_.baseline_tau_bins;
  const bool first = bins_ == 0;
  // Binned value, max, and the high-passed bin against the running baseline.
  tbb::parallel_for(0, height_, [&](int y) {
    float* h = highpassed_.ptr<float>(y);
    const size_t row = size_t(y) * width_;
    for (int x = 0; x < width_; ++x) {
      const size_t i = row + x;
      const float b = bin_sum_[i] * inv_bin;
      bin_sum_[i] = 0.0f;
      bin_max_[i] = std::max(bin_max_[i], b);
      if (first) baseline_[i] = b;
      h[x] = b - baseline_[i];
      baseline_[i] += alpha * (b - baseline_[i]);
    }
  });
  ++bins_;
  // The running baseline starts at the first bin and needs about one time constant to
  // settle; its start-up transient is common to all pixels, so it is not correlated.
  if (bins_ <= warmup_bins()) {
    frames_in_bin_ = 0;
    return;
  }
  if (params_.neuropil_sigma_px > 0) subtract_neuropil();
  tbb::parallel_for(0, height_, [&](int y) {
    const float* h = highpassed_.ptr<float>(y);
    const float* below = y + 1 < height_ ? highpassed_.ptr<float>(y + 1) : nullptr;
    const size_t row = size_t(y) * width_;
    for (int x = 0; x < width_; ++x) {
      const size_t i = row + x;
      const double v = h[x];
      sum_[i] += v;
      sum_sq_[i] += v * v;
      if (x + 1 < width_) prod_r_[i] += v * h[x + 1];
      if (below) {
        prod_d_[i] += v * below[x];
        if (x + 1 < width_) prod_dr_[i] += v * below[x + 1];
        if (x > 0) prod_dl_[i] += v * below[x - 1];
      }
    }
  });
  frames_in_bin_ = 0;
}

namespace {

// Median of every 7th value: a fixed subsample keeps this cheap and deterministic.
float subsample_median(const float* v, size_t n, std::vector<float>& scratch) {
  scratch.clear();
  for (size_t i = 0; i < n; i += 7) scratch.push_back(v[i]);
  auto mid = scratch.begin() + scratch.size() / 2;
  std::nth_element(scratch.begin(), mid, scratch.end());
  return *mid;
}

}  // namespace

void SummaryImageAccumulator::subtract_neuropil() {
  // Neuropil scales with the local resting brightness (a vessel's shadow dims it too), so
  // it is estimated on relative changes h / baseline, where it is spatially smooth.
  // Each pixel is first clipped to the bin's bulk (median +- 3 robust sigma): otherwise a
  // cell's transient would leak into its surround as a shared halo that correlates the
  // background.
  const size_t n = highpassed_.total();
  std::vector<float> scratch;
  const float typical_baseline = subsample_median(baseline_.data(), n, scratch);
  const bool relative = typical_baseline > 0;
  const float floor = relative ? 0.1f * typical_baseline : 1.0f;
  cv::Mat rel(highpassed_.size(), CV_32F);
  tbb::parallel_for(0, height_, [&](int y) {
    const float* h = highpassed_.ptr<float>(y);
    float* r = rel.ptr<float>(y);
    for (int x = 0; x < width_; ++x) r[x] = h[x] / (relative ? std::max(baseline_[size_t(y) * width_ + x], floor) : 1.0f);
  });
  const float median = subsample_median(rel.ptr<float>(0), n, scratch);
  for (float& v : scratch) v = std::fabs(v - median);
  auto mid = scratch.begin() + scratch.size() / 2;
  std::nth_element(scratch.begin(), mid, scratch.end());
  const float limit = 3 * 1.4826f * *mid;
  rel.forEach<float>([&](float& v, const int*) { v = std::clamp(v, median - limit, median + limit); });
  const cv::Mat neuropil = detail::box_blur3(rel, params_.neuropil_sigma_px);
  tbb::parallel_for(0, height_, [&](int y) {
    float* h = highpassed_.ptr<float>(y);
    const float* np = neuropil.ptr<float>(y);
    for (int x = 0; x < width_; ++x)
      h[x] -= np[x] * (relative ? std::max(baseline_[size_t(y) * width_ + x], floor) : 1.0f);
  });
}

cv::Mat SummaryImageAccumulator::mean() const {
  cv::Mat out(height_, width_, CV_32F, cv::Scalar(0));
  if (frames_ == 0) return out;
  for (int y = 0; y < height_; ++y)
    for (int x = 0; x < width_; ++x) out.at<float>(y, x) = float(frame_sum_[size_t(y) * width_ + x] / frames_);
  return out;
}

cv::Mat SummaryImageAccumulator::max() const {
  if (bins_ == 0) return mean();
  cv::Mat out(height_, width_, CV_32F);
  std::copy(bin_max_.begin(), bin_max_.end(), out.ptr<float>(0));
  return out;
}

cv::Mat SummaryImageAccumulator::correlation() const {
  cv::Mat out(height_, width_, CV_32F, cv::Scalar(0));
  if (correlated_bins() < 3) return out;
  const double n = double(correlated_bins());
  const int h = height_, w = width_;
  auto idx = [w](int y, int x) { return size_t(y) * w + x; };
  auto sd = [&](size_t i) {
    const double m = sum_[i] / n;
    return std::sqrt(std::max(0.0, sum_sq_[i] / n - m * m));
  };
  tbb::parallel_for(0, h, [&](int y) {
    for (int x = 0; x < w; ++x) {
      const size_t p = idx(y, x);
      const double sp = sd(p);
      const double mp = sum_[p] / n;
      double total = 0;
      int count = 0;
      // Neighbour q and the product sum S(p, q), stored at the upper/left member of the pair.
      auto visit = [&](int qy, int qx, double prod) {
        if (qy < 0 || qy >= h || qx < 0 || qx >= w) return;
        ++count;
        const size_t q = idx(qy, qx);
        const double sq = sd(q);
        if (sp <= 1e-12 * (1 + std::fabs(mp)) || sq <= 0) return;
        const double cov = prod / n - mp * (sum_[q] / n);
        total += cov / (sp * sq);
      };
      auto at = [&](const std::vector<double>& v, int qy, int qx) {
        return (qy < 0 || qy >= h || qx < 0 || qx >= w) ? 0.0 : v[idx(qy, qx)];
      };
      visit(y, x + 1, prod_r_[p]);
      visit(y, x - 1, at(prod_r_, y, x - 1));
      visit(y + 1, x, prod_d_[p]);
      visit(y - 1, x, at(prod_d_, y - 1, x));
      visit(y + 1, x + 1, prod_dr_[p]);
      visit(y - 1, x - 1, at(prod_dr_, y - 1, x - 1));
      visit(y + 1, x - 1, prod_dl_[p]);
      visit(y - 1, x + 1, at(prod_dl_, y - 1, x + 1));
      out.at<float>(y, x) = count ? float(total / count) : 0.0f;
    }
  });
  return out;
}

// ================================================================ shape statistics

RoiStats shape_stats(const std::vector<uint32_t>& pixels, int width) {
  RoiStats s;
  if (pixels.empty() || width <= 0) return s;
  const double n = double(pixels.size());
  double sy = 0, sx = 0;
  for (uint32_t p : pixels) {
    sy += p / width;
    sx += p % width;
  }
  const double my = sy / n, mx = sx / n;
  double cyy = 0, cxx = 0, cxy = 0;
  for (uint32_t p : pixels) {
    const double dy = double(p / width) - my, dx = double(p % width) - mx;
    cyy += dy * dy;
    cxx += dx * dx;
    cxy += dy * dx;
  }
  // + 1/12: each pixel is a unit square, so even one pixel has an extent.
  cyy = cyy / n + 1.0 / 12;
  cxx = cxx / n + 1.0 / 12;
  cxy /= n;
  const double det = std::max(cyy * cxx - cxy * cxy, 1e-12);
  const double half_trace = 0.5 * (cyy + cxx);
  const double disc = std::sqrt(std::max(0.0, half_trace * half_trace - det));
  const double major = half_trace + disc, minor = std::max(half_trace - disc, 0.0);
  s.cy = float(my);
  s.cx = float(mx);
  s.area = float(n);
  s.compactness = float(std::min(1.0, n / (4 * M_PI * std::sqrt(det))));
  s.eccentricity = float(std::sqrt(std::max(0.0, 1.0 - minor / major)));
  return s;
}

// ================================================================ detection

namespace {

struct Seed {
  int y, x;
  float z;
};

// Seeds whose peak (within peak_radius) stands above the local background, each with the
// level its region grows down to: background + fraction * (peak - background).
struct GrowthSeeds {
  std::vector<Seed> seeds;
  std::vector<float> thresholds, backgrounds;
};

GrowthSeeds seeds_above_background(const std::vector<Seed>& seeds, const cv::Mat& value,
                                   const cv::Mat& background_map, int peak_radius, float fraction) {
  GrowthSeeds out;
  for (const Seed& s : seeds) {
    float peak = -std::numeric_limits<float>::infinity();
    for (int dy = -peak_radius; dy <= peak_radius; ++dy)
      for (int dx = -peak_radius; dx <= peak_radius; ++dx) {
        const int y = s.y + dy, x = s.x + dx;
        if (y >= 0 && y < value.rows && x >= 0 && x < value.cols) peak = std::max(peak, value.at<float>(y, x));
      }
    const float background = background_map.at<float>(s.y, s.x);
    if (!(peak > background)) continue;
    out.seeds.push_back(s);
    out.backgrounds.push_back(background);
    out.thresholds.push_back(background + fraction * (peak - background));
  }
  return out;
}

// Local maxima of z within a disc of `radius` with z >= threshold, strongest first.
// Plateaus keep their first pixel in raster order.
std::vector<Seed> find_seeds(const cv::Mat& z, float threshold, int radius) {
  const int h = z.rows, w = z.cols;
  std::vector<std::vector<Seed>> per_row(static_cast<size_t>(h));
  tbb::parallel_for(0, h, [&](int y) {
    for (int x = 0; x < w; ++x) {
      const float v = z.at<float>(y, x);
      if (!(v >= threshold)) continue;
      bool is_max = true;
      for (int dy = -radius; dy <= radius && is_max; ++dy) {
        const int qy = y + dy;
        if (qy < 0 || qy >= h) continue;
        for (int dx = -radius; dx <= radius; ++dx) {
          const int qx = x + dx;
          if (qx < 0 || qx >= w || (dy == 0 && dx == 0) || dy * dy + dx * dx > radius * radius) continue;
          const float q = z.at<float>(qy, qx);
          const bool earlier = dy < 0 || (dy == 0 && dx < 0);
          if (q > v || (q == v && earlier)) {
            is_max = false;
            break;
          }
        }
      }
      if (is_max) per_row[y].push_back({y, x, v});
    }
  });
  std::vector<Seed> seeds;
  for (auto& row : per_row) seeds.insert(seeds.end(), row.begin(), row.end());
  std::stable_sort(seeds.begin(), seeds.end(), [](const Seed& a, const Seed& b) { return a.z > b.z; });
  return seeds;
}

// Seeded region growing on `value` (8-connected, highest value first, ties by pixel index):
// each region stops below its own threshold and beyond max_radius from its seed; a pixel
// belongs to whichever region reaches it first, which splits touching cells.
cv::Mat grow_regions(const cv::Mat& value, const std::vector<Seed>& seeds, const std::vector<float>& thresholds,
                     float max_radius, const cv::Mat& blocked = cv::Mat()) {
  const int h = value.rows, w = value.cols;
  cv::Mat label(h, w, CV_32S, cv::Scalar(-1));
  // Pixels already owned elsewhere (CV_8U, nonzero) are marked -2: never grown into.
  if (!blocked.empty()) label.setTo(cv::Scalar(-2), blocked);
  struct Item {
    float v;
    uint32_t index;
    int label;
    bool operator<(const Item& o) const {  // priority_queue pops the largest
      if (v != o.v) return v < o.v;
      if (index != o.index) return index > o.index;
      return label > o.label;
    }
  };
  std::priority_queue<Item> queue;
  for (size_t k = 0; k < seeds.size(); ++k) {
    const Seed& s = seeds[k];
    label.at<int>(s.y, s.x) = int(k);
    queue.push({value.at<float>(s.y, s.x), uint32_t(s.y * w + s.x), int(k)});
  }
  const float r2 = max_radius * max_radius;
  while (!queue.empty()) {
    const Item item = queue.top();
    queue.pop();
    const int y = int(item.index) / w, x = int(item.index) % w;
    const Seed& s = seeds[item.label];
    for (int dy = -1; dy <= 1; ++dy)
      for (int dx = -1; dx <= 1; ++dx) {
        const int qy = y + dy, qx = x + dx;
        if ((dy == 0 && dx == 0) || qy < 0 || qy >= h || qx < 0 || qx >= w) continue;
        if (label.at<int>(qy, qx) != -1) continue;
        const float v = value.at<float>(qy, qx);
        if (!(v >= thresholds[item.label])) continue;
        const float ry = float(qy - s.y), rx = float(qx - s.x);
        if (ry * ry + rx * rx > r2) continue;
        label.at<int>(qy, qx) = item.label;
        queue.push({v, uint32_t(qy * w + qx), item.label});
      }
  }
  return label;
}

// Adds the enclosed holes of region `id` (e.g. a dark nucleus) that no other region owns.
void fill_holes(cv::Mat& label, int id, std::vector<uint32_t>& pixels) {
  const int w = label.cols;
  int y0 = label.rows, y1 = -1, x0 = w, x1 = -1;
  for (uint32_t p : pixels) {
    const int y = int(p) / w, x = int(p) % w;
    y0 = std::min(y0, y), y1 = std::max(y1, y), x0 = std::min(x0, x), x1 = std::max(x1, x);
  }
  // Padded box: 0 outside the region, 1 region, 2 reached from the border.
  const int bh = y1 - y0 + 3, bw = x1 - x0 + 3;
  std::vector<uint8_t> box(size_t(bh) * bw, 0);
  for (uint32_t p : pixels) box[size_t(int(p) / w - y0 + 1) * bw + (int(p) % w - x0 + 1)] = 1;
  std::vector<int> stack{0};
  box[0] = 2;
  while (!stack.empty()) {
    const int i = stack.back();
    stack.pop_back();
    const int by = i / bw, bx = i % bw;
    const int nb[4][2] = {{by - 1, bx}, {by + 1, bx}, {by, bx - 1}, {by, bx + 1}};
    for (auto& q : nb) {
      if (q[0] < 0 || q[0] >= bh || q[1] < 0 || q[1] >= bw) continue;
      const int j = q[0] * bw + q[1];
      if (box[j] == 0) {
        box[j] = 2;
        stack.push_back(j);
      }
    }
  }
  for (int by = 1; by < bh - 1; ++by)
    for (int bx = 1; bx < bw - 1; ++bx) {
      if (box[size_t(by) * bw + bx] != 0) continue;
      int& owner = label.at<int>(by - 1 + y0, bx - 1 + x0);
      if (owner != -1) continue;
      owner = id;
      pixels.push_back(uint32_t((by - 1 + y0) * w + (bx - 1 + x0)));
    }
  std::sort(pixels.begin(), pixels.end());
}

// Dendrite plane: a continuous segment longer than the seed spacing yields several seeds
// whose regions meet. Touching regions are one object when the correlation image stays
// high along the straight line between their seeds (a ridge, no dip): at least
// `ridge_fraction` of the way from the background to the lower of the two peaks. Separate
// cross-sections are never adjacent in tissue, so the line between them crosses a pixel
// with no signal of its own, where the (unsmoothed) correlation dips. Merged objects may
// not span more than max_span px. Regions are relabelled in place to the strongest seed.
void join_ridge_pieces(cv::Mat& label, const std::vector<Seed>& seeds, const std::vector<float>& peaks,
                       const std::vector<float>& backgrounds, const cv::Mat& correlation, float ridge_fraction,
                       float max_span) {
  const int h = label.rows, w = label.cols;
  std::vector<std::pair<int, int>> touching;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const int a = label.at<int>(y, x);
      if (a < 0) continue;
      const int nb[4][2] = {{y, x + 1}, {y + 1, x - 1}, {y + 1, x}, {y + 1, x + 1}};
      for (auto& q : nb) {
        if (q[0] >= h || q[1] < 0 || q[1] >= w) continue;
        const int b = label.at<int>(q[0], q[1]);
        if (b >= 0 && b != a) touching.emplace_back(std::min(a, b), std::max(a, b));
      }
    }
  std::sort(touching.begin(), touching.end());
  touching.erase(std::unique(touching.begin(), touching.end()), touching.end());
  std::vector<int> parent(seeds.size());
  std::iota(parent.begin(), parent.end(), 0);
  // Extent of each merged group: its seeds' bounding box (regions reach ~1-2 px beyond).
  std::vector<std::array<int, 4>> box(seeds.size());
  for (size_t k = 0; k < seeds.size(); ++k) box[k] = {seeds[k].y, seeds[k].x, seeds[k].y, seeds[k].x};
  for (const auto& [a, b] : touching) {
    const Seed &sa = seeds[size_t(a)], &sb = seeds[size_t(b)];
    const float floor = std::max(backgrounds[size_t(a)], backgrounds[size_t(b)]);
    const float level = floor + ridge_fraction * (std::min(peaks[size_t(a)], peaks[size_t(b)]) - floor);
    const int steps = 2 * std::max(std::abs(sa.y - sb.y), std::abs(sa.x - sb.x));
    bool ridge = true;
    for (int i = 0; i <= steps && ridge; ++i) {
      const float t = steps ? float(i) / float(steps) : 0.0f;
      const int y = int(std::lround(float(sa.y) + t * float(sb.y - sa.y)));
      const int x = int(std::lround(float(sa.x) + t * float(sb.x - sa.x)));
      ridge = correlation.at<float>(y, x) >= level;
    }
    if (!ridge) continue;
    const int ra = find_root(parent, a), rb = find_root(parent, b);
    if (ra == rb) continue;
    const std::array<int, 4> u = {std::min(box[ra][0], box[rb][0]), std::min(box[ra][1], box[rb][1]),
                                  std::max(box[ra][2], box[rb][2]), std::max(box[ra][3], box[rb][3])};
    if (std::hypot(float(u[2] - u[0]), float(u[3] - u[1])) > max_span) continue;
    const int root = std::min(ra, rb);
    parent[std::max(ra, rb)] = root;
    box[root] = u;
  }
  std::vector<int> root_of(seeds.size());
  for (size_t k = 0; k < seeds.size(); ++k) root_of[k] = find_root(parent, int(k));
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      if (int& v = label.at<int>(y, x); v >= 0) v = root_of[size_t(v)];
}

void check_images(const cv::Mat& mean, const cv::Mat& max, const cv::Mat& correlation) {
  if (correlation.empty() || correlation.type() != CV_32F)
    throw InputError("segment: correlation image must be a non-empty float32 image");
  for (const cv::Mat* m : {&mean, &max})
    if (!m->empty() && (m->size() != correlation.size() || m->type() != CV_32F))
      throw InputError("segment: mean/max images must be float32 and the size of the correlation image");
}


bool plausible_soma(const RoiStats& s, const SegmentParams& params) {
  const double disc_area = M_PI * params.soma_diameter_px * params.soma_diameter_px / 4;
  return s.area >= params.soma_min_area_factor * disc_area && s.area <= params.soma_max_area_factor * disc_area &&
         s.compactness >= params.soma_min_compactness && s.eccentricity <= params.soma_max_eccentricity;
}

// Pixels owned by any ROI of `rois` (CV_8U, 1 = owned).
cv::Mat owned_mask(const std::vector<Roi>& rois, cv::Size size) {
  cv::Mat owned(size, CV_8U, cv::Scalar(0));
  for (const Roi& roi : rois)
    if (roi.accepted())
      for (uint32_t p : roi.pixels) owned.at<uint8_t>(int(p) / size.width, int(p) % size.width) = 1;
  return owned;
}

// Gives every free pixel (label -1) within `radius` of a centre to the nearest such centre
// (ties: the earlier centre): touching cells split along the line midway between them.
// With `value` and `levels` (one per centre), a pixel is claimed only where value >= that
// centre's level.
void claim_discs(cv::Mat& label, const std::vector<cv::Point2f>& centres, const std::vector<int>& ids, float radius,
                 const cv::Mat& value = cv::Mat(), const std::vector<float>& levels = {}) {
  const int h = label.rows, w = label.cols, reach = int(std::ceil(radius));
  cv::Mat distance(h, w, CV_32F, cv::Scalar(std::numeric_limits<float>::infinity()));
  std::vector<std::pair<uint32_t, int>> claims;
  for (size_t k = 0; k < centres.size(); ++k) {
    const int cy = int(std::lround(centres[k].y)), cx = int(std::lround(centres[k].x));
    for (int y = std::max(0, cy - reach); y <= std::min(h - 1, cy + reach); ++y)
      for (int x = std::max(0, cx - reach); x <= std::min(w - 1, cx + reach); ++x) {
        const float dist = std::hypot(float(y) - centres[k].y, float(x) - centres[k].x);
        if (dist > radius || label.at<int>(y, x) != -1 || !(dist < distance.at<float>(y, x))) continue;
        if (!levels.empty() && !(value.at<float>(y, x) >= levels[k])) continue;
        distance.at<float>(y, x) = dist;
        claims.emplace_back(uint32_t(y * w + x), ids[k]);
      }
  }
  // Later claims on a pixel were nearer: the last one wins.
  for (const auto& [p, id] : claims) label.at<int>(int(p) / w, int(p) % w) = id;
}

// Pixels of each label id in 0..n-1, ascending.
std::vector<std::vector<uint32_t>> pixels_by_label(const cv::Mat& label, size_t n) {
  std::vector<std::vector<uint32_t>> pixels(n);
  for (int y = 0; y < label.rows; ++y)
    for (int x = 0; x < label.cols; ++x)
      if (const int id = label.at<int>(y, x); id >= 0 && size_t(id) < n) pixels[size_t(id)].push_back(uint32_t(y * label.cols + x));
  return pixels;
}

// Disc masks of radius d/2 around template peaks. Pixels of `owned` are never taken; among
// the accepted peaks a pixel goes to the nearest centre, which keeps touching cells apart.
// A rejected candidate's disc leaves out every accepted ROI's pixels.
std::vector<std::vector<uint32_t>> template_discs(const std::vector<SomaCandidate>& peaks,
                                                  const std::vector<bool>& accepted, const cv::Mat& owned,
                                                  float diameter) {
  cv::Mat label(owned.size(), CV_32S, cv::Scalar(-1));
  label.setTo(cv::Scalar(-2), owned);
  std::vector<cv::Point2f> centres;
  std::vector<int> ids;
  for (size_t k = 0; k < peaks.size(); ++k)
    if (accepted[k]) centres.emplace_back(float(peaks[k].x), float(peaks[k].y)), ids.push_back(int(k));
  claim_discs(label, centres, ids, 0.5f * diameter);
  std::vector<std::vector<uint32_t>> discs = pixels_by_label(label, peaks.size());
  // A rejected candidate: the free pixels of its disc, read off the label image in raster
  // order (no full-image pass per candidate).
  const float r = 0.5f * diameter;
  const int reach = int(std::ceil(r));
  for (size_t k = 0; k < peaks.size(); ++k) {
    if (accepted[k]) continue;
    const int cy = peaks[k].y, cx = peaks[k].x;
    for (int y = std::max(0, cy - reach); y <= std::min(label.rows - 1, cy + reach); ++y)
      for (int x = std::max(0, cx - reach); x <= std::min(label.cols - 1, cx + reach); ++x)
        if (label.at<int>(y, x) == -1 && std::hypot(float(y - cy), float(x - cx)) <= r)
          discs[k].push_back(uint32_t(y * label.cols + x));
  }
  return discs;
}

// Soma plane: a correlation region holds the most active part of a cell, often only its
// core (about half the labelled cell body on a real recording). Each region is completed
// with the free pixels within d/2 of its centroid, so the ROI covers the soma. Where the
// mean image shows the cell standing out of its surround, only pixels at least
// mean_grow_fraction of the way from the surround to the region's own level are taken:
// a cell smaller than the typical diameter, or not round, keeps its own outline instead of
// becoming a disc of the typical size. Holes left inside (a dark nucleus) are then filled.
void complete_soma_discs(cv::Mat& label, std::vector<std::vector<uint32_t>>& pixels, const std::vector<bool>& plausible,
                         const cv::Mat& mean_image, const SegmentParams& params) {
  const float diameter = params.soma_diameter_px;
  const bool gated = !mean_image.empty() && params.mean_grow_fraction > 0;
  cv::Mat value, background;
  if (gated) {
    cv::Mat m;
    mean_image.copyTo(m);
    cv::patchNaNs(m, 0);
    value = detail::gaussian_blur(m, 1.0f);
    background = detail::gaussian_blur(m, diameter);
  }
  std::vector<cv::Point2f> centres;
  std::vector<int> ids;
  std::vector<float> levels;
  for (size_t k = 0; k < pixels.size(); ++k) {
    if (pixels[k].empty() || !plausible[k]) continue;
    const RoiStats st = shape_stats(pixels[k], label.cols);
    centres.emplace_back(st.cx, st.cy);
    ids.push_back(int(k));
    if (!gated) continue;
    std::vector<float> inside;
    for (uint32_t p : pixels[k]) inside.push_back(value.at<float>(int(p) / label.cols, int(p) % label.cols));
    std::nth_element(inside.begin(), inside.begin() + inside.size() / 2, inside.end());
    const float own = inside[inside.size() / 2];
    const float surround = background.at<float>(std::clamp(int(std::lround(st.cy)), 0, label.rows - 1),
                                                std::clamp(int(std::lround(st.cx)), 0, label.cols - 1));
    // A cell no brighter than its surround in the mean image: the disc, as before.
    levels.push_back(own > surround ? surround + params.mean_grow_fraction * (own - surround)
                                    : -std::numeric_limits<float>::infinity());
  }
  claim_discs(label, centres, ids, 0.5f * diameter, value, levels);
  if (!gated) return;
  pixels = pixels_by_label(label, pixels.size());
  for (int id : ids) fill_holes(label, id, pixels[size_t(id)]);
}

// Soma plane: cell bodies that are bright in the mean image but did not correlate (inactive
// cells, short recordings). Seeds are blobs of the mean image at the soma scale, normalised
// by the local contrast so a dim field and a bright patch are judged alike; each is grown on
// the mean image down to a fraction of its own contrast over the local background. Pixels
// of `rois` (the correlation image's somata) are never taken, and a seed on one is skipped.
std::vector<Roi> bright_mean_somata(const cv::Mat& mean_image, const std::vector<Roi>& rois,
                                   const SegmentParams& params) {
  cv::Mat m;
  mean_image.copyTo(m);
  cv::patchNaNs(m, 0);
  const float d = params.soma_diameter_px;
  const cv::Mat background_map = detail::gaussian_blur(m, d);
  const cv::Mat blob = detail::gaussian_blur(m, d / 4) - background_map;
  // Local contrast: the RMS of the blob image around each pixel (over ~2 soma diameters).
  cv::Mat contrast;
  cv::sqrt(detail::gaussian_blur(blob.mul(blob), 2 * d), contrast);
  float contrast_median, contrast_sigma;
  detail::robust_stats(contrast, contrast_median, contrast_sigma);
  // Floor: a flat region's tiny ripples must not be amplified into seeds.
  cv::Mat normalised = blob / cv::max(contrast, std::max(1e-12f, contrast_median));
  float median, sigma;
  detail::robust_stats(normalised, median, sigma);
  if (!(sigma > 0)) return {};
  const cv::Mat z = (normalised - median) / sigma;
  const int seed_radius = std::max(2, int(std::lround(0.4 * d)));
  std::vector<Seed> seeds = find_seeds(z, params.mean_threshold, seed_radius);
  const int border = std::max(0, params.border_px);
  const cv::Mat owned = owned_mask(rois, m.size());
  std::erase_if(seeds, [&](const Seed& s) {
    return s.y < border || s.x < border || s.y >= m.rows - border || s.x >= m.cols - border ||
           owned.at<uint8_t>(s.y, s.x) != 0;
  });

  const cv::Mat value = detail::gaussian_blur(m, 1.0f);
  const int peak_radius = std::max(1, int(d / 4));
  auto [kept, thresholds, backgrounds] =
      seeds_above_background(seeds, value, background_map, peak_radius, params.mean_grow_fraction);
  cv::Mat label = grow_regions(value, kept, thresholds, 0.75f * d, owned);
  std::vector<std::vector<uint32_t>> pixels(kept.size());
  for (int y = 0; y < label.rows; ++y)
    for (int x = 0; x < label.cols; ++x)
      if (const int id = label.at<int>(y, x); id >= 0) pixels[size_t(id)].push_back(uint32_t(y * label.cols + x));
  std::vector<Roi> found;
  for (size_t k = 0; k < kept.size(); ++k) {
    if (pixels[k].empty()) continue;
    fill_holes(label, int(k), pixels[k]);
    Roi roi;
    roi.kind = kSoma;
    roi.stats = shape_stats(pixels[k], label.cols);
    roi.source = kFromBrightBlob;
    if (!plausible_soma(roi.stats, params)) continue;
    const float peak_excess = std::max(1e-6f, (thresholds[k] - backgrounds[k]) / params.mean_grow_fraction);
    for (uint32_t p : pixels[k]) {
      const float v = value.at<float>(int(p) / label.cols, int(p) % label.cols);
      roi.weights.push_back(std::clamp((v - backgrounds[k]) / peak_excess, 0.1f, 1.0f));
    }
    roi.pixels = std::move(pixels[k]);
    // Half the weight of a correlation seed of the same strength: brightness alone is
    // weaker evidence of a cell than correlated activity.
    roi.stats.quality = 0.5f * kept[k].z / (kept[k].z + params.mean_threshold);
    found.push_back(std::move(roi));
  }
  return found;
}

// Soma plane: cell bodies from the mean image by the soma template (segment_anatomy.hpp):
// inactive cells, and short recordings whose correlation image is weak. A template peak on
// or within ~0.8 diameters of an ROI of `rois` (found from activity) is that same cell and
// is skipped; every other peak above template_floor is a candidate, accepted at
// template_threshold.
std::vector<Roi> template_somata(const cv::Mat& mean_image, const cv::Mat& correlation, const std::vector<Roi>& rois,
                                 const SegmentParams& params) {
  const float d = params.soma_diameter_px;
  const cv::Mat score = soma_template_score(mean_image, correlation, d, params.soma_model);
  const int radius = std::max(2, int(std::lround(0.78f * d)));
  std::vector<SomaCandidate> peaks = score_peaks(score, radius, params.template_floor, std::max(0, params.border_px));
  const cv::Mat owned = owned_mask(rois, score.size());
  std::erase_if(peaks, [&](const SomaCandidate& c) {
    if (owned.at<uint8_t>(c.y, c.x)) return true;
    for (const Roi& roi : rois)
      if (roi.accepted() && std::hypot(roi.stats.cy - float(c.y), roi.stats.cx - float(c.x)) < float(radius)) return true;
    return false;
  });
  cv::Mat m;
  mean_image.copyTo(m);
  cv::patchNaNs(m, 0);
  const float noise = pixel_noise_sigma(m);
  std::vector<bool> accepted(peaks.size());
  std::vector<int> rejection(peaks.size(), kAccepted);
  for (size_t k = 0; k < peaks.size(); ++k) {
    if (peaks[k].score < params.template_threshold)
      rejection[k] = kLowTemplateScore;
    else if (soma_contrast_z(m, peaks[k].y, peaks[k].x, d, noise) < params.template_min_contrast_z)
      rejection[k] = kWithinNoise;
    accepted[k] = rejection[k] == kAccepted;
  }
  const std::vector<std::vector<uint32_t>> discs = template_discs(peaks, accepted, owned, d);
  std::vector<Roi> found;
  for (size_t k = 0; k < peaks.size(); ++k) {
    if (discs[k].empty()) continue;
    Roi roi;
    roi.kind = kSoma;
    roi.source = kFromAnatomy;
    roi.rejection = rejection[k];
    roi.template_score = peaks[k].score;
    roi.pixels = discs[k];
    roi.weights.assign(roi.pixels.size(), 1.0f);
    roi.stats = shape_stats(roi.pixels, score.cols);
    // Below any correlation seed's quality (>= 0.5): anatomy alone is weaker evidence of a
    // cell than correlated activity. Probability of a soma, halved.
    roi.stats.quality = 0.5f / (1.0f + std::exp(-peaks[k].score));
    found.push_back(std::move(roi));
  }
  return found;
}
}  // namespace

std::vector<Roi> detect_rois(const cv::Mat& mean, const cv::Mat& max, const cv::Mat& correlation,
                             const SegmentParams& params) {
  check_images(mean, max, correlation);
  const bool soma = params.role == "soma";
  if (!soma && params.role != "dendrite")
    throw InputError("segment: plane role must be 'soma' or 'dendrite', got '" + params.role + "'");
  if ((soma && !(params.soma_diameter_px > 2)) || !(params.dendrite_max_length_px > 1))
    throw InputError("segment: soma diameter must be > 2 px and dendrite length > 1 px");
  if (params.max_rois < 1) throw InputError("segment: max_rois must be at least 1");

  cv::Mat c;
  correlation.copyTo(c);
  cv::patchNaNs(c, 0);
  const float d = params.soma_diameter_px;
  const float len = params.dendrite_max_length_px;
  // Blob filter (difference of Gaussians) at the object scale: fills a soma's dark nucleus
  // and removes the slowly varying correlation background.
  const float inner = soma ? d / 4 : 1.0f, outer = soma ? d : 5.0f;
  cv::Mat blob = detail::gaussian_blur(c, inner) - detail::gaussian_blur(c, outer);
  float blob_median, blob_sigma;
  detail::robust_stats(blob, blob_median, blob_sigma);
  // A flat correlation image (no activity at all) has no seeds; the mean image may still.
  const int seed_radius = soma ? std::max(2, int(std::lround(0.4 * d))) : 2;
  std::vector<Seed> seeds;
  if (blob_sigma > 0) seeds = find_seeds((blob - blob_median) / blob_sigma, params.threshold, seed_radius);
  // Seeds in the border band are dropped: filters there see mirrored data.
  const int border = std::max(0, params.border_px);
  std::erase_if(seeds, [&](const Seed& s) {
    return s.y < border || s.x < border || s.y >= c.rows - border || s.x >= c.cols - border;
  });

  // Grow on a lightly smoothed correlation image, each region down to a fraction of its peak.
  cv::Mat value = detail::gaussian_blur(c, soma ? 1.0f : 0.7f);
  // Local background: residual neuropil correlation varies across the field of view.
  const cv::Mat background_map = detail::gaussian_blur(value, soma ? 2 * d : 8.0f);
  const int peak_radius = soma ? std::max(1, int(d / 4)) : 1;
  auto [kept, thresholds, backgrounds] =
      seeds_above_background(seeds, value, background_map, peak_radius, params.grow_fraction);
  const float max_radius = soma ? 0.75f * d : 0.6f * len;
  cv::Mat label = grow_regions(value, kept, thresholds, max_radius);
  if (!soma) {
    // The ridge is judged on the mean image: averaged over every frame it shows each
    // cross-section's outline with little noise, and a gap as a dip to the background.
    const bool use_mean = !mean.empty();
    const cv::Mat ridge_image = use_mean ? detail::gaussian_blur(mean, 0.5f) : value;
    const cv::Mat ridge_background = use_mean ? detail::gaussian_blur(ridge_image, 8.0f) : background_map;
    std::vector<float> peaks(kept.size()), floors(kept.size());
    for (size_t k = 0; k < kept.size(); ++k) {
      float peak = -std::numeric_limits<float>::infinity();
      for (int dy = -1; dy <= 1; ++dy)
        for (int dx = -1; dx <= 1; ++dx) {
          const int y = std::clamp(kept[k].y + dy, 0, c.rows - 1), x = std::clamp(kept[k].x + dx, 0, c.cols - 1);
          peak = std::max(peak, ridge_image.at<float>(y, x));
        }
      peaks[k] = peak;
      floors[k] = ridge_background.at<float>(kept[k].y, kept[k].x);
    }
    join_ridge_pieces(label, kept, peaks, floors, ridge_image, params.ridge_fraction, params.dendrite_max_length_px);
  }

  std::vector<std::vector<uint32_t>> pixels = pixels_by_label(label, kept.size());
  // Soma plane: holes (the nucleus) filled; the size and shape judged on the region as
  // grown; plausible regions completed to the soma disc.
  std::vector<bool> plausible(kept.size(), true);
  if (soma) {
    for (size_t k = 0; k < kept.size(); ++k) {
      if (pixels[k].empty()) continue;
      fill_holes(label, int(k), pixels[k]);
      plausible[k] = plausible_soma(shape_stats(pixels[k], label.cols), params);
    }
    complete_soma_discs(label, pixels, plausible, mean, params);
    pixels = pixels_by_label(label, kept.size());
  }

  std::vector<Roi> rois;
  for (size_t k = 0; k < kept.size(); ++k) {
    if (pixels[k].empty()) continue;
    Roi roi;
    roi.kind = soma ? kSoma : kDendrite;
    roi.stats = shape_stats(pixels[k], label.cols);
    if (!plausible[k]) roi.rejection = kImplausibleShape;
    const float background = backgrounds[k];
    const float peak_excess = std::max(1e-6f, (thresholds[k] - background) / params.grow_fraction);
    roi.weights.reserve(pixels[k].size());
    for (uint32_t p : pixels[k]) {
      const float v = value.at<float>(int(p) / label.cols, int(p) % label.cols);
      roi.weights.push_back(std::clamp((v - background) / peak_excess, 0.1f, 1.0f));
    }
    roi.pixels = std::move(pixels[k]);
    // Detection strength in [0,1): 0.5 at the seed threshold, approaching 1 for strong seeds.
    roi.stats.quality = kept[k].z / (kept[k].z + params.threshold);
    rois.push_back(std::move(roi));
  }
  if (soma && !mean.empty() && params.mean_threshold > 0)
    for (Roi& roi : bright_mean_somata(mean, rois, params)) rois.push_back(std::move(roi));
  if (soma && !mean.empty() && !std::isnan(params.template_threshold))
    for (Roi& roi : template_somata(mean, correlation, rois, params)) rois.push_back(std::move(roi));
  std::stable_sort(rois.begin(), rois.end(), [](const Roi& a, const Roi& b) {
    if (a.accepted() != b.accepted()) return a.accepted();
    if (a.stats.quality != b.stats.quality) return a.stats.quality > b.stats.quality;
    if (a.stats.cy != b.stats.cy) return a.stats.cy < b.stats.cy;
    return a.stats.cx < b.stats.cx;
  });
  // At most max_rois accepted ROIs, and as many rejected candidates.
  const auto first_rejected = std::find_if(rois.begin(), rois.end(), [](const Roi& r) { return !r.accepted(); });
  const size_t n_accepted = size_t(first_rejected - rois.begin());
  if (n_accepted > size_t(params.max_rois))
    rois.erase(rois.begin() + params.max_rois, rois.begin() + std::ptrdiff_t(n_accepted));
  if (rois.size() > 2 * size_t(params.max_rois)) rois.resize(2 * size_t(params.max_rois));
  return rois;
}

std::vector<uint8_t> shared_pixel_mask(const std::vector<Roi>& rois, int height, int width) {
  const size_t n = size_t(height) * width;
  std::vector<uint8_t> count(n, 0);
  for (const Roi& roi : rois) {
    if (!roi.accepted()) continue;
    for (uint32_t p : roi.pixels) {
      if (p >= n) throw InputError("segment: ROI pixel index " + std::to_string(p) + " outside the image");
      if (count[p] < 2) ++count[p];
    }
  }
  for (auto& c : count) c = c >= 2 ? 1 : 0;
  return count;
}

}  // namespace apical
