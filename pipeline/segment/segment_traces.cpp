// Second pass over the movie: binned ROI traces; trace-based ROI refinement and pairing.
#include <algorithm>
#include <cmath>
#include <array>
#include <limits>
#include <numeric>

#include <tbb/parallel_for.h>

#include "io/error.hpp"
#include "core/numeric.hpp"
#include "pipeline/segment/segment.hpp"

namespace apical {

// ================================================================ traces

RoiTraceAccumulator::RoiTraceAccumulator(const std::vector<Roi>& rois, int height, int width,
                                         const TraceParams& params)
    : height_(height), width_(width), params_(params) {
  if (height <= 0 || width <= 0) throw InputError("segment: image size must be positive");
  if (params.temporal_bin < 1) throw InputError("segment: temporal bin must be at least 1 frame");
  const size_t n = size_t(height) * width;
  std::vector<uint8_t> owned(n, 0);
  for (const Roi& roi : rois) {
    if (roi.pixels.empty()) throw InputError("segment: ROI without pixels");
    if (roi.weights.size() != roi.pixels.size()) throw InputError("segment: ROI weights and pixels differ in length");
    for (uint32_t p : roi.pixels) {
      if (p >= n) throw InputError("segment: ROI pixel index " + std::to_string(p) + " outside the image");
      owned[p] = 1;
    }
  }
  for (const Roi& roi : rois) {
    roi_pixels_.push_back(roi.pixels);
    roi_weights_.push_back(roi.weights);
    // Surround: an annulus around the centroid beyond the ROI's equivalent radius,
    // without any ROI's pixels.
    const RoiStats s = shape_stats(roi.pixels, width);
    const float r_in = std::sqrt(s.area / float(M_PI)) + params.ring_gap_px;
    const float r_out = r_in + params.ring_width_px;
    std::vector<uint32_t> ring;
    for (int y = std::max(0, int(std::floor(s.cy - r_out))); y <= std::min(height - 1, int(std::ceil(s.cy + r_out))); ++y)
      for (int x = std::max(0, int(std::floor(s.cx - r_out))); x <= std::min(width - 1, int(std::ceil(s.cx + r_out))); ++x) {
        const float dy = float(y) - s.cy, dx = float(x) - s.cx;
        const float r2 = dy * dy + dx * dx;
        const uint32_t p = uint32_t(y * width + x);
        if (r2 >= r_in * r_in && r2 <= r_out * r_out && !owned[p]) ring.push_back(p);
      }
    ring_pixels_.push_back(std::move(ring));
  }
  bin_acc_.assign(rois.size(), 0.0);
  binned_.resize(rois.size());
}

void RoiTraceAccumulator::add(const FrameStack& batch) {
  if (batch.count == 0) return;
  if (batch.height != height_ || batch.width != width_)
    throw InputError("segment: trace batch has the wrong frame size");
  if (next_frame_ >= 0 && batch.first_frame != next_frame_)
    throw InputError("segment: trace batches must be consecutive");
  const int bin = params_.temporal_bin;
  const int start = frames_in_bin_;
  tbb::parallel_for(size_t(0), roi_pixels_.size(), [&](size_t i) {
    const auto& px = roi_pixels_[i];
    const auto& wt = roi_weights_[i];
    const auto& ring = ring_pixels_[i];
    double weight_sum = 0;
    for (float w : wt) weight_sum += w;
    int in_bin = start;
    for (int t = 0; t < batch.count; ++t) {
      const float* f = batch.frame_data(t);
      double acc = 0;
      for (size_t k = 0; k < px.size(); ++k) acc += double(wt[k]) * f[px[k]];
      double value = acc / weight_sum;
      if (!ring.empty() && params_.neuropil_factor != 0) {
        double surround = 0;
        for (uint32_t p : ring) surround += f[p];
        value -= params_.neuropil_factor * surround / double(ring.size());
      }
      bin_acc_[i] += value;
      if (++in_bin == bin) {
        binned_[i].push_back(float(bin_acc_[i] / bin));
        bin_acc_[i] = 0;
        in_bin = 0;
      }
    }
  });
  frames_in_bin_ = (start + batch.count) % bin;
  next_frame_ = batch.first_frame + batch.count;
}

arma::fmat RoiTraceAccumulator::traces() const {
  const size_t bins = binned_.empty() ? 0 : binned_[0].size();
  arma::fmat out(binned_.size(), bins);
  for (size_t i = 0; i < binned_.size(); ++i)
    for (size_t t = 0; t < bins; ++t) out(i, t) = binned_[i][t];
  return out;
}

arma::fmat highpass_traces(const arma::fmat& traces, int window_bins) {
  arma::fmat out(arma::size(traces));
  const int n = int(traces.n_cols);
  const int r = std::max(0, window_bins / 2);
  for (arma::uword i = 0; i < traces.n_rows; ++i) {
    std::vector<double> prefix(size_t(n) + 1, 0.0);
    for (int t = 0; t < n; ++t) prefix[t + 1] = prefix[t] + traces(i, t);
    for (int t = 0; t < n; ++t) {
      const int a = std::max(0, t - r), b = std::min(n, t + r + 1);
      out(i, t) = float(traces(i, t) - (prefix[b] - prefix[a]) / (b - a));
    }
  }
  return out;
}

// ================================================================ refinement

namespace {

// Correlation, 0 where it is undefined (too few bins, a constant trace): no evidence of a link.
double pearson_or_zero(const float* a, const float* b, size_t n) {
  const double r = pearson(a, b, n);
  return std::isfinite(r) ? r : 0.0;
}

// Row i of a column-major matrix as a contiguous vector.
std::vector<float> row_of(const arma::fmat& m, arma::uword i, arma::uword n_cols) {
  std::vector<float> r(n_cols);
  for (arma::uword t = 0; t < n_cols; ++t) r[t] = m(i, t);
  return r;
}

// Noise sigma from the MAD of first differences (robust to slow signal and to transients).
double noise_sigma(const std::vector<float>& v) {
  if (v.size() < 3) return 0;
  std::vector<float> diff(v.size() - 1);
  for (size_t t = 1; t < v.size(); ++t) diff[t - 1] = v[t] - v[t - 1];
  const double med = nearest_rank_quantile(diff, 0.5);
  for (float& x : diff) x = float(std::fabs(x - med));
  return 1.4826 * nearest_rank_quantile(diff, 0.5) / std::sqrt(2.0);
}

double skewness(const std::vector<float>& v) {
  if (v.size() < 3) return 0;
  double m = 0;
  for (float x : v) m += x;
  m /= double(v.size());
  double m2 = 0, m3 = 0;
  for (float x : v) {
    const double d = x - m;
    m2 += d * d, m3 += d * d * d;
  }
  m2 /= double(v.size()), m3 /= double(v.size());
  return m2 > 0 ? m3 / std::pow(m2, 1.5) : 0.0;
}

// Smallest squared distance between any pixel of a and any pixel of b.
float min_gap_sq(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b, int width) {
  float best = std::numeric_limits<float>::infinity();
  for (uint32_t p : a)
    for (uint32_t q : b) {
      const float dy = float(int(p / width) - int(q / width)), dx = float(int(p % width) - int(q % width));
      best = std::min(best, dy * dy + dx * dx);
    }
  return best;
}

// Unit vector of the major axis of a pixel set's covariance ellipse and its eccentricity.
void principal_axis(const std::vector<uint32_t>& pixels, int width, double& uy, double& ux, double& ecc) {
  const RoiStats s = shape_stats(pixels, width);
  double cyy = 0, cxx = 0, cxy = 0;
  for (uint32_t p : pixels) {
    const double dy = double(p / width) - s.cy, dx = double(p % width) - s.cx;
    cyy += dy * dy, cxx += dx * dx, cxy += dy * dx;
  }
  const double angle = 0.5 * std::atan2(2 * cxy, cxx - cyy);  // of the major axis, from x
  uy = std::sin(angle), ux = std::cos(angle);
  ecc = s.eccentricity;
}

// Two pieces of one broken segment: each elongated (eccentricity >= 0.5), both within 45
// degrees of the line joining them. Neighbouring cross-sections are rarely both aligned so.
bool collinear_pieces(const Roi& a, const Roi& b, int width) {
  double jy = b.stats.cy - a.stats.cy, jx = b.stats.cx - a.stats.cx;
  const double norm = std::hypot(jy, jx);
  if (norm <= 0) return false;
  jy /= norm, jx /= norm;
  for (const Roi* r : {&a, &b}) {
    double uy, ux, ecc;
    principal_axis(r->pixels, width, uy, ux, ecc);
    if (ecc < 0.5 || std::fabs(uy * jy + ux * jx) < std::cos(45.0 * M_PI / 180.0)) return false;
  }
  return true;
}

}  // namespace

void refine_rois(std::vector<Roi>& rois, arma::fmat& traces, const SegmentParams& params, int width) {
  if (traces.n_rows != rois.size())
    throw InputError("segment: " + std::to_string(traces.n_rows) + " traces for " + std::to_string(rois.size()) + " ROIs");
  const arma::uword bins = traces.n_cols;
  if (params.role == "dendrite" && !rois.empty()) {
    const arma::fmat hp = highpass_traces(traces);
    // Reliability = signal share of each trace's variance; dividing r by the geometric
    // mean of the reliabilities undoes the attenuation by noise, so pieces of one dendrite
    // (same signal) score near 1 while branches of one neuron (shared somatic events but
    // their own isolated events) score lower.
    std::vector<std::vector<float>> rows(rois.size());
    std::vector<double> reliability(rois.size());
    for (size_t i = 0; i < rois.size(); ++i) {
      rows[i] = row_of(hp, i, bins);
      double m = 0, var = 0;
      for (float v : rows[i]) m += v;
      m /= std::max<double>(1, double(bins));
      for (float v : rows[i]) var += (v - m) * (v - m);
      var /= std::max<double>(1, double(bins));
      const double noise = noise_sigma(rows[i]);
      reliability[i] = var > 0 ? std::clamp(1.0 - noise * noise / var, 0.05, 1.0) : 0.05;
    }
    struct Candidate {
      double r;
      int i, j;
    };
    std::vector<Candidate> candidates;
    const float gap = params.merge_max_gap_px;
    for (size_t i = 0; i < rois.size(); ++i) {
      const float ri = std::sqrt(rois[i].stats.area / float(M_PI)) * 3 + 1;
      for (size_t j = i + 1; j < rois.size(); ++j) {
        const float rj = std::sqrt(rois[j].stats.area / float(M_PI)) * 3 + 1;
        const float dy = rois[i].stats.cy - rois[j].stats.cy, dx = rois[i].stats.cx - rois[j].stats.cx;
        // Cheap bound first: centroids farther than both extents plus the gap cannot be close.
        if (std::sqrt(dy * dy + dx * dx) > ri + rj + gap) continue;
        if (min_gap_sq(rois[i].pixels, rois[j].pixels, width) > (gap + 1) * (gap + 1)) continue;
        // Neighbouring cross-sections of one neuron share its somatic events too; only
        // the geometry of a broken segment tells its pieces apart from them.
        if (!collinear_pieces(rois[i], rois[j], width)) continue;
        const double r = pearson_or_zero(rows[i].data(), rows[j].data(), bins) / std::sqrt(reliability[i] * reliability[j]);
        if (r >= params.merge_min_correlation) candidates.push_back({r, int(i), int(j)});
      }
    }
    std::stable_sort(candidates.begin(), candidates.end(),
                     [](const Candidate& a, const Candidate& b) { return a.r > b.r; });
    // Merge the most similar pieces first; a merged dendrite may not outgrow one segment
    // by much (stops chains through the several branches of one neuron).
    std::vector<int> parent(rois.size());
    std::iota(parent.begin(), parent.end(), 0);
    std::vector<std::array<int, 4>> box(rois.size());  // y0, x0, y1, x1 per root
    for (size_t i = 0; i < rois.size(); ++i) {
      box[i] = {std::numeric_limits<int>::max(), std::numeric_limits<int>::max(), -1, -1};
      for (uint32_t p : rois[i].pixels) {
        const int y = int(p) / width, x = int(p) % width;
        box[i] = {std::min(box[i][0], y), std::min(box[i][1], x), std::max(box[i][2], y), std::max(box[i][3], x)};
      }
    }
    const float max_span = 1.5f * params.dendrite_max_length_px;
    for (const Candidate& c : candidates) {
      const int a = find_root(parent, c.i), b = find_root(parent, c.j);
      if (a == b) continue;
      const std::array<int, 4> u = {std::min(box[a][0], box[b][0]), std::min(box[a][1], box[b][1]),
                                    std::max(box[a][2], box[b][2]), std::max(box[a][3], box[b][3])};
      if (std::hypot(float(u[2] - u[0]), float(u[3] - u[1])) > max_span) continue;
      const int root = std::min(a, b);
      parent[std::max(a, b)] = root;
      box[root] = u;
    }
    std::vector<Roi> merged;
    std::vector<int> slot(rois.size(), -1);
    std::vector<std::vector<int>> members;
    for (size_t i = 0; i < rois.size(); ++i) {
      const int root = find_root(parent, int(i));
      if (slot[root] < 0) {
        slot[root] = int(members.size());
        members.emplace_back();
      }
      members[slot[root]].push_back(int(i));
    }
    arma::fmat merged_traces(members.size(), bins, arma::fill::zeros);
    for (size_t m = 0; m < members.size(); ++m) {
      Roi roi;
      roi.kind = rois[members[m][0]].kind;
      std::vector<std::pair<uint32_t, float>> px;
      float area = 0, quality = 0;
      for (int i : members[m]) {
        for (size_t k = 0; k < rois[i].pixels.size(); ++k) px.emplace_back(rois[i].pixels[k], rois[i].weights[k]);
        area += rois[i].stats.area;
        quality = std::max(quality, rois[i].stats.quality);
      }
      std::sort(px.begin(), px.end());
      for (auto& [p, w] : px) roi.pixels.push_back(p), roi.weights.push_back(w);
      for (int i : members[m]) merged_traces.row(m) += traces.row(i) * (rois[i].stats.area / area);
      roi.stats = shape_stats(roi.pixels, width);
      roi.stats.quality = quality;
      merged.push_back(std::move(roi));
    }
    rois = std::move(merged);
    traces = std::move(merged_traces);
  }
  const arma::fmat hp = highpass_traces(traces);
  for (size_t i = 0; i < rois.size(); ++i) {
    const auto v = row_of(hp, i, bins);
    const double sigma = noise_sigma(v);
    const double signal = nearest_rank_quantile(v, 0.99) - nearest_rank_quantile(v, 0.5);
    RoiStats& s = rois[i].stats;
    s.snr = sigma > 0 ? float(signal / sigma) : 0.0f;
    s.skewness = float(skewness(v));
    s.quality = float(s.quality * (1.0 - std::exp(-std::max(0.0f, s.snr) / 5.0)));
  }
}

// ================================================================ pairing

std::vector<Pair> pair_dendrites(const std::vector<Roi>& somata, const arma::fmat& soma_traces,
                                 const std::vector<Roi>& dendrites, const arma::fmat& dendrite_traces,
                                 const PairParams& params) {
  if (soma_traces.n_rows != somata.size() || dendrite_traces.n_rows != dendrites.size())
    throw InputError("segment: pairing needs one trace per ROI");
  if (!(params.distance_sigma_px > 0) || !(params.correlation_scale > 0))
    throw InputError("segment: pairing distance sigma and correlation scale must be positive");
  const arma::uword bins = std::min(soma_traces.n_cols, dendrite_traces.n_cols);
  if (bins < 3 || somata.empty() || dendrites.empty()) return {};
  const arma::fmat soma_hp = highpass_traces(soma_traces.cols(0, bins - 1), params.highpass_window_bins);
  const arma::fmat dend_hp = highpass_traces(dendrite_traces.cols(0, bins - 1), params.highpass_window_bins);
  std::vector<std::vector<float>> soma_rows(somata.size());
  for (size_t s = 0; s < somata.size(); ++s) soma_rows[s] = row_of(soma_hp, s, bins);

  std::vector<Pair> result(dendrites.size());
  tbb::parallel_for(size_t(0), dendrites.size(), [&](size_t d) {
    const auto drow = row_of(dend_hp, d, bins);
    double total = 1.0;  // the "no soma" alternative
    double best_score = 0, best_r = 0;
    int best = -1;
    for (size_t s = 0; s < somata.size(); ++s) {
      const double dy = somata[s].stats.cy - dendrites[d].stats.cy, dx = somata[s].stats.cx - dendrites[d].stats.cx;
      const double dist2 = dy * dy + dx * dx;
      if (dist2 > double(params.max_distance_px) * params.max_distance_px) continue;
      const double r = pearson_or_zero(soma_rows[s].data(), drow.data(), bins);
      const double prior = std::exp(-0.5 * dist2 / (double(params.distance_sigma_px) * params.distance_sigma_px));
      // Clamp the exponent: the confidence saturates long before, and it avoids overflow.
      const double score = prior * std::exp(std::min(60.0, (r - params.min_correlation) / params.correlation_scale));
      total += score;
      if (score > best_score) best_score = score, best_r = r, best = int(s);
    }
    const double confidence = best >= 0 ? best_score / total : 0.0;
    if (best >= 0 && best_r >= params.min_correlation && confidence >= params.min_confidence)
      result[d] = Pair{best, int(d), float(confidence)};
  });
  std::vector<Pair> pairs;
  for (const Pair& p : result)
    if (p.soma_roi >= 0) pairs.push_back(p);
  return pairs;
}

}  // namespace apical
