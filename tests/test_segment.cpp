// Segmentation core: summary images, soma/dendrite detection, pairing, IoU matching.
// A small synthetic two-plane session (below) provides ground truth.
#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include <catch2/catch.hpp>
#include <tbb/global_control.h>

#include "io/error.hpp"
#include "pipeline/segment/segment.hpp"
#include "pipeline/validation/matching.hpp"
#include "pipeline/segment/segment_anatomy.hpp"

using namespace apical;

namespace {

// ---------------------------------------------------------------- synthetic session

uint64_t splitmix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A standard-normal lookup table indexed by a hash: cheap, reproducible per (frame, pixel).
const std::vector<float>& normal_table() {
  static const std::vector<float> table = [] {
    std::mt19937 rng(12345);
    std::normal_distribution<float> n(0, 1);
    std::vector<float> t(1 << 16);
    for (float& v : t) v = n(rng);
    return t;
  }();
  return table;
}

struct Source {                  // a fluorescent object with its own activity
  std::vector<uint32_t> pixels;  // where it is
  std::vector<float> f0;         // resting brightness per pixel
  std::vector<float> dff;        // dF/F per frame
};

struct Plane {
  std::vector<float> base;       // static background (with vessels)
  std::vector<float> neuropil_pattern;
  std::vector<float> neuropil;   // per frame
  std::vector<Source> sources;
};

struct Session {
  int height = 0, width = 0, frames = 0;
  Plane planes[2];                             // 0 soma, 1 dendrite
  std::vector<std::vector<uint32_t>> somata;   // truth masks
  std::vector<std::vector<uint32_t>> dendrites;
  std::vector<int> dendrite_soma;              // true soma of each dendrite, -1 if none

  // Renders frames [first, first + count) into `stack`, reusing its buffer.
  const FrameStack& render(int plane, int64_t first, int count, FrameStack& stack) const {
    const Plane& pl = planes[plane];
    stack.first_frame = first;
    stack.count = count;
    stack.height = height;
    stack.width = width;
    stack.pixels.resize(size_t(count) * height * width);
    const auto& table = normal_table();
    const size_t n = size_t(height) * width;
    for (int k = 0; k < count; ++k) {
      const int64_t t = first + k;
      float* f = stack.frame_data(k);
      for (size_t i = 0; i < n; ++i) f[i] = pl.base[i] + pl.neuropil_pattern[i] * pl.neuropil[t];
      for (const Source& s : pl.sources)
        for (size_t j = 0; j < s.pixels.size(); ++j) f[s.pixels[j]] += s.f0[j] * (1 + s.dff[t]);
      const uint64_t key = splitmix(uint64_t(plane) * 1000003ULL + uint64_t(t));
      for (size_t i = 0; i < n; ++i) {  // shot noise
        const float g = table[splitmix(key ^ i) & 0xffff];
        f[i] += std::sqrt(std::max(f[i], 1.0f)) * g;
      }
    }
    return stack;
  }
};

// Calcium dF/F from event times and amplitudes (instant rise, exponential decay).
std::vector<float> calcium(const std::vector<std::pair<int, float>>& events, int frames, float tau_frames) {
  std::vector<float> dff(size_t(frames), 0.0f);
  for (auto [t0, amp] : events)
    for (int t = t0; t < frames && t < t0 + int(8 * tau_frames); ++t) dff[t] += amp * std::exp(-(t - t0) / tau_frames);
  return dff;
}

std::vector<std::pair<int, float>> poisson_events(std::mt19937& rng, int frames, double rate_per_frame,
                                                  float mean_amp) {
  std::vector<std::pair<int, float>> ev;
  std::uniform_real_distribution<double> u(0, 1);
  std::lognormal_distribution<float> amp(std::log(mean_amp), 0.3f);
  for (int t = 0; t < frames; ++t)
    if (u(rng) < rate_per_frame) ev.emplace_back(t, amp(rng));
  return ev;
}

Session make_session(int size, int frames, uint64_t seed) {
  Session s;
  s.height = s.width = size;
  s.frames = frames;
  const int h = size, w = size;
  std::mt19937 rng{uint32_t(seed)};
  std::uniform_real_distribution<float> u(0, 1);
  const float fps = 30;
  const double soma_rate = 0.25 / fps, dend_rate = 0.12 / fps;
  const float tau = 0.7f * fps;

  // Somata: ellipses 12-16 px across with a dark nucleus, some touching.
  std::vector<std::array<float, 2>> centres;
  std::vector<std::vector<std::pair<int, float>>> soma_events;
  const int target = int(45.0 * size * size / (256.0 * 256.0));
  for (int attempt = 0; attempt < 20000 && int(centres.size()) < target; ++attempt) {
    const float cy = 12 + u(rng) * (h - 24), cx = 12 + u(rng) * (w - 24);
    bool ok = true;
    for (auto& c : centres) ok &= std::hypot(c[0] - cy, c[1] - cx) >= 13.5f;
    if (!ok) continue;
    centres.push_back({cy, cx});
    const float a = 6 + 2 * u(rng), b = 5.5f + 1.5f * u(rng), th = float(M_PI) * u(rng);
    Source src;
    std::vector<uint32_t> mask;
    for (int y = int(cy - 9); y <= int(cy + 9); ++y)
      for (int x = int(cx - 9); x <= int(cx + 9); ++x) {
        const float dy = y - cy, dx = x - cx;
        const float p = dx * std::cos(th) + dy * std::sin(th), q = -dx * std::sin(th) + dy * std::cos(th);
        const float r = (p * p) / (a * a) + (q * q) / (b * b);
        if (r > 1) continue;
        mask.push_back(uint32_t(y * w + x));
        src.pixels.push_back(uint32_t(y * w + x));
        src.f0.push_back(r < 0.45f * 0.45f ? 35.0f : 110.0f);  // nucleus excludes the indicator
      }
    auto ev = poisson_events(rng, frames, soma_rate, 0.8f);
    src.dff = calcium(ev, frames, tau);
    soma_events.push_back(ev);
    s.somata.push_back(mask);
    s.planes[0].sources.push_back(std::move(src));
  }

  // Dendrites: 1-3 per soma within ~15 px (puncta, segments, segments in two pieces), plus
  // unpaired distractors. Each somatic event gives a dendritic event (gain * amp + noise);
  // dendrites also have isolated events of their own.
  std::vector<uint8_t> taken(size_t(h) * w, 0);
  auto place_dendrite = [&](float cy, float cx, int soma) -> bool {
    const int kind = int(u(rng) * 3);
    std::vector<uint32_t> mask;
    const float th = float(M_PI) * u(rng);
    auto add_disc = [&](float y0, float x0, float r) {
      for (int y = int(y0 - r - 1); y <= int(y0 + r + 1); ++y)
        for (int x = int(x0 - r - 1); x <= int(x0 + r + 1); ++x)
          if (y >= 0 && y < h && x >= 0 && x < w && std::hypot(y - y0, x - x0) <= r) mask.push_back(uint32_t(y * w + x));
    };
    if (kind == 0) {
      add_disc(cy, cx, 1.5f + u(rng));
    } else {
      const float len = kind == 1 ? 6 + 6 * u(rng) : 11.0f;
      for (float t = -len / 2; t <= len / 2; t += 0.5f) {
        if (kind == 2 && std::fabs(t) < 1.5f) continue;  // a gap: two pieces of one dendrite
        add_disc(cy + t * std::sin(th), cx + t * std::cos(th), 1.0f);
      }
    }
    std::sort(mask.begin(), mask.end());
    mask.erase(std::unique(mask.begin(), mask.end()), mask.end());
    // Keep dendrites apart (>= 3 px between any pixels) so that truth is separable.
    for (uint32_t p : mask) {
      const int y = int(p) / w, x = int(p) % w;
      if (y < 2 || y >= h - 2 || x < 2 || x >= w - 2) return false;
      for (int dy = -3; dy <= 3; ++dy)
        for (int dx = -3; dx <= 3; ++dx) {
          // Outside the frame nothing is taken (ASan: this read past the image at the border).
          if (y + dy < 0 || y + dy >= h || x + dx < 0 || x + dx >= w) continue;
          if (taken[size_t(y + dy) * w + x + dx]) return false;
        }
    }
    for (uint32_t p : mask) taken[p] = 1;
    std::vector<std::pair<int, float>> ev = poisson_events(rng, frames, dend_rate, 0.8f);
    if (soma >= 0) {
      std::normal_distribution<float> noise(0, 0.25f);
      const float gain = 0.7f + 0.6f * u(rng);
      for (auto [t, amp] : soma_events[soma]) ev.emplace_back(t, std::max(0.05f, gain * amp + noise(rng)));
    }
    Source src;
    src.pixels = mask;
    src.f0.assign(mask.size(), 70.0f);
    src.dff = calcium(ev, frames, tau);
    s.planes[1].sources.push_back(std::move(src));
    s.dendrites.push_back(mask);
    s.dendrite_soma.push_back(soma);
    return true;
  };
  for (size_t k = 0; k < centres.size(); ++k) {
    const int n = 1 + int(u(rng) * 3);
    for (int i = 0, tries = 0; i < n && tries < 50; ++tries) {
      const float r = 15 * std::sqrt(u(rng)), a = 2 * float(M_PI) * u(rng);
      if (place_dendrite(centres[k][0] + r * std::sin(a), centres[k][1] + r * std::cos(a), int(k))) ++i;
    }
  }
  for (int i = 0, tries = 0; i < target / 3 && tries < 1000; ++tries)
    if (place_dendrite(4 + u(rng) * (h - 8), 4 + u(rng) * (w - 8), -1)) ++i;

  // Background, smooth neuropil with its own (partly shared) activity, dark vessels.
  for (int p = 0; p < 2; ++p) {
    Plane& pl = s.planes[p];
    pl.base.assign(size_t(h) * w, p == 0 ? 60.0f : 40.0f);
    pl.neuropil_pattern.assign(size_t(h) * w, 0.0f);
    for (int g = 0; g < 6; ++g) {
      const float gy = u(rng) * h, gx = u(rng) * w, sg = 30 + 30 * u(rng);
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
          pl.neuropil_pattern[size_t(y) * w + x] += 25 * std::exp(-((y - gy) * (y - gy) + (x - gx) * (x - gx)) / (2 * sg * sg));
    }
    for (size_t i = 0; i < pl.base.size(); ++i) pl.base[i] += pl.neuropil_pattern[i];
    auto np_events = poisson_events(rng, frames, 1.0 / fps, 0.3f);
    pl.neuropil = calcium(np_events, frames, 2 * tau);
    const float vy = u(rng) * h, slope = u(rng) - 0.5f;
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        if (std::fabs(y - (vy + slope * x)) < 3) {  // a vessel hides what lies below it
          pl.base[size_t(y) * w + x] *= 0.5f;
          pl.neuropil_pattern[size_t(y) * w + x] *= 0.5f;
        }
  }
  return s;
}

// ---------------------------------------------------------------- running the core

struct PlaneResult {
  std::vector<Roi> rois;
  arma::fmat traces;
};

constexpr int kBin = 10;

PlaneResult segment_plane(const Session& s, int plane, int batch) {
  FrameStack buffer;
  SummaryImageAccumulator summary(s.height, s.width, SummaryParams{kBin});
  for (int t = 0; t < s.frames; t += batch) summary.add(s.render(plane, t, std::min(batch, s.frames - t), buffer));
  SegmentParams params;
  params.role = plane == 0 ? "soma" : "dendrite";
  if (plane == 0) params.soma_diameter_px = estimate_soma_diameter(summary.mean(), summary.correlation()).diameter_px;
  PlaneResult r;
  r.rois = detect_rois(summary.mean(), summary.max(), summary.correlation(), params);
  // Accepted ROIs come first; rejected candidates are not scored.
  r.rois.erase(std::find_if(r.rois.begin(), r.rois.end(), [](const Roi& roi) { return !roi.accepted(); }), r.rois.end());
  RoiTraceAccumulator traces(r.rois, s.height, s.width, TraceParams{kBin});
  for (int t = 0; t < s.frames; t += batch) traces.add(s.render(plane, t, std::min(batch, s.frames - t), buffer));
  r.traces = traces.traces();
  refine_rois(r.rois, r.traces, params, s.width);
  return r;
}

std::vector<std::vector<uint32_t>> masks(const std::vector<Roi>& rois) {
  std::vector<std::vector<uint32_t>> m;
  for (const Roi& r : rois) m.push_back(r.pixels);
  return m;
}

double f1(size_t matches, size_t found, size_t truth) {
  return found + truth ? 2.0 * matches / double(found + truth) : 1.0;
}

struct Scores {
  double soma_f1, dendrite_f1, pair_accuracy, wrong_pair_fraction;
  size_t pairs_scored, pairs_made;
};

Scores score_session(const Session& s, const PlaneResult& somata, const PlaneResult& dendrites,
                     const std::vector<Pair>& pairs) {
  Scores sc{};
  const auto soma_match = match_rois_by_iou(masks(somata.rois), s.somata, 0.5);
  const auto dend_match = match_rois_by_iou(masks(dendrites.rois), s.dendrites, 0.5);
  sc.soma_f1 = f1(soma_match.size(), somata.rois.size(), s.somata.size());
  sc.dendrite_f1 = f1(dend_match.size(), dendrites.rois.size(), s.dendrites.size());
  std::map<int, int> soma_of_truth, dend_truth_of_found;  // true soma -> found soma; found dend -> true dend
  for (auto [f, t] : soma_match) soma_of_truth[t] = f;
  for (auto [f, t] : dend_match) dend_truth_of_found[f] = t;
  std::map<int, int> assigned;  // found dendrite -> found soma
  for (const Pair& p : pairs) assigned[p.dendrite_roi] = p.soma_roi;
  // Accuracy over truly paired dendrites whose dendrite and soma were both found.
  size_t scored = 0, correct = 0;
  for (auto [f, t] : dend_match) {
    const int true_soma = s.dendrite_soma[t];
    if (true_soma < 0 || !soma_of_truth.count(true_soma)) continue;
    ++scored;
    correct += assigned.count(f) && assigned[f] == soma_of_truth[true_soma];
  }
  // A pair is wrong unless its dendrite is a found true dendrite paired to its true soma.
  size_t wrong = 0;
  for (const Pair& p : pairs) {
    const auto it = dend_truth_of_found.find(p.dendrite_roi);
    const int true_soma = it == dend_truth_of_found.end() ? -1 : s.dendrite_soma[it->second];
    const bool right = true_soma >= 0 && soma_of_truth.count(true_soma) && soma_of_truth[true_soma] == p.soma_roi;
    wrong += !right;
  }
  sc.pair_accuracy = scored ? double(correct) / double(scored) : 0.0;
  sc.wrong_pair_fraction = pairs.empty() ? 0.0 : double(wrong) / double(pairs.size());
  sc.pairs_scored = scored;
  sc.pairs_made = pairs.size();
  return sc;
}

}  // namespace

// ================================================================ tests

TEST_CASE("match_rois_by_iou finds the optimal one-to-one matching where greedy fails") {
  auto range = [](uint32_t a, uint32_t b) {
    std::vector<uint32_t> v;
    for (uint32_t i = a; i <= b; ++i) v.push_back(i);
    return v;
  };
  const std::vector<std::vector<uint32_t>> truth{range(0, 9), range(5, 14)};
  // found 0 overlaps truth 0 best (IoU 0.75) and truth 1 (0.5); found 1 only truth 0 (0.7).
  const std::vector<std::vector<uint32_t>> found{range(1, 11), range(0, 6), range(100, 110)};
  CHECK(roi_iou(found[0], truth[0]) == Approx(0.75));
  const auto m = match_rois_by_iou(found, truth, 0.5);
  REQUIRE(m.size() == 2);
  CHECK(m[0] == std::make_pair(0, 1));
  CHECK(m[1] == std::make_pair(1, 0));
  CHECK(match_rois_by_iou(found, truth, 0.8).empty());
}

TEST_CASE("shape statistics: a disc is compact and round, a line is eccentric") {
  const int w = 64;
  std::vector<uint32_t> disc, line;
  for (int y = 0; y < w; ++y)
    for (int x = 0; x < w; ++x) {
      if (std::hypot(y - 30.0, x - 20.0) <= 7) disc.push_back(uint32_t(y * w + x));
      if (y == 10 && x >= 5 && x < 17) line.push_back(uint32_t(y * w + x));
    }
  const RoiStats d = shape_stats(disc, w), l = shape_stats(line, w);
  CHECK(d.cy == Approx(30).margin(1e-4));
  CHECK(d.cx == Approx(20).margin(1e-4));
  CHECK(d.compactness > 0.95f);
  CHECK(d.eccentricity < 0.1f);
  CHECK(l.eccentricity > 0.99f);
  CHECK(l.area == 12);
}

TEST_CASE("streamed summary images do not depend on batch boundaries and match a direct computation") {
  const int h = 24, w = 30, frames = 203, bin = 4;
  // Random movie with a few shared signals so that neighbours correlate.
  std::mt19937 rng(7);
  std::normal_distribution<float> n(0, 1);
  FrameStack movie(0, frames, h, w);
  std::vector<float> sig(frames);
  for (auto& v : sig) v = n(rng);
  for (int t = 0; t < frames; ++t)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        movie.frame_data(t)[y * w + x] = 50 + 0.1f * t + (x < 10 ? 3 * sig[t] : 0) + n(rng);
  auto slice = [&](int first, int count) {
    FrameStack b(first, count, h, w);
    std::copy_n(movie.frame_data(first), size_t(count) * h * w, b.pixels.begin());
    return b;
  };
  for (float np_sigma : {0.0f, 6.0f}) {
    SummaryParams params{bin, 8.0f, np_sigma};
    SummaryImageAccumulator whole(h, w, params), pieces(h, w, params);
    whole.add(movie);
    for (int first = 0, step = 1; first < frames; first += step, step = step % 9 + 2)
      pieces.add(slice(first, std::min(step, frames - first)));
    CHECK(pieces.bins() == frames / bin);
    for (auto [a, b] : {std::pair{whole.mean(), pieces.mean()}, {whole.max(), pieces.max()},
                        {whole.correlation(), pieces.correlation()}})
      CHECK(cv::norm(a, b, cv::NORM_INF) == 0.0);
  }
  // Direct computation without the spatial high-pass: bin, subtract the running baseline,
  // drop the warm-up bins, mean Pearson r with the 8 neighbours.
  SummaryImageAccumulator acc(h, w, SummaryParams{bin, 8.0f, 0.0f});
  acc.add(movie);
  const int nb = frames / bin, warmup = 8;
  std::vector<std::vector<double>> hp(size_t(h) * w, std::vector<double>(nb));
  for (int i = 0; i < h * w; ++i) {
    float base = 0;
    for (int b = 0; b < nb; ++b) {
      float v = 0;
      for (int k = 0; k < bin; ++k) v += movie.frame_data(b * bin + k)[i];
      v /= bin;
      if (b == 0) base = v;
      hp[i][b] = v - base;
      base += (v - base) / 8.0f;
    }
  }
  auto r = [&](int p, int q) {
    double mp = 0, mq = 0, spq = 0, spp = 0, sqq = 0;
    for (int b = warmup; b < nb; ++b) mp += hp[p][b], mq += hp[q][b];
    mp /= nb - warmup, mq /= nb - warmup;
    for (int b = warmup; b < nb; ++b)
      spq += (hp[p][b] - mp) * (hp[q][b] - mq), spp += (hp[p][b] - mp) * (hp[p][b] - mp),
          sqq += (hp[q][b] - mq) * (hp[q][b] - mq);
    return spq / std::sqrt(spp * sqq);
  };
  const cv::Mat corr = acc.correlation();
  double worst = 0;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      double total = 0;
      int count = 0;
      for (int dy = -1; dy <= 1; ++dy)
        for (int dx = -1; dx <= 1; ++dx)
          if ((dy || dx) && y + dy >= 0 && y + dy < h && x + dx >= 0 && x + dx < w)
            total += r(y * w + x, (y + dy) * w + x + dx), ++count;
      worst = std::max(worst, std::fabs(total / count - corr.at<float>(y, x)));
    }
  CHECK(worst < 1e-4);
  // Shared signal on the left makes those pixels correlate; the right is noise.
  CHECK(corr.at<float>(12, 4) > 0.5f);
  CHECK(std::fabs(corr.at<float>(12, 25)) < 0.2f);
}

TEST_CASE("bad inputs are reported as InputError") {
  SummaryImageAccumulator acc(8, 8, 2);
  acc.add(FrameStack(0, 3, 8, 8));
  CHECK_THROWS_AS(acc.add(FrameStack(5, 3, 8, 8)), InputError);   // gap in frames
  CHECK_THROWS_AS(acc.add(FrameStack(3, 3, 8, 9)), InputError);   // wrong size
  SegmentParams p;
  p.role = "axon";
  cv::Mat img(8, 8, CV_32F, cv::Scalar(0));
  CHECK_THROWS_AS(detect_rois(img, img, img, p), InputError);
  p.role = "soma";
  CHECK_THROWS_AS(detect_rois(img, cv::Mat(4, 4, CV_32F), img, p), InputError);
}

TEST_CASE("inactive somata are found in the mean image; a dark vessel and smooth neuropil add none") {
  // 96x96 mean image: a neuropil gradient, a dark vertical vessel, 6 bright discs (d = 8 px)
  // with a dimmer nucleus, pixel noise; the correlation image carries no signal at all.
  const int H = 96, W = 96;
  const float d = 8;
  const std::vector<std::pair<int, int>> cells = {{20, 20}, {20, 70}, {48, 30}, {50, 75}, {75, 20}, {76, 60}};
  cv::Mat mean(H, W, CV_32F), correlation(H, W, CV_32F, cv::Scalar(0));
  std::mt19937 rng(7);
  std::normal_distribution<float> noise(0.0f, 2.0f);
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      float v = 100.0f + 0.5f * float(x) + 10.0f * std::sin(float(y) / 15.0f);
      if (std::abs(x - 48) <= 2) v -= 40.0f;  // vessel
      for (auto [cy, cx] : cells) {
        const float r = std::hypot(float(y - cy), float(x - cx));
        if (r <= d / 2) v += r <= 1.5f ? 20.0f : 40.0f;
      }
      mean.at<float>(y, x) = v + noise(rng);
    }
  SegmentParams p;
  p.soma_diameter_px = d;
  std::vector<Roi> rois = detect_rois(mean, mean, correlation, p);
  std::erase_if(rois, [](const Roi& r) { return !r.accepted(); });
  size_t on_cell = 0;
  for (const Roi& roi : rois) {
    bool hit = false;
    for (auto [cy, cx] : cells) hit = hit || std::hypot(roi.stats.cy - float(cy), roi.stats.cx - float(cx)) <= 2.0f;
    on_cell += hit;
    CHECK(roi.kind == kSoma);
  }
  CHECK(on_cell == cells.size());                  // recall 1: every cell, centroid within 2 px
  CHECK(rois.size() == cells.size());              // precision 1: nothing on the vessel or neuropil
  p.template_threshold = std::numeric_limits<float>::quiet_NaN();  // template off: the correlation image alone finds nothing
  CHECK(detect_rois(mean, mean, correlation, p).empty());
}

TEST_CASE("finds somata (F1 >= 0.9) and dendrites (F1 >= 0.8) and pairs them (accuracy >= 0.9, <= 5% wrong)") {
  const Session s = make_session(256, 1500, 42);
  const PlaneResult somata = segment_plane(s, 0, 128);
  const PlaneResult dendrites = segment_plane(s, 1, 128);
  const auto pairs = pair_dendrites(somata.rois, somata.traces, dendrites.rois, dendrites.traces, PairParams{});
  const Scores sc = score_session(s, somata, dendrites, pairs);
  INFO("somata: truth " << s.somata.size() << " found " << somata.rois.size() << " F1 " << sc.soma_f1);
  INFO("dendrites: truth " << s.dendrites.size() << " found " << dendrites.rois.size() << " F1 " << sc.dendrite_f1);
  INFO("pairs: made " << sc.pairs_made << " scored " << sc.pairs_scored << " accuracy " << sc.pair_accuracy
                      << " wrong " << sc.wrong_pair_fraction);
  CHECK(sc.soma_f1 >= 0.9);
  CHECK(sc.dendrite_f1 >= 0.8);
  CHECK(sc.pairs_scored >= 20);
  CHECK(sc.pair_accuracy >= 0.9);
  CHECK(sc.wrong_pair_fraction <= 0.05);
  for (const Pair& p : pairs) {
    CHECK(p.confidence >= 0.5f);
    CHECK(p.confidence <= 1.0f);
  }
  for (const Roi& r : somata.rois) {
    CHECK(r.kind == kSoma);
    CHECK(r.stats.snr > 0);
    CHECK(r.stats.quality > 0);
    CHECK(r.stats.quality <= 1);
  }
  for (const Roi& r : dendrites.rois) CHECK(r.kind == kDendrite);
  const auto shared = shared_pixel_mask(somata.rois, s.height, s.width);
  CHECK(std::count(shared.begin(), shared.end(), 1) == 0);  // detected ROIs own their pixels
}

TEST_CASE("segmentation and pairing are bit-identical at 1 and 2 threads and any batch size") {
  const Session s = make_session(128, 600, 5);
  auto run = [&](int threads, int batch) {
    tbb::global_control limit(tbb::global_control::max_allowed_parallelism, size_t(threads));
    PlaneResult a = segment_plane(s, 0, batch), b = segment_plane(s, 1, batch);
    return std::tuple{a, b, pair_dendrites(a.rois, a.traces, b.rois, b.traces, PairParams{})};
  };
  const auto [s1, d1, p1] = run(1, 64);
  const auto [s2, d2, p2] = run(2, 37);
  REQUIRE(s1.rois.size() > 5);
  REQUIRE(d1.rois.size() > 5);
  auto same = [](const PlaneResult& x, const PlaneResult& y) {
    if (x.rois.size() != y.rois.size() || arma::any(arma::vectorise(x.traces != y.traces))) return false;
    for (size_t i = 0; i < x.rois.size(); ++i) {
      const Roi &a = x.rois[i], &b = y.rois[i];
      if (a.pixels != b.pixels || a.weights != b.weights || a.stats.quality != b.stats.quality ||
          a.stats.snr != b.stats.snr || a.stats.skewness != b.stats.skewness)
        return false;
    }
    return true;
  };
  CHECK(same(s1, s2));
  CHECK(same(d1, d2));
  REQUIRE(p1.size() == p2.size());
  for (size_t i = 0; i < p1.size(); ++i) {
    CHECK(p1[i].soma_roi == p2[i].soma_roi);
    CHECK(p1[i].dendrite_roi == p2[i].dendrite_roi);
    CHECK(p1[i].confidence == p2[i].confidence);
  }
}

// Hidden (run with "[.sweep]"): prints the scores on several synthetic sessions.
TEST_CASE("score sweep over synthetic sessions", "[.sweep]") {
  for (uint64_t seed : {1, 2, 3, 4}) {
    const Session s = make_session(256, 1500, seed);
    const PlaneResult somata = segment_plane(s, 0, 128), dendrites = segment_plane(s, 1, 128);
    const auto pairs = pair_dendrites(somata.rois, somata.traces, dendrites.rois, dendrites.traces, PairParams{});
    const Scores sc = score_session(s, somata, dendrites, pairs);
    std::printf("seed %d: soma F1 %.3f (%zu/%zu), dendrite F1 %.3f (%zu/%zu), pairs %zu scored %zu accuracy %.3f wrong %.3f\n",
                int(seed), sc.soma_f1, somata.rois.size(), s.somata.size(), sc.dendrite_f1, dendrites.rois.size(),
                s.dendrites.size(), sc.pairs_made, sc.pairs_scored, sc.pair_accuracy, sc.wrong_pair_fraction);
    CHECK(sc.soma_f1 >= 0.9);
  }
}
