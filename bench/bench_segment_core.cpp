// Benchmark of the segmentation core on a synthetic 512x512 two-plane movie:
// summary-image pass (frames/s), detection (s), trace pass (frames/s), refinement and
// pairing (s), ROI counts and peak RSS. Usage: bench_segment_core [frames=900] [batch=100]
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "pipeline/segment/segment.hpp"

using namespace apical;
using Clock = std::chrono::steady_clock;

namespace {

struct Object {
  std::vector<uint32_t> pixels;
  std::vector<float> dff;
};

uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Somata (discs with a dim nucleus) or dendrites (small discs) with Poisson calcium events.
std::vector<Object> make_objects(int count, float radius, int size, int frames, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0, 1);
  std::vector<Object> objects(static_cast<size_t>(count));
  for (Object& o : objects) {
    const float cy = 10 + u(rng) * (size - 20), cx = 10 + u(rng) * (size - 20);
    for (int y = int(cy - radius); y <= int(cy + radius); ++y)
      for (int x = int(cx - radius); x <= int(cx + radius); ++x)
        if (std::hypot(y - cy, x - cx) <= radius) o.pixels.push_back(uint32_t(y * size + x));
    o.dff.assign(size_t(frames), 0.0f);
    for (int t = 0; t < frames; ++t)
      if (u(rng) < 0.01f)
        for (int k = t; k < frames && k < t + 120; ++k) o.dff[k] += 0.8f * std::exp(-(k - t) / 20.0f);
  }
  return objects;
}

void render(const std::vector<Object>& objects, float brightness, int64_t first, FrameStack& stack) {
  static std::vector<float> table = [] {
    std::mt19937 rng(1);
    std::normal_distribution<float> n(0, 1);
    std::vector<float> t(1 << 16);
    for (float& v : t) v = n(rng);
    return t;
  }();
  const size_t n = stack.frame_size();
  for (int k = 0; k < stack.count; ++k) {
    float* f = stack.frame_data(k);
    std::fill(f, f + n, 60.0f);
    for (const Object& o : objects)
      for (uint32_t p : o.pixels) f[p] += brightness * (1 + o.dff[size_t(first + k)]);
    const uint64_t key = mix(uint64_t(first + k));
    for (size_t i = 0; i < n; ++i) f[i] += std::sqrt(f[i]) * table[mix(key ^ i) & 0xffff];
  }
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct PlaneRun {
  std::vector<Roi> rois;
  arma::fmat traces;
};

PlaneRun run_plane(const char* role, const std::vector<Object>& objects, float brightness, int size, int frames,
                   int batch) {
  FrameStack stack(0, batch, size, size);
  auto feed = [&](auto& accumulator) {
    for (int t = 0; t < frames; t += batch) {
      stack.first_frame = t;
      stack.count = std::min(batch, frames - t);
      render(objects, brightness, t, stack);
      accumulator.add(stack);
    }
  };
  // Rendering is timed separately so that the rates below are the core's own.
  auto t0 = Clock::now();
  for (int t = 0; t < frames; t += batch) {
    stack.count = std::min(batch, frames - t);
    render(objects, brightness, t, stack);
  }
  const double render_s = seconds_since(t0);

  SummaryImageAccumulator summary(size, size, SummaryParams{10});
  t0 = Clock::now();
  feed(summary);
  const double summary_s = seconds_since(t0) - render_s;
  SegmentParams params;
  params.role = role;
  t0 = Clock::now();
  PlaneRun run;
  run.rois = detect_rois(summary.mean(), summary.max(), summary.correlation(), params);
  const double detect_s = seconds_since(t0);
  RoiTraceAccumulator traces(run.rois, size, size, TraceParams{10});
  t0 = Clock::now();
  feed(traces);
  const double trace_s = seconds_since(t0) - render_s;
  run.traces = traces.traces();
  t0 = Clock::now();
  refine_rois(run.rois, run.traces, params, size);
  const double refine_s = seconds_since(t0);
  std::printf("%-8s summary %7.0f frames/s | detect %.3f s | traces %7.0f frames/s | refine %.3f s | %zu ROIs (%zu objects)\n",
              role, frames / std::max(summary_s, 1e-9), detect_s, frames / std::max(trace_s, 1e-9), refine_s,
              run.rois.size(), objects.size());
  return run;
}

}  // namespace

int main(int argc, char** argv) {
  const int frames = argc > 1 ? std::atoi(argv[1]) : 900;
  const int batch = argc > 2 ? std::atoi(argv[2]) : 100;
  const int size = 512;
  if (frames < 400 || batch < 1) {
    std::fprintf(stderr, "usage: bench_segment_core [frames >= 400] [batch >= 1]\n");
    return 1;
  }
  std::printf("segment core, %dx%d, %d frames, batch %d\n", size, size, frames, batch);
  const auto somata = make_objects(300, 7.0f, size, frames, 11);
  const auto dendrites = make_objects(500, 2.0f, size, frames, 12);
  const PlaneRun soma = run_plane("soma", somata, 110.0f, size, frames, batch);
  const PlaneRun dend = run_plane("dendrite", dendrites, 70.0f, size, frames, batch);
  const auto t0 = Clock::now();
  const auto pairs = pair_dendrites(soma.rois, soma.traces, dend.rois, dend.traces, PairParams{});
  std::printf("pairing  %.3f s, %zu pairs\n", seconds_since(t0), pairs.size());
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("peak RSS %.1f MB\n", usage.ru_maxrss / 1024.0);
  return 0;
}
