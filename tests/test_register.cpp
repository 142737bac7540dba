// Motion-correction core on synthetic frames with known shifts: a band-limited texture with
// ring-shaped "cells", shifted exactly in the Fourier domain, plus shot noise.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <numbers>
#include <random>

#include <oneapi/tbb/task_arena.h>
#include <opencv2/imgproc.hpp>

#include "io/error.hpp"
#include "pipeline/register/register.hpp"

using namespace apical;

namespace {

// A periodic scene of n x n px, larger than the frames cut from it so that shifted frames
// show new content at their edges rather than wrapped content.
struct Scene {
  int n = 0;
  cv::Mat image;     // CV_64F, expected photons per pixel
  cv::Mat spectrum;  // CV_64FC2, DFT of image
};

// Gaussian blur with periodic boundaries, in the Fourier domain.
void periodic_blur(cv::Mat& image, double sigma) {
  cv::Mat f;
  cv::dft(image, f, cv::DFT_COMPLEX_OUTPUT);
  const double c = 2.0 * std::numbers::pi * std::numbers::pi * sigma * sigma;
  for (int i = 0; i < f.rows; ++i) {
    const double ky = double(i <= f.rows / 2 ? i : i - f.rows) / f.rows;
    for (int j = 0; j < f.cols; ++j) {
      const double kx = double(j <= f.cols / 2 ? j : j - f.cols) / f.cols;
      f.at<cv::Vec2d>(i, j) *= std::exp(-c * (ky * ky + kx * kx));
    }
  }
  cv::idft(f, image, cv::DFT_SCALE | cv::DFT_REAL_OUTPUT);
}

Scene make_scene(int n, uint64_t seed, double photons) {
  cv::RNG rng(seed);
  Scene s;
  s.n = n;
  cv::Mat coarse(n, n, CV_64F), fine(n, n, CV_64F);
  rng.fill(coarse, cv::RNG::NORMAL, 0.0, 1.0);
  rng.fill(fine, cv::RNG::NORMAL, 0.0, 1.0);
  periodic_blur(coarse, 6.0);
  periodic_blur(fine, 1.5);
  cv::Scalar mc, sc, mf, sf;
  cv::meanStdDev(coarse, mc, sc);
  cv::meanStdDev(fine, mf, sf);
  s.image = cv::Mat(n, n, CV_64F, cv::Scalar(0.5 * photons));
  s.image += coarse * (0.2 * photons / sc[0]) + fine * (0.1 * photons / sf[0]);
  // Ring-shaped somata (bright cytoplasm, darker nucleus), wrapped periodically.
  const int cells = n * n / 2500;
  for (int c = 0; c < cells; ++c) {
    const double cy = rng.uniform(0.0, double(n)), cx = rng.uniform(0.0, double(n));
    const double r = rng.uniform(4.0, 7.0), amp = rng.uniform(0.5, 1.5) * photons;
    for (int dy = -14; dy <= 14; ++dy)
      for (int dx = -14; dx <= 14; ++dx) {
        const int y = int(std::floor(cy)) + dy, x = int(std::floor(cx)) + dx;
        const double d = std::hypot(y - cy, x - cx);
        const double v = amp * std::exp(-0.5 * std::pow((d - r) / 1.8, 2));
        s.image.at<double>((y + n) % n, (x + n) % n) += v;
      }
  }
  cv::dft(s.image, s.spectrum, cv::DFT_COMPLEX_OUTPUT);
  return s;
}

// Crop of h x w at the scene's centre, with content displaced by (dy, dx): content at
// unshifted (y, x) appears at (y + dy, x + dx).
cv::Mat render(const Scene& s, double dy, double dx, int h, int w) {
  cv::Mat shifted(s.n, s.n, CV_64FC2);
  for (int i = 0; i < s.n; ++i) {
    const double ky = double(i <= s.n / 2 ? i : i - s.n) / s.n;
    for (int j = 0; j < s.n; ++j) {
      const double kx = double(j <= s.n / 2 ? j : j - s.n) / s.n;
      const double phase = -2.0 * std::numbers::pi * (ky * dy + kx * dx);
      const cv::Vec2d f = s.spectrum.at<cv::Vec2d>(i, j);
      const double c = std::cos(phase), si = std::sin(phase);
      shifted.at<cv::Vec2d>(i, j) = {f[0] * c - f[1] * si, f[0] * si + f[1] * c};
    }
  }
  cv::Mat planes[2], out;
  cv::idft(shifted, shifted, cv::DFT_SCALE);
  cv::split(shifted, planes);
  planes[0](cv::Rect((s.n - w) / 2, (s.n - h) / 2, w, h)).convertTo(out, CV_32F);
  return out;
}

// Shot noise: Gaussian with variance equal to the expected photon count.
cv::Mat shot_noise(const cv::Mat& clean, uint64_t seed) {
  cv::RNG rng(seed);
  cv::Mat out(clean.size(), CV_32F);
  for (int y = 0; y < clean.rows; ++y)
    for (int x = 0; x < clean.cols; ++x) {
      const double m = std::max(0.0f, clean.at<float>(y, x));
      out.at<float>(y, x) = float(m + std::sqrt(m) * rng.gaussian(1.0));
    }
  return out;
}

FrameStack stack_of(const std::vector<cv::Mat>& frames) {
  FrameStack s(0, int(frames.size()), frames[0].rows, frames[0].cols);
  for (int t = 0; t < s.count; ++t) frames[t].copyTo(s.frame(t));
  return s;
}

cv::Mat mean_image(const FrameStack& s) {
  cv::Mat sum = cv::Mat::zeros(s.height, s.width, CV_64F);
  for (int t = 0; t < s.count; ++t) cv::add(sum, s.frame(t), sum, cv::noArray(), CV_64F);
  cv::Mat m;
  sum.convertTo(m, CV_32F, 1.0 / s.count);
  return m;
}

constexpr double kPhotons = 8.0;  // mean photons per pixel per frame: a dim two-photon frame

}  // namespace

TEST_CASE("recovers rigid sub-pixel shifts within 0.1 px RMS up to +-10 px", "[register][rigid]") {
  const Scene scene = make_scene(576, 11, kPhotons);
  const cv::Mat reference = render(scene, 0, 0, 512, 512);
  RegisterParams params;
  const RigidAligner aligner(reference, params);
  std::mt19937_64 gen(5);
  std::uniform_real_distribution<double> uniform(-10.0, 10.0);
  double sq = 0, worst = 0;
  const int trials = 24;
  for (int i = 0; i < trials; ++i) {
    const double dy = uniform(gen), dx = uniform(gen);
    const cv::Mat raw = shot_noise(render(scene, dy, dx, 512, 512), 100 + i);
    const Shift s = aligner.estimate(raw);
    const double ey = s.dy - dy, ex = s.dx - dx;
    sq += ey * ey + ex * ex;
    worst = std::max({worst, std::abs(ey), std::abs(ex)});
  }
  const double rms = std::sqrt(sq / (2 * trials));
  INFO("rms " << rms << " px, worst " << worst << " px");
  CHECK(rms <= 0.1);
  CHECK(worst <= 0.25);
}

TEST_CASE("apply_rigid_shift aligns the raw frame to the reference", "[register][rigid]") {
  const Scene scene = make_scene(320, 12, kPhotons);
  const cv::Mat reference = render(scene, 0, 0, 256, 256);
  const cv::Mat raw = render(scene, 3.4, -5.7, 256, 256);
  cv::Mat aligned;
  apply_rigid_shift(raw, Shift{3.4f, -5.7f}, aligned);
  const cv::Rect inner(16, 16, 224, 224);
  cv::Mat diff = cv::abs(aligned(inner) - reference(inner));
  double reference_max = 0, diff_mean = cv::mean(diff)[0];
  cv::minMaxLoc(reference, nullptr, &reference_max);
  INFO("mean |aligned - reference| " << diff_mean << " of max " << reference_max);
  CHECK(diff_mean < 0.01 * reference_max);
  // Wrong sign convention would misalign by twice the shift.
  CHECK(correlation(aligned(inner), reference(inner)) > 0.995);
}

TEST_CASE("a shift beyond max_shift_px is clamped to the bound, not wrapped", "[register][rigid]") {
  const Scene scene = make_scene(320, 13, kPhotons);
  const cv::Mat reference = render(scene, 0, 0, 256, 256);
  RegisterParams params;
  params.max_shift_px = 5;
  const RigidAligner aligner(reference, params);
  const Shift far = aligner.estimate(shot_noise(render(scene, 12.0, -9.0, 256, 256), 1));
  CHECK(far.dy == Approx(5.0f).margin(1e-6));
  CHECK(far.dx == Approx(-5.0f).margin(1e-6));
  const Shift near = aligner.estimate(shot_noise(render(scene, 3.3, -2.2, 256, 256), 2));
  CHECK(near.dy == Approx(3.3f).margin(0.15));
  CHECK(near.dx == Approx(-2.2f).margin(0.15));
}

TEST_CASE("recovers a smooth non-rigid field's block shifts within 0.3 px RMS", "[register][nonrigid]") {
  const int n = 576, h = 512, w = 512, m = (n - h) / 2;
  const Scene scene = make_scene(n, 14, kPhotons);
  const cv::Mat reference = render(scene, 0, 0, h, w);
  // Field in reference coordinates: content at reference q appears in raw at q + d(q).
  auto field = [](double y, double x) {
    const double two_pi = 2 * std::numbers::pi;
    return cv::Point2d(-1.7 + 1.5 * std::cos(two_pi * y / 700 + 1) + 0.8 * std::sin(two_pi * x / 650),
                       2.3 + 1.5 * std::sin(two_pi * x / 800 + 0.3) + 0.8 * std::cos(two_pi * y / 600));
  };  // (x = dx, y = dy)
  cv::Mat map_x(h, w, CV_32F), map_y(h, w, CV_32F);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      double qy = y, qx = x;  // solve q + d(q) = p by fixed-point iteration
      for (int it = 0; it < 6; ++it) {
        const cv::Point2d d = field(qy, qx);
        qy = y - d.y;
        qx = x - d.x;
      }
      map_y.at<float>(y, x) = float(qy + m);
      map_x.at<float>(y, x) = float(qx + m);
    }
  cv::Mat scene32, warped;
  scene.image.convertTo(scene32, CV_32F);
  cv::remap(scene32, warped, map_x, map_y, cv::INTER_LANCZOS4, cv::BORDER_WRAP);
  const cv::Mat raw = shot_noise(warped, 3);

  RegisterParams params;
  params.nonrigid = true;
  const RigidAligner rigid(reference, params);
  const BlockAligner blocks(reference, params);
  const Shift s = rigid.estimate(raw);
  cv::Mat rigidly_aligned, registered;
  apply_rigid_shift(raw, s, rigidly_aligned);
  const std::vector<Shift> b = blocks.estimate(rigidly_aligned);
  const BlockGrid& grid = blocks.grid();
  REQUIRE(grid.rows == 7);
  REQUIRE(grid.cols == 7);
  REQUIRE(b.size() == 49);
  double sq = 0;
  for (int r = 0; r < grid.rows; ++r)
    for (int c = 0; c < grid.cols; ++c) {
      const cv::Point2d d = field(grid.centres_y[r], grid.centres_x[c]);
      const Shift& e = b[r * grid.cols + c];
      sq += std::pow(e.dy - (d.y - s.dy), 2) + std::pow(e.dx - (d.x - s.dx), 2);
    }
  const double rms = std::sqrt(sq / (2.0 * b.size()));
  INFO("block shift rms " << rms << " px (rigid " << s.dy << ", " << s.dx << ")");
  CHECK(rms <= 0.3);

  // The non-rigid result matches the reference better than the rigid one.
  blocks.apply(raw, b, registered, s);
  const cv::Rect inner(24, 24, w - 48, h - 48);
  const cv::Mat clean_registered_check = registered(inner);
  CHECK(correlation(clean_registered_check, reference(inner)) >
        correlation(rigidly_aligned(inner), reference(inner)) + 0.01);
}

TEST_CASE("non-rigid field is exact for a uniform block shift", "[register][nonrigid]") {
  const Scene scene = make_scene(320, 15, kPhotons);
  const cv::Mat reference = render(scene, 0, 0, 256, 256);
  const RegisterParams params;
  const BlockAligner blocks(reference, params);
  const std::vector<Shift> uniform(blocks.grid().blocks.size(), Shift{1.25f, -0.5f});
  cv::Mat a, b;
  blocks.apply(reference, uniform, a);
  apply_rigid_shift(reference, Shift{1.25f, -0.5f}, b);
  CHECK(cv::norm(a, b, cv::NORM_INF) < 1e-3);
}

TEST_CASE("recovers a bidirectional offset within 0.1 px and correcting it restores line alignment",
          "[register][bidi]") {
  const Scene scene = make_scene(320, 16, kPhotons);
  for (double offset : {1.7, -2.4, 0.35}) {
    const cv::Mat even = render(scene, 0, 0, 256, 256);
    const cv::Mat odd = render(scene, 0, offset, 256, 256);
    cv::Mat scanned = even.clone();
    for (int y = 1; y < 256; y += 2) odd.row(y).copyTo(scanned.row(y));
    // A mean image of 20 noisy frames.
    std::vector<cv::Mat> frames;
    for (int t = 0; t < 20; ++t) frames.push_back(shot_noise(scanned, 200 + t));
    const cv::Mat mean = mean_image(stack_of(frames));
    const float estimated = estimate_bidi_offset(mean);
    INFO("offset " << offset << " estimated " << estimated);
    CHECK(std::abs(estimated - offset) <= 0.1);

    cv::Mat corrected = scanned.clone();
    correct_bidi_offset(corrected, estimated);
    const cv::Rect inner(8, 8, 240, 240);
    CHECK(correlation(corrected(inner), even(inner)) > 0.995);
    CHECK(correlation(corrected(inner), even(inner)) > correlation(scanned(inner), even(inner)));
    CHECK(std::abs(estimate_bidi_offset(corrected)) <= 0.1);
  }
}

namespace {

// A jittered noisy stack of 256 x 256 frames with known rigid shifts.
struct Jittered {
  Scene scene;
  FrameStack frames;
  std::vector<Shift> truth;
};

Jittered jittered_stack(int count, double amplitude, uint64_t seed) {
  Jittered j;
  j.scene = make_scene(320, seed, kPhotons);
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> uniform(-amplitude, amplitude);
  std::vector<cv::Mat> frames;
  for (int t = 0; t < count; ++t) {
    const double dy = uniform(gen), dx = uniform(gen);
    j.truth.push_back(Shift{float(dy), float(dx)});
    frames.push_back(shot_noise(render(j.scene, dy, dx, 256, 256), seed * 1000 + t));
  }
  j.frames = stack_of(frames);
  return j;
}

}  // namespace

TEST_CASE("reference from jittered frames recovers shifts up to a constant, and crispness increases",
          "[register][reference]") {
  Jittered j = jittered_stack(40, 6.0, 21);
  RegisterParams params;
  params.max_shift_px = 10;
  const cv::Mat reference = compute_reference(j.frames, params);
  const double crisp_before = crispness(mean_image(j.frames));
  const RigidAligner rigid(reference, params);
  const BatchRegistration r = register_batch(j.frames, rigid, nullptr, 0.0f, std::nullopt);
  // Shift error after removing the constant offset (the reference's own position).
  double oy = 0, ox = 0;
  for (int t = 0; t < j.frames.count; ++t) {
    oy += r.shifts[t].dy - j.truth[t].dy;
    ox += r.shifts[t].dx - j.truth[t].dx;
  }
  oy /= j.frames.count;
  ox /= j.frames.count;
  double sq = 0;
  for (int t = 0; t < j.frames.count; ++t)
    sq += std::pow(r.shifts[t].dy - j.truth[t].dy - oy, 2) +
          std::pow(r.shifts[t].dx - j.truth[t].dx - ox, 2);
  const double rms = std::sqrt(sq / (2.0 * j.frames.count));
  const double crisp_after = crispness(mean_image(j.frames));
  INFO("rms " << rms << " offset " << oy << ", " << ox << " crispness " << crisp_before << " -> "
              << crisp_after);
  CHECK(rms <= 0.1);
  // Re-centred reference: the constant offset is small compared with the jitter.
  CHECK(std::abs(oy) < 1.5);
  CHECK(std::abs(ox) < 1.5);
  CHECK(crisp_after > 1.3 * crisp_before);
  for (float c : r.correlation) CHECK(c > 0.3f);
}

TEST_CASE("register_batch is bit-identical with 1 and 2 threads", "[register][determinism]") {
  const Jittered j = jittered_stack(12, 4.0, 22);
  RegisterParams params;
  params.nonrigid = true;
  const cv::Mat reference = render(j.scene, 0, 0, 256, 256);
  const RigidAligner rigid(reference, params);
  const BlockAligner blocks(reference, params);
  auto run = [&](int threads) {
    FrameStack frames = j.frames;
    BatchRegistration r;
    oneapi::tbb::task_arena arena(threads);
    arena.execute([&] { r = register_batch(frames, rigid, &blocks, 0.6f, std::nullopt); });
    return std::make_pair(frames, r);
  };
  const auto [one, r1] = run(1);
  const auto [two, r2] = run(2);
  REQUIRE(one.pixels.size() == two.pixels.size());
  CHECK(std::memcmp(one.pixels.data(), two.pixels.data(), one.pixels.size() * sizeof(float)) == 0);
  for (int t = 0; t < j.frames.count; ++t) {
    CHECK(r1.shifts[t].dy == r2.shifts[t].dy);
    CHECK(r1.shifts[t].dx == r2.shifts[t].dx);
    CHECK(r1.correlation[t] == r2.correlation[t]);
    for (size_t k = 0; k < r1.block_shifts[t].size(); ++k) {
      CHECK(r1.block_shifts[t][k].dy == r2.block_shifts[t][k].dy);
      CHECK(r1.block_shifts[t][k].dx == r2.block_shifts[t][k].dx);
    }
  }
  // Reference computation is deterministic too.
  cv::Mat ref1, ref2;
  oneapi::tbb::task_arena(1).execute([&] { ref1 = compute_reference(j.frames, params); });
  oneapi::tbb::task_arena(2).execute([&] { ref2 = compute_reference(j.frames, params); });
  CHECK(cv::norm(ref1, ref2, cv::NORM_INF) == 0.0);
}

TEST_CASE("given shifts equal to the estimated ones reproduce the same output", "[register][given]") {
  const Jittered j = jittered_stack(8, 4.0, 23);
  const cv::Mat reference = render(j.scene, 0, 0, 256, 256);
  for (bool nonrigid : {false, true}) {
    RegisterParams params;
    params.nonrigid = nonrigid;
    const RigidAligner rigid(reference, params);
    const BlockAligner blocks(reference, params);
    const BlockAligner* b = nonrigid ? &blocks : nullptr;
    FrameStack estimated = j.frames, given = j.frames, given_all = j.frames;
    const BatchRegistration r = register_batch(estimated, rigid, b, 0.0f, std::nullopt);
    const BatchRegistration g = register_batch(given, rigid, b, 0.0f, r.shifts);
    CHECK(std::memcmp(estimated.pixels.data(), given.pixels.data(),
                      given.pixels.size() * sizeof(float)) == 0);
    for (int t = 0; t < j.frames.count; ++t) CHECK(g.correlation[t] == r.correlation[t]);
    if (nonrigid) {
      const BatchRegistration ga =
          register_batch(given_all, rigid, b, 0.0f, r.shifts, &r.block_shifts);
      CHECK(std::memcmp(estimated.pixels.data(), given_all.pixels.data(),
                        given.pixels.size() * sizeof(float)) == 0);
    }
  }
}

TEST_CASE("register rejects mismatched input with InputError", "[register][errors]") {
  const cv::Mat reference(64, 64, CV_32F, cv::Scalar(1));
  const RegisterParams params;
  const RigidAligner rigid(reference, params);
  CHECK_THROWS_AS(rigid.estimate(cv::Mat(32, 64, CV_32F, cv::Scalar(1))), InputError);
  FrameStack frames(0, 2, 64, 64);
  CHECK_THROWS_AS(register_batch(frames, rigid, nullptr, 0.0f, std::vector<Shift>(3)), InputError);
  RegisterParams bad;
  bad.max_shift_px = 0;
  CHECK_THROWS_AS(RigidAligner(reference, bad), InputError);
}
