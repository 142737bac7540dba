// Motion-correction core: rigid phase correlation, bidirectional correction, reference image,
// batch registration and quality measures. Non-rigid blocks are in register_blocks.cpp.
#include "pipeline/register/register.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include <oneapi/tbb/parallel_for.h>
#include <opencv2/imgproc.hpp>

#include "io/error.hpp"
#include "pipeline/register/register_blank.hpp"
#include "pipeline/register/register_detail.hpp"

namespace apical {
namespace {

void require_frame(const cv::Mat& m, const char* what) {
  if (m.empty() || m.type() != CV_32F || m.dims != 2)
    throw InputError(std::string("register: ") + what + " must be a non-empty float32 image");
}

// The border of a registered frame that may hold replicated edge pixels.
cv::Rect interior(int height, int width, int margin) {
  const int my = std::min(margin, height / 4), mx = std::min(margin, width / 4);
  return cv::Rect(mx, my, width - 2 * mx, height - 2 * my);
}

}  // namespace

void RegisterParams::validate() const {
  auto fail = [](const std::string& what) { throw InputError("register: " + what); };
  if (max_shift_px < 1) fail("--max-shift must be at least 1 px");
  if (!(taper_fraction >= 0 && taper_fraction < 0.5f)) fail("--taper must be in [0, 0.5)");
  if (!(smooth_sigma_px >= 0 && smooth_sigma_px <= 10)) fail("--smooth-sigma must be in [0, 10] px");
  if (reference_frames < 1) fail("--reference-frames must be at least 1");
  if (reference_iterations < 1) fail("--reference-iterations must be at least 1");
  if (reference_seed_frames < 1) fail("--reference-seed-frames must be at least 1");
  if (block_size < 16) fail("--block-size must be at least 16 px");
  if (max_block_shift_px < 1) fail("--max-block-shift must be at least 1 px");
  if (!(block_snr_threshold >= 0)) fail("--block-snr-threshold must be >= 0");
  if (!(block_taper_fraction >= 0 && block_taper_fraction < 0.5f))
    fail("--block-taper must be in [0, 0.5)");
  if (!(max_bidi_offset_px >= 0)) fail("--max-bidi-offset must be >= 0");
}

// ---------------------------------------------------------------------------------------
// Rigid

struct RigidAligner::Impl {
  RegisterParams params;
  cv::Mat reference;
  detail::RealFft2D fft;
  std::vector<float> taper_y, taper_x;
  std::vector<std::complex<float>> reference_weight;  // conj(R)/|R| * Gaussian
  float inverse_norm = 1;  // normalises the correlation peak of identical images to 1
  int bound_y = 0, bound_x = 0;

  Impl(const cv::Mat& ref, const RegisterParams& p)
      : params(p), reference(ref.clone()), fft(ref.rows, ref.cols) {
    taper_y = detail::edge_taper(ref.rows, p.taper_fraction);
    taper_x = detail::edge_taper(ref.cols, p.taper_fraction);
    double full_sum = 1;
    const auto gauss = detail::gaussian_spectrum(ref.rows, ref.cols, p.smooth_sigma_px, &full_sum);
    inverse_norm = float(1.0 / full_sum);
    auto buf = fft.buffers();
    detail::taper_mean_subtracted(reference, taper_y, taper_x, buf.real);
    fft.forward(buf.real, buf.spectrum);
    reference_weight = detail::whitened_reference(buf.spectrum, gauss);
    bound_y = std::min(p.max_shift_px, ref.rows / 2 - 2);
    bound_x = std::min(p.max_shift_px, ref.cols / 2 - 2);
  }
};

RigidAligner::RigidAligner(const cv::Mat& reference, const RegisterParams& params) {
  params.validate();
  require_frame(reference, "reference");
  if (reference.rows < 8 || reference.cols < 8)
    throw InputError("register: frames must be at least 8x8 px");
  impl_ = std::make_unique<Impl>(reference, params);
}
RigidAligner::~RigidAligner() = default;
RigidAligner::RigidAligner(RigidAligner&&) noexcept = default;
RigidAligner& RigidAligner::operator=(RigidAligner&&) noexcept = default;
const cv::Mat& RigidAligner::reference() const { return impl_->reference; }
const RegisterParams& RigidAligner::params() const { return impl_->params; }

Shift RigidAligner::estimate(const cv::Mat& frame, float* peak_correlation, int blank_rows) const {
  const Impl& m = *impl_;
  if (frame.size() != m.reference.size() || frame.type() != CV_32F)
    throw InputError("register: frame size differs from the reference");
  auto buf = m.fft.buffers();
  if (blank_rows > 0 && blank_rows < frame.rows) {
    // Blank rows are outside the window: zero there, the taper starting below them.
    const int rows = frame.rows - blank_rows;
    const std::vector<float> taper_rest = detail::edge_taper(rows, m.params.taper_fraction);
    std::fill(buf.real, buf.real + size_t(blank_rows) * frame.cols, 0.0f);
    detail::taper_mean_subtracted(frame.rowRange(blank_rows, frame.rows), taper_rest, m.taper_x,
                                  buf.real + size_t(blank_rows) * frame.cols);
  } else {
    detail::taper_mean_subtracted(frame, m.taper_y, m.taper_x, buf.real);
  }
  m.fft.forward(buf.real, buf.spectrum);
  detail::whiten_and_multiply(buf.spectrum, m.reference_weight.data(), m.fft.spectrum_size());
  m.fft.inverse(buf.spectrum, buf.real);

  const int h = frame.rows, w = frame.cols;
  const float* surface = buf.real;
  const float norm = m.inverse_norm;
  auto at = [&](int sy, int sx) {
    const int y = sy < 0 ? sy + h : sy, x = sx < 0 ? sx + w : sx;
    return surface[size_t(y) * w + x] * norm;
  };
  detail::Peak peak = detail::find_peak(at, m.bound_y, m.bound_x);

  // A clearly stronger peak beyond the bound means a large real displacement: clamp towards
  // it rather than report a spurious in-bound peak (or a wrapped one).
  cv::Point best_at;
  cv::minMaxLoc(cv::Mat(h, w, CV_32F, buf.real), nullptr, nullptr, nullptr, &best_at);
  const int gy = best_at.y, gx = best_at.x;
  const size_t best = size_t(gy) * w + gx;
  const int sy = gy > h / 2 ? gy - h : gy, sx = gx > w / 2 ? gx - w : gx;
  const bool outside = std::abs(sy) > m.bound_y || std::abs(sx) > m.bound_x;
  if (outside && surface[best] * norm > 2.0f * peak.value && surface[best] > 0) {
    peak.iy = sy;
    peak.ix = sx;
    peak.value = surface[best] * norm;
    peak.dy = float(sy) + detail::subpixel_offset(at(sy - 1, sx), peak.value, at(sy + 1, sx));
    peak.dx = float(sx) + detail::subpixel_offset(at(sy, sx - 1), peak.value, at(sy, sx + 1));
  }

  if (peak_correlation) *peak_correlation = peak.value;
  return Shift{std::clamp(peak.dy, -float(m.bound_y), float(m.bound_y)),
               std::clamp(peak.dx, -float(m.bound_x), float(m.bound_x))};
}

void apply_rigid_shift(const cv::Mat& raw, Shift shift, cv::Mat& aligned) {
  require_frame(raw, "frame");
  if (!std::isfinite(shift.dy) || !std::isfinite(shift.dx))
    throw InputError("register: shift is not finite");
  const int h = raw.rows, w = raw.cols;
  // Horizontal pass into a per-thread buffer first, so raw and aligned may be the same image.
  thread_local std::vector<float> rows;
  rows.resize(size_t(h) * w);
  for (int y = 0; y < h; ++y) detail::shift_row(raw.ptr<float>(y), &rows[size_t(y) * w], w, shift.dx);

  aligned.create(h, w, CV_32F);
  const float fl = std::floor(shift.dy);
  const int iy = int(fl);
  float wy[4];
  detail::cubic_weights(shift.dy - fl, wy);
  for (int y = 0; y < h; ++y) {
    const float* r[4];
    for (int k = 0; k < 4; ++k) r[k] = &rows[size_t(std::clamp(y + iy - 1 + k, 0, h - 1)) * w];
    float* o = aligned.ptr<float>(y);
    for (int x = 0; x < w; ++x)
      o[x] = wy[0] * r[0][x] + wy[1] * r[1][x] + wy[2] * r[2][x] + wy[3] * r[3][x];
  }
}

// ---------------------------------------------------------------------------------------
// Bidirectional scan phase

namespace {

// One estimate of the odd-line offset by whitened 1-D cross-correlation of each odd line with
// the mean of its even neighbours.
float bidi_offset_once(const cv::Mat& mean_image, float max_offset_px) {
  const int h = mean_image.rows, w = mean_image.cols;
  if (h < 3 || w < 8) throw InputError("register: image too small to estimate the bidi offset");
  const detail::RealFft2D fft(1, w);
  const int sw = fft.spectrum_width();
  const auto taper_x = detail::edge_taper(w, 0.05f);
  const std::vector<float> taper_y(1, 1.0f);
  double unused = 0;
  const auto gauss = detail::gaussian_spectrum(1, w, 1.0f, &unused);

  // Cross-power of each odd line with the mean of its even neighbours, summed over lines.
  std::vector<std::complex<double>> cross(sw, 0.0);
  std::vector<float> even_row(w);
  std::vector<std::complex<float>> odd_spec(sw);
  auto buf = fft.buffers();
  for (int y = 1; y + 1 < h; y += 2) {
    const float* a = mean_image.ptr<float>(y - 1);
    const float* b = mean_image.ptr<float>(y + 1);
    for (int x = 0; x < w; ++x) even_row[x] = 0.5f * (a[x] + b[x]);
    detail::taper_mean_subtracted(mean_image.row(y), taper_y, taper_x, buf.real);
    fft.forward(buf.real, buf.spectrum);
    for (int k = 0; k < sw; ++k) odd_spec[k] = {buf.spectrum[k][0], buf.spectrum[k][1]};
    detail::taper_mean_subtracted(cv::Mat(1, w, CV_32F, even_row.data()), taper_y, taper_x,
                                  buf.real);
    fft.forward(buf.real, buf.spectrum);
    for (int k = 0; k < sw; ++k) {
      const std::complex<float> e(buf.spectrum[k][0], buf.spectrum[k][1]);
      cross[k] += std::complex<double>(odd_spec[k] * std::conj(e));
    }
  }
  for (int k = 0; k < sw; ++k) {
    const double mag = std::abs(cross[k]);
    const std::complex<double> v = mag > 0 ? cross[k] / mag * double(gauss[k]) : 0.0;
    buf.spectrum[k][0] = float(v.real());
    buf.spectrum[k][1] = float(v.imag());
  }
  fft.inverse(buf.spectrum, buf.real);
  const float* surface = buf.real;
  auto at = [&](int, int sx) { return surface[sx < 0 ? sx + w : sx]; };
  const int bound = std::min(int(std::ceil(max_offset_px)), w / 2 - 2);
  const detail::Peak p = detail::find_peak(at, 0, bound);
  return std::clamp(p.dx, -max_offset_px, max_offset_px);
}

}  // namespace

float estimate_bidi_offset(const cv::Mat& mean_image, float max_offset_px) {
  require_frame(mean_image, "mean image");
  if (!(max_offset_px >= 0)) throw InputError("register: bidi offset bound must be >= 0");
  float offset = bidi_offset_once(mean_image, max_offset_px);
  // The edge taper is the same on both line sets, which pulls a single estimate towards 0;
  // re-estimating the residual after correction removes most of that bias.
  if (offset != 0) {
    cv::Mat corrected = mean_image.clone();
    correct_bidi_offset(corrected, offset);
    offset += bidi_offset_once(corrected, max_offset_px);
  }
  return std::clamp(offset, -max_offset_px, max_offset_px);
}

void correct_bidi_offset(cv::Mat& frame, float offset) {
  require_frame(frame, "frame");
  if (!std::isfinite(offset)) throw InputError("register: bidi offset is not finite");
  if (offset == 0) return;
  thread_local std::vector<float> row;
  row.resize(frame.cols);
  for (int y = 1; y < frame.rows; y += 2) {
    float* r = frame.ptr<float>(y);
    std::copy(r, r + frame.cols, row.begin());
    detail::shift_row(row.data(), r, frame.cols, offset);
  }
}

// ---------------------------------------------------------------------------------------
// Quality measures

double correlation(const cv::Mat& a, const cv::Mat& b) {
  require_frame(a, "image");
  require_frame(b, "image");
  if (a.size() != b.size()) throw InputError("register: correlation of images of different sizes");
  // Centred sums from raw dot products (OpenCV accumulates float products in double).
  const double n = double(a.rows) * a.cols;
  const double ma = cv::mean(a)[0], mb = cv::mean(b)[0];
  const double sab = a.dot(b) - n * ma * mb;
  const double saa = a.dot(a) - n * ma * ma;
  const double sbb = b.dot(b) - n * mb * mb;
  if (saa <= 0 || sbb <= 0) return 0.0;
  return sab / std::sqrt(saa * sbb);
}

double crispness(const cv::Mat& mean_image, int margin_px) {
  require_frame(mean_image, "mean image");
  // Structure, not pixel noise: a short movie's mean keeps per-pixel noise whose gradient
  // would count as "sharpness" (and sub-pixel interpolation smooths it), so measure the
  // gradient of a lightly smoothed image, over the interior every registered frame covers.
  const int m = std::max(1, margin_px);
  const int h = mean_image.rows, w = mean_image.cols;
  if (h <= 2 * m + 2 || w <= 2 * m + 2) return 0.0;
  cv::Mat smooth;
  cv::GaussianBlur(mean_image, smooth, cv::Size(0, 0), 1.0, 1.0, cv::BORDER_REFLECT);
  double grad = 0, level = 0;
  for (int y = m; y < h - m; ++y) {
    const float* up = smooth.ptr<float>(y - 1);
    const float* mid = smooth.ptr<float>(y);
    const float* down = smooth.ptr<float>(y + 1);
    for (int x = m; x < w - m; ++x) {
      const double gx = 0.5 * (double(mid[x + 1]) - mid[x - 1]);
      const double gy = 0.5 * (double(down[x]) - up[x]);
      grad += std::sqrt(gx * gx + gy * gy);
      level += std::abs(double(mid[x]));
    }
  }
  return level > 0 ? grad / level : 0.0;
}

// ---------------------------------------------------------------------------------------
// Reference

namespace {

// Index of the frame whose `seed` most correlated peers are most correlated with it, and
// those peers (itself included), on block-averaged copies for speed.
std::vector<int> most_mutually_correlated(const FrameStack& sample, int seed) {
  const int n = sample.count;
  const int factor = std::max(1, std::min(sample.height, sample.width) / 64);
  const int sh = std::max(1, sample.height / factor), swd = std::max(1, sample.width / factor);
  const size_t m = size_t(sh) * swd;
  std::vector<float> small(size_t(n) * m);
  oneapi::tbb::parallel_for(0, n, [&](int t) {
    cv::Mat out(sh, swd, CV_32F, &small[size_t(t) * m]);
    cv::resize(sample.frame(t), out, out.size(), 0, 0, cv::INTER_AREA);
    double s = 0, ss = 0;
    for (size_t i = 0; i < m; ++i) s += out.ptr<float>()[i];
    const double mean = s / double(m);
    for (size_t i = 0; i < m; ++i) {
      const double d = out.ptr<float>()[i] - mean;
      ss += d * d;
    }
    const double scale = ss > 0 ? 1.0 / std::sqrt(ss) : 0.0;
    for (size_t i = 0; i < m; ++i) out.ptr<float>()[i] = float((out.ptr<float>()[i] - mean) * scale);
  });
  std::vector<double> score(n);
  oneapi::tbb::parallel_for(0, n, [&](int i) {
    std::vector<double> r(n);
    for (int j = 0; j < n; ++j) {
      const float* a = &small[size_t(i) * m];
      const float* b = &small[size_t(j) * m];
      double s = 0;
      for (size_t k = 0; k < m; ++k) s += double(a[k]) * b[k];
      r[j] = s;
    }
    std::sort(r.begin(), r.end(), std::greater<>());
    double s = 0;
    for (int k = 0; k < seed; ++k) s += r[k];  // r[0] is the frame itself
    score[i] = s;
  });
  const int best = int(std::max_element(score.begin(), score.end()) - score.begin());
  std::vector<double> r(n);
  for (int j = 0; j < n; ++j) {
    double s = 0;
    for (size_t k = 0; k < m; ++k) s += double(small[size_t(best) * m + k]) * small[size_t(j) * m + k];
    r[j] = s;
  }
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return r[a] > r[b]; });
  order.resize(seed);
  std::sort(order.begin(), order.end());
  return order;
}

cv::Mat mean_of(const FrameStack& sample, const std::vector<int>& frames,
                const std::vector<Shift>* shifts) {
  cv::Mat sum = cv::Mat::zeros(sample.height, sample.width, CV_64F);
  // Frames are shifted in parallel, a group at a time, and added in a fixed order: deterministic.
  constexpr size_t group = 16;
  std::vector<cv::Mat> aligned(group);
  for (size_t g0 = 0; g0 < frames.size(); g0 += group) {
    const size_t count = std::min(group, frames.size() - g0);
    if (shifts)
      oneapi::tbb::parallel_for(size_t(0), count, [&](size_t i) {
        const int t = frames[g0 + i];
        apply_rigid_shift(sample.frame(t), (*shifts)[size_t(t)], aligned[i]);
      });
    for (size_t i = 0; i < count; ++i)
      cv::add(sum, shifts ? aligned[i] : sample.frame(frames[g0 + i]), sum, cv::noArray(), CV_64F);
  }
  cv::Mat mean;
  sum.convertTo(mean, CV_32F, 1.0 / double(frames.size()));
  return mean;
}

// Mean of the `kept` frames aligned by their shifts, re-centred on their mean shift so the
// reference does not drift.
cv::Mat centred_mean(const FrameStack& sample, const std::vector<int>& kept, const std::vector<Shift>& shifts) {
  cv::Mat mean = mean_of(sample, kept, &shifts);
  double my = 0, mx = 0;
  for (int t : kept) {
    my += shifts[size_t(t)].dy;
    mx += shifts[size_t(t)].dx;
  }
  const double n = double(std::max<size_t>(kept.size(), 1));
  apply_rigid_shift(mean, Shift{float(-my / n), float(-mx / n)}, mean);
  return mean;
}

// One refinement pass: registers every sample frame to `reference` (shifts of all frames
// into `shifts`), keeps the `keep` best-correlated frames (in frame order, into `kept`).
void rank_against(const FrameStack& sample, const cv::Mat& reference, const RegisterParams& params, int keep,
                  std::vector<Shift>& shifts, std::vector<int>& kept) {
  const int n = sample.count;
  const cv::Rect inner = interior(sample.height, sample.width, params.max_shift_px);
  const RigidAligner aligner(reference, params);
  shifts.assign(size_t(n), Shift{});
  std::vector<double> score(static_cast<size_t>(n));
  oneapi::tbb::parallel_for(0, n, [&](int t) {
    thread_local cv::Mat aligned;
    shifts[size_t(t)] = aligner.estimate(sample.frame(t));
    apply_rigid_shift(sample.frame(t), shifts[size_t(t)], aligned);
    score[size_t(t)] = correlation(aligned(inner), reference(inner));
  });
  kept.resize(size_t(n));
  std::iota(kept.begin(), kept.end(), 0);
  std::stable_sort(kept.begin(), kept.end(), [&](int a, int b) { return score[size_t(a)] > score[size_t(b)]; });
  kept.resize(size_t(keep));
  std::sort(kept.begin(), kept.end());
}

// Every frame block-averaged 2x2 (odd edges dropped).
FrameStack binned_2x2(const FrameStack& sample) {
  FrameStack small(0, sample.count, sample.height / 2, sample.width / 2);
  oneapi::tbb::parallel_for(0, sample.count, [&](int t) {
    cv::Mat out = small.frame(t);
    cv::resize(sample.frame(t)(cv::Rect(0, 0, small.width * 2, small.height * 2)), out, out.size(), 0, 0,
               cv::INTER_AREA);
  });
  return small;
}

}  // namespace

cv::Mat compute_reference(const FrameStack& sample, const RegisterParams& params) {
  params.validate();
  if (sample.count < 1 || sample.height < 8 || sample.width < 8)
    throw InputError("register: the reference sample needs at least one frame of 8x8 px");
  const int n = sample.count, iterations = params.reference_iterations;
  const std::vector<int> seeds = most_mutually_correlated(sample, std::min(params.reference_seed_frames, n));
  // Keep a growing best-correlated fraction: few, very similar frames first, then more
  // frames once the reference is sharp enough to align them well.
  auto keep = [&](int it) {
    return std::clamp(int(std::lround(double(n) * (it + 1) / (2.0 * iterations))), std::min(n, 2), n);
  };
  std::vector<Shift> shifts;
  std::vector<int> kept;
  cv::Mat reference;
  int it = 0;
  if (iterations >= 2 && sample.height >= 128 && sample.width >= 128) {
    // The passes before the last only rank frames and find their rough shifts: on 2x2-binned
    // frames they cost a quarter. The last pass works at full resolution.
    const FrameStack small = binned_2x2(sample);
    RegisterParams coarse = params;
    coarse.max_shift_px = std::max(1, params.max_shift_px / 2);  // x2 stays within the bound
    cv::Mat small_reference = mean_of(small, seeds, nullptr);
    for (; it < iterations - 1; ++it) {
      rank_against(small, small_reference, coarse, keep(it), shifts, kept);
      small_reference = centred_mean(small, kept, shifts);
    }
    for (Shift& s : shifts) s = Shift{2 * s.dy, 2 * s.dx};  // binned px -> px
    reference = centred_mean(sample, kept, shifts);
  } else {
    reference = mean_of(sample, seeds, nullptr);
  }
  for (; it < iterations; ++it) {
    rank_against(sample, reference, params, keep(it), shifts, kept);
    reference = centred_mean(sample, kept, shifts);
  }
  return reference;
}

// ---------------------------------------------------------------------------------------
// Batch

BatchRegistration register_batch(FrameStack& frames, const RigidAligner& rigid,
                                 const BlockAligner* blocks, float bidi_offset,
                                 const std::optional<std::vector<Shift>>& given_shifts,
                                 const std::vector<std::vector<Shift>>* given_block_shifts,
                                 const std::vector<FrameSignal>* signal) {
  const cv::Mat& reference = rigid.reference();
  if (frames.count > 0 && (frames.height != reference.rows || frames.width != reference.cols))
    throw InputError("register: frame size " + std::to_string(frames.height) + "x" +
                     std::to_string(frames.width) + " differs from the reference");
  const size_t n = size_t(std::max(frames.count, 0));
  if (given_shifts && given_shifts->size() != n)
    throw InputError("register: given shifts have " + std::to_string(given_shifts->size()) +
                     " entries for " + std::to_string(n) + " frames");
  if (given_block_shifts) {
    if (!blocks) throw InputError("register: block shifts given without non-rigid registration");
    if (given_block_shifts->size() != n)
      throw InputError("register: given block shifts do not match the number of frames");
    for (const auto& b : *given_block_shifts)
      if (b.size() != blocks->grid().blocks.size())
        throw InputError("register: given block shifts do not match the block grid");
  }
  if (signal && signal->size() != n) throw InputError("register: frame signal does not match the number of frames");
  if (!std::isfinite(bidi_offset)) throw InputError("register: bidi offset is not finite");

  BatchRegistration result;
  result.shifts.resize(n);
  result.correlation.resize(n);
  result.blank_rows_registered.assign(n, 0);
  if (blocks) result.block_shifts.resize(n);
  const RegisterParams& params = rigid.params();
  const cv::Rect inner = interior(frames.height, frames.width, params.max_shift_px);
  const float extra_dy = blocks ? float(params.max_block_shift_px) : 0.0f;

  oneapi::tbb::parallel_for(size_t(0), n, [&](size_t t) {
    cv::Mat frame = frames.frame(int(t));
    const int blank = signal ? (*signal)[t].blank_rows : 0;
    const bool given_nan = given_shifts && !(std::isfinite((*given_shifts)[t].dy) && std::isfinite((*given_shifts)[t].dx));
    if ((signal && (*signal)[t].no_signal) || given_nan) {
      // Nothing to register to: a match on noise would be a made-up shift.
      const float nan = std::numeric_limits<float>::quiet_NaN();
      result.shifts[t] = Shift{nan, nan};
      result.correlation[t] = nan;
      result.blank_rows_registered[t] = frames.height;
      if (blocks) result.block_shifts[t].assign(blocks->grid().blocks.size(), Shift{nan, nan});
      return;
    }
    if (bidi_offset != 0) correct_bidi_offset(frame, bidi_offset);
    const Shift shift = given_shifts ? (*given_shifts)[t] : rigid.estimate(frame, nullptr, blank);
    result.shifts[t] = shift;
    if (blocks) {
      thread_local cv::Mat raw, rigidly_aligned;
      frame.copyTo(raw);
      if (given_block_shifts) {
        result.block_shifts[t] = (*given_block_shifts)[t];
      } else {
        apply_rigid_shift(raw, shift, rigidly_aligned);
        result.block_shifts[t] = blocks->estimate(rigidly_aligned);
      }
      blocks->apply(raw, result.block_shifts[t], frame, shift);
    } else {
      apply_rigid_shift(frame, shift, frame);
    }
    const int clean_from = blank_rows_after_shift(blank, shift.dy, extra_dy, frames.height);
    result.blank_rows_registered[t] = clean_from;
    cv::Rect rows = inner;
    if (clean_from > rows.y) rows = inner & cv::Rect(0, clean_from, frames.width, frames.height - clean_from);
    result.correlation[t] = rows.area() > 0 ? float(correlation(frame(rows), reference(rows)))
                                            : std::numeric_limits<float>::quiet_NaN();
  });
  return result;
}

}  // namespace apical
