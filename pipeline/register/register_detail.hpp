#pragma once
// Internals of pipeline/register*.cpp shared between its files: cached FFTW plans with
// per-thread work buffers, cubic interpolation, edge tapers and sub-pixel peak finding.
// Not part of the public API.
#include <complex>
#include <vector>

#include <fftw3.h>
#include <opencv2/core.hpp>

#include "core/image.hpp"

namespace apical::detail {

// Single-precision real 2-D FFT of a fixed size (height x width real <-> height x
// (width/2+1) complex). Plans are created once per size under a mutex (FFTW planning is not
// thread-safe) with FFTW_ESTIMATE, so results do not depend on timing; executing uses the
// thread-safe new-array interface on per-thread buffers.
class RealFft2D {
 public:
  RealFft2D(int height, int width);
  int height() const { return height_; }
  int width() const { return width_; }
  int spectrum_width() const { return width_ / 2 + 1; }
  size_t real_size() const { return size_t(height_) * width_; }
  size_t spectrum_size() const { return size_t(height_) * spectrum_width(); }

  struct Buffers {
    float* real;
    fftwf_complex* spectrum;
  };
  // Work buffers of this size owned by the calling thread (reused across calls; a caller must
  // not hold them across another call that uses the same size on the same thread).
  Buffers buffers() const;
  void forward(float* real, fftwf_complex* spectrum) const;
  // Unnormalised inverse; destroys `spectrum`.
  void inverse(fftwf_complex* spectrum, float* real) const;

 private:
  int height_, width_;
  fftwf_plan forward_plan_, inverse_plan_;
};

// Gaussian spectral weight exp(-2 pi^2 sigma^2 |k|^2) on the half spectrum (the Fourier
// transform of a spatial Gaussian of `sigma_px`), and its sum over the full spectrum (the
// height of the inverse transform at 0, used to normalise correlation peaks to 1).
std::vector<float> gaussian_spectrum(int height, int width, float sigma_px, double* full_sum);

// Raised-cosine taper of length n with ramps of round(fraction * n) samples at each end.
std::vector<float> edge_taper(int n, float fraction);

// Writes (src - mean(src)) * taper_y[y] * taper_x[x] into dst (contiguous rows).
void taper_mean_subtracted(const cv::Mat& src, const std::vector<float>& taper_y,
                           const std::vector<float>& taper_x, float* dst);

// Whitened cross-power: spectrum[k] <- spectrum[k] / |spectrum[k]| * reference_weight[k]
// where reference_weight is conj(R)/|R| times the spectral smoothing weight.
void whiten_and_multiply(fftwf_complex* spectrum, const std::complex<float>* reference_weight,
                         size_t n);
// conj(R)/|R| * weight, for a reference spectrum R.
std::vector<std::complex<float>> whitened_reference(const fftwf_complex* spectrum,
                                                    const std::vector<float>& weight);

// Catmull-Rom weights for fractional position t in [0, 1): taps at -1, 0, 1, 2.
inline void cubic_weights(float t, float w[4]) {
  const float t2 = t * t, t3 = t2 * t;
  w[0] = 0.5f * (-t3 + 2.0f * t2 - t);
  w[1] = 0.5f * (3.0f * t3 - 5.0f * t2 + 2.0f);
  w[2] = 0.5f * (-3.0f * t3 + 4.0f * t2 + t);
  w[3] = 0.5f * (t3 - t2);
}

// dst[x] = src(x + shift) along one row of n samples, cubic, edge replicate.
void shift_row(const float* src, float* dst, int n, float shift);

// out(y, x) = src(y + field_y(y, x) + base.dy, x + field_x(y, x) + base.dx), cubic, edge
// replicate. src and out must not share memory.
void remap_cubic(const cv::Mat& src, const cv::Mat& field_y, const cv::Mat& field_x, Shift base,
                 cv::Mat& out);

// Sub-pixel peak of a correlation surface indexed by integer shift (sy, sx); `at` returns the
// value at a shift. The integer maximum is searched within |sy|,|sx| <= bound; the sub-pixel
// offset is a 3-point Gaussian fit per axis (parabola when a value is not positive).
struct Peak {
  int iy = 0, ix = 0;  // integer position
  float dy = 0, dx = 0;  // sub-pixel position
  float value = 0;
};
float subpixel_offset(float left, float centre, float right);

template <class At>
Peak find_peak(const At& at, int bound_y, int bound_x) {
  Peak p;
  p.value = at(0, 0);
  for (int sy = -bound_y; sy <= bound_y; ++sy)
    for (int sx = -bound_x; sx <= bound_x; ++sx) {
      const float v = at(sy, sx);
      if (v > p.value) {
        p.value = v;
        p.iy = sy;
        p.ix = sx;
      }
    }
  p.dy = float(p.iy) + subpixel_offset(at(p.iy - 1, p.ix), p.value, at(p.iy + 1, p.ix));
  p.dx = float(p.ix) + subpixel_offset(at(p.iy, p.ix - 1), p.value, at(p.iy, p.ix + 1));
  return p;
}

}  // namespace apical::detail
