// FFT plans, tapers, interpolation and peak fitting for the register stage.
#include "pipeline/register/register_detail.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <numbers>
#include <utility>

#include <opencv2/core/hal/intrin.hpp>

namespace apical::detail {
namespace {

struct FftwFree {
  void operator()(void* p) const { fftwf_free(p); }
};

struct PlanPair {
  fftwf_plan forward;
  fftwf_plan inverse;
};

// Plans live for the whole process: aligners share them, and destroying plans at exit
// would race with thread-local buffers being freed.
PlanPair plans_for(int height, int width) {
  static std::mutex mutex;
  static auto* cache = new std::map<std::pair<int, int>, PlanPair>();
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache->find({height, width});
  if (it != cache->end()) return it->second;
  const size_t n_real = size_t(height) * width;
  const size_t n_spec = size_t(height) * (width / 2 + 1);
  float* real = fftwf_alloc_real(n_real);
  fftwf_complex* spec = fftwf_alloc_complex(n_spec);
  PlanPair p;
  p.forward = fftwf_plan_dft_r2c_2d(height, width, real, spec, FFTW_ESTIMATE);
  p.inverse = fftwf_plan_dft_c2r_2d(height, width, spec, real, FFTW_ESTIMATE);
  fftwf_free(real);
  fftwf_free(spec);
  cache->emplace(std::make_pair(height, width), p);
  return p;
}

}  // namespace

RealFft2D::RealFft2D(int height, int width) : height_(height), width_(width) {
  const PlanPair p = plans_for(height, width);
  forward_plan_ = p.forward;
  inverse_plan_ = p.inverse;
}

RealFft2D::Buffers RealFft2D::buffers() const {
  struct Owned {
    std::unique_ptr<float, FftwFree> real;
    std::unique_ptr<fftwf_complex, FftwFree> spectrum;
  };
  thread_local std::map<std::pair<int, int>, Owned> owned;
  auto& o = owned[{height_, width_}];
  if (!o.real) {
    o.real.reset(fftwf_alloc_real(real_size()));
    o.spectrum.reset(fftwf_alloc_complex(spectrum_size()));
  }
  return {o.real.get(), o.spectrum.get()};
}

void RealFft2D::forward(float* real, fftwf_complex* spectrum) const {
  fftwf_execute_dft_r2c(forward_plan_, real, spectrum);
}

void RealFft2D::inverse(fftwf_complex* spectrum, float* real) const {
  fftwf_execute_dft_c2r(inverse_plan_, spectrum, real);
}

std::vector<float> gaussian_spectrum(int height, int width, float sigma_px, double* full_sum) {
  const int sw = width / 2 + 1;
  const double c = 2.0 * std::numbers::pi * std::numbers::pi * double(sigma_px) * sigma_px;
  std::vector<double> gy(height), gx(width);
  for (int i = 0; i < height; ++i) {
    const double k = double(i <= height / 2 ? i : i - height) / height;
    gy[i] = std::exp(-c * k * k);
  }
  for (int j = 0; j < width; ++j) {
    const double k = double(j <= width / 2 ? j : j - width) / width;
    gx[j] = std::exp(-c * k * k);
  }
  std::vector<float> w(size_t(height) * sw);
  for (int i = 0; i < height; ++i)
    for (int j = 0; j < sw; ++j) w[size_t(i) * sw + j] = float(gy[i] * gx[j]);
  if (full_sum) {
    double sy = 0, sx = 0;
    for (double v : gy) sy += v;
    for (double v : gx) sx += v;
    *full_sum = sy * sx;
  }
  return w;
}

std::vector<float> edge_taper(int n, float fraction) {
  std::vector<float> t(n, 1.0f);
  const int ramp = std::min(n / 2, int(std::lround(double(fraction) * n)));
  for (int i = 0; i < ramp; ++i) {
    // Half-sample offset keeps the first sample non-zero and the ramp symmetric.
    const double v = 0.5 * (1.0 - std::cos(std::numbers::pi * (i + 0.5) / ramp));
    t[i] = float(v);
    t[n - 1 - i] = float(v);
  }
  return t;
}

void taper_mean_subtracted(const cv::Mat& src, const std::vector<float>& taper_y,
                           const std::vector<float>& taper_x, float* dst) {
  const float mean = float(cv::mean(src)[0]);
  const int w = src.cols;
  for (int y = 0; y < src.rows; ++y) {
    const float* s = src.ptr<float>(y);
    float* d = dst + size_t(y) * w;
    const float ty = taper_y[y];
    int x = 0;
#if CV_SIMD128
    const cv::v_float32x4 vm = cv::v_setall_f32(mean), vty = cv::v_setall_f32(ty);
    for (; x + 4 <= w; x += 4)
      cv::v_store(d + x, (cv::v_load(s + x) - vm) * (vty * cv::v_load(&taper_x[x])));
#endif
    for (; x < w; ++x) d[x] = (s[x] - mean) * (ty * taper_x[x]);
  }
}

void whiten_and_multiply(fftwf_complex* spectrum, const std::complex<float>* reference_weight,
                         size_t n) {
  float* sp = &spectrum[0][0];
  const float* rw = reinterpret_cast<const float*>(reference_weight);
  size_t k = 0;
#if CV_SIMD128
  const cv::v_float32x4 tiny = cv::v_setall_f32(1e-30f), zero = cv::v_setzero_f32(),
                        one = cv::v_setall_f32(1.0f);
  for (; k + 4 <= n; k += 4) {
    cv::v_float32x4 re, im, wr, wi;
    cv::v_load_deinterleave(sp + 2 * k, re, im);
    cv::v_load_deinterleave(rw + 2 * k, wr, wi);
    const cv::v_float32x4 mag = cv::v_sqrt(re * re + im * im);
    const cv::v_float32x4 inv = cv::v_select(mag > tiny, one / mag, zero);
    cv::v_store_interleave(sp + 2 * k, (re * wr - im * wi) * inv, (re * wi + im * wr) * inv);
  }
#endif
  for (; k < n; ++k) {
    const float re = sp[2 * k], im = sp[2 * k + 1];
    const float mag = std::sqrt(re * re + im * im);
    const float inv = mag > 1e-30f ? 1.0f / mag : 0.0f;
    const float wr = rw[2 * k], wi = rw[2 * k + 1];
    sp[2 * k] = (re * wr - im * wi) * inv;
    sp[2 * k + 1] = (re * wi + im * wr) * inv;
  }
}

std::vector<std::complex<float>> whitened_reference(const fftwf_complex* spectrum,
                                                    const std::vector<float>& weight) {
  std::vector<std::complex<float>> w(weight.size());
  for (size_t k = 0; k < w.size(); ++k) {
    const float re = spectrum[k][0], im = spectrum[k][1];
    const float mag = std::sqrt(re * re + im * im);
    w[k] = mag > 1e-30f ? std::complex<float>(re / mag * weight[k], -im / mag * weight[k])
                        : std::complex<float>(0, 0);
  }
  return w;
}

void shift_row(const float* src, float* dst, int n, float shift) {
  const float fl = std::floor(shift);
  const int is = int(fl);
  float w[4];
  cubic_weights(shift - fl, w);
  auto clamp = [n](int i) { return std::clamp(i, 0, n - 1); };
  // Interior samples need no clamping; that loop vectorises.
  const int lo = std::clamp(1 - is, 0, n), hi = std::clamp(n - 2 - is, lo, n);
  for (int x = 0; x < lo; ++x)
    dst[x] = w[0] * src[clamp(x + is - 1)] + w[1] * src[clamp(x + is)] +
             w[2] * src[clamp(x + is + 1)] + w[3] * src[clamp(x + is + 2)];
  const float* s = src + is;
  for (int x = lo; x < hi; ++x)
    dst[x] = w[0] * s[x - 1] + w[1] * s[x] + w[2] * s[x + 1] + w[3] * s[x + 2];
  for (int x = hi; x < n; ++x)
    dst[x] = w[0] * src[clamp(x + is - 1)] + w[1] * src[clamp(x + is)] +
             w[2] * src[clamp(x + is + 1)] + w[3] * src[clamp(x + is + 2)];
}

namespace {

// Per output row: integer source position and cubic weights of every pixel (vectorised),
// then the 4x4 weighted gather.
struct RowSamples {
  std::vector<int> iy, ix;
  std::vector<float> wy[4], wx[4];
  void resize(int w) {
    iy.resize(w);
    ix.resize(w);
    for (int k = 0; k < 4; ++k) {
      wy[k].resize(w);
      wx[k].resize(w);
    }
  }
};

void row_samples(int y, const float* fy, const float* fx, Shift base, int w, RowSamples& r) {
  int x = 0;
#if CV_SIMD128
  const cv::v_float32x4 half = cv::v_setall_f32(0.5f), two = cv::v_setall_f32(2.0f),
                        three = cv::v_setall_f32(3.0f), four = cv::v_setall_f32(4.0f),
                        five = cv::v_setall_f32(5.0f), zero = cv::v_setzero_f32();
  const cv::v_float32x4 vy = cv::v_setall_f32(float(y)), by = cv::v_setall_f32(base.dy),
                        bx = cv::v_setall_f32(base.dx), step = cv::v_setall_f32(4.0f);
  cv::v_float32x4 vx(0.0f, 1.0f, 2.0f, 3.0f);
  auto weights = [&](const cv::v_float32x4& t, std::vector<float>* wk, int at) {
    const cv::v_float32x4 t2 = t * t, t3 = t2 * t;
    cv::v_store(&wk[0][at], half * (((zero - t3) + two * t2) - t));
    cv::v_store(&wk[1][at], half * ((three * t3 - five * t2) + two));
    cv::v_store(&wk[2][at], half * ((zero - three * t3 + four * t2) + t));
    cv::v_store(&wk[3][at], half * (t3 - t2));
  };
  for (; x + 4 <= w; x += 4, vx = vx + step) {
    const cv::v_float32x4 sy = vy + (cv::v_load(fy + x) + by);
    const cv::v_float32x4 sx = vx + (cv::v_load(fx + x) + bx);
    const cv::v_int32x4 iy = cv::v_floor(sy), ix = cv::v_floor(sx);
    cv::v_store(&r.iy[x], iy);
    cv::v_store(&r.ix[x], ix);
    weights(sy - cv::v_cvt_f32(iy), r.wy, x);
    weights(sx - cv::v_cvt_f32(ix), r.wx, x);
  }
#endif
  for (; x < w; ++x) {
    const float sy = float(y) + (fy[x] + base.dy), sx = float(x) + (fx[x] + base.dx);
    const float fly = std::floor(sy), flx = std::floor(sx);
    r.iy[x] = int(fly);
    r.ix[x] = int(flx);
    float wy[4], wx[4];
    cubic_weights(sy - fly, wy);
    cubic_weights(sx - flx, wx);
    for (int k = 0; k < 4; ++k) {
      r.wy[k][x] = wy[k];
      r.wx[k][x] = wx[k];
    }
  }
}

}  // namespace

void remap_cubic(const cv::Mat& src, const cv::Mat& field_y, const cv::Mat& field_x, Shift base,
                 cv::Mat& out) {
  const int h = src.rows, w = src.cols;
  out.create(h, w, CV_32F);
  thread_local RowSamples r;
  r.resize(w);
  for (int y = 0; y < h; ++y) {
    row_samples(y, field_y.ptr<float>(y), field_x.ptr<float>(y), base, w, r);
    float* o = out.ptr<float>(y);
    for (int x = 0; x < w; ++x) {
      const int iy = r.iy[x], ix = r.ix[x];
      const float wx0 = r.wx[0][x], wx1 = r.wx[1][x], wx2 = r.wx[2][x], wx3 = r.wx[3][x];
      float acc = 0;
      if (iy >= 1 && iy + 2 < h && ix >= 1 && ix + 2 < w) {
        for (int k = 0; k < 4; ++k) {
          const float* p = src.ptr<float>(iy - 1 + k) + (ix - 1);
          acc += r.wy[k][x] * (wx0 * p[0] + wx1 * p[1] + wx2 * p[2] + wx3 * p[3]);
        }
      } else {
        for (int k = 0; k < 4; ++k) {
          const float* p = src.ptr<float>(std::clamp(iy - 1 + k, 0, h - 1));
          const float row = wx0 * p[std::clamp(ix - 1, 0, w - 1)] + wx1 * p[std::clamp(ix, 0, w - 1)] +
                            wx2 * p[std::clamp(ix + 1, 0, w - 1)] + wx3 * p[std::clamp(ix + 2, 0, w - 1)];
          acc += r.wy[k][x] * row;
        }
      }
      o[x] = acc;
    }
  }
}

float subpixel_offset(float left, float centre, float right) {
  float num, den;
  if (left > 0 && centre > 0 && right > 0) {
    // Gaussian fit: a parabola through the logarithms.
    const float l = std::log(left), c = std::log(centre), r = std::log(right);
    num = l - r;
    den = 2.0f * (l - 2.0f * c + r);
  } else {
    num = left - right;
    den = 2.0f * (left - 2.0f * centre + right);
  }
  if (!(den < 0)) return 0.0f;  // not a maximum (flat or NaN): keep the integer peak
  return std::clamp(num / den, -0.5f, 0.5f);
}

}  // namespace apical::detail
