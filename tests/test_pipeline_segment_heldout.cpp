// Soma detection held out: a template fitted on one half of the real rows and scored on the
// other, star-shaped simulated somata it was never fitted to, and evaluate --manual by part.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "io/truth_file.hpp"
#include "pipeline/segment/segment.hpp"
#include "pipeline/validation/evaluate.hpp"
#include "tests/test_support.hpp"

using namespace apical;
using apical::test::run_apical;
using apical::test::TempDir;

namespace {

// Scores of an apical evaluate CSV (subject/metric -> value).
std::map<std::string, double> csv_scores(const std::string& csv_path) {
  std::map<std::string, double> scores;
  std::ifstream csv(csv_path);
  std::string line;
  std::getline(csv, line);  // header
  while (std::getline(csv, line)) {
    std::stringstream row(line);
    std::string stage, subject, metric, value;
    std::getline(row, stage, ',');
    std::getline(row, subject, ',');
    std::getline(row, metric, ',');
    std::getline(row, value, ',');
    scores[subject + "/" + metric] = std::stod(value);
  }
  return scores;
}

std::map<std::string, double> manual_part(const TempDir& dir, const std::string& labels, const std::string& rois,
                                          const std::string& range_options) {
  const std::string csv = (dir / "part.csv").string();
  auto e = run_apical("evaluate --force --overlay none --quiet --manual " + labels + " " + rois + " " + range_options +
                      " -o " + csv);
  INFO(e.output);
  REQUIRE(e.exit_code == 0);
  return csv_scores(csv);
}

}  // namespace

// The issue's measure of precision on an unseen field: a model fitted to labels of some rows
// must not accept ROIs in proportion to the area of other rows (on the real held-out rows the
// earlier detector accepted 2.5 per labelled cell). Fitted on rows 0:128, scored on 128:256.
TEST_CASE("fitted on the top half of real rows, segment accepts <= 1.5 ROIs per label on the unseen bottom half",
          "[segment][real]") {
  const std::string movie = test::real_data("neurofinder_top/movie.h5");
  const std::string labels = test::real_data("neurofinder_top/regions.json");
  if (movie.empty() || labels.empty()) {
    WARN("../shared/data/real/neurofinder_top not present; skipping");
    return;
  }
  if (test::run_shell("/usr/bin/python3 -c 'import h5py, scipy, numpy'").exit_code != 0) {
    WARN("/usr/bin/python3 with h5py, numpy and scipy not present; skipping");
    return;
  }
  TempDir dir;
  const std::string reg = (dir / "reg.h5").string(), first = (dir / "first.h5").string(),
                    model = (dir / "top.json").string(), rois = (dir / "rois.h5").string();
  auto r = run_apical("register " + movie + " --dataset movie --axes tyx --quiet -o " + reg);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  // The summary images the model is fitted on do not depend on the model.
  auto s = run_apical("segment " + reg + " --quiet --qc none -o " + first);
  INFO(s.output);
  REQUIRE(s.exit_code == 0);
  // Braces: the model goes to the file, the script's notes on stderr to the captured output.
  auto t = test::run_shell("{ /usr/bin/python3 " APICAL_SOURCE_DIR "/scripts/train_soma_model.py " + first + " " +
                           labels + " --rows 0:128 --json > " + model + "; }");
  INFO(t.output);
  REQUIRE(t.exit_code == 0);
  s = run_apical("segment " + reg + " --quiet --qc none --soma-model " + model + " -o " + rois);
  INFO(s.output);
  REQUIRE(s.exit_code == 0);
  const auto unseen = manual_part(dir, labels, rois, "--rows 128:256");
  INFO("unseen rows 128:256: " << unseen.at("plane0/found") << " accepted for " << unseen.at("plane0/labelled")
                               << " labels, centroid F1 " << unseen.at("plane0/centroid/f1") << ", IoU-F1 "
                               << unseen.at("plane0/iou/f1"));
  CHECK(unseen.at("plane0/labelled") == 105);
  CHECK(unseen.at("plane0/found") <= 1.5 * unseen.at("plane0/labelled"));
  CHECK(unseen.at("plane0/centroid/f1") >= 0.48);  // measured 0.514
  CHECK(unseen.at("plane0/iou/f1") >= 0.28);       // measured 0.327

  SECTION("a model file of the wrong size is refused, naming the file") {
    std::ofstream(model) << R"({"feature_mean": [0, 0], "feature_scale": [1, 1], "weights": [1, 1], "bias": 0})";
    auto bad = run_apical("segment " + reg + " --quiet --qc none --force --soma-model " + model + " -o " + rois);
    CHECK(bad.exit_code == 1);
    CHECK(bad.output.find("top.json") != std::string::npos);
    CHECK(bad.output.find("features") != std::string::npos);
  }
}

// Star-shaped somata (3-6 lobes, radius 4-8 µm) with off-centre nuclei: no round, centred
// ring for a template fitted to one recording's cells to lean on. Then evaluate --manual by
// part, with the simulator's somata written as neurofinder labels (known truth per part).
TEST_CASE("segment finds irregular, star-shaped somata (F1 >= 0.9) and evaluate --manual scores --rows/--cols parts",
          "[segment][pipeline]") {
  TempDir dir;
  const std::string session = (dir / "irregular").string();
  auto r = run_apical("simulate " + session + " --quiet --preset irregular-somata --height 192 --width 192 "
                      "--frames 1500 --seed 4");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  for (const std::string stage : {"register", "segment"}) {
    r = run_apical(stage + " " + session + " --quiet");
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
  }
  const std::string rois = session + "/apical/rois.h5";
  const Truth truth = read_truth(session + ".truth.h5");
  auto m = [&] {
    std::map<std::string, double> by_name;
    for (const auto& row : score_segmentation(truth, rois)) by_name[row.subject + "/" + row.metric] = row.value;
    return by_name;
  }();
  INFO("soma P/R/F1 " << m["plane0/soma/precision"] << " " << m["plane0/soma/recall"] << " " << m["plane0/soma/f1"]);
  CHECK(m["plane0/soma/f1"] >= 0.9);

  // The true somata as neurofinder JSON, and how many are centred in each part.
  const SparseMasks& masks = truth.planes.at(0).masks;
  const std::string labels = (dir / "somata.json").string();
  std::map<std::string, int> truth_in;
  {
    std::ofstream json(labels);
    json << "[";
    for (size_t i = 0; i < masks.count(); ++i) {
      const std::vector<uint32_t> px = masks.roi_pixels(i);
      json << (i ? "," : "") << "{\"coordinates\": [";
      for (size_t k = 0; k < px.size(); ++k) json << (k ? "," : "") << "[" << px[k] / 192 << "," << px[k] % 192 << "]";
      json << "]}";
      const RoiStats st = shape_stats(px, 192);
      truth_in["top"] += st.cy < 96;
      truth_in["bottom"] += st.cy >= 96;
      truth_in["top-left"] += st.cy < 96 && st.cx < 96;
    }
    json << "]";
  }
  const auto whole = manual_part(dir, labels, rois, "");
  const auto top = manual_part(dir, labels, rois, "--rows 0:96");
  const auto bottom = manual_part(dir, labels, rois, "--rows 96:192");
  const auto quadrant = manual_part(dir, labels, rois, "--rows 0:96 --cols 0:96");
  CHECK(whole.at("plane0/labelled") == double(masks.count()));
  CHECK(top.at("plane0/labelled") == truth_in["top"]);
  CHECK(bottom.at("plane0/labelled") == truth_in["bottom"]);
  CHECK(quadrant.at("plane0/labelled") == truth_in["top-left"]);
  CHECK(top.at("plane0/found") + bottom.at("plane0/found") == whole.at("plane0/found"));
  CHECK(quadrant.at("plane0/found") < top.at("plane0/found"));
  CHECK(top.at("plane0/part/row_end") == 96);
  for (const auto* part : {&top, &bottom}) CHECK(part->at("plane0/centroid/f1") >= 0.85);

  auto bad = run_apical("evaluate --manual " + labels + " " + rois + " --rows 96:10");
  CHECK(bad.exit_code == 1);
  CHECK(bad.output.find("--rows") != std::string::npos);
  bad = run_apical("evaluate --manual " + labels + " " + rois + " --cols 500:600");
  CHECK(bad.exit_code == 1);
  CHECK(bad.output.find("rois.h5") != std::string::npos);
}
