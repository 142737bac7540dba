// Stimulation artefacts (issue 14 §2): blank rows at the top of stimulated frames and frames
// without signal, from the simulator through register and extract, scored against its truth;
// and no false detection on unstimulated simulations and real recordings.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <set>

#include "io/error.hpp"
#include "io/h5.hpp"
#include "io/movie.hpp"
#include "io/rois_file.hpp"
#include "pipeline/extract/extract.hpp"
#include "pipeline/extract/extract_stream.hpp"
#include "pipeline/register/register_blank.hpp"
#include "pipeline/register/register_stream.hpp"
#include "pipeline/validation/simulate.hpp"
#include "pipeline/validation/truth.hpp"
#include "tests/test_support.hpp"

using namespace apical;
using apical::test::TempDir;

namespace {

// The simulated session as the microscope would deliver it, rendered on demand.
class SimulatedMovie : public Movie {
 public:
  explicit SimulatedMovie(const SimulatedSession& s) : s_(s) {
    acq_.planes = 2;
    acq_.frame_rate_hz = s.params.frame_rate_hz;
    acq_.roles = {"soma", "dendrite"};
    acq_.source = "simulation";
  }
  int planes() const override { return 2; }
  int64_t frames() const override { return s_.params.frames; }
  int height() const override { return s_.params.height; }
  int width() const override { return s_.params.width; }
  std::string dtype() const override { return "int16"; }
  const Acquisition& acquisition() const override { return acq_; }
  std::vector<std::string> files() const override { return {}; }
  void read(int plane, int64_t first, int count, FrameStack& out) const override {
    render_frames(s_, plane, first, count, out);
  }

 private:
  const SimulatedSession& s_;
  Acquisition acq_;
};

SimulationParams small_session() {
  SimulationParams p;
  p.height = 256;
  p.width = 256;
  p.frames = 400;
  p.max_shift_px = 8;
  p.bidi_px = 1.4;
  p.seed = 11;
  return p;
}

// Stimulated in trial-like runs of 20 frames (a third of the session); three frames without signal.
SimulatedSession stimulated_session() {
  SimulatedSession s = simulate_session(small_session());
  const size_t T = size_t(s.params.frames);
  s.stimulated.assign(T, 0);
  s.no_signal_frames.assign(T, 0);
  for (size_t t = 0; t < T; ++t) s.stimulated[t] = (t / 20) % 3 == 1;
  for (size_t t : {50, 51, 250}) s.no_signal_frames[t] = 1;
  return s;
}

RegistrationSummary register_session(const SimulatedSession& s, const std::string& out) {
  SimulatedMovie movie(s);
  RegisterOptions options;
  return register_movie(movie, options, out, Provenance{"test", {}, {}});
}

template <typename T> std::vector<T> read(const std::string& file, const std::string& name) {
  return h5::File::open_read(file).root().read<T>(name);
}

// Offset-free RMS error of the rigid shifts against the truth over frames with signal.
double shift_rms_error(const std::vector<float>& shifts, const std::vector<Shift>& truth,
                       const std::vector<uint8_t>& no_signal) {
  double my = 0, mx = 0, n = 0, ss = 0;
  for (size_t t = 0; t < truth.size(); ++t)
    if (!no_signal[t]) my += shifts[2 * t] - truth[t].dy, mx += shifts[2 * t + 1] - truth[t].dx, n += 1;
  my /= n;
  mx /= n;
  for (size_t t = 0; t < truth.size(); ++t)
    if (!no_signal[t]) ss += std::pow(shifts[2 * t] - truth[t].dy - my, 2) + std::pow(shifts[2 * t + 1] - truth[t].dx - mx, 2);
  return std::sqrt(ss / n);
}

}  // namespace

TEST_CASE("the simulator blanks the first rows of stimulated frames and all of a frame without signal",
          "[simulate][blank]") {
  SimulatedSession s = stimulated_session();
  CHECK(blanked_rows(s.params) == 54);  // 21 % of 256 rows
  FrameStack f;
  render_frames(s, 0, 19, 3, f);  // 19 unstimulated, 20 and 21 stimulated
  auto row_max = [&](int t, int y) {
    const float* r = f.frame_data(t) + size_t(y) * f.width;
    return *std::max_element(r, r + f.width);
  };
  CHECK(row_max(0, 0) > 20);
  CHECK(row_max(1, 53) < 10);   // dark noise only
  CHECK(row_max(1, 54) > 20);   // signal again
  render_frames(s, 1, 50, 1, f);
  CHECK(*std::max_element(f.pixels.begin(), f.pixels.end()) < 10);
}

TEST_CASE("register finds the simulated blank rows and frames without signal exactly and keeps shifts within 0.1 px",
          "[register][blank]") {
  TempDir dir;
  const SimulatedSession s = stimulated_session();
  const std::string out = (dir / "reg.h5").string();
  const RegistrationSummary summary = register_session(s, out);
  for (int k = 0; k < 2; ++k) {
    const std::string g = "plane" + std::to_string(k) + "/";
    const auto blank = read<uint16_t>(out, g + "blank_rows");
    const auto no_signal = read<uint8_t>(out, g + "no_signal");
    REQUIRE(blank.size() == size_t(s.params.frames));
    for (size_t t = 0; t < blank.size(); ++t) {
      INFO("plane " << k << " frame " << t);
      CHECK(int(no_signal[t]) == int(s.no_signal_frames[t]));
      if (!s.no_signal_frames[t]) CHECK(int(blank[t]) == (s.stimulated[t] ? blanked_rows(s.params) : 0));
    }
    const auto shifts = read<float>(out, g + "shifts");
    const auto correlation = read<float>(out, g + "frame_correlation");
    for (size_t t : {50, 51, 250}) {
      CHECK(std::isnan(shifts[2 * t]));
      CHECK(std::isnan(correlation[t]));
    }
    const double rms = shift_rms_error(shifts, s.planes[size_t(k)].shifts, no_signal);
    INFO("plane " << k << " shift RMS error " << rms << " px");
    CHECK(rms <= (k == 0 ? 0.1 : 0.25));  // the sparse dendrite plane: as in the unstimulated test
    CHECK(summary.per_plane[size_t(k)].blanked_frames == 140);
    CHECK(summary.per_plane[size_t(k)].no_signal_frames == 3);
    // Mean image: blanked rows and frames without signal left out, so the top rows are not darker.
    const auto mean = read<float>(out, g + "mean_image");
    double top = 0, middle = 0;
    for (int x = 20; x < 236; ++x) top += mean[size_t(30) * 256 + x], middle += mean[size_t(128) * 256 + x];
    if (k == 0) CHECK(top > 0.5 * middle);
  }
}

TEST_CASE("no blanked row enters F or Fneu: an ROI partly inside uses its other pixels, one wholly inside is NaN",
          "[extract][blank]") {
  const SimulatedSession s = stimulated_session();
  SparseMasks masks;
  masks.height = s.params.height;
  masks.width = s.params.width;
  for (const RoiMask& roi : s.planes[0].rois) masks.add(roi.pixels, roi.weights, uint8_t(roi.kind));
  const TraceExtractor ex = TraceExtractor::build(masks, ExtractParams{});
  FrameStack clean, poisoned;
  render_frames(s, 0, 20, 4, clean);
  poisoned = clean;
  const int blank = blanked_rows(s.params);
  for (int t = 0; t < 4; ++t)
    std::fill_n(poisoned.frame_data(t), size_t(blank) * poisoned.width, 1e6f);  // what must not be read
  const std::vector<int> skip(4, blank);
  const size_t n = size_t(ex.rois());
  std::vector<float> f_clean(n * 4), neu_clean(n * 4), f_poison(n * 4), neu_poison(n * 4);
  ex.extract(clean, f_clean.data(), neu_clean.data(), 0, skip.data());
  ex.extract(poisoned, f_poison.data(), neu_poison.data(), 0, skip.data());
  int partly = 0, wholly = 0;
  for (size_t i = 0; i < n; ++i) {
    const auto px = ex.f_pixels(int(i));
    const size_t inside = size_t(std::count_if(px.begin(), px.end(), [&](uint32_t p) { return int(p / 256) < blank; }));
    for (size_t t = 0; t < 4; ++t) {
      const float f = f_poison[i * 4 + t];
      if (inside == px.size()) {
        CHECK(std::isnan(f));
      } else {
        CHECK(f == f_clean[i * 4 + t]);
        CHECK(f < 1e5f);
        // Weighted mean of the pixels below the blank, computed here from the frame.
        double sum = 0, weight = 0;
        const auto w = ex.f_weights(int(i));
        for (size_t k = 0; k < px.size(); ++k)
          if (int(px[k] / 256) >= blank) sum += double(w[k]) * clean.frame_data(int(t))[px[k]], weight += w[k];
        CHECK(f == Approx(sum / weight).epsilon(1e-5));
      }
      if (std::isfinite(neu_poison[i * 4 + t])) CHECK(neu_poison[i * 4 + t] == neu_clean[i * 4 + t]);
    }
    partly += inside > 0 && inside < px.size();
    wholly += inside == px.size();
  }
  INFO(partly << " ROIs partly and " << wholly << " wholly inside the blank");
  CHECK(partly + wholly > 0);
}

TEST_CASE("extract leaves blanked rows and frames without signal out of the traces; NaN frames are flagged and skipped",
          "[extract][blank][pipeline]") {
  TempDir dir;
  const SimulatedSession s = stimulated_session();
  const std::string reg = (dir / "reg.h5").string(), truth_path = (dir / "truth.h5").string();
  const std::string rois = (dir / "rois.h5").string(), traces = (dir / "traces.h5").string();
  register_session(s, reg);
  write_truth(truth_path, simulated_truth(s), Provenance{"test", {}, {}});
  write_truth_rois(read_truth(truth_path), rois, Provenance{"test", {}, {}});
  ExtractOptions options;
  extract_traces(reg, rois, options, traces, Provenance{"test", {}, {}});
  const size_t T = size_t(s.params.frames);
  for (int k = 0; k < 2; ++k) {
    const std::string g = "plane" + std::to_string(k) + "/";
    const auto F = read<float>(traces, g + "F");
    const auto dff = read<float>(traces, g + "dff");
    const auto nan_frames = read<int32_t>(traces, g + "nan_frames");
    const auto skip = read<uint16_t>(reg, g + "blank_rows_registered");
    const size_t n = F.size() / T;
    for (size_t i = 0; i < n; ++i) {
      int32_t nans = 0;
      for (size_t t = 0; t < T; ++t) {
        nans += std::isnan(F[i * T + t]);
        if (s.no_signal_frames[t]) CHECK(std::isnan(F[i * T + t]));
        if (!s.no_signal_frames[t] && !s.stimulated[t]) CHECK(std::isfinite(dff[i * T + t]));
        CHECK(std::isnan(F[i * T + t]) == std::isnan(dff[i * T + t]));
      }
      CHECK(nans == nan_frames[i]);
      CHECK(nans >= 3);
    }
    const auto ev_roi = read<int32_t>(traces, g + "events/roi");
    const auto ev_frame = read<int64_t>(traces, g + "events/frame");
    for (size_t e = 0; e < ev_roi.size(); ++e) CHECK(std::isfinite(F[size_t(ev_roi[e]) * T + size_t(ev_frame[e])]));
    CHECK(std::count_if(skip.begin(), skip.end(), [](uint16_t r) { return r > 0; }) == 143);
  }
}

TEST_CASE("auto detection finds nothing on an unstimulated session", "[register][blank]") {
  TempDir dir;
  const SimulatedSession s = simulate_session(small_session());
  const std::string out = (dir / "reg.h5").string();
  const RegistrationSummary summary = register_session(s, out);
  for (int k = 0; k < 2; ++k) {
    CHECK(summary.per_plane[size_t(k)].blanked_frames == 0);
    CHECK(summary.per_plane[size_t(k)].no_signal_frames == 0);
    const auto blank = read<uint16_t>(out, "plane" + std::to_string(k) + "/blank_rows");
    CHECK(std::all_of(blank.begin(), blank.end(), [](uint16_t b) { return b == 0; }));
  }
}

TEST_CASE("auto detection finds no blank rows and no frame without signal in real recordings", "[register][blank][real]") {
  struct Case {
    std::string file, dataset, axes;
  };
  for (const Case& c : {Case{"allen_movie_100x100x100.h5", "data", "tyx"}, Case{"sima_example.h5", "imaging", "yxt"},
                        Case{"neurofinder_top/movie.h5", "movie", "tyx"}, Case{"scanimage38_bidi.tif", "", "tyx"}}) {
    const std::string path = test::real_data(c.file);
    if (path.empty()) {
      WARN("../shared/data/real not present; skipping " + c.file);
      continue;
    }
    MovieSpec spec;
    spec.paths = {path};
    spec.dataset = c.dataset;
    spec.axes = c.axes;
    auto movie = open_movie(spec, {});
    for (int plane = 0; plane < movie->planes(); ++plane) {
      FrameStack frames;
      movie->read(plane, 0, int(std::min<int64_t>(movie->frames(), 600)), frames);
      const SignalReference reference = signal_reference(frames);
      int blanked = 0, dark = 0;
      for (int t = 0; t < frames.count; ++t) {
        const FrameSignal f = detect_frame_signal(frames.frame(t), reference, BlankRowsSetting{});
        blanked += f.blank_rows > 0 && !f.no_signal;
        dark += f.no_signal;
      }
      INFO(c.file << " plane " << plane << ": " << frames.count << " frames");
      CHECK(blanked == 0);
      CHECK(dark == 0);
    }
  }
}

TEST_CASE("the blank-rows option takes auto, 0 or a number of rows", "[register][blank]") {
  CHECK(parse_blank_rows("auto").detect);
  CHECK_FALSE(parse_blank_rows("0").detect);
  CHECK(parse_blank_rows("21").fixed_rows == 21);
  CHECK_THROWS_AS(parse_blank_rows("-3"), InputError);
  CHECK_THROWS_AS(parse_blank_rows("lots"), InputError);
  CHECK(blank_rows_after_shift(0, 3.5f, 0, 256) == 0);
  CHECK(blank_rows_after_shift(54, 0.0f, 0, 256) == 55);   // cubic support reaches one row up
  CHECK(blank_rows_after_shift(54, -2.5f, 0, 256) == 58);  // content moved down
  CHECK(blank_rows_after_shift(54, 60.0f, 0, 256) == 0);
}
