// Benchmark of the segment stage's streaming driver on an in-memory synthetic two-plane movie
// (no disk: measures compute and the memory bound, not I/O). Somata and dendrite blobs with
// Poisson calcium events over a bank of noise frames reused cyclically (cheap to render).
// Usage: bench_segment [frames=10000] [size=512] [batch=50]
// Prints seconds, frames/s (over both passes of both planes), ROI counts and peak RSS.
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "pipeline/segment/segment_stream.hpp"
#include "bench/bench_support.hpp"

using namespace apical;

namespace {

class SyntheticMovie : public Movie {
 public:
  SyntheticMovie(int64_t frames, int size) : frames_(frames), size_(size) {
    acquisition_.planes = 2;
    acquisition_.frame_rate_hz = 30;
    acquisition_.roles = {"soma", "dendrite"};
    std::mt19937 rng(7);
    std::normal_distribution<float> noise(0, 8);
    std::uniform_real_distribution<float> u(0, 1);
    const size_t n = size_t(size) * size;
    noise_.resize(61, std::vector<float>(n));
    for (auto& f : noise_)
      for (float& v : f) v = noise(rng);
    for (int plane = 0; plane < 2; ++plane) {
      const float radius = plane == 0 ? 6.0f : 2.0f;
      const int count = size * size / (plane == 0 ? 4000 : 2500);
      for (int k = 0; k < count; ++k) {
        Object o;
        const float cy = 10 + u(rng) * float(size - 20), cx = 10 + u(rng) * float(size - 20);
        for (int y = int(cy - radius); y <= int(cy + radius); ++y)
          for (int x = int(cx - radius); x <= int(cx + radius); ++x)
            if (std::hypot(float(y) - cy, float(x) - cx) <= radius) o.pixels.push_back(uint32_t(y * size + x));
        for (int64_t t = 0; t < frames; ++t)
          if (u(rng) < 0.01f) o.onsets.push_back(t);
        objects_[plane].push_back(std::move(o));
      }
    }
  }
  int planes() const override { return 2; }
  int64_t frames() const override { return frames_; }
  int height() const override { return size_; }
  int width() const override { return size_; }
  std::string dtype() const override { return "float32"; }
  const Acquisition& acquisition() const override { return acquisition_; }
  std::vector<std::string> files() const override { return {}; }
  void read(int plane, int64_t first, int count, FrameStack& out) const override {
    out.reshape(first, count, size_, size_);
    const size_t n = size_t(size_) * size_;
    for (int i = 0; i < count; ++i) {
      const int64_t t = first + i;
      float* f = out.frame_data(i);
      const auto& nz = noise_[size_t(t % 61)];
      for (size_t p = 0; p < n; ++p) f[p] = 100 + nz[p];
      for (const Object& o : objects_[plane]) {
        float dff = 0;
        for (int64_t s : o.onsets)
          if (s <= t && t < s + 120) dff += 0.8f * std::exp(-float(t - s) / 20.0f);
        for (uint32_t p : o.pixels) f[p] += 100 * (1 + dff);
      }
    }
  }

 private:
  struct Object {
    std::vector<uint32_t> pixels;
    std::vector<int64_t> onsets;
  };
  int64_t frames_;
  int size_;
  Acquisition acquisition_;
  std::vector<std::vector<float>> noise_;
  std::vector<Object> objects_[2];
};

}  // namespace

int main(int argc, char** argv) {
  const int64_t frames = argc > 1 ? std::atoll(argv[1]) : 10000;
  const int size = argc > 2 ? std::atoi(argv[2]) : 512;
  SyntheticMovie movie(frames, size);
  SegmentOptions options;
  options.batch_size = argc > 3 ? std::atoi(argv[3]) : 50;
  const double rss_before = bench::peak_rss_mb();
  const auto start = std::chrono::steady_clock::now();
  Segmentation s = segment_movie(movie, options);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("segment %dx%d x %lld frames x 2 planes (batch %d): %.1f s, %.0f frames/s over 2 passes; "
              "%zu soma, %zu dendrite ROIs, %zu pairs; peak RSS %.0f MB (%.0f MB before the run)\n",
              size, size, (long long)frames, options.batch_size, seconds, double(4 * frames) / seconds,
              s.planes[0].rois.size(), s.planes[1].rois.size(), s.pairs.size(), bench::peak_rss_mb(), rss_before);
  return 0;
}
