// Benchmark of the extract core (no I/O): F and Fneu for 500 soma-sized ROIs on 512 x 512
// frames. Prints the extractor build time and frames/s at 1 thread and at all threads.
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include <oneapi/tbb/info.h>
#include <oneapi/tbb/task_arena.h>

#include "pipeline/extract/extract.hpp"
#include "bench/bench_support.hpp"

using namespace apical;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double frames_per_second(const TraceExtractor& ex, const FrameStack& batch, int repeats) {
  std::vector<float> f(size_t(ex.rois()) * batch.count), fneu(f.size());
  ex.extract(batch, f.data(), fneu.data());  // warm-up
  const auto start = Clock::now();
  for (int r = 0; r < repeats; ++r) ex.extract(batch, f.data(), fneu.data());
  return double(repeats) * batch.count / seconds_since(start);
}

}  // namespace

int main() {
  const int size = 512, rois = 500, batch_frames = 200, repeats = 10;
  const SparseMasks masks = bench::random_disc_masks(size, rois, 1);
  auto start = Clock::now();
  const TraceExtractor ex = TraceExtractor::build(masks, ExtractParams{});
  const double build_s = seconds_since(start);
  size_t f_px = 0, ring_px = 0;
  for (int i = 0; i < ex.rois(); ++i) f_px += size_t(ex.info(i).f_pixels), ring_px += size_t(ex.info(i).neuropil_pixels);

  FrameStack batch(0, batch_frames, size, size);
  std::mt19937 rng(2);
  std::uniform_real_distribution<float> value(0, 4000);
  for (float& v : batch.pixels) v = value(rng);

  const int threads = oneapi::tbb::info::default_concurrency();
  double one = 0, all = 0;
  oneapi::tbb::task_arena(1).execute([&] { one = frames_per_second(ex, batch, repeats); });
  oneapi::tbb::task_arena(threads).execute([&] { all = frames_per_second(ex, batch, repeats); });
  std::printf("extract core: %d ROIs on %dx%d, %.0f F px + %.0f ring px per ROI (%.0f k reads/frame)\n", rois, size,
              size, double(f_px) / rois, double(ring_px) / rois, double(f_px + ring_px) / 1000);
  std::printf("build: %.3f s\n", build_s);
  std::printf("extract: %.0f frames/s at 1 thread, %.0f frames/s at %d threads\n", one, all, threads);
  return 0;
}
