// Tests of the synthetic session generator: determinism, truth/movie consistency, BCI log,
// somato-dendritic truth and ROI geometry.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <set>

#include <catch2/catch.hpp>
#include <opencv2/imgproc.hpp>
#include <tbb/task_arena.h>

#include "io/error.hpp"
#include "pipeline/validation/simulate.hpp"

using namespace apical;

namespace {

SimulationParams small_params() {
  SimulationParams p;
  p.height = 96;
  p.width = 96;
  p.frames = 40;
  p.neurons = 8;
  p.distractors = 4;
  p.ensemble_plus = 2;
  p.ensemble_minus = 2;
  p.max_shift_px = 5.0;
  p.seed = 7;
  return p;
}

// A long session (no rendering) for BCI and regression statistics.
SimulationParams long_params(uint64_t seed) {
  SimulationParams p = small_params();
  p.height = 128;
  p.width = 128;
  p.neurons = 12;
  p.frames = 30 * 60 * 30;  // 30 min at 30 Hz
  p.seed = seed;
  return p;
}

double correlation(const cv::Mat& a, const cv::Mat& b) {
  cv::Scalar ma, sa, mb, sb;
  cv::meanStdDev(a, ma, sa);
  cv::meanStdDev(b, mb, sb);
  cv::Mat da, db;
  a.convertTo(da, CV_64F, 1.0, -ma[0]);
  b.convertTo(db, CV_64F, 1.0, -mb[0]);
  return da.dot(db) / (std::sqrt(da.dot(da)) * std::sqrt(db.dot(db)));
}

double rms_difference(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat d;
  cv::subtract(a, b, d, cv::noArray(), CV_64F);
  return std::sqrt(d.dot(d) / double(d.total()));
}

cv::Mat interior(const cv::Mat& m, int border) {
  return m(cv::Rect(border, border, m.cols - 2 * border, m.rows - 2 * border));
}

// Resamples a raw frame at (y + dy, x + dx [+ bidi on odd rows]) — undoes the simulated motion
// if the displacement is the truth. Uses OpenCV, independent of the simulator's interpolator.
cv::Mat undo_motion(const cv::Mat& raw, const SimulatedPlane& plane, int64_t t, bool undo) {
  cv::Mat map_x(raw.size(), CV_32F), map_y(raw.size(), CV_32F);
  for (int y = 0; y < raw.rows; ++y)
    for (int x = 0; x < raw.cols; ++x) {
      const Shift d = undo ? displacement_at(plane, t, y, x) : Shift{};
      const float bidi = undo && (y & 1) ? plane.bidi_offset_px : 0.0f;
      map_y.at<float>(y, x) = float(y) + d.dy;
      map_x.at<float>(y, x) = float(x) + d.dx + bidi;
    }
  cv::Mat out;
  cv::remap(raw, out, map_x, map_y, cv::INTER_CUBIC, cv::BORDER_REPLICATE);
  return out;
}

bool same_pixels(const FrameStack& a, const FrameStack& b) {
  return a.count == b.count && a.pixels == b.pixels;
}

}  // namespace

TEST_CASE("same params and seed give an identical session and pixels; another seed differs",
          "[simulate]") {
  const SimulationParams p = small_params();
  const SimulatedSession a = simulate_session(p), b = simulate_session(p);
  REQUIRE(a.planes[0].rois.size() == b.planes[0].rois.size());
  CHECK(arma::approx_equal(a.planes[1].dff, b.planes[1].dff, "absdiff", 0.0));
  CHECK(a.bci_frames.cursor == b.bci_frames.cursor);
  CHECK(a.events.size() == b.events.size());
  for (int plane = 0; plane < 2; ++plane) {
    FrameStack fa, fb;
    render_frames(a, plane, 0, 6, fa);
    render_frames(b, plane, 0, 6, fb);
    CHECK(same_pixels(fa, fb));
  }
  SimulationParams q = p;
  q.seed = p.seed + 1;
  const SimulatedSession c = simulate_session(q);
  FrameStack fa, fc;
  render_frames(a, 0, 0, 2, fa);
  render_frames(c, 0, 0, 2, fc);
  CHECK_FALSE(same_pixels(fa, fc));
  CHECK(a.planes[0].rois[0].pixels != c.planes[0].rois[0].pixels);
}

TEST_CASE("rendered pixels do not depend on batch split or thread count", "[simulate]") {
  SimulationParams p = small_params();
  p.nonrigid_px = 1.5;
  p.bidi_px = 0.7;
  const SimulatedSession s = simulate_session(p);
  for (int plane = 0; plane < 2; ++plane) {
    FrameStack whole, part1, part2, single;
    tbb::task_arena two(2), one(1);
    two.execute([&] { render_frames(s, plane, 0, 12, whole); });
    two.execute([&] {
      render_frames(s, plane, 0, 5, part1);
      render_frames(s, plane, 5, 7, part2);
    });
    one.execute([&] { render_frames(s, plane, 0, 12, single); });
    CHECK(same_pixels(whole, single));
    std::vector<float> joined = part1.pixels;
    joined.insert(joined.end(), part2.pixels.begin(), part2.pixels.end());
    CHECK(joined == whole.pixels);
    CHECK(part2.first_frame == 5);
  }
}

TEST_CASE("undoing the stored rigid sub-pixel shift recovers the clean frame (corr > 0.99)",
          "[simulate]") {
  SimulationParams p = small_params();
  p.photons_per_unit = 0;  // noise off; int16 rounding stays
  p.frames = 300;
  const SimulatedSession s = simulate_session(p);
  for (int plane = 0; plane < 2; ++plane) {
    int tested = 0;
    for (int64_t t = 0; t < p.frames && tested < 3; t += 7) {
      const Shift d = s.planes[plane].shifts[t];
      const double fy = d.dy - std::floor(d.dy), fx = d.dx - std::floor(d.dx);
      if (std::hypot(d.dy, d.dx) < 1.0 || std::min(fy, 1 - fy) < 0.1 || std::min(fx, 1 - fx) < 0.1)
        continue;  // want clearly sub-pixel, non-trivial shifts
      ++tested;
      FrameStack raw, clean;
      render_frames(s, plane, t, 1, raw);
      render_clean_frames(s, plane, t, 1, clean);
      const int border = int(std::ceil(p.max_shift_px)) + 3;
      const cv::Mat fixed = interior(undo_motion(raw.frame(0), s.planes[plane], t, true), border);
      const cv::Mat unfixed = interior(raw.frame(0), border);
      const cv::Mat truth = interior(clean.frame(0), border);
      INFO("plane " << plane << " frame " << t << " shift " << d.dy << "," << d.dx);
      CHECK(correlation(fixed, truth) > 0.99);
      // The check has teeth: without the correction the residual is far larger.
      CHECK(rms_difference(fixed, truth) < 0.25 * rms_difference(unfixed, truth));
    }
    CHECK(tested == 3);
  }
}

TEST_CASE("undoing the stored non-rigid field and bidi offset recovers the clean frame",
          "[simulate]") {
  SimulationParams p = small_params();
  p.photons_per_unit = 0;
  p.max_shift_px = 2.0;
  p.nonrigid_px = 2.0;
  p.bidi_px = 1.3;
  p.frames = 200;
  const SimulatedSession s = simulate_session(p);
  const SimulatedPlane& plane = s.planes[0];
  // The field really is non-rigid: displacements differ across the frame.
  double spread = 0;
  const int64_t t = 150;
  const Shift corner = displacement_at(plane, t, 0, 0), centre = displacement_at(plane, t, 48, 48);
  spread = std::hypot(corner.dy - centre.dy, corner.dx - centre.dx);
  CHECK(spread > 0.2);
  for (int64_t frame = 0; frame < p.frames; ++frame)
    for (double y : {0.0, 50.0, 95.0})
      for (double x : {0.0, 50.0, 95.0}) {
        const Shift d = displacement_at(plane, frame, y, x);
        REQUIRE(std::hypot(d.dy - plane.shifts[frame].dy, d.dx - plane.shifts[frame].dx) <=
                p.nonrigid_px * 1.5 + 1e-4);
      }
  FrameStack raw, clean;
  render_frames(s, 0, t, 1, raw);
  render_clean_frames(s, 0, t, 1, clean);
  const int border = 8;
  const cv::Mat truth = interior(clean.frame(0), border);
  const cv::Mat fixed = interior(undo_motion(raw.frame(0), plane, t, true), border);
  // Rigid-only correction leaves the non-rigid part and bidi: clearly worse.
  SimulatedPlane rigid_only = plane;
  rigid_only.nonrigid_basis.clear();
  rigid_only.bidi_offset_px = 0;
  const cv::Mat partial = interior(undo_motion(raw.frame(0), rigid_only, t, true), border);
  CHECK(correlation(fixed, truth) > 0.99);
  CHECK(rms_difference(fixed, truth) < 0.5 * rms_difference(partial, truth));

  // Bidi alone: odd rows of the raw frame are the clean rows displaced by +bidi along x.
  SimulationParams q = p;
  q.max_shift_px = 0;
  q.nonrigid_px = 0;
  const SimulatedSession b = simulate_session(q);
  render_frames(b, 1, 3, 1, raw);
  render_clean_frames(b, 1, 3, 1, clean);
  const cv::Mat bidi_fixed = interior(undo_motion(raw.frame(0), b.planes[1], 3, true), border);
  const cv::Mat bidi_truth = interior(clean.frame(0), border);
  const cv::Mat bidi_raw = interior(raw.frame(0), border);
  CHECK(correlation(bidi_fixed, bidi_truth) > 0.99);
  CHECK(rms_difference(bidi_fixed, bidi_truth) < 0.5 * rms_difference(bidi_raw, bidi_truth));
}

TEST_CASE("shot noise of a soma pixel is ~10% of its baseline at default photons", "[simulate]") {
  SimulationParams p = small_params();
  p.max_shift_px = 0;
  const SimulatedSession s = simulate_session(p);
  FrameStack raw, clean;
  render_frames(s, 0, 0, 20, raw);
  render_clean_frames(s, 0, 0, 20, clean);
  double sum_ratio = 0;
  int n = 0;
  for (int i = 0; i < raw.count; ++i)
    for (const RoiMask& roi : s.planes[0].rois)
      for (uint32_t px : roi.pixels) {
        const double c = clean.frame_data(i)[px];
        const double r = raw.frame_data(i)[px] - c;
        sum_ratio += r * r / (c * c);
        ++n;
      }
  const double relative_sd = std::sqrt(sum_ratio / n);
  CHECK(relative_sd > 0.07);
  CHECK(relative_sd < 0.14);
}

TEST_CASE("masks: somata 12-16 px across, dendrites within 15 px of their soma, pairs consistent",
          "[simulate]") {
  SimulationParams p = small_params();
  p.height = 256;
  p.width = 256;
  p.neurons = 30;
  p.distractors = 8;
  p.frames = 10;
  const SimulatedSession s = simulate_session(p);
  const SimulatedPlane& somata = s.planes[0];
  const SimulatedPlane& dendrites = s.planes[1];
  REQUIRE(int(somata.rois.size()) == p.neurons + (p.distractors + 1) / 2);
  REQUIRE(s.neurons.size() == somata.rois.size());
  for (const RoiMask& roi : somata.rois) {
    CHECK(roi.kind == 0);
    const double diameter = 2 * std::sqrt(roi.pixels.size() / M_PI);
    CHECK(diameter > 11.0);
    CHECK(diameter < 17.0);
  }
  std::vector<int> owners(dendrites.rois.size(), 0);
  for (int n = 0; n < int(s.neurons.size()); ++n) {
    const SimulatedNeuron& neuron = s.neurons[n];
    CHECK(neuron.soma_roi == n);
    if (n < p.neurons) {
      CHECK(neuron.dendrite_rois.size() >= 1);
      CHECK(neuron.dendrite_rois.size() <= 3);
    } else {
      CHECK(neuron.dendrite_rois.empty());
      CHECK(neuron.role == 0);
    }
    for (int d : neuron.dendrite_rois) {
      ++owners[d];
      const RoiMask& soma = somata.rois[neuron.soma_roi];
      CHECK(std::hypot(dendrites.rois[d].cy - soma.cy, dendrites.rois[d].cx - soma.cx) <= 15.0);
    }
  }
  int unpaired = 0;
  for (size_t d = 0; d < dendrites.rois.size(); ++d) {
    CHECK(dendrites.rois[d].kind == 1);
    CHECK(owners[d] <= 1);
    unpaired += owners[d] == 0;
  }
  CHECK(unpaired == p.distractors / 2);
  CHECK(soma_dendrite_pairs(s).size() == dendrites.rois.size() - unpaired);
  for (const SimulatedPlane& plane : s.planes) {  // ROIs never share pixels
    std::set<uint32_t> seen;
    size_t total = 0;
    for (const RoiMask& roi : plane.rois) {
      seen.insert(roi.pixels.begin(), roi.pixels.end());
      total += roi.pixels.size();
    }
    CHECK(seen.size() == total);
  }
  // The ensemble names P+/P- somata by centroids within ~1 px of the truth.
  CHECK(int(s.ensemble.size()) == p.ensemble_plus + p.ensemble_minus);
  for (const EnsembleEntry& e : s.ensemble) {
    CHECK(s.neurons[e.neuron].role == e.role);
    const RoiMask& soma = somata.rois[s.neurons[e.neuron].soma_roi];
    CHECK(std::hypot(e.y - soma.cy, e.x - soma.cx) <= 1.0);
  }
}

TEST_CASE("subtracting the true neuropil fraction of the surround recovers the soma dF/F",
          "[simulate]") {
  SimulationParams p = small_params();
  p.height = 128;
  p.width = 128;
  p.frames = 600;
  p.max_shift_px = 0;
  const SimulatedSession s = simulate_session(p);
  const SimulatedPlane& plane = s.planes[0];
  FrameStack clean;
  render_clean_frames(s, 0, 0, int(p.frames), clean);
  std::vector<char> in_roi(size_t(p.height) * p.width, 0);
  for (const RoiMask& roi : plane.rois)
    for (uint32_t px : roi.pixels) in_roi[px] = 1;
  int checked = 0;
  for (size_t r = 0; r < plane.rois.size(); ++r) {
    const RoiMask& roi = plane.rois[r];
    if (arma::stddev(plane.dff.row(r)) < 0.05) continue;
    std::vector<uint32_t> ring;  // non-ROI pixels 3..15 px from the centroid
    for (int y = 0; y < p.height; ++y)
      for (int x = 0; x < p.width; ++x) {
        const double d = std::hypot(y - roi.cy, x - roi.cx);
        if (d > 10 && d < 20 && !in_roi[size_t(y) * p.width + x]) ring.push_back(uint32_t(y * p.width + x));
      }
    arma::vec corrected(p.frames), raw_f(p.frames);
    for (int64_t t = 0; t < p.frames; ++t) {
      double f = 0, neu = 0;
      for (uint32_t px : roi.pixels) f += clean.frame_data(int(t))[px];
      for (uint32_t px : ring) neu += clean.frame_data(int(t))[px];
      f /= roi.pixels.size();
      neu /= ring.size();
      raw_f(t) = f;
      corrected(t) = f - plane.neuropil_coef[r] * neu;
    }
    const arma::vec truth = arma::conv_to<arma::vec>::from(plane.dff.row(r).t());
    // Corrected F is F0 (1 + dF/F) up to a small offset from the spatial neuropil gradient.
    CHECK(arma::as_scalar(arma::cor(corrected, truth)) > 0.98);
    const double slope = arma::as_scalar(arma::cov(corrected, truth)) / arma::var(truth);
    CHECK(slope == Approx(plane.baseline_f0[r]).epsilon(0.05));
    ++checked;
  }
  CHECK(checked >= 3);
}

TEST_CASE("BCI log: well-formed trials, cursor/target in 0..6, hits rise with learning",
          "[simulate]") {
  double early_total = 0, late_total = 0;
  for (uint64_t seed : {11, 12, 13}) {
    const SimulatedSession s = simulate_session(long_params(seed));
    const BciFrames& f = s.bci_frames;
    const int64_t frames = s.params.frames;
    REQUIRE(int64_t(f.cursor.size()) == frames);
    REQUIRE(int64_t(f.control.size()) == frames);
    for (int64_t t = 0; t < frames; ++t) {
      REQUIRE(f.cursor[t] >= 0);
      REQUIRE(f.cursor[t] <= 6);
      REQUIRE(f.target[t] >= 0);
      REQUIRE(f.target[t] <= 6);
      REQUIRE(f.time_s[t] == Approx(t / s.params.frame_rate_hz));
      if (f.trial[t] < 0) REQUIRE(f.cursor[t] == 0);
    }
    const int64_t timeout = std::lround(s.bci.timeout_s * s.params.frame_rate_hz);
    const int64_t iti = std::lround(s.bci.iti_s * s.params.frame_rate_hz);
    int hits = 0, previous_end = -1;
    int early_hits = 0, early_n = 0, late_hits = 0, late_n = 0;
    for (size_t i = 0; i < s.trials.size(); ++i) {
      const BciTrial& tr = s.trials[i];
      REQUIRE(tr.trial == int(i));
      REQUIRE(tr.start_frame - previous_end - 1 == iti);  // inter-trial interval
      REQUIRE(tr.end_frame >= tr.start_frame);
      REQUIRE(tr.end_frame < frames);
      REQUIRE(f.cursor[tr.start_frame] == 0);
      for (int64_t t = tr.start_frame; t <= tr.end_frame; ++t) {
        REQUIRE(f.trial[t] == tr.trial);
        REQUIRE(f.target[t] == f.target[tr.start_frame]);
        if (t < tr.end_frame) REQUIRE(f.cursor[t] != f.target[t]);
      }
      if (tr.hit) {
        ++hits;
        REQUIRE(tr.reward_frame == tr.end_frame);
        REQUIRE(f.cursor[tr.reward_frame] == f.target[tr.reward_frame]);
      } else {
        REQUIRE(tr.reward_frame == -1);
        REQUIRE(tr.end_frame - tr.start_frame + 1 == timeout);
      }
      previous_end = int(tr.end_frame);
      if (tr.start_frame < frames / 3) {
        ++early_n;
        early_hits += tr.hit;
      } else if (tr.start_frame >= 2 * frames / 3) {
        ++late_n;
        late_hits += tr.hit;
      }
    }
    CHECK(hits > 0);
    CHECK(hits < int(s.trials.size()));
    early_total += double(early_hits) / early_n;
    late_total += double(late_hits) / late_n;
    std::printf("seed %d: %zu trials, hit rate first third %.2f, last third %.2f\n", int(seed),
                s.trials.size(), double(early_hits) / early_n, double(late_hits) / late_n);
  }
  CHECK(early_total / 3 == Approx(0.35).margin(0.1));  // the calibrated online threshold
  CHECK(late_total / 3 > early_total / 3 + 0.15);
}

TEST_CASE("event reward and d_error match docs/SCIENCE_SPEC.md recomputed from the BCI log",
          "[simulate]") {
  const SimulatedSession s = simulate_session(long_params(21));
  const BciFrames& f = s.bci_frames;
  const int64_t w = std::lround(1.0 * s.params.frame_rate_hz);
  std::vector<int64_t> reward_frames;
  for (const BciTrial& tr : s.trials)
    if (tr.hit) reward_frames.push_back(tr.reward_frame);
  int rewarded = 0, nonzero_derr = 0;
  REQUIRE(s.events.size() > 500);
  for (const SimulatedEvent& e : s.events) {
    const int64_t t = e.frame;
    const int64_t past = std::max<int64_t>(0, t - w);
    const int error_now = std::abs(f.target[t] - f.cursor[t]);
    const int error_past = std::abs(f.target[past] - f.cursor[past]);
    int reward = 0;
    for (int64_t r : reward_frames) reward |= (t - w <= r && r <= t + w);
    REQUIRE(e.d_error == float(error_now - error_past));
    REQUIRE(e.reward == reward);
    rewarded += reward;
    nonzero_derr += e.d_error != 0;
  }
  CHECK(rewarded > 20);  // the check covers both values
  CHECK(nonzero_derr > 100);
}

TEST_CASE("dendritic residuals follow the stored coefficients (per-neuron OLS within 4 SE)",
          "[simulate]") {
  SimulationParams p = long_params(31);
  const SimulatedSession s = simulate_session(p);
  int nonzero_role = 0;
  for (int n = 0; n < p.neurons; ++n) {
    const SimulatedNeuron& neuron = s.neurons[n];
    std::vector<const SimulatedEvent*> ev;
    for (const SimulatedEvent& e : s.events)
      if (e.neuron == n) ev.push_back(&e);
    REQUIRE(ev.size() > 100);
    arma::mat x(ev.size(), 3);
    arma::vec r(ev.size());
    for (size_t k = 0; k < ev.size(); ++k) {
      x(k, 0) = 1;
      x(k, 1) = ev[k]->reward;
      x(k, 2) = ev[k]->d_error;
      r(k) = ev[k]->residual;
      // The stored dendritic amplitude is the SD model, clipped at 0.05.
      REQUIRE(ev[k]->dendrite_amplitude ==
              Approx(std::max(0.05f, neuron.sd_gain * ev[k]->soma_amplitude + ev[k]->residual)).margin(1e-5));
    }
    const arma::vec beta = arma::solve(x, r);
    const arma::vec fit_residual = r - x * beta;
    const double sigma2 = arma::dot(fit_residual, fit_residual) / (ev.size() - 3);
    const arma::vec se = arma::sqrt(sigma2 * arma::diagvec(arma::inv_sympd(x.t() * x)));
    INFO("neuron " << n << " role " << neuron.role << " beta " << beta.t() << " se " << se.t());
    CHECK(std::abs(beta(1) - neuron.beta_reward) < 4 * se(1));
    CHECK(std::abs(beta(2) - neuron.beta_derr) < 4 * se(2));
    CHECK(std::sqrt(sigma2) == Approx(p.residual_noise).epsilon(0.2));
    if (neuron.role != 0) {
      ++nonzero_role;
      CHECK(neuron.beta_reward * neuron.role > 0);  // c_reward > 0
      CHECK(neuron.beta_derr * neuron.role < 0);    // c_derr < 0
    } else {
      CHECK(neuron.beta_reward == 0);
      CHECK(neuron.beta_derr == 0);
    }
  }
  CHECK(nonzero_role == p.ensemble_plus + p.ensemble_minus);
}

TEST_CASE("bad parameters are rejected with InputError naming the option", "[simulate]") {
  SimulationParams p = small_params();
  p.ensemble_plus = 10;
  CHECK_THROWS_AS(simulate_session(p), InputError);
  p = small_params();
  p.neurons = 400;  // cannot fit in a 96x96 frame
  CHECK_THROWS_WITH(simulate_session(p), Catch::Contains("--neurons"));
  p = small_params();
  p.frame_rate_hz = 0;
  CHECK_THROWS_WITH(simulate_session(p), Catch::Contains("--frame-rate-hz"));
}

TEST_CASE("degenerate sessions still simulate and render: one frame, no neurons", "[simulate]") {
  SimulationParams p = small_params();
  p.frames = 1;
  p.neurons = 0;
  p.ensemble_plus = 0;
  p.ensemble_minus = 0;
  const SimulatedSession s = simulate_session(p);
  CHECK(s.trials.empty());
  CHECK(s.bci_frames.trial == std::vector<int>{-1});
  FrameStack raw;
  render_frames(s, 1, 0, 1, raw);
  CHECK(raw.count == 1);
  CHECK_THROWS_AS(render_frames(s, 0, 0, 2, raw), std::out_of_range);
  CHECK_THROWS_AS(render_frames(s, 2, 0, 1, raw), std::out_of_range);
}

TEST_CASE("benchmark: 512x512x2000 2-plane render", "[.][bench]") {
  SimulationParams p;
  p.height = 512;
  p.width = 512;
  p.frames = 2000;
  p.neurons = 60;
  p.distractors = 16;
  p.nonrigid_px = 1.0;
  p.bidi_px = 0.5;
  const auto t0 = std::chrono::steady_clock::now();
  const SimulatedSession s = simulate_session(p);
  const auto t1 = std::chrono::steady_clock::now();
  FrameStack batch;
  double checksum = 0;
  for (int plane = 0; plane < 2; ++plane)
    for (int64_t first = 0; first < p.frames; first += 200) {
      render_frames(s, plane, first, 200, batch);
      checksum += batch.pixels[12345];
    }
  const auto t2 = std::chrono::steady_clock::now();
  std::printf("simulate_session %.2f s, render 2 x %lld frames %.2f s (checksum %g)\n",
              std::chrono::duration<double>(t1 - t0).count(), (long long)p.frames,
              std::chrono::duration<double>(t2 - t1).count(), checksum);
}
