// apical register on simulated sessions, scored against the simulator's truth, and on real data.
#include <catch2/catch.hpp>

#include <filesystem>

#include "io/h5.hpp"
#include "pipeline/validation/evaluate.hpp"
#include "tests/test_support.hpp"

using namespace apical;
using apical::test::run_apical;
using apical::test::TempDir;

namespace {

std::string simulate(const TempDir& dir, const std::string& name, const std::string& options) {
  std::string session = (dir / name).string();
  auto r = run_apical("simulate " + session + " --quiet " + options);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  return session;
}

std::vector<float> dataset(const std::string& file, const std::string& name) {
  return h5::File::open_read(file).root().read<float>(name);
}

}  // namespace

TEST_CASE("register recovers rigid shifts within 0.1 px RMS and the bidi offset within 0.1 px", "[register][pipeline]") {
  TempDir dir;
  std::string session = simulate(dir, "s", "--height 256 --width 256 --frames 400 --max-shift 8 --bidi 1.4 --seed 11");
  auto r = run_apical("register " + session + " --quiet --threads 2");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  Truth truth = read_truth(session + ".truth.h5");
  auto scores = score_registration(truth, session + "/apical/registered.h5");
  REQUIRE(scores.size() == 2);
  CHECK(scores[0].shift_rms_error_px <= 0.1);
  CHECK(scores[0].fraction_within_half_px == 1.0);
  CHECK(std::abs(scores[0].bidi_error_px) <= 0.1);
  CHECK(std::abs(scores[1].bidi_error_px) <= 0.1);
  // The sparse dendrite plane is harder; it must still be sub-pixel.
  CHECK(scores[1].shift_rms_error_px <= 0.25);

  SECTION("output is identical at --threads 1 and --threads 2") {
    auto one = run_apical("register " + session + " --quiet --threads 1 -o " + (dir / "one.h5").string());
    REQUIRE(one.exit_code == 0);
    std::string two = session + "/apical/registered.h5";
    for (std::string name : {"plane0/shifts", "plane1/shifts", "plane0/mean_image", "plane1/frame_correlation"})
      CHECK(dataset((dir / "one.h5").string(), name) == dataset(two, name));
    auto a = h5::File::open_read((dir / "one.h5").string()).root().read<int16_t>("plane1/movie");
    auto b = h5::File::open_read(two).root().read<int16_t>("plane1/movie");
    CHECK(a == b);
  }
  SECTION("--shifts-from applies the soma plane's shifts to the dendrite plane") {
    auto s = run_apical("register " + session + " --quiet --shifts-from 0 -o " + (dir / "borrow.h5").string());
    REQUIRE(s.exit_code == 0);
    CHECK(dataset((dir / "borrow.h5").string(), "plane1/shifts") == dataset((dir / "borrow.h5").string(), "plane0/shifts"));
  }
}

TEST_CASE("non-rigid register recovers block shifts within 0.3 px RMS", "[register][pipeline]") {
  TempDir dir;
  std::string session =
      simulate(dir, "nr", "--height 256 --width 256 --frames 300 --max-shift 6 --nonrigid 2.5 --seed 5");
  auto r = run_apical("register " + session + " --quiet --nonrigid --block-size 96");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  auto scores = score_registration(read_truth(session + ".truth.h5"), session + "/apical/registered.h5");
  REQUIRE(scores[0].block_rms_error_px >= 0);
  CHECK(scores[0].block_rms_error_px <= 0.3);
}

TEST_CASE("real recordings register without error and the mean image gets no less crisp", "[register][real]") {
  TempDir dir;
  struct Case { std::string file, options; };
  for (const Case& c : {Case{"allen_movie_100x100x100.h5", "--dataset data --axes tyx"},
                        Case{"sima_example.h5", "--dataset imaging --axes yxt"}}) {
    std::string path = test::real_data(c.file);
    if (path.empty()) {
      WARN("../shared/data/real not present; skipping " + c.file);
      continue;
    }
    std::string out = (dir / (c.file + ".registered.h5")).string();
    auto r = run_apical("register " + path + " " + c.options + " --quiet --max-shift 10 -o " + out);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    auto plane = h5::File::open_read(out).root().group("plane0");
    double before = plane.number_attribute("crispness_raw").value();
    double after = plane.number_attribute("crispness_registered").value();
    INFO(c.file << " crispness " << before << " -> " << after);
    CHECK(after >= before * 0.999);
  }
}
