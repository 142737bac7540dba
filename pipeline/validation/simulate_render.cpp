// Frame renderer: reference field (cells + neuropil at time t) -> motion + bidi resampling
// (Keys bicubic) -> shot noise -> int16 rounding. Frames are independent, so the output does
// not depend on batch boundaries or thread count.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "pipeline/validation/simulate_internal.hpp"

namespace apical {
namespace {

// Keys cubic convolution weights (a = -0.5) for taps at offsets -1, 0, 1, 2 from floor.
inline void cubic_weights(double t, double w[4]) {
  const double t2 = t * t, t3 = t2 * t;
  w[0] = -0.5 * t3 + t2 - 0.5 * t;
  w[1] = 1.5 * t3 - 2.5 * t2 + 1.0;
  w[2] = -1.5 * t3 + 2.0 * t2 + 0.5 * t;
  w[3] = 0.5 * t3 - 0.5 * t2;
}

void check_range(const SimulatedSession& s, int plane, int64_t first, int count) {
  if (plane < 0 || plane >= int(s.planes.size()))
    throw std::out_of_range("render: plane " + std::to_string(plane) + " does not exist");
  if (first < 0 || count < 0 || first + count > s.params.frames)
    throw std::out_of_range("render: frames [" + std::to_string(first) + ", " +
                            std::to_string(first + count) + ") outside the session");
}

// Every pixel is overwritten, so an output stack of the right size is reused as is (no
// zeroing, no fresh pages: that cost as much as the rendering itself).
void resize_stack(FrameStack& out, int64_t first, int count, int height, int width) {
  const size_t size = size_t(count) * height * width;
  if (out.pixels.size() != size) out.pixels = std::vector<float>(size);
  out.first_frame = first;
  out.count = count;
  out.height = height;
  out.width = width;
}

// The clean frame t at reference coordinates, over the whole extended field.
void reference_field(const SimulatedPlane& plane, int64_t t, std::vector<float>& field) {
  const PlaneRenderModel& m = plane.render;
  field = m.static_field;
  const size_t n = field.size();
  for (size_t j = 0; j < m.neuropil_patterns.size(); ++j) {
    const float w = plane.neuropil_weights(j, t);
    const float* pattern = m.neuropil_patterns[j].data();
    for (size_t i = 0; i < n; ++i) field[i] += w * pattern[i];
  }
  for (size_t r = 0; r < plane.rois.size(); ++r) {
    const float dff = plane.dff(r, t);
    if (dff == 0.0f) continue;
    const std::vector<uint32_t>& index = m.footprint_index[r];
    const std::vector<float>& f0 = m.footprint_f0[r];
    for (size_t i = 0; i < index.size(); ++i) field[index[i]] += f0[i] * dff;
  }
}

// Precomputed pieces of the non-rigid basis: sin(a(y) + b(x) + phase) =
// sin(a + phase) cos b + cos(a + phase) sin b, with b at the (bidi-displaced) sample column.
struct NonrigidTables {
  int k_fields = 0, width = 0;
  // [y * K + k]: sin/cos of the row part with the dy and dx phases.
  std::vector<double> sin_row_y, cos_row_y, sin_row_x, cos_row_x;
  // [parity][k * width + x]: sin/cos of the column part at the sampled column.
  std::vector<float> sin_col[2], cos_col[2];
};

NonrigidTables nonrigid_tables(const SimulatedPlane& plane, int height, int width) {
  NonrigidTables tab;
  const int k_fields = int(plane.nonrigid_basis.size());
  tab.k_fields = k_fields;
  tab.width = width;
  for (auto* v : {&tab.sin_row_y, &tab.cos_row_y, &tab.sin_row_x, &tab.cos_row_x})
    v->resize(size_t(height) * k_fields);
  for (int parity = 0; parity < 2; ++parity) {
    tab.sin_col[parity].resize(size_t(k_fields) * width);
    tab.cos_col[parity].resize(size_t(k_fields) * width);
  }
  for (int k = 0; k < k_fields; ++k) {
    const NonrigidBasis& b = plane.nonrigid_basis[k];
    for (int y = 0; y < height; ++y) {
      const double a = 2 * M_PI * double(b.ky) * y / height;
      const size_t i = size_t(y) * k_fields + k;
      tab.sin_row_y[i] = std::sin(a + b.phase_y);
      tab.cos_row_y[i] = std::cos(a + b.phase_y);
      tab.sin_row_x[i] = std::sin(a + b.phase_x);
      tab.cos_row_x[i] = std::cos(a + b.phase_x);
    }
    for (int parity = 0; parity < 2; ++parity)
      for (int x = 0; x < width; ++x) {
        const double xs = x - (parity ? double(plane.bidi_offset_px) : 0.0);
        const double c = 2 * M_PI * double(b.kx) * xs / width;
        tab.sin_col[parity][size_t(k) * width + x] = float(std::sin(c));
        tab.cos_col[parity][size_t(k) * width + x] = float(std::cos(c));
      }
  }
  return tab;
}

inline void cubic_weights_f(float t, float w[4]) {
  const float t2 = t * t, t3 = t2 * t;
  w[0] = -0.5f * t3 + t2 - 0.5f * t;
  w[1] = 1.5f * t3 - 2.5f * t2 + 1.0f;
  w[2] = -1.5f * t3 + 2.0f * t2 + 0.5f * t;
  w[3] = 0.5f * t3 - 0.5f * t2;
}

// floor() for the non-negative sample positions the margin guarantees, without a libm call.
inline int floor_nonnegative(float v) { return v > 0 ? int(v) : 0; }

inline float sample_bicubic(const float* field, int ext_h, int ext_w, float sy, float sx) {
  const int fy = floor_nonnegative(sy), fx = floor_nonnegative(sx);
  float wy[4], wx[4];
  cubic_weights_f(sy - float(fy), wy);
  cubic_weights_f(sx - float(fx), wx);
  const int iy = std::clamp(fy - 1, 0, ext_h - 4), ix = std::clamp(fx - 1, 0, ext_w - 4);
  float v = 0;
  for (int i = 0; i < 4; ++i) {
    const float* row = field + size_t(iy + i) * ext_w + ix;
    v += wy[i] * (wx[0] * row[0] + wx[1] * row[1] + wx[2] * row[2] + wx[3] * row[3]);
  }
  return v;
}

// Row y of a rigidly shifted frame: constant shift along the row, so separable (a vertical
// pass into a row buffer, then a horizontal one).
void warp_row_rigid(const std::vector<float>& field, int he, int we, int margin, int y, double dy,
                    double dx, int width, std::vector<float>& row_buffer, float* dst) {
  const double sy = y - dy + margin, fy = std::floor(sy);
  double wy[4];
  cubic_weights(sy - fy, wy);
  const int iy = std::clamp(int(fy) - 1, 0, he - 4);
  row_buffer.resize(we);
  const float* r0 = field.data() + size_t(iy) * we;
  const float* r1 = r0 + we;
  const float* r2 = r1 + we;
  const float* r3 = r2 + we;
  const float w0 = float(wy[0]), w1 = float(wy[1]), w2 = float(wy[2]), w3 = float(wy[3]);
  for (int v = 0; v < we; ++v) row_buffer[v] = w0 * r0[v] + w1 * r1[v] + w2 * r2[v] + w3 * r3[v];
  const double sx0 = -dx + margin, fx = std::floor(sx0);
  double wx[4];
  cubic_weights(sx0 - fx, wx);
  const float u0 = float(wx[0]), u1 = float(wx[1]), u2 = float(wx[2]), u3 = float(wx[3]);
  const int ix0 = std::clamp(int(fx) - 1, 0, we - width - 3);
  const float* b = row_buffer.data() + ix0;
  for (int x = 0; x < width; ++x) dst[x] = u0 * b[x] + u1 * b[x + 1] + u2 * b[x + 2] + u3 * b[x + 3];
}

struct RowBuffers {
  std::vector<float> rigid, sy, sx;
};

// Raw frame without noise: row y of the raw frame samples the reference field at
// (y - dy, x - bidi[y odd] - dx), with (dy, dx) the displacement at that raw position.
void warp_frame(const SimulatedPlane& plane, const NonrigidTables& tab, int height, int width,
                int64_t t, const std::vector<float>& field, RowBuffers& rows, float* out) {
  std::vector<float>& row_buffer = rows.rigid;
  const PlaneRenderModel& m = plane.render;
  const int he = m.ext_height, we = m.ext_width, k_fields = tab.k_fields;
  const double rigid_dy = plane.shifts[t].dy, rigid_dx = plane.shifts[t].dx;
  double coef[8] = {0};
  for (int k = 0; k < k_fields && k < 8; ++k) coef[k] = plane.nonrigid_coef(k, t);
  for (int y = 0; y < height; ++y) {
    const int parity = y & 1;
    const double bidi = parity ? double(plane.bidi_offset_px) : 0.0;
    float* dst = out + size_t(y) * width;
    if (k_fields == 0) {
      warp_row_rigid(field, he, we, m.margin, y, rigid_dy, rigid_dx + bidi, width, row_buffer, dst);
      continue;
    }
    // Row factors of the displacement: dy(x) = base_y + sum_k (ay_k cos_col + by_k sin_col).
    float ay[8], by[8], ax[8], bx[8];
    for (int k = 0; k < k_fields; ++k) {
      const size_t i = size_t(y) * k_fields + k;
      ay[k] = float(coef[k] * tab.sin_row_y[i]);
      by[k] = float(coef[k] * tab.cos_row_y[i]);
      ax[k] = float(coef[k] * tab.sin_row_x[i]);
      bx[k] = float(coef[k] * tab.cos_row_x[i]);
    }
    const float base_y = float(y - rigid_dy + m.margin), base_x = float(-bidi - rigid_dx + m.margin);
    // Sample positions for the whole row first (simple loops the compiler vectorises), then
    // the 4x4 gathers.
    std::vector<float>& sy = rows.sy;
    std::vector<float>& sx = rows.sx;
    sy.assign(width, base_y);
    sx.resize(width);
    for (int x = 0; x < width; ++x) sx[x] = float(x) + base_x;
    for (int k = 0; k < k_fields; ++k) {
      const float* cc = tab.cos_col[parity].data() + size_t(k) * width;
      const float* sc = tab.sin_col[parity].data() + size_t(k) * width;
      for (int x = 0; x < width; ++x) {
        sy[x] -= ay[k] * cc[x] + by[k] * sc[x];
        sx[x] -= ax[k] * cc[x] + bx[k] * sc[x];
      }
    }
    for (int x = 0; x < width; ++x) dst[x] = sample_bicubic(field.data(), he, we, sy[x], sx[x]);
  }
}

// Standard normal quantile (Acklam's rational approximation, relative error ~1e-9).
inline double normal_quantile(double p) {
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                                 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                 6.680131188771972e+01, -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                 -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                 3.754408661907416e+00};
  constexpr double low = 0.02425;
  if (p > low && p < 1 - low) {
    const double q = p - 0.5, r = q * q;
    return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
           (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  }
  const double q = std::sqrt(-2 * std::log(p <= low ? p : 1 - p));
  const double x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
                   ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  return p <= low ? x : -x;
}

// Round half up and clip to the int16 range (no libm call: this runs for every pixel).
inline int round_to_int16(double v) {
  const double r = std::clamp(v, -32768.0, 32767.0) + 0.5;
  int i = int(r);
  if (double(i) > r) --i;
  return std::min(i, 32767);
}

// Electronic noise of a PMT gated off (or a closed shutter): no photons, so no shot noise.
constexpr double kDarkNoiseCounts = 1.5;

// Leading rows of frame t that hold no signal: blanked_rows() on stimulated frames, all on
// frames without signal.
int blank_rows_of(const SimulatedSession& s, int64_t t) {
  const size_t i = size_t(t);
  if (i < s.no_signal_frames.size() && s.no_signal_frames[i]) return s.params.height;
  if (i < s.stimulated.size() && s.stimulated[i]) return blanked_rows(s.params);
  return 0;
}

// Shot noise (Gaussian approximation, variance = counts / photons_per_unit), then the camera's
// int16 rounding and clipping. One random stream per (plane, frame, row). The first
// blank_rows rows hold only dark noise (zero signal).
void add_noise_and_quantise(const SimulationParams& p, int plane, int64_t t, int height, int width,
                            float* frame, int blank_rows) {
  const bool noisy = p.photons_per_unit > 0;
  const double inv_photons = noisy ? 1.0 / p.photons_per_unit : 0.0;
  for (int y = 0; y < height; ++y) {
    sim::Rng rng(sim::stream_key(p.seed, sim::kNoise, uint64_t(t) * 2 + uint64_t(plane), uint64_t(y)));
    float* row = frame + size_t(y) * width;
    uint64_t bits = 0;
    if (y < blank_rows) {
      for (int x = 0; x < width; ++x) {
        if ((x & 1) == 0) bits = rng.next();
        const uint32_t u = (x & 1) ? uint32_t(bits >> 32) : uint32_t(bits);
        row[x] = float(round_to_int16(kDarkNoiseCounts * normal_quantile((double(u) + 0.5) * 0x1.0p-32)));
      }
      continue;
    }
    for (int x = 0; x < width; ++x) {
      double v = row[x];
      if (noisy) {
        // Two 32-bit uniforms per 64-bit draw, mapped through the normal quantile.
        if ((x & 1) == 0) bits = rng.next();
        const uint32_t u = (x & 1) ? uint32_t(bits >> 32) : uint32_t(bits);
        const double z = normal_quantile((double(u) + 0.5) * 0x1.0p-32);
        v += std::sqrt(std::max(v, 0.0) * inv_photons) * z;
      }
      row[x] = float(round_to_int16(v));
    }
  }
}

}  // namespace

int blanked_rows(const SimulationParams& params) {
  if (params.blank_rows >= 0) return std::min(params.blank_rows, params.height);
  return int(std::lround(0.21 * params.height));
}

void render_frames(const SimulatedSession& s, int plane_index, int64_t first, int count, FrameStack& out) {
  check_range(s, plane_index, first, count);
  const SimulationParams& p = s.params;
  const SimulatedPlane& plane = s.planes[plane_index];
  resize_stack(out, first, count, p.height, p.width);
  const NonrigidTables tab = nonrigid_tables(plane, p.height, p.width);
  tbb::parallel_for(tbb::blocked_range<int>(0, count), [&](const tbb::blocked_range<int>& range) {
    std::vector<float> field;
    RowBuffers row_buffer;
    for (int i = range.begin(); i < range.end(); ++i) {
      const int64_t t = first + i;
      reference_field(plane, t, field);
      warp_frame(plane, tab, p.height, p.width, t, field, row_buffer, out.frame_data(i));
      add_noise_and_quantise(p, plane_index, t, p.height, p.width, out.frame_data(i), blank_rows_of(s, t));
    }
  });
}

void render_clean_frames(const SimulatedSession& s, int plane_index, int64_t first, int count,
                         FrameStack& out) {
  check_range(s, plane_index, first, count);
  const SimulationParams& p = s.params;
  const SimulatedPlane& plane = s.planes[plane_index];
  const PlaneRenderModel& m = plane.render;
  resize_stack(out, first, count, p.height, p.width);
  tbb::parallel_for(tbb::blocked_range<int>(0, count), [&](const tbb::blocked_range<int>& range) {
    std::vector<float> field;
    for (int i = range.begin(); i < range.end(); ++i) {
      reference_field(plane, first + i, field);
      float* dst = out.frame_data(i);
      for (int y = 0; y < p.height; ++y)
        std::copy_n(field.data() + size_t(y + m.margin) * m.ext_width + m.margin, p.width,
                    dst + size_t(y) * p.width);
    }
  });
}

}  // namespace apical
