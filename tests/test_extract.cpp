// extract core: F / neuropil ring / coefficient / baseline / dF/F against the simulator's truth.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <set>
#include <vector>

#include <oneapi/tbb/task_arena.h>

#include "io/error.hpp"
#include "pipeline/extract/extract.hpp"
#include "pipeline/validation/simulate.hpp"

using namespace apical;

namespace {

constexpr double kFrameRate = 30.0;

// One small simulated session (128 x 128, 200 s) rendered once (motion off: these frames are "registered").
struct RenderedSession {
  SimulatedSession session;
  FrameStack frames[2];
};

const RenderedSession& rendered() {
  static const RenderedSession s = [] {
    SimulationParams p;
    p.height = 128;
    p.width = 128;
    p.frames = 6000;  // 200 s: the neuropil coefficient needs a few minutes of data
    p.neurons = 10;
    p.distractors = 4;
    p.ensemble_plus = 2;
    p.ensemble_minus = 2;
    p.max_shift_px = 0;
    p.nonrigid_px = 0;
    p.bidi_px = 0;
    p.event_rate_hz = 0.3;
    p.seed = 11;
    RenderedSession r;
    r.session = simulate_session(p);
    for (int k = 0; k < 2; ++k) render_frames(r.session, k, 0, int(p.frames), r.frames[k]);
    return r;
  }();
  return s;
}

SparseMasks masks_of(const SimulatedPlane& plane, int height, int width) {
  SparseMasks m;
  m.height = height;
  m.width = width;
  for (const RoiMask& roi : plane.rois) m.add(roi.pixels, roi.weights, uint8_t(roi.kind));
  return m;
}

struct Traces {
  int rois = 0, frames = 0;
  std::vector<float> f, fneu;  // [rois, frames]
  std::vector<float> f_row(int i) const { return {f.begin() + long(i) * frames, f.begin() + long(i + 1) * frames}; }
  std::vector<float> fneu_row(int i) const {
    return {fneu.begin() + long(i) * frames, fneu.begin() + long(i + 1) * frames};
  }
};

Traces extract_all(const TraceExtractor& ex, const FrameStack& frames) {
  Traces t;
  t.rois = ex.rois();
  t.frames = frames.count;
  t.f.resize(size_t(t.rois) * t.frames);
  t.fneu.resize(t.f.size());
  ex.extract(frames, t.f.data(), t.fneu.data());
  return t;
}

double pearson(const std::vector<float>& a, const std::vector<float>& b) {
  double ma = 0, mb = 0;
  for (size_t i = 0; i < a.size(); ++i) ma += a[i], mb += b[i];
  ma /= double(a.size()), mb /= double(b.size());
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  return sab / std::sqrt(saa * sbb);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

BaselineParams maximin() {
  BaselineParams b;
  b.frame_rate_hz = kFrameRate;
  return b;
}

std::vector<float> truth_dff(const SimulatedPlane& plane, int roi) {
  std::vector<float> v(plane.dff.n_cols);
  for (size_t t = 0; t < v.size(); ++t) v[t] = plane.dff(size_t(roi), t);
  return v;
}

// Median Pearson r of dF/F against truth over the plane's ROIs; coef < 0 = estimate per ROI.
double median_dff_correlation(int plane_index, float coef) {
  const RenderedSession& s = rendered();
  const SimulatedPlane& plane = s.session.planes[size_t(plane_index)];
  const TraceExtractor ex = TraceExtractor::build(masks_of(plane, 128, 128), ExtractParams{});
  const Traces tr = extract_all(ex, s.frames[plane_index]);
  std::vector<double> r;
  for (int i = 0; i < tr.rois; ++i) {
    const std::vector<float> f = tr.f_row(i), fneu = tr.fneu_row(i);
    const float c = coef >= 0 ? coef : estimate_neuropil_coef(f, fneu).coef;
    r.push_back(pearson(compute_dff(f, fneu, c, maximin()).dff, truth_dff(plane, i)));
  }
  return median(r);
}

// Two overlapping discs and one apart: a shared lens of pixels between ROI 0 and ROI 1.
SparseMasks disc_masks(int size) {
  SparseMasks m;
  m.height = size;
  m.width = size;
  const int centres[3][2] = {{20, 20}, {20, 28}, {44, 44}};
  for (const auto& c : centres) {
    std::vector<uint32_t> px;
    std::vector<float> w;
    for (int y = 0; y < size; ++y)
      for (int x = 0; x < size; ++x)
        if ((y - c[0]) * (y - c[0]) + (x - c[1]) * (x - c[1]) <= 36) {
          px.push_back(uint32_t(y * size + x));
          w.push_back(1.0f + 0.01f * float(x));
        }
    m.add(px, w, 0);
  }
  return m;
}

}  // namespace

TEST_CASE("dF/F with true masks and r = 0.7 correlates with truth (somata >= 0.9, dendrites >= 0.8)",
          "[extract]") {
  const double soma = median_dff_correlation(0, 0.7f), dendrite = median_dff_correlation(1, 0.7f);
  INFO("median r soma " << soma << ", dendrite " << dendrite);
  CHECK(soma >= 0.9);
  CHECK(dendrite >= 0.8);
}

TEST_CASE("dF/F with estimated coefficients correlates with truth (somata >= 0.9, dendrites >= 0.8)",
          "[extract]") {
  const double soma = median_dff_correlation(0, -1), dendrite = median_dff_correlation(1, -1);
  INFO("median r soma " << soma << ", dendrite " << dendrite);
  CHECK(soma >= 0.9);
  CHECK(dendrite >= 0.8);
}

TEST_CASE("estimated neuropil coefficients are within 0.1 of truth on average (200 s of data)", "[extract]") {
  const RenderedSession& s = rendered();
  double error = 0;
  int n = 0;
  for (int k = 0; k < 2; ++k) {
    const SimulatedPlane& plane = s.session.planes[size_t(k)];
    const TraceExtractor ex = TraceExtractor::build(masks_of(plane, 128, 128), ExtractParams{});
    const Traces tr = extract_all(ex, s.frames[k]);
    double plane_error = 0;
    for (int i = 0; i < tr.rois; ++i) {
      const NeuropilCoefEstimate est = estimate_neuropil_coef(tr.f_row(i), tr.fneu_row(i));
      plane_error += std::abs(est.coef - plane.neuropil_coef[size_t(i)]);
    }
    INFO("plane " << k << " mean abs error " << plane_error / tr.rois);
    CHECK(plane_error / tr.rois <= 0.1);
    error += plane_error;
    n += tr.rois;
  }
  INFO("mean abs error " << error / n);
  CHECK(error / n <= 0.1);
}

TEST_CASE("neuropil ring excludes every ROI pixel and the inner gap and reaches the minimum size",
          "[extract]") {
  const RenderedSession& s = rendered();
  for (int k = 0; k < 2; ++k) {
    const SparseMasks masks = masks_of(s.session.planes[size_t(k)], 128, 128);
    const ExtractParams params;
    const TraceExtractor ex = TraceExtractor::build(masks, params);
    const std::set<uint32_t> any_roi(masks.pixels.begin(), masks.pixels.end());
    for (int i = 0; i < ex.rois(); ++i) {
      const std::vector<uint32_t> ring = ex.neuropil_pixels(i), own = masks.roi_pixels(size_t(i));
      CHECK_FALSE(ex.info(i).neuropil_short);
      CHECK(ring.size() >= size_t(params.neuropil_min_pixels));
      CHECK(std::set<uint32_t>(ring.begin(), ring.end()).size() == ring.size());
      double nearest_overall = 1e9;
      for (uint32_t p : ring) {
        REQUIRE(any_roi.count(p) == 0);
        double nearest = 1e9;
        for (uint32_t q : own) {
          const double dy = double(p / 128) - double(q / 128), dx = double(p % 128) - double(q % 128);
          nearest = std::min(nearest, std::hypot(dy, dx));
        }
        REQUIRE(nearest > params.neuropil_inner_gap_px);
        REQUIRE(nearest <= params.neuropil_max_radius_px + 1e-3);
        nearest_overall = std::min(nearest_overall, nearest);
      }
      // The ring starts right outside the gap (grown outward, nearest first).
      CHECK(nearest_overall <= params.neuropil_inner_gap_px + 1.5);
    }
  }
}

TEST_CASE("a ring capped by the maximum radius is flagged short", "[extract]") {
  ExtractParams params;
  params.neuropil_max_radius_px = 5;
  const TraceExtractor ex = TraceExtractor::build(disc_masks(64), params);
  for (int i = 0; i < ex.rois(); ++i) {
    CHECK(ex.info(i).neuropil_short);
    CHECK(ex.info(i).neuropil_pixels < params.neuropil_min_pixels);
    CHECK(ex.info(i).neuropil_radius_px <= 5.0f);
  }
}

TEST_CASE("pixels shared by two ROIs are excluded from F and the weights renormalised", "[extract]") {
  const SparseMasks masks = disc_masks(64);
  const TraceExtractor ex = TraceExtractor::build(masks, ExtractParams{});
  const std::vector<uint32_t> a = masks.roi_pixels(0), b = masks.roi_pixels(1);
  std::vector<uint32_t> shared;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(shared));
  REQUIRE(!shared.empty());
  for (int i = 0; i < 2; ++i) {
    const std::vector<uint32_t> used = ex.f_pixels(i);
    for (uint32_t p : shared) CHECK(std::find(used.begin(), used.end(), p) == used.end());
    CHECK(ex.info(i).shared_pixels == int(shared.size()));
    CHECK(used.size() + shared.size() == masks.roi_pixels(size_t(i)).size());
    double total = 0;
    for (float w : ex.f_weights(i)) total += w;
    CHECK(total == Approx(1.0).epsilon(1e-6));
  }
  CHECK(ex.info(2).shared_pixels == 0);

  // A frame that is 10 everywhere except a huge value on the shared pixels: F stays 10.
  FrameStack frame(0, 1, 64, 64);
  std::fill(frame.pixels.begin(), frame.pixels.end(), 10.0f);
  for (uint32_t p : shared) frame.pixels[p] = 1e6f;
  std::vector<float> f(3), fneu(3);
  ex.extract(frame, f.data(), fneu.data());
  for (int i = 0; i < 3; ++i) {
    CHECK(f[size_t(i)] == Approx(10.0f).epsilon(1e-6));
    CHECK(fneu[size_t(i)] == Approx(10.0f).epsilon(1e-6));
  }
}

TEST_CASE("F is the weighted mask mean and Fneu the ring mean of each frame", "[extract]") {
  const SparseMasks masks = disc_masks(64);
  const TraceExtractor ex = TraceExtractor::build(masks, ExtractParams{});
  FrameStack frames(5, 3, 64, 64);
  std::mt19937 rng(4);
  std::uniform_real_distribution<float> u(0, 1000);
  for (float& v : frames.pixels) v = u(rng);
  std::vector<float> f(size_t(3 * 3)), fneu(f.size());
  ex.extract(frames, f.data(), fneu.data());
  for (int i = 0; i < 3; ++i)
    for (int t = 0; t < 3; ++t) {
      const std::vector<uint32_t> px = ex.f_pixels(i), ring = ex.neuropil_pixels(i);
      const std::vector<float> w = ex.f_weights(i);
      double sf = 0, sn = 0;
      for (size_t k = 0; k < px.size(); ++k) sf += w[k] * frames.frame_data(t)[px[k]];
      for (uint32_t p : ring) sn += frames.frame_data(t)[p];
      CHECK(f[size_t(i * 3 + t)] == Approx(sf).epsilon(1e-5));
      CHECK(fneu[size_t(i * 3 + t)] == Approx(sn / double(ring.size())).epsilon(1e-5));
    }
}

TEST_CASE("F0 <= 0 is flagged and dF/F stays finite", "[extract]") {
  // Neuropil stronger than the ROI: F - 0.7 Fneu is negative throughout.
  std::vector<float> f(600), fneu(600);
  for (size_t t = 0; t < f.size(); ++t) {
    f[t] = 50.0f + 5.0f * float(std::sin(0.05 * double(t)));
    fneu[t] = 200.0f + 3.0f * float(std::cos(0.03 * double(t)));
  }
  for (BaselineMethod method : {BaselineMethod::maximin, BaselineMethod::percentile, BaselineMethod::constant}) {
    BaselineParams b = maximin();
    b.method = method;
    const DffResult r = compute_dff(f, fneu, 0.7f, b);
    CHECK(r.f0_nonpositive);
    for (size_t t = 0; t < f.size(); ++t) {
      REQUIRE(std::isfinite(r.dff[t]));
      REQUIRE(r.f0[t] > 0);
    }
  }
  // All-zero input: still finite.
  const DffResult z = compute_dff(std::vector<float>(100, 0.0f), std::vector<float>(100, 0.0f), 0.7f, maximin());
  CHECK(z.f0_nonpositive);
  for (float v : z.dff) REQUIRE(std::isfinite(v));
  // A healthy trace is not flagged.
  const DffResult ok = compute_dff(std::vector<float>(100, 300.0f), std::vector<float>(100, 100.0f), 0.7f, maximin());
  CHECK_FALSE(ok.f0_nonpositive);
}

TEST_CASE("every baseline of a constant trace equals the constant", "[extract]") {
  const std::vector<float> f(3000, 123.5f);
  for (BaselineMethod method : {BaselineMethod::maximin, BaselineMethod::percentile, BaselineMethod::constant}) {
    BaselineParams b = maximin();
    b.method = method;
    b.window_s = 10;
    for (float v : baseline(f, b)) REQUIRE(v == Approx(123.5f).epsilon(1e-6));
  }
}

TEST_CASE("maximin and percentile baselines stay within 3% of the true baseline under sparse transients",
          "[extract]") {
  // 3 min at 30 Hz: baseline 100 with a slow 5% drift, noise sd 3, a transient every ~8 s.
  const size_t n = 5400;
  std::mt19937 rng(7);
  std::normal_distribution<float> noise(0, 3);
  std::vector<float> truth(n), f(n);
  for (size_t t = 0; t < n; ++t) truth[t] = 100.0f + 5.0f * float(std::sin(2 * M_PI * double(t) / double(n)));
  std::vector<double> transient(n, 0);
  for (size_t onset = 100; onset < n; onset += 240 + (onset * 37) % 60)
    for (size_t t = onset; t < n && t < onset + 150; ++t) transient[t] += 80.0 * std::exp(-double(t - onset) / 30.0);
  for (size_t t = 0; t < n; ++t) f[t] = truth[t] + float(transient[t]) + noise(rng);
  for (BaselineMethod method : {BaselineMethod::maximin, BaselineMethod::percentile}) {
    BaselineParams b = maximin();
    b.method = method;
    b.window_s = 30;
    const std::vector<float> f0 = baseline(f, b);
    double worst = 0;
    for (size_t t = 0; t < n; ++t) worst = std::max(worst, std::abs(double(f0[t]) - truth[t]) / truth[t]);
    INFO("method " << int(method) << " worst relative error " << worst);
    CHECK(worst <= 0.03);
  }
}

TEST_CASE("coefficient estimate recovers a known mixing slope and clips to [0, 1]", "[extract]") {
  std::mt19937 rng(3);
  std::normal_distribution<float> noise(0, 1);
  const size_t n = 3000;
  std::vector<float> fneu(n), cell(n, 0.0f);
  double slow = 0;
  for (size_t t = 0; t < n; ++t) {
    slow = 0.98 * slow + noise(rng);
    fneu[t] = 150.0f + 2.0f * float(slow);
  }
  for (size_t onset = 50; onset < n; onset += 211)
    for (size_t t = onset; t < n && t < onset + 60; ++t) cell[t] += 60.0f * float(std::exp(-double(t - onset) / 15.0));
  for (float slope : {0.55f, 0.8f}) {
    std::vector<float> f(n);
    for (size_t t = 0; t < n; ++t) f[t] = 300.0f + cell[t] + slope * fneu[t] + 2.0f * noise(rng);
    const NeuropilCoefEstimate est = estimate_neuropil_coef(f, fneu);
    CHECK(est.coef == Approx(slope).margin(0.03));
    CHECK_FALSE(est.clipped);
  }
  std::vector<float> steep(n);
  for (size_t t = 0; t < n; ++t) steep[t] = 1.6f * fneu[t] + noise(rng);
  const NeuropilCoefEstimate clipped = estimate_neuropil_coef(steep, fneu);
  CHECK(clipped.clipped);
  CHECK(clipped.coef == 1.0f);
  const NeuropilCoefEstimate flat = estimate_neuropil_coef(steep, std::vector<float>(n, 150.0f));
  CHECK(flat.fallback);
  CHECK(flat.coef == 0.7f);
}

TEST_CASE("traces are bit-identical at 1 and 2 threads and for any batch split", "[extract]") {
  const RenderedSession& s = rendered();
  const FrameStack& all = s.frames[0];
  const TraceExtractor ex = TraceExtractor::build(masks_of(s.session.planes[0], 128, 128), ExtractParams{});
  const size_t n = size_t(ex.rois()), T = size_t(all.count);
  std::vector<float> f1(n * T), n1(n * T), f2(n * T), n2(n * T), f3(n * T), n3(n * T);
  oneapi::tbb::task_arena(1).execute([&] { ex.extract(all, f1.data(), n1.data()); });
  oneapi::tbb::task_arena(2).execute([&] { ex.extract(all, f2.data(), n2.data()); });
  // Uneven batches written into the full-length rows through the row stride.
  size_t first = 0;
  for (int size : {1, 7, 300, 192, 5500}) {
    FrameStack batch(int64_t(first), size, all.height, all.width);
    std::copy(all.frame_data(int(first)), all.frame_data(int(first)) + size_t(size) * all.frame_size(),
              batch.pixels.begin());
    ex.extract(batch, f3.data() + first, n3.data() + first, T);
    first += size_t(size);
  }
  REQUIRE(first == T);
  CHECK(std::memcmp(f1.data(), f2.data(), f1.size() * sizeof(float)) == 0);
  CHECK(std::memcmp(n1.data(), n2.data(), n1.size() * sizeof(float)) == 0);
  CHECK(std::memcmp(f1.data(), f3.data(), f1.size() * sizeof(float)) == 0);
  CHECK(std::memcmp(n1.data(), n3.data(), n1.size() * sizeof(float)) == 0);

  // The extractor itself (built in parallel over ROIs) is the same at any thread count.
  TraceExtractor e1, e2;
  const SparseMasks masks = masks_of(s.session.planes[1], 128, 128);
  oneapi::tbb::task_arena(1).execute([&] { e1 = TraceExtractor::build(masks, ExtractParams{}); });
  oneapi::tbb::task_arena(2).execute([&] { e2 = TraceExtractor::build(masks, ExtractParams{}); });
  for (int i = 0; i < e1.rois(); ++i) {
    CHECK(e1.neuropil_pixels(i) == e2.neuropil_pixels(i));
    CHECK(e1.f_pixels(i) == e2.f_pixels(i));
  }
}

TEST_CASE("bad masks, frames and options are InputErrors", "[extract]") {
  SparseMasks bad = disc_masks(64);
  bad.pixels[3] = 64 * 64;
  CHECK_THROWS_AS(TraceExtractor::build(bad, ExtractParams{}), InputError);
  ExtractParams params;
  params.neuropil_min_pixels = 0;
  CHECK_THROWS_AS(TraceExtractor::build(disc_masks(64), params), InputError);
  const TraceExtractor ex = TraceExtractor::build(disc_masks(64), ExtractParams{});
  FrameStack wrong(0, 2, 32, 64);
  std::vector<float> f(6), fneu(6);
  CHECK_THROWS_AS(ex.extract(wrong, f.data(), fneu.data()), InputError);
  BaselineParams b;  // frame rate missing
  CHECK_THROWS_AS(baseline(std::vector<float>(10, 1.0f), b), InputError);
  CHECK_THROWS_AS(compute_dff(std::vector<float>(10, 1.0f), std::vector<float>(9, 1.0f), 0.7f, maximin()),
                  InputError);
  CHECK_THROWS_AS(compute_dff(std::vector<float>(10, NAN), std::vector<float>(10, 1.0f), 0.7f, maximin()),
                  InputError);
}
