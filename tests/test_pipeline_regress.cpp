// apical regress and apical figures end to end: sessions built from the simulator's truth
// (true ROIs, clean dF/F plus Gaussian noise as traces.h5, the simulated BCI log), the binary
// run on them, and the result scored against the truth.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include <opencv2/imgcodecs.hpp>

#include "io/bci_log.hpp"
#include "io/h5.hpp"
#include "io/h5_matrix.hpp"
#include "pipeline/validation/evaluate.hpp"
#include "pipeline/validation/simulate.hpp"
#include "pipeline/validation/truth.hpp"
#include "tests/test_support.hpp"

using namespace apical;
using apical::test::run_apical;
using apical::test::TempDir;
namespace fs = std::filesystem;

namespace {

// A session folder as the extract stage would leave it, without rendering a movie:
// SESSION/bci/*.csv, SESSION/apical/rois.h5 (true masks and pairs) and SESSION/apical/traces.h5
// (clean dF/F + white Gaussian noise of s.d. noise_sd), and SESSION.truth.h5 beside it.
std::string build_session(const TempDir& dir, const std::string& name, const SimulationParams& params,
                          double noise_sd = 0.05) {
  const fs::path session = dir / name;
  fs::create_directories(session / "apical");
  const SimulatedSession sim = simulate_session(params);
  write_bci_log(session / "bci", simulated_bci_log(sim));
  const std::string truth_path = session.string() + ".truth.h5";
  write_truth(truth_path, simulated_truth(sim), Provenance{"test", {}, {}});
  write_truth_rois(read_truth(truth_path), (session / "apical" / "rois.h5").string(), Provenance{"test", {}, {}});
  h5::File traces = h5::File::create((session / "apical" / "traces.h5").string());
  h5::Group root = traces.root();
  std::mt19937_64 rng(params.seed * 7919 + 13);
  std::normal_distribution<float> noise(0.0f, float(noise_sd));
  for (size_t k = 0; k < sim.planes.size(); ++k) {
    h5::Group g = root.create_group("plane" + std::to_string(k));
    g.set_attribute("role", sim.planes[k].role);
    g.set_attribute("frame_rate_hz", params.frame_rate_hz);
    arma::fmat dff = sim.planes[k].dff;
    for (float& v : dff) v += noise(rng);
    h5::write_matrix(g, "dff", dff);
  }
  return session.string();
}

SimulationParams small_params(uint64_t seed, int64_t frames) {
  SimulationParams p;
  p.height = 128;  // room for 16 neurons + distractors; no pixels are rendered
  p.width = 128;
  p.frames = frames;
  p.neurons = 16;
  p.distractors = 4;
  p.ensemble_plus = 5;
  p.ensemble_minus = 5;
  p.seed = seed;
  return p;
}

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream s(line);
  std::string cell;
  while (std::getline(s, cell, ',')) out.push_back(cell);
  return out;
}

// Bytes of a dataset, so NaNs compare equal and any bit difference shows.
std::vector<char> raw_bytes(const std::string& file, const std::string& name) {
  const std::vector<double> v = h5::File::open_read(file).root().read<double>(name);
  std::vector<char> bytes(v.size() * sizeof(double));
  if (!v.empty()) std::memcpy(bytes.data(), v.data(), bytes.size());
  return bytes;
}

size_t column_of(const std::string& terms, const std::string& term) {
  const auto names = split_csv_line(terms);
  for (size_t k = 0; k < names.size(); ++k)
    if (names[k] == term) return k;
  FAIL("term " << term << " not in " << terms);
  return 0;
}

}  // namespace

TEST_CASE("regress recovers d_error signs of ensemble neurons and a pooled role:d_error p < 0.01", "[regress][pipeline]") {
  TempDir dir;
  SimulationParams p = small_params(21, 18000);  // 10 min at 30 Hz
  const std::string session = build_session(dir, "effect", p);
  auto r = run_apical("regress " + session + " --quiet --permutations 200 --threads 2");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const std::string out = session + "/apical/regress.h5";
  REQUIRE(fs::exists(out));

  const Truth truth = read_truth(session + ".truth.h5");
  const auto scores = score_regression(truth, out);
  std::map<std::string, double> score;
  for (const auto& s : scores) score[s.subject + "/" + s.metric] = s.value;
  for (const auto& [k, v] : score) INFO(k << " = " << v);
  INFO("d_error sign accuracy " << score["d_error/sign_accuracy"] << " over " << score["d_error/sign_tested_neurons"]
                                << " neurons; rank r " << score["d_error/rank_correlation"]);
  CHECK(score["neurons/matched_fraction"] == 1.0);
  CHECK(score["ensemble/role_recall"] == 1.0);
  CHECK(score["neurons/role_accuracy"] == 1.0);
  CHECK(score["d_error/sign_tested_neurons"] == p.ensemble_plus + p.ensemble_minus);
  CHECK(score["d_error/sign_accuracy"] >= 0.9);
  CHECK(score["reward/sign_accuracy"] >= 0.9);
  CHECK(score["d_error/rank_correlation"] > 0.5);

  // The contract: /glm/terms lists reward and d_error; the pooled role:d_error interaction.
  h5::File f = h5::File::open_read(out);
  const h5::Group root = f.root();
  const std::string terms = root.group("glm").string_attribute("terms").value();
  CHECK(column_of(terms, "reward") != column_of(terms, "d_error"));
  const arma::mat beta = h5::read_matrix<double>(root.group("glm"), "beta");
  CHECK(beta.n_rows == root.read<int32_t>("neurons/soma_roi").size());
  CHECK(beta.n_cols == split_csv_line(terms).size());
  const std::string pooled_terms = root.group("pooled").string_attribute("terms").value();
  const size_t k = column_of(pooled_terms, "role:d_error");
  const auto pooled_p = root.read<double>("pooled/p"), pooled_beta = root.read<double>("pooled/beta");
  INFO("pooled role:d_error beta " << pooled_beta[k] << " p " << pooled_p[k]);
  CHECK(pooled_p[k] < 0.01);
  CHECK(pooled_beta[k] < 0);  // c_derr < 0 in the simulation
  const auto role = root.read<int8_t>("neurons/role");
  CHECK(std::count(role.begin(), role.end(), int8_t(1)) == p.ensemble_plus);
  CHECK(std::count(role.begin(), role.end(), int8_t(-1)) == p.ensemble_minus);

  SECTION("output is bit-identical at --threads 1 and --threads 2") {
    const std::string one = (dir / "one.h5").string();
    auto r1 = run_apical("regress " + session + " --quiet --permutations 200 --threads 1 -o " + one);
    REQUIRE(r1.exit_code == 0);
    for (std::string name : {"glm/beta", "glm/p", "glm/perm_p", "glm/perm_p_bh", "pooled/perm_p", "events/residual",
                             "network/r2", "network/shuffle_p95", "decoding/shuffle_accuracy", "learning/early_residual"})
      CHECK(raw_bytes(one, name) == raw_bytes(out, name));
  }

  SECTION("figures: one readable PNG and one CSV with rows per panel, across sessions too") {
    auto fr = run_apical("figures " + session + " --quiet");
    INFO(fr.output);
    REQUIRE(fr.exit_code == 0);
    const fs::path folder = fs::path(session) / "apical" / "figures";
    for (std::string panel : {"learning_curve", "sd_scatter", "residual_by_role_outcome", "residual_vs_derror_by_role",
                              "network_r2", "decoding", "learning"}) {
      INFO(panel);
      const cv::Mat png = cv::imread((folder / (panel + ".png")).string());
      CHECK(!png.empty());
      CHECK(png.cols >= 600);
      std::ifstream csv(folder / (panel + ".csv"));
      std::string header, line;
      REQUIRE(std::getline(csv, header));
      CHECK(split_csv_line(header).size() >= 3);
      int rows = 0;
      while (std::getline(csv, line)) rows += !line.empty();
      CHECK(rows >= 1);
    }
    const std::string across = (dir / "across").string();
    auto mr = run_apical("figures " + out + " " + out + " --labels day1,day2 --quiet -o " + across);
    INFO(mr.output);
    REQUIRE(mr.exit_code == 0);
    CHECK(!cv::imread(across + "/learning_curve_sessions.png").empty());
    std::ifstream csv(across + "/learning_curve_sessions.csv");
    std::string header, a, b;
    REQUIRE(std::getline(csv, header));
    REQUIRE(std::getline(csv, a));
    REQUIRE(std::getline(csv, b));
    CHECK(split_csv_line(a)[1] == "day1");
    CHECK(split_csv_line(b)[1] == "day2");
  }
}

TEST_CASE("with no true effect at most 7 % of per-neuron task tests reach p < 0.05 (20 sessions)", "[regress][pipeline]") {
  TempDir dir;
  int tests = 0, parametric = 0, permutation = 0;
  for (uint64_t seed = 300; seed < 320; ++seed) {
    SimulationParams p = small_params(seed, 6000);  // 200 s each
    p.c_reward = 0;
    p.c_derr = 0;
    const std::string session = build_session(dir, "null" + std::to_string(seed), p);
    auto r = run_apical("regress " + session +
                        " --quiet --permutations 200 --network-shuffles 0 --decoding-shuffles 0 --seed " +
                        std::to_string(seed));
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    h5::File f = h5::File::open_read(session + "/apical/regress.h5");
    const h5::Group glm = f.root().group("glm");
    const std::string terms = glm.string_attribute("terms").value();
    const arma::mat pv = h5::read_matrix<double>(glm, "p"), perm = h5::read_matrix<double>(glm, "perm_p");
    for (std::string term : {"reward", "error", "d_error"}) {
      const size_t c = column_of(terms, term);
      for (arma::uword n = 0; n < pv.n_rows; ++n) {
        if (!std::isfinite(pv(n, c))) continue;
        ++tests;
        parametric += pv(n, c) < 0.05;
        permutation += perm(n, c) < 0.05;
      }
    }
  }
  INFO(tests << " tests: parametric p < 0.05 in " << parametric << ", permutation p < 0.05 in " << permutation);
  REQUIRE(tests >= 600);
  CHECK(parametric <= 0.07 * tests);
  CHECK(permutation <= 0.07 * tests);
}

TEST_CASE("a BCI log whose frame count differs from the traces is an error and leaves no output", "[regress][pipeline]") {
  TempDir dir;
  const std::string session = build_session(dir, "short", small_params(5, 1500));
  const fs::path frames = fs::path(session) / "bci" / "frames.csv";
  std::vector<std::string> lines;
  {
    std::ifstream in(frames);
    std::string line;
    while (std::getline(in, line)) lines.push_back(line);
  }
  lines.pop_back();  // one frame fewer than the imaging
  {
    std::ofstream out(frames);
    for (const auto& l : lines) out << l << "\n";
  }
  auto r = run_apical("regress " + session + " --permutations 10");
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("frames.csv") != std::string::npos);
  CHECK(r.output.find("1499 frames") != std::string::npos);
  CHECK(r.output.find("1500") != std::string::npos);
  CHECK(!fs::exists(fs::path(session) / "apical" / "regress.h5"));
  for (const auto& entry : fs::directory_iterator(fs::path(session) / "apical"))
    CHECK(entry.path().filename().string().find("regress") == std::string::npos);
}

TEST_CASE("ensemble neurons without a soma ROI within --match-radius are reported and get role 0", "[regress][pipeline]") {
  TempDir dir;
  const std::string session = build_session(dir, "far", small_params(6, 3000));
  // Move the first ensemble neuron 40 px away from every soma.
  const fs::path bci = fs::path(session) / "bci";
  BciLog log = read_bci_log(bci);
  REQUIRE(!log.ensemble.empty());
  log.ensemble[0].y += 40;
  log.ensemble[0].x += 40;
  write_bci_log(bci, log);
  auto r = run_apical("regress " + session + " --permutations 10 --match-radius 5");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("no soma ROI within") != std::string::npos);
  h5::File f = h5::File::open_read(session + "/apical/regress.h5");
  const auto matched = f.root().read<int32_t>("ensemble/soma_roi");
  CHECK(matched[0] == -1);
  CHECK(std::count(matched.begin(), matched.end(), -1) == 1);
  const auto role = f.root().read<int8_t>("neurons/role");
  CHECK(std::count_if(role.begin(), role.end(), [](int8_t v) { return v != 0; }) == int(log.ensemble.size()) - 1);
}

TEST_CASE("an ensemble neuron at y = 9999 in a smaller field is an error naming ensemble.csv and its line, with no output",
          "[regress][pipeline][bci]") {
  TempDir dir;
  const std::string session = build_session(dir, "far", small_params(5, 1500));
  const fs::path ensemble = fs::path(session) / "bci" / "ensemble.csv";
  std::vector<std::string> lines;
  {
    std::ifstream in(ensemble);
    std::string line;
    while (std::getline(in, line)) lines.push_back(line);
  }
  REQUIRE(lines.size() >= 2);
  const std::string neuron = lines[1].substr(0, lines[1].find(','));
  const std::string role = lines[1].substr(neuron.size() + 1, 2);
  lines[1] = neuron + "," + role + ",9999,10";
  {
    std::ofstream out(ensemble);
    for (const auto& l : lines) out << l << "\n";
  }
  auto r = run_apical("regress " + session + " --permutations 10");
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains("ensemble.csv: line 2: neuron " + neuron + " at y,x 9999") &&
                           Catch::Contains("soma-plane field"));
  CHECK(!fs::exists(fs::path(session) / "apical" / "regress.h5"));
}
