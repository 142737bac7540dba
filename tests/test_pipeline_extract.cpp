// apical extract on a simulated session with the TRUE masks (so extraction is tested on its
// own), scored against the simulator's truth with the thresholds; determinism across
// thread counts; bad input (NaN frame, missing frame rate); F0 <= 0 flagged, not crashing.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <map>

#include "io/h5.hpp"
#include "io/masks.hpp"
#include "io/rois_file.hpp"
#include "pipeline/validation/evaluate.hpp"
#include "tests/test_support.hpp"

using namespace apical;
using apical::test::run_apical;
using apical::test::TempDir;
namespace fs = std::filesystem;

namespace {

// One registered simulated session shared by the tests of this file (simulate + register once).
// 6000 frames (200 s at 30 Hz): the neuropil estimate needs ~200 s (see estimate_neuropil_coef).
struct Session {
  TempDir dir{"apical_extract"};
  std::string path;
  Session() {
    path = (dir / "s").string();
    auto s = run_apical("simulate " + path + " --quiet --height 128 --width 128 --frames 6000 --neurons 12 --seed 3");
    if (s.exit_code != 0) FAIL(s.output);
    auto r = run_apical("register " + path + " --quiet");
    if (r.exit_code != 0) FAIL(r.output);
    write_truth_rois(read_truth(truth()), path + "/apical/rois.h5", Provenance{"test", {}, {}});
  }
  std::string truth() const { return path + ".truth.h5"; }
  std::string registered() const { return path + "/apical/registered.h5"; }
  std::string rois() const { return path + "/apical/rois.h5"; }
};

Session& session() {
  static Session s;
  return s;
}

std::map<std::string, double> scores_by_key(const std::vector<ScoreRow>& rows) {
  std::map<std::string, double> m;
  for (const auto& r : rows) m[r.subject + ":" + r.metric] = r.value;
  return m;
}

std::string explicit_args(const std::string& registered, const std::string& rois, const std::string& out) {
  return registered + " --rois " + rois + " -o " + out;
}

template <typename T> std::vector<T> dataset(const std::string& file, const std::string& name) {
  return h5::File::open_read(file).root().read<T>(name);
}

}  // namespace

TEST_CASE("extract recovers dF/F (median r >= 0.9 somata, >= 0.8 dendrites) and somatic events (F1 >= 0.8)",
          "[extract][pipeline]") {
  Session& s = session();
  auto r = run_apical("extract " + s.path + " --quiet");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const std::string traces = s.path + "/apical/traces.h5";
  REQUIRE(fs::exists(traces));
  CHECK(fs::exists(s.path + "/apical/qc/traces.png"));
  auto scores = scores_by_key(score_extraction(read_truth(s.truth()), s.rois(), traces));
  for (const auto& [k, v] : scores) UNSCOPED_INFO(k << " = " << v);
  CHECK(scores.at("plane0/soma:dff_r_median") >= 0.9);
  CHECK(scores.at("plane1/dendrite:dff_r_median") >= 0.8);
  CHECK(scores.at("plane0/soma:event_f1") >= 0.8);

  SECTION("traces.h5 holds the contract datasets, finite, with the plane attributes") {
    h5::File f = h5::File::open_read(traces);
    for (int k = 0; k < 2; ++k) {
      h5::Group g = f.root().group("plane" + std::to_string(k));
      const size_t n = read_rois(s.rois()).planes[size_t(k)].masks.count();
      for (std::string name : {"F", "Fneu", "dff", "f0"}) {
        h5::Dims dims = g.dataset(name).dims();
        CHECK(dims == h5::Dims{n, 6000});
        CHECK(g.dataset(name).type_name() == "float32");
      }
      for (float v : g.read<float>("dff")) REQUIRE(std::isfinite(v));
      CHECK(g.read<float>("neuropil_coef") == std::vector<float>(n, 0.7f));
      CHECK(g.read<uint8_t>("f0_flag").size() == n);
      CHECK(g.string_attribute("role").value() == (k == 0 ? "soma" : "dendrite"));
      CHECK(g.number_attribute("frame_rate_hz").value() == 30.0);
      CHECK(g.read<int32_t>("events/roi").size() == g.read<float>("events/amplitude").size());
    }
  }
}

TEST_CASE("estimated neuropil coefficients are within 0.1 of the truth on average over all ROIs", "[extract][pipeline]") {
  Session& s = session();
  const std::string out = (s.dir / "estimate.h5").string();
  auto r = run_apical("extract " + explicit_args(s.registered(), s.rois(), out) + " --quiet --neuropil-coef estimate --qc none");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  auto scores = scores_by_key(score_extraction(read_truth(s.truth()), s.rois(), out));
  for (const auto& [k, v] : scores) UNSCOPED_INFO(k << " = " << v);
  const double soma_error = scores.at("plane0:neuropil_coef_mean_abs_error");
  const double dendrite_error = scores.at("plane1:neuropil_coef_mean_abs_error");
  const double soma_n = scores.at("plane0:matched_rois"), dendrite_n = scores.at("plane1:matched_rois");
  CHECK((soma_error * soma_n + dendrite_error * dendrite_n) / (soma_n + dendrite_n) <= 0.1);
  CHECK(soma_error <= 0.1);
  // Small dendrite ROIs (8-30 px) get slopes biased upward (some > 1, clipped): on their own
  // ~0.09-0.12 on 200 s sessions. Reported, and bounded loosely so a regression still shows.
  WARN("dendrite plane neuropil coefficient mean abs error " << dendrite_error);
  CHECK(dendrite_error <= 0.15);
  CHECK(scores.at("plane0/soma:dff_r_median") >= 0.9);
}

TEST_CASE("extract output is identical at --threads 1 and --threads 2", "[extract][pipeline]") {
  Session& s = session();
  const std::string one = (s.dir / "t1.h5").string(), two = (s.dir / "t2.h5").string();
  for (const auto& [file, threads] : {std::pair{one, 1}, std::pair{two, 2}}) {
    auto r = run_apical("extract " + explicit_args(s.registered(), s.rois(), file) +
                        " --quiet --neuropil-coef estimate --qc none --batch-size 77 --threads " + std::to_string(threads));
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
  }
  for (std::string name : {"plane0/F", "plane0/Fneu", "plane0/dff", "plane1/dff", "plane1/f0", "plane0/neuropil_coef",
                           "plane0/events/amplitude", "plane1/events/prominence"})
    CHECK(dataset<float>(one, name) == dataset<float>(two, name));
  CHECK(dataset<int64_t>(one, "plane0/events/frame") == dataset<int64_t>(two, "plane0/events/frame"));
}

TEST_CASE("a NaN frame in the movie is an input error naming the frame, leaving no traces.h5",
          "[extract][pipeline]") {
  Session& s = session();
  TempDir dir;
  const std::string movie = (dir / "registered.h5").string();
  {
    // A small float registered.h5 with a NaN in plane 0, frame 37.
    h5::File f = h5::File::create(movie);
    h5::Group g = f.root().create_group("plane0");
    g.set_attribute("role", std::string("soma"));
    g.set_attribute("frame_rate_hz", 30.0);
    std::vector<float> pixels(size_t(60) * 128 * 128, 100.0f);
    pixels[size_t(37) * 128 * 128 + 5 * 128 + 9] = std::nanf("");
    g.write("movie", pixels, {60, 128, 128});
  }
  const std::string rois = (dir / "rois.h5").string();
  {
    RoiFile one_plane = read_rois(s.rois());
    one_plane.planes.resize(1);
    one_plane.pairs.clear();
    write_rois_file(rois, one_plane, Provenance{"test", {}, {}}, Timebase{});
  }
  const std::string out = (dir / "traces.h5").string();
  auto r = run_apical("extract " + explicit_args(movie, rois, out));
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("frame 37") != std::string::npos);
  CHECK_FALSE(fs::exists(out));
  for (const auto& entry : fs::directory_iterator(dir.path())) CHECK(entry.path().filename().string().find("tmp") == std::string::npos);

}

TEST_CASE("a baseline at or below zero is flagged per ROI with a warning, dF/F stays finite", "[extract][pipeline]") {
  Session& s = session();
  TempDir dir;
  // A flat movie (50 counts) in which ROI 0's own pixels are negative: its corrected F and so
  // its baseline are < 0. It must be flagged and warned about; nothing may crash or be NaN.
  const RoiFile all = read_rois(s.rois());
  RoiFile one_plane = all;
  one_plane.planes.resize(1);
  one_plane.pairs.clear();
  const SparseMasks& m = one_plane.planes[0].masks;
  const std::string movie = (dir / "registered.h5").string(), rois = (dir / "rois.h5").string();
  {
    h5::File f = h5::File::create(movie);
    h5::Group g = f.root().create_group("plane0");
    g.set_attribute("role", std::string("soma"));
    const int T = 300;
    std::vector<float> pixels(size_t(T) * 128 * 128, 50.0f);
    for (int t = 0; t < T; ++t)
      for (uint32_t p : m.roi_pixels(0)) pixels[size_t(t) * 128 * 128 + p] = -20.0f + float(t % 7);
    g.write("movie", pixels, {uint64_t(T), 128, 128});
    write_rois_file(rois, one_plane, Provenance{"test", {}, {}}, Timebase{});
  }
  const std::string out = (dir / "traces.h5").string();
  auto missing = run_apical("extract " + explicit_args(movie, rois, out));
  INFO(missing.output);
  CHECK(missing.exit_code == 1);
  CHECK(missing.output.find("--frame-rate") != std::string::npos);

  auto r = run_apical("extract " + explicit_args(movie, rois, out) + " --frame-rate 30");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("F0 <= 0") != std::string::npos);
  const auto flag = dataset<uint8_t>(out, "plane0/f0_flag");
  REQUIRE(flag.size() == m.count());
  CHECK(flag[0] == 1);
  for (float v : dataset<float>(out, "plane0/dff")) REQUIRE(std::isfinite(v));
}
