// Throughput of the motion-correction core on 512x512 frames (no file I/O): rigid and
// non-rigid register_batch, and the forward+inverse 512x512 r2c FFT pair alone, which bounds
// the rigid path. Usage: bench_register_core [threads=2] [frames=400]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <fftw3.h>
#include <oneapi/tbb/enumerable_thread_specific.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>
#include <opencv2/imgproc.hpp>

#include "pipeline/register/register.hpp"

using namespace apical;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kSize = 512;

// A smooth texture with blobs and a jittered, noisy stack made from it.
cv::Mat texture(uint64_t seed) {
  cv::RNG rng(seed);
  cv::Mat coarse(kSize + 64, kSize + 64, CV_32F), fine(coarse.size(), CV_32F);
  rng.fill(coarse, cv::RNG::NORMAL, 0.0, 1.0);
  rng.fill(fine, cv::RNG::NORMAL, 0.0, 1.0);
  cv::GaussianBlur(coarse, coarse, cv::Size(0, 0), 6.0);
  cv::GaussianBlur(fine, fine, cv::Size(0, 0), 1.5);
  cv::Mat image = 4.0f + 20.0f * coarse + 6.0f * fine;
  for (int c = 0; c < 150; ++c)
    cv::circle(image, cv::Point(rng.uniform(0, image.cols), rng.uniform(0, image.rows)),
               rng.uniform(4, 7), cv::Scalar(rng.uniform(6.0, 14.0)), 2);
  cv::GaussianBlur(image, image, cv::Size(0, 0), 1.0);
  return image;
}

FrameStack jittered(const cv::Mat& scene, int count, uint64_t seed) {
  FrameStack s(0, count, kSize, kSize);
  cv::RNG rng(seed);
  const cv::Rect crop(32, 32, kSize, kSize);
  cv::Mat shifted, noise(kSize, kSize, CV_32F);
  for (int t = 0; t < count; ++t) {
    apply_rigid_shift(scene, Shift{float(rng.uniform(-8.0, 8.0)), float(rng.uniform(-8.0, 8.0))},
                      shifted);
    rng.fill(noise, cv::RNG::NORMAL, 0.0, 1.0);
    cv::Mat frame = s.frame(t);
    cv::Mat clean = cv::max(shifted(crop), 0.0f);
    cv::Mat sd;
    cv::sqrt(clean, sd);
    frame = clean + sd.mul(noise);
  }
  return s;
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Forward + inverse 512x512 r2c FFT per frame, parallel over frames, as register_batch does.
double fft_pair_frames_per_second(const FrameStack& frames, int repeats) {
  float* real = fftwf_alloc_real(size_t(kSize) * kSize);
  fftwf_complex* spec = fftwf_alloc_complex(size_t(kSize) * (kSize / 2 + 1));
  const fftwf_plan fwd = fftwf_plan_dft_r2c_2d(kSize, kSize, real, spec, FFTW_ESTIMATE);
  const fftwf_plan inv = fftwf_plan_dft_c2r_2d(kSize, kSize, spec, real, FFTW_ESTIMATE);
  struct Buffers {
    float* real = fftwf_alloc_real(size_t(kSize) * kSize);
    fftwf_complex* spec = fftwf_alloc_complex(size_t(kSize) * (kSize / 2 + 1));
  };
  oneapi::tbb::enumerable_thread_specific<Buffers> buffers;
  const auto t0 = Clock::now();
  for (int r = 0; r < repeats; ++r)
    oneapi::tbb::parallel_for(0, frames.count, [&](int t) {
      Buffers& b = buffers.local();
      std::copy(frames.frame_data(t), frames.frame_data(t) + frames.frame_size(), b.real);
      fftwf_execute_dft_r2c(fwd, b.real, b.spec);
      fftwf_execute_dft_c2r(inv, b.spec, b.real);
    });
  const double fps = double(frames.count) * repeats / seconds_since(t0);
  for (auto& b : buffers) {
    fftwf_free(b.real);
    fftwf_free(b.spec);
  }
  fftwf_free(real);
  fftwf_free(spec);
  return fps;
}

double register_frames_per_second(const FrameStack& raw, const RigidAligner& rigid,
                                  const BlockAligner* blocks, int repeats) {
  double total = 0;
  for (int r = 0; r < repeats; ++r) {
    FrameStack frames = raw;  // copy outside the timed region
    const auto t0 = Clock::now();
    register_batch(frames, rigid, blocks, 0.4f, std::nullopt);
    total += seconds_since(t0);
  }
  return double(raw.count) * repeats / total;
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const int count = argc > 2 ? std::atoi(argv[2]) : 400;
  const cv::Mat scene = texture(1);
  const FrameStack frames = jittered(scene, count, 2);
  RegisterParams params;
  const cv::Mat reference = scene(cv::Rect(32, 32, kSize, kSize)).clone();

  oneapi::tbb::task_arena arena(threads);
  arena.execute([&] {
    const auto t0 = Clock::now();
    const RigidAligner rigid(reference, params);
    const BlockAligner blocks(reference, params);
    const double setup = seconds_since(t0);
    register_frames_per_second(frames, rigid, nullptr, 1);  // warm-up (thread-local buffers)
    const double fft = fft_pair_frames_per_second(frames, 3);
    const double rigid_fps = register_frames_per_second(frames, rigid, nullptr, 3);
    const double nonrigid_fps = register_frames_per_second(frames, rigid, &blocks, 2);
    // The per-plane fixed cost: a reference from the default 300-frame sample.
    const FrameStack sample = jittered(scene, params.reference_frames, 3);
    const auto r0 = Clock::now();
    compute_reference(sample, params);
    const double reference_seconds = seconds_since(r0);
    std::printf("register core, %dx%d frames, %d threads, %d frames per batch\n", kSize, kSize,
                threads, count);
    std::printf("  aligner setup          %8.1f ms\n", setup * 1e3);
    std::printf("  FFT pair alone         %8.1f frames/s\n", fft);
    std::printf("  rigid                  %8.1f frames/s  (%.2fx the FFT-pair time)\n", rigid_fps,
                fft / rigid_fps);
    std::printf("  non-rigid (%d blocks)  %8.1f frames/s  (%.2fx rigid time)\n",
                int(blocks.grid().blocks.size()), nonrigid_fps, rigid_fps / nonrigid_fps);
    std::printf("  reference (%d frames)   %8.2f s per plane\n", sample.count, reference_seconds);
  });
  return 0;
}
