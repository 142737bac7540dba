// Simulator geometry: somata, dendrite cross-sections, neuropil, vessels, render model.
#include <algorithm>
#include <cmath>
#include <string>

#include <opencv2/imgproc.hpp>

#include "io/error.hpp"
#include "pipeline/validation/simulate_internal.hpp"

namespace apical::sim {
namespace {

struct Pixel {
  int y, x;
  float f0;
};
using Shape = std::vector<Pixel>;

// A smooth random field on an h x w grid with values in [-1, 1]: a normalised sum of a few
// plane waves with periods between min_period and max_period px.
std::vector<float> smooth_field(Rng& rng, int h, int w, int waves, double min_period,
                                double max_period) {
  std::vector<double> field(size_t(h) * w, 0.0);
  double total = 0;
  for (int m = 0; m < waves; ++m) {
    const double period = rng.uniform(min_period, max_period);
    const double angle = rng.uniform(0, 2 * M_PI);
    const double ky = 2 * M_PI * std::sin(angle) / period, kx = 2 * M_PI * std::cos(angle) / period;
    const double phase = rng.uniform(0, 2 * M_PI), amp = rng.uniform(0.5, 1.0);
    total += amp;
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) field[size_t(y) * w + x] += amp * std::cos(ky * y + kx * x + phase);
  }
  std::vector<float> out(field.size());
  for (size_t i = 0; i < field.size(); ++i) out[i] = float(field[i] / total);
  return out;
}

// Multiplicative attenuation (1 = clear, down to ~0.2 in a vessel's core) of a few thick,
// wavy dark bands crossing the field.
std::vector<float> vessel_attenuation(Rng& rng, int h, int w, int vessels, double px_per_um) {
  std::vector<float> att(size_t(h) * w, 1.0f);
  for (int v = 0; v < vessels; ++v) {
    const double cy = rng.uniform(0.2, 0.8) * h, cx = rng.uniform(0.2, 0.8) * w;
    const double theta = rng.uniform(0, M_PI);
    const double half_width = rng.uniform(3.0, 6.0) * px_per_um;
    const double wobble = rng.uniform(4.0, 15.0) * px_per_um;
    const double wavelength = rng.uniform(0.5, 1.2) * std::max(h, w);
    const double phase = rng.uniform(0, 2 * M_PI), depth = rng.uniform(0.55, 0.8);
    const double c = std::cos(theta), s = std::sin(theta);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const double along = (x - cx) * c + (y - cy) * s;
        const double across = -(x - cx) * s + (y - cy) * c;
        const double d = (across - wobble * std::sin(2 * M_PI * along / wavelength + phase)) /
                         half_width;
        att[size_t(y) * w + x] *= float(1.0 - depth * std::exp(-d * d * d * d));
      }
  }
  return att;
}

double smoothstep(double edge0, double edge1, double v) {
  const double t = std::clamp((v - edge0) / (edge1 - edge0), 0.0, 1.0);
  return t * t * (3 - 2 * t);
}

// Soma: ellipse with semi-axes a, b (px), a darker nucleus (brightness x (1 - nucleus_depth)
// at its centre), brightness falling to the rim.
Shape soma_shape(double cy, double cx, double a, double b, double theta, double brightness, double nucleus_depth) {
  Shape shape;
  const double c = std::cos(theta), s = std::sin(theta);
  const int r = int(std::ceil(std::max(a, b))) + 1;
  for (int y = int(cy) - r; y <= int(cy) + r; ++y)
    for (int x = int(cx) - r; x <= int(cx) + r; ++x) {
      const double u = (x - cx) * c + (y - cy) * s, v = -(x - cx) * s + (y - cy) * c;
      const double rho2 = (u / a) * (u / a) + (v / b) * (v / b);
      if (rho2 > 1.0) continue;
      const double nucleus = 1.0 - smoothstep(0.35, 0.6, std::sqrt(rho2));
      shape.push_back({y, x, float(brightness * (1.0 - 0.25 * rho2) * (1.0 - nucleus_depth * nucleus))});
    }
  return shape;
}

double distance_to_segment(double py, double px, double ay, double ax, double by, double bx) {
  const double vy = by - ay, vx = bx - ax, len2 = vy * vy + vx * vx;
  const double t = len2 > 0 ? std::clamp(((py - ay) * vy + (px - ax) * vx) / len2, 0.0, 1.0) : 0.0;
  const double dy = py - (ay + t * vy), dx = px - (ax + t * vx);
  return std::sqrt(dy * dy + dx * dx);
}

// Capsule of half-width hw around segment a-b, brightness falling to the edges.
void add_capsule(Shape& shape, double ay, double ax, double by, double bx, double hw,
                 double brightness) {
  const int y0 = int(std::floor(std::min(ay, by) - hw)) - 1, y1 = int(std::ceil(std::max(ay, by) + hw)) + 1;
  const int x0 = int(std::floor(std::min(ax, bx) - hw)) - 1, x1 = int(std::ceil(std::max(ax, bx) + hw)) + 1;
  for (int y = y0; y <= y1; ++y)
    for (int x = x0; x <= x1; ++x) {
      const double d = distance_to_segment(y, x, ay, ax, by, bx) / hw;
      if (d <= 1.0) shape.push_back({y, x, float(brightness * (1.0 - 0.3 * d * d))});
    }
}

// Dendrite cross-section: a small blob (3–5 µm), a short segment (6–12 µm) or a segment
// broken into two pieces (≤ 12 µm overall), centred at (cy, cx).
Shape dendrite_shape(Rng& rng, double cy, double cx, double px_per_um, double brightness) {
  const double kind = rng.uniform(), theta = rng.uniform(0, M_PI);
  const double dy = std::sin(theta), dx = std::cos(theta);
  Shape shape;
  if (kind < 0.5) {
    const double r = rng.uniform(1.5, 2.5) * px_per_um;
    add_capsule(shape, cy, cx, cy, cx, r, brightness);
  } else if (kind < 0.85) {
    const double half = rng.uniform(3.0, 6.0) * px_per_um - 1.2 * px_per_um;
    const double hw = rng.uniform(1.0, 1.4) * px_per_um;
    add_capsule(shape, cy - half * dy, cx - half * dx, cy + half * dy, cx + half * dx, hw, brightness);
  } else {
    const double hw = rng.uniform(1.0, 1.3) * px_per_um;
    const double gap = rng.uniform(2.0, 3.0) * px_per_um;
    const double piece = rng.uniform(1.5, 2.5) * px_per_um;  // capsule core length
    const double o1 = gap / 2 + hw, o2 = o1 + piece;
    add_capsule(shape, cy + o1 * dy, cx + o1 * dx, cy + o2 * dy, cx + o2 * dx, hw, brightness);
    add_capsule(shape, cy - o1 * dy, cx - o1 * dx, cy - o2 * dy, cx - o2 * dx, hw, brightness);
  }
  // Capsules of a broken segment never overlap, but guard against duplicates anyway.
  std::sort(shape.begin(), shape.end(), [](const Pixel& a, const Pixel& b) {
    return a.y != b.y ? a.y < b.y : a.x < b.x;
  });
  shape.erase(std::unique(shape.begin(), shape.end(),
                          [](const Pixel& a, const Pixel& b) { return a.y == b.y && a.x == b.x; }),
              shape.end());
  return shape;
}

// The frame grid of one plane while ROIs are being placed.
class Canvas {
 public:
  Canvas(int h, int w, int margin, std::vector<float> vessel, int gap_px = 1)
      : h_(h), w_(w), margin_(margin), gap_(gap_px), label_(size_t(h) * w, -1),
        vessel_(std::move(vessel)) {}

  // A shape fits when it lies inside the frame (2 px from the edge), off vessels, and at least
  // gap_px pixels away from every placed ROI (0: it may touch them, never overlap).
  bool fits(const Shape& shape) const {
    if (shape.empty()) return false;
    for (const Pixel& p : shape) {
      if (p.y < 2 || p.x < 2 || p.y >= h_ - 2 || p.x >= w_ - 2) return false;
      if (vessel_at(p.y, p.x) < 0.85f) return false;
      for (int dy = -gap_; dy <= gap_; ++dy)
        for (int dx = -gap_; dx <= gap_; ++dx)
          if (label_[size_t(p.y + dy) * w_ + p.x + dx] >= 0) return false;
    }
    return true;
  }

  int place(const Shape& shape, int kind, std::vector<RoiMask>& rois) {
    const int id = int(rois.size());
    RoiMask roi;
    roi.kind = kind;
    double sy = 0, sx = 0;
    for (const Pixel& p : shape) {
      const size_t i = size_t(p.y) * w_ + p.x;
      label_[i] = id;
      roi.pixels.push_back(uint32_t(i));
      roi.weights.push_back(1.0f);
      sy += p.y;
      sx += p.x;
    }
    roi.cy = float(sy / shape.size());
    roi.cx = float(sx / shape.size());
    rois.push_back(std::move(roi));
    shapes_.push_back(shape);
    return id;
  }

  float vessel_at(int y, int x) const {
    return vessel_[size_t(y + margin_) * (w_ + 2 * margin_) + x + margin_];
  }
  const std::vector<Shape>& shapes() const { return shapes_; }
  const std::vector<int>& label() const { return label_; }
  const std::vector<float>& vessel() const { return vessel_; }

 private:
  int h_, w_, margin_, gap_;
  std::vector<int> label_;
  std::vector<float> vessel_;
  std::vector<Shape> shapes_;  // per ROI, its resting fluorescence before the optical blur
};

constexpr double kPsfSigmaPx = 0.8;  // optical blur of the cells (microscope PSF)

// A cell's resting fluorescence after the PSF blur, as ext-field indices and values. Slightly
// larger than its mask: every footprint pixel carries the cell's dF/F.
void cell_footprint(const Shape& shape, int margin, int ext_width, std::vector<uint32_t>& index,
                    std::vector<float>& value) {
  int y0 = shape[0].y, y1 = y0, x0 = shape[0].x, x1 = x0;
  float peak = 0;
  for (const Pixel& p : shape) {
    y0 = std::min(y0, p.y), y1 = std::max(y1, p.y), x0 = std::min(x0, p.x), x1 = std::max(x1, p.x);
    peak = std::max(peak, p.f0);
  }
  const int pad = 3;
  cv::Mat local = cv::Mat::zeros(y1 - y0 + 1 + 2 * pad, x1 - x0 + 1 + 2 * pad, CV_32F);
  for (const Pixel& p : shape) local.at<float>(p.y - y0 + pad, p.x - x0 + pad) = p.f0;
  cv::Mat blurred;
  cv::GaussianBlur(local, blurred, cv::Size(7, 7), kPsfSigmaPx, kPsfSigmaPx, cv::BORDER_CONSTANT);
  index.clear();
  value.clear();
  for (int y = 0; y < blurred.rows; ++y)
    for (int x = 0; x < blurred.cols; ++x) {
      const float v = blurred.at<float>(y, x);
      if (v <= 1e-3f * peak) continue;
      index.push_back(uint32_t(size_t(y + y0 - pad + margin) * ext_width + (x + x0 - pad + margin)));
      value.push_back(v);
    }
}

InputError crowded(const SimulationParams& p, const std::string& what) {
  return InputError("simulate: cannot place " + what + " without overlap in a " +
                    std::to_string(p.height) + "x" + std::to_string(p.width) +
                    " frame; reduce --neurons/--distractors or enlarge the frame");
}

void place_somata(const SimulationParams& p, Rng& rng, Canvas& canvas, SimulatedPlane& plane) {
  const double um = 1.0 / p.pixel_size_um;
  const int somata = p.neurons + (p.distractors + 1) / 2;
  for (int n = 0; n < somata; ++n) {
    bool placed = false;
    for (int attempt = 0; attempt < 2000 && !placed; ++attempt) {
      // Dense cortex: smaller ring cells (9-12 µm) with dark nuclei; else 13-16 µm.
      const double a = (p.dense_cortex ? rng.uniform(4.5, 6.0) : rng.uniform(6.5, 8.0)) * um, b = a * rng.uniform(0.8, 1.0);
      Shape shape = soma_shape(rng.uniform(0, p.height), rng.uniform(0, p.width), a, b,
                               rng.uniform(0, M_PI), rng.uniform(350, 700), p.dense_cortex ? 0.85 : 0.65);
      if (p.irregular_somata) {  // a star-shaped cell instead (the ellipse's draws keep the stream)
        shape.clear();
        for (const SomaPixel& q : irregular_soma_shape(rng, rng.uniform(0, p.height), rng.uniform(0, p.width), um))
          shape.push_back({q.y, q.x, q.f0});
      }
      if (canvas.fits(shape)) {
        canvas.place(shape, 0, plane.rois);
        placed = true;
      }
    }
    if (!placed) throw crowded(p, "soma " + std::to_string(n));
  }
}

std::vector<std::vector<int>> place_dendrites(const SimulationParams& p, Rng& rng, Canvas& canvas,
                                              const SimulatedPlane& soma_plane,
                                              SimulatedPlane& plane) {
  const double um = 1.0 / p.pixel_size_um;
  std::vector<std::vector<int>> owned(p.neurons);
  for (int n = 0; n < p.neurons; ++n) {
    const double u = rng.uniform();
    const int count = u < 0.4 ? 1 : (u < 0.8 ? 2 : 3);
    const RoiMask& soma = soma_plane.rois[n];
    for (int k = 0; k < count; ++k) {
      const int attempts = k == 0 ? 3000 : 300;  // every paired neuron needs one dendrite
      for (int attempt = 0; attempt < attempts; ++attempt) {
        const double r = 13.0 * um * std::sqrt(rng.uniform()), phi = rng.uniform(0, 2 * M_PI);
        const Shape shape = dendrite_shape(rng, soma.cy + r * std::sin(phi),
                                           soma.cx + r * std::cos(phi), um, rng.uniform(220, 450));
        if (canvas.fits(shape)) {
          owned[n].push_back(canvas.place(shape, 1, plane.rois));
          break;
        }
      }
    }
    if (owned[n].empty()) throw crowded(p, "a dendrite of neuron " + std::to_string(n));
  }
  for (int d = 0; d < p.distractors / 2; ++d) {
    bool placed = false;
    for (int attempt = 0; attempt < 2000 && !placed; ++attempt) {
      const Shape shape = dendrite_shape(rng, rng.uniform(0, p.height), rng.uniform(0, p.width),
                                         um, rng.uniform(220, 450));
      if (canvas.fits(shape)) {
        canvas.place(shape, 1, plane.rois);
        placed = true;
      }
    }
    if (!placed) throw crowded(p, "distractor dendrite " + std::to_string(d));
  }
  return owned;
}

// AR(1) fluctuation with correlation time tau_s and stationary std sd, length T.
std::vector<float> slow_fluctuation(Rng& rng, int64_t frames, double frame_rate_hz, double tau_s,
                                    double sd) {
  const double phi = std::exp(-1.0 / (tau_s * frame_rate_hz));
  const double innovation = sd * std::sqrt(1 - phi * phi);
  std::vector<float> w(frames);
  double v = sd * rng.normal();
  for (int64_t t = 0; t < frames; ++t) {
    w[t] = float(v);
    v = phi * v + innovation * rng.normal();
  }
  return w;
}

// Dense cortex: thin, static processes (dendrites and axons of cells outside the plane)
// in the neuropil, about one per 400 px: capsules 0.6-0.9 µm half-width, 10-30 µm long.
void add_processes(const SimulationParams& p, Rng& rng, PlaneRenderModel& model) {
  const double um = 1.0 / p.pixel_size_um;
  const int count = int(double(model.ext_height) * model.ext_width / 400.0);
  Shape shape;
  for (int k = 0; k < count; ++k) {
    const double cy = rng.uniform(0, model.ext_height), cx = rng.uniform(0, model.ext_width);
    const double half = rng.uniform(5.0, 15.0) * um, theta = rng.uniform(0, M_PI);
    add_capsule(shape, cy - half * std::sin(theta), cx - half * std::cos(theta), cy + half * std::sin(theta),
                cx + half * std::cos(theta), rng.uniform(0.6, 0.9) * um, rng.uniform(60, 160));
  }
  for (const Pixel& px : shape)
    if (px.y >= 0 && px.x >= 0 && px.y < model.ext_height && px.x < model.ext_width)
      model.static_field[size_t(px.y) * model.ext_width + px.x] += px.f0;
}

// Dense cortex: uneven illumination (a smooth gain of 0.6-1.4) and vignetting (down to
// ~45% in the corners) multiply everything the microscope collects from each point.
void apply_illumination(const SimulationParams& p, Rng& rng, PlaneRenderModel& model) {
  const int he = model.ext_height, we = model.ext_width;
  const std::vector<float> unevenness = smooth_field(rng, he, we, 4, 0.5 * std::max(p.height, p.width),
                                                     1.5 * std::max(p.height, p.width));
  std::vector<float> gain(size_t(he) * we);
  for (int y = 0; y < he; ++y)
    for (int x = 0; x < we; ++x) {
      const double ry = (y - 0.5 * he) / (0.5 * he), rx = (x - 0.5 * we) / (0.5 * we);
      const double vignette = 1.0 - 0.28 * (ry * ry + rx * rx);
      gain[size_t(y) * we + x] = float(vignette * (1.0 + 0.4 * unevenness[size_t(y) * we + x]));
    }
  for (size_t i = 0; i < gain.size(); ++i) model.static_field[i] *= gain[i];
  for (auto& pattern : model.neuropil_patterns)
    for (size_t i = 0; i < gain.size(); ++i) pattern[i] *= gain[i];
  for (size_t r = 0; r < model.footprint_index.size(); ++r)
    for (size_t i = 0; i < model.footprint_index[r].size(); ++i) model.footprint_f0[r][i] *= gain[model.footprint_index[r][i]];
}

struct PlaneLevels {
  double neuropil, neuropil_spatial_variation;
};

// Neuropil (smooth, slowly fluctuating, scaled by neuropil_coef inside ROIs), vessels and the
// resting cells make the render model and the static image.
void finish_plane(const SimulationParams& p, int plane_index, const Canvas& canvas,
                  const PlaneLevels& levels, SimulatedPlane& plane) {
  PlaneRenderModel& model = plane.render;
  const int he = model.ext_height, we = model.ext_width, m = model.margin;
  Rng rng(stream_key(p.seed, kNeuropil, plane_index));
  const double period_scale = std::max(p.height, p.width);
  const std::vector<float> base_shape = smooth_field(rng, he, we, 6, 0.4 * period_scale, 1.5 * period_scale);
  const std::vector<float> pattern_shape = smooth_field(rng, he, we, 6, 0.3 * period_scale, 1.0 * period_scale);

  plane.neuropil_coef.resize(plane.rois.size());
  for (float& c : plane.neuropil_coef) c = float(rng.uniform(0.5, 0.9));
  std::vector<float> coef(size_t(he) * we, 1.0f);
  const std::vector<int>& label = canvas.label();
  for (int y = 0; y < p.height; ++y)
    for (int x = 0; x < p.width; ++x) {
      const int id = label[size_t(y) * p.width + x];
      if (id >= 0) coef[size_t(y + m) * we + x + m] = plane.neuropil_coef[id];
    }

  const std::vector<float>& vessel = canvas.vessel();
  model.static_field.assign(size_t(he) * we, 0.0f);
  model.neuropil_patterns.assign(2, std::vector<float>(size_t(he) * we));
  for (size_t i = 0; i < model.static_field.size(); ++i) {
    const double neuropil = levels.neuropil * (1.0 + levels.neuropil_spatial_variation * base_shape[i]) *
                            vessel[i] * coef[i];
    model.static_field[i] = float(neuropil);
    model.neuropil_patterns[0][i] = float(neuropil);                     // global fluctuation
    model.neuropil_patterns[1][i] = float(neuropil * pattern_shape[i]);  // regional fluctuation
  }
  plane.neuropil_weights.set_size(2, p.frames);
  const std::vector<float> w0 = slow_fluctuation(rng, p.frames, p.frame_rate_hz, 3.0, 0.08);
  const std::vector<float> w1 = slow_fluctuation(rng, p.frames, p.frame_rate_hz, 2.0, 0.06);
  for (int64_t t = 0; t < p.frames; ++t) {
    plane.neuropil_weights(0, t) = w0[t];
    plane.neuropil_weights(1, t) = w1[t];
  }

  if (p.dense_cortex) add_processes(p, rng, model);

  const size_t rois = plane.rois.size();
  model.footprint_index.resize(rois);
  model.footprint_f0.resize(rois);
  plane.baseline_f0.resize(rois);
  std::vector<float> blurred(size_t(he) * we, 0.0f);
  for (size_t r = 0; r < rois; ++r) {
    cell_footprint(canvas.shapes()[r], m, we, model.footprint_index[r], model.footprint_f0[r]);
    for (size_t i = 0; i < model.footprint_index[r].size(); ++i)
      blurred[model.footprint_index[r][i]] += model.footprint_f0[r][i];
  }
  for (size_t i = 0; i < blurred.size(); ++i) model.static_field[i] += blurred[i];
  if (p.dense_cortex) apply_illumination(p, rng, model);
  // F0 of an ROI: its own footprint averaged over its mask (the scale of its dF/F).
  const std::vector<int>& owner = canvas.label();
  for (size_t r = 0; r < rois; ++r) {
    double sum = 0;
    for (size_t i = 0; i < model.footprint_index[r].size(); ++i) {
      const uint32_t e = model.footprint_index[r][i];
      const int y = int(e / uint32_t(we)) - m, x = int(e % uint32_t(we)) - m;
      if (y >= 0 && x >= 0 && y < p.height && x < p.width && owner[size_t(y) * p.width + x] == int(r))
        sum += model.footprint_f0[r][i];
    }
    plane.baseline_f0[r] = float(sum / plane.rois[r].pixels.size());
  }

  plane.static_image.create(p.height, p.width, CV_32F);
  for (int y = 0; y < p.height; ++y)
    for (int x = 0; x < p.width; ++x)
      plane.static_image.at<float>(y, x) = model.static_field[size_t(y + m) * we + x + m];
}

}  // namespace

std::vector<std::vector<int>> build_geometry(const SimulationParams& p,
                                             std::vector<SimulatedPlane>& planes) {
  const double um = 1.0 / p.pixel_size_um;
  const int margin = int(std::ceil(p.max_shift_px + p.nonrigid_px + std::abs(p.bidi_px) + 0.5)) + 3;
  planes.assign(2, SimulatedPlane{});
  planes[0].role = "soma";
  planes[1].role = "dendrite";
  std::vector<Canvas> canvases;
  const int vessels = 1 + int(std::lround(std::sqrt(double(p.height) * p.width) / 256.0));
  for (int k = 0; k < 2; ++k) {
    PlaneRenderModel& model = planes[k].render;
    model.margin = margin;
    model.ext_height = p.height + 2 * margin;
    model.ext_width = p.width + 2 * margin;
    Rng rng(stream_key(p.seed, kGeometry, k, 1));
    canvases.emplace_back(p.height, p.width, margin,
                          vessel_attenuation(rng, model.ext_height, model.ext_width, vessels + k, um),
                          p.dense_cortex && k == 0 ? 0 : 1);
  }
  Rng soma_rng(stream_key(p.seed, kGeometry, 0, 2));
  place_somata(p, soma_rng, canvases[0], planes[0]);
  Rng dendrite_rng(stream_key(p.seed, kGeometry, 1, 2));
  std::vector<std::vector<int>> owned = place_dendrites(p, dendrite_rng, canvases[1], planes[0], planes[1]);
  finish_plane(p, 0, canvases[0], PlaneLevels{200.0, 0.25}, planes[0]);
  finish_plane(p, 1, canvases[1], PlaneLevels{110.0, 0.3}, planes[1]);
  return owned;
}

}  // namespace apical::sim
