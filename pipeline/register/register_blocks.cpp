// Piecewise non-rigid registration: phase correlation per overlapping block, SNR-based
// borrowing from neighbouring blocks, and a bilinear shift field applied with cubic
// interpolation.
#include <algorithm>
#include <cmath>
#include <string>

#include "io/error.hpp"
#include "pipeline/register/register.hpp"
#include "pipeline/register/register_detail.hpp"

namespace apical {
namespace {

// Evenly spread block starts covering [0, length) with blocks of `size` overlapping by half.
std::vector<int> block_starts(int length, int size) {
  const int span = length - size;
  const int step = std::max(1, size / 2);
  const int n = span <= 0 ? 1 : (span + step - 1) / step + 1;
  std::vector<int> starts(n, 0);
  for (int i = 1; i < n; ++i) starts[i] = int(std::lround(double(i) * span / (n - 1)));
  return starts;
}

// Linear interpolation between sorted centres at every pixel coordinate; constant beyond
// the outer centres.
struct AxisWeights {
  std::vector<int> lo, hi;
  std::vector<float> w;  // weight of hi
};

AxisWeights axis_weights(const std::vector<float>& centres, int length) {
  AxisWeights a;
  a.lo.resize(length);
  a.hi.resize(length);
  a.w.resize(length);
  const int n = int(centres.size());
  for (int p = 0; p < length; ++p) {
    int i = 0;
    while (i + 1 < n && centres[i + 1] <= float(p)) ++i;
    if (i + 1 >= n || float(p) <= centres[0]) {
      const int e = float(p) <= centres[0] ? 0 : n - 1;
      a.lo[p] = a.hi[p] = e;
      a.w[p] = 0;
    } else {
      a.lo[p] = i;
      a.hi[p] = i + 1;
      a.w[p] = (float(p) - centres[i]) / (centres[i + 1] - centres[i]);
    }
  }
  return a;
}

}  // namespace

struct BlockAligner::Impl {
  RegisterParams params;
  cv::Size frame_size;
  BlockGrid grid;
  int block = 0;   // block side, px
  int radius = 0;  // correlation window kept per block: shifts in [-radius, radius]
  int bound = 0;   // shift bound within the window
  std::unique_ptr<detail::RealFft2D> fft;
  std::vector<float> taper;
  float inverse_norm = 1;
  std::vector<std::vector<std::complex<float>>> reference_weight;  // per block
  AxisWeights along_y, along_x;

  int window() const { return 2 * radius + 1; }
};

BlockAligner::BlockAligner(const cv::Mat& reference, const RegisterParams& params) {
  params.validate();
  if (reference.empty() || reference.type() != CV_32F)
    throw InputError("register: reference must be a non-empty float32 image");
  if (reference.rows < 16 || reference.cols < 16)
    throw InputError("register: non-rigid registration needs frames of at least 16x16 px");
  impl_ = std::make_unique<Impl>();
  Impl& m = *impl_;
  m.params = params;
  m.frame_size = reference.size();
  m.block = std::min({params.block_size, reference.rows, reference.cols});
  m.radius = std::min(params.max_block_shift_px + 3, m.block / 2 - 1);
  m.bound = std::min(params.max_block_shift_px, m.radius - 1);

  const auto ys = block_starts(reference.rows, m.block);
  const auto xs = block_starts(reference.cols, m.block);
  m.grid.rows = int(ys.size());
  m.grid.cols = int(xs.size());
  for (int y : ys) m.grid.centres_y.push_back(float(y) + 0.5f * float(m.block - 1));
  for (int x : xs) m.grid.centres_x.push_back(float(x) + 0.5f * float(m.block - 1));
  for (int y : ys)
    for (int x : xs) m.grid.blocks.emplace_back(x, y, m.block, m.block);
  m.along_y = axis_weights(m.grid.centres_y, reference.rows);
  m.along_x = axis_weights(m.grid.centres_x, reference.cols);

  m.fft = std::make_unique<detail::RealFft2D>(m.block, m.block);
  m.taper = detail::edge_taper(m.block, params.block_taper_fraction);
  double full_sum = 1;
  const auto gauss = detail::gaussian_spectrum(m.block, m.block, params.smooth_sigma_px, &full_sum);
  m.inverse_norm = float(1.0 / full_sum);
  auto buf = m.fft->buffers();
  for (const cv::Rect& r : m.grid.blocks) {
    detail::taper_mean_subtracted(reference(r), m.taper, m.taper, buf.real);
    m.fft->forward(buf.real, buf.spectrum);
    m.reference_weight.push_back(detail::whitened_reference(buf.spectrum, gauss));
  }
}

BlockAligner::~BlockAligner() = default;
BlockAligner::BlockAligner(BlockAligner&&) noexcept = default;
BlockAligner& BlockAligner::operator=(BlockAligner&&) noexcept = default;
const BlockGrid& BlockAligner::grid() const { return impl_->grid; }

std::vector<Shift> BlockAligner::estimate(const cv::Mat& frame) const {
  const Impl& m = *impl_;
  if (frame.size() != m.frame_size || frame.type() != CV_32F)
    throw InputError("register: frame size differs from the reference");
  const int nb = int(m.grid.blocks.size());
  const int win = m.window(), r = m.radius, b = m.block;
  // Serial over blocks on purpose: callers parallelise over frames and hold per-thread
  // buffers, which a nested parallel loop could let another frame's task overwrite.
  std::vector<float> surfaces(size_t(nb) * win * win);
  auto buf = m.fft->buffers();
  for (int k = 0; k < nb; ++k) {
    detail::taper_mean_subtracted(frame(m.grid.blocks[k]), m.taper, m.taper, buf.real);
    m.fft->forward(buf.real, buf.spectrum);
    detail::whiten_and_multiply(buf.spectrum, m.reference_weight[k].data(), m.fft->spectrum_size());
    m.fft->inverse(buf.spectrum, buf.real);
    float* s = &surfaces[size_t(k) * win * win];
    for (int sy = -r; sy <= r; ++sy) {
      const float* row = buf.real + size_t(sy < 0 ? sy + b : sy) * b;
      for (int sx = -r; sx <= r; ++sx)
        s[(sy + r) * win + (sx + r)] = row[sx < 0 ? sx + b : sx] * m.inverse_norm;
    }
  }

  auto peak_of = [&](const float* s) {
    return detail::find_peak([&](int sy, int sx) { return s[(sy + r) * win + (sx + r)]; },
                             m.bound, m.bound);
  };
  // Peak height over the highest value away from the peak (beyond 2 px).
  auto snr_of = [&](const float* s, const detail::Peak& p) {
    float away = -1e30f;
    for (int sy = -r; sy <= r; ++sy)
      for (int sx = -r; sx <= r; ++sx)
        if (std::abs(sy - p.iy) > 2 || std::abs(sx - p.ix) > 2)
          away = std::max(away, s[(sy + r) * win + (sx + r)]);
    if (p.value <= 0) return 0.0f;
    return away <= 0 ? 1e30f : p.value / away;
  };

  std::vector<Shift> shifts(nb);
  std::vector<float> pooled(size_t(win) * win);
  const float b_f = float(m.bound);
  for (int k = 0; k < nb; ++k) {
    const float* s = &surfaces[size_t(k) * win * win];
    detail::Peak p = peak_of(s);
    if (snr_of(s, p) < m.params.block_snr_threshold) {
      // Borrow: Gaussian-weighted sum of the 3x3 neighbourhood's correlation surfaces.
      std::fill(pooled.begin(), pooled.end(), 0.0f);
      const int row = k / m.grid.cols, col = k % m.grid.cols;
      for (int dr = -1; dr <= 1; ++dr)
        for (int dc = -1; dc <= 1; ++dc) {
          const int rr = row + dr, cc = col + dc;
          if (rr < 0 || rr >= m.grid.rows || cc < 0 || cc >= m.grid.cols) continue;
          const float w = std::exp(-0.5f * float(dr * dr + dc * dc));
          const float* n = &surfaces[size_t(rr * m.grid.cols + cc) * win * win];
          for (size_t i = 0; i < pooled.size(); ++i) pooled[i] += w * n[i];
        }
      p = peak_of(pooled.data());
    }
    shifts[k] = Shift{std::clamp(p.dy, -b_f, b_f), std::clamp(p.dx, -b_f, b_f)};
  }
  return shifts;
}

void BlockAligner::shift_field(const std::vector<Shift>& block_shifts, cv::Mat& field_y,
                               cv::Mat& field_x) const {
  const Impl& m = *impl_;
  if (block_shifts.size() != m.grid.blocks.size())
    throw InputError("register: " + std::to_string(block_shifts.size()) +
                     " block shifts for a grid of " + std::to_string(m.grid.blocks.size()));
  const int h = m.frame_size.height, w = m.frame_size.width;
  // Along x first (per grid row), then along y per pixel row.
  std::vector<float> rows_y(size_t(m.grid.rows) * w), rows_x(size_t(m.grid.rows) * w);
  for (int gr = 0; gr < m.grid.rows; ++gr)
    for (int x = 0; x < w; ++x) {
      const Shift& a = block_shifts[gr * m.grid.cols + m.along_x.lo[x]];
      const Shift& c = block_shifts[gr * m.grid.cols + m.along_x.hi[x]];
      const float t = m.along_x.w[x];
      rows_y[size_t(gr) * w + x] = (1 - t) * a.dy + t * c.dy;
      rows_x[size_t(gr) * w + x] = (1 - t) * a.dx + t * c.dx;
    }
  field_y.create(h, w, CV_32F);
  field_x.create(h, w, CV_32F);
  for (int y = 0; y < h; ++y) {
    const float t = m.along_y.w[y];
    const float* ay = &rows_y[size_t(m.along_y.lo[y]) * w];
    const float* cy = &rows_y[size_t(m.along_y.hi[y]) * w];
    const float* ax = &rows_x[size_t(m.along_y.lo[y]) * w];
    const float* cx = &rows_x[size_t(m.along_y.hi[y]) * w];
    float* fy = field_y.ptr<float>(y);
    float* fx = field_x.ptr<float>(y);
    for (int x = 0; x < w; ++x) {
      fy[x] = (1 - t) * ay[x] + t * cy[x];
      fx[x] = (1 - t) * ax[x] + t * cx[x];
    }
  }
}

void BlockAligner::apply(const cv::Mat& frame, const std::vector<Shift>& block_shifts,
                         cv::Mat& out, Shift base) const {
  if (frame.size() != impl_->frame_size || frame.type() != CV_32F)
    throw InputError("register: frame size differs from the reference");
  if (!std::isfinite(base.dy) || !std::isfinite(base.dx))
    throw InputError("register: shift is not finite");
  thread_local cv::Mat field_y, field_x, source;
  shift_field(block_shifts, field_y, field_x);
  const bool aliased = !out.empty() && out.data == frame.data;
  if (aliased) frame.copyTo(source);
  detail::remap_cubic(aliased ? source : frame, field_y, field_x, base, out);
}

}  // namespace apical
