// The optogenetic experiment end to end: `apical simulate --opto` renders a session, `apical
// run` processes it, `apical regress --reference-condition opto=0` compares the conditions,
// and `apical figures` draws them. Scored against the simulator's known gain change.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include "io/h5.hpp"
#include "tests/test_support.hpp"

using namespace apical;
using apical::test::run_apical;
using apical::test::TempDir;
namespace fs = std::filesystem;

namespace {

// Mean over neurons of the mean dendritic amplitude change of their stimulated events
// (truth /opto/event_shift), the shift a reference fit's residuals should show (see
// tests/test_stats_conditions.cpp).
double true_gain_shift(const std::string& truth_path) {
  h5::File file = h5::File::open_read(truth_path);
  const h5::Group root = file.root();
  const auto neuron = root.group("events").read<int32_t>("neuron");
  const auto opto = root.group("opto").read<uint8_t>("event_opto");
  const auto shift = root.group("opto").read<float>("event_shift");
  std::map<int, std::pair<double, int>> per;
  std::map<int, int> off;
  for (size_t i = 0; i < neuron.size(); ++i) {
    if (opto[i]) per[neuron[i]].first += shift[i], per[neuron[i]].second += 1;
    else off[neuron[i]] += 1;
  }
  double total = 0;
  int n = 0;
  for (const auto& [k, v] : per)
    if (off[k] > 0 && v.first != 0) total += v.first / v.second, ++n;  // paired neurons only
  return total / n;
}

}  // namespace

TEST_CASE("simulate --opto, run, regress --reference-condition opto=0: the opto effect is recovered end to end",
          "[pipeline][opto]") {
  TempDir dir("opto");
  const std::string session = (dir / "s").string();
  auto r = run_apical("simulate " + session + " --opto --height 128 --width 128 --frames 6000 --neurons 12 "
                      "--distractors 2 --max-shift 4 --seed 5 --quiet");
  REQUIRE(r.exit_code == 0);
  {
    std::ifstream frames(session + "/bci/frames.csv");
    std::string header;
    std::getline(frames, header);
    CHECK(header == "frame,time_s,control,cursor,target,trial,opto");
  }
  r = run_apical("run " + session + " --quiet");
  REQUIRE(r.exit_code == 0);
  r = run_apical("regress " + session +
                 " --reference-condition opto=0 --sensitivity --event-method paper --sd-fit aic --force --quiet");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);

  h5::File file = h5::File::open_read(session + "/apical/regress.h5");
  const h5::Group root = file.root();
  const auto event_opto = root.group("events").read<double>("opto");
  const auto frame = root.group("events").read<int64_t>("frame");
  REQUIRE(event_opto.size() == frame.size());
  const h5::Group c = root.group("conditions");
  const double measured = c.read<double>("mean_difference").at(0), truth = true_gain_shift(session + ".truth.h5");
  INFO("measured " << measured << ", true " << truth << ", paired p " << c.read<double>("paired_p").at(0));
  CHECK(truth < 0);
  CHECK(measured < 0);
  CHECK(std::abs(measured - truth) <= 0.25 * std::abs(truth));
  CHECK(c.read<double>("permutation_p").at(0) < 0.01);
  CHECK(root.group("sensitivity").read<double>("beta_role_d_error").size() == 9);
  const auto model = root.group("neurons").read<int8_t>("sd_model");
  for (int8_t m : model) CHECK(m >= -1);
  CHECK(root.group("neurons").dataset("n_coincident").string_attribute("description").has_value());

  r = run_apical("figures " + session + " --force --quiet");
  REQUIRE(r.exit_code == 0);
  for (const char* panel : {"sd_scatter_by_condition", "residual_by_condition", "sensitivity"}) {
    CHECK(fs::file_size(session + "/apical/figures/" + panel + ".png") > 1000);
    CHECK(fs::file_size(session + "/apical/figures/" + panel + ".csv") > 50);
  }

  // Bad input: one message naming the problem, exit 1, no output left behind.
  r = run_apical("regress " + session + " --reference-condition laser=1 -o " + (dir / "x.h5").string());
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("frames.csv has no column 'laser'") != std::string::npos);
  CHECK(!fs::exists(dir / "x.h5"));
  r = run_apical("regress " + session + " --event-method scipy -o " + (dir / "x.h5").string());
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("--event-method") != std::string::npos);
}
