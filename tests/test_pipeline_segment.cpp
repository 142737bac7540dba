// apical segment on simulated sessions, scored against the simulator's truth, and on real data.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "io/h5.hpp"
#include "io/manual_labels.hpp"
#include "io/tiff.hpp"
#include "io/rois_file.hpp"
#include "pipeline/validation/evaluate.hpp"
#include "tests/test_support.hpp"

using namespace apical;
using apical::test::run_apical;
using apical::test::TempDir;

namespace {

std::string simulate_and_register(const TempDir& dir, const std::string& name, const std::string& options) {
  std::string session = (dir / name).string();
  auto s = run_apical("simulate " + session + " --quiet " + options);
  INFO(s.output);
  REQUIRE(s.exit_code == 0);
  auto r = run_apical("register " + session + " --quiet");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  return session;
}

std::map<std::string, double> scores_by_name(const std::vector<ScoreRow>& rows) {
  std::map<std::string, double> m;
  for (const auto& r : rows) m[r.subject + "/" + r.metric] = r.value;
  return m;
}

template <typename T> std::vector<T> dataset(const std::string& file, const std::string& name) {
  return h5::File::open_read(file).root().read<T>(name);
}

}  // namespace

TEST_CASE("segment finds somata (F1 >= 0.9) and dendrites (F1 >= 0.8) and pairs them (>= 0.9 right, <= 5% wrong)",
          "[segment][pipeline]") {
  // Simulated, registered and segmented once for all sections (Catch re-enters the case per section).
  static TempDir dir;
  static const std::string session = simulate_and_register(dir, "s", "--height 224 --width 224 --frames 2400 --seed 3");
  static const test::CommandResult r = run_apical("segment " + session + " --quiet --threads 2");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const std::string rois = session + "/apical/rois.h5";
  REQUIRE(std::filesystem::exists(session + "/apical/qc/rois.png"));
  auto m = scores_by_name(score_segmentation(read_truth(session + ".truth.h5"), rois));
  INFO("soma P/R/F1 " << m["plane0/soma/precision"] << " " << m["plane0/soma/recall"] << " " << m["plane0/soma/f1"]
                      << "; dendrite P/R/F1 " << m["plane1/dendrite/precision"] << " " << m["plane1/dendrite/recall"]
                      << " " << m["plane1/dendrite/f1"] << "; pairing " << m["pairs/pairing_accuracy"] << " wrong "
                      << m["pairs/wrong_pair_fraction"]);
  CHECK(m["plane0/soma/f1"] >= 0.9);
  CHECK(m["plane1/dendrite/f1"] >= 0.8);
  CHECK(m["pairs/pairing_accuracy"] >= 0.9);
  CHECK(m["pairs/wrong_pair_fraction"] <= 0.05);

  SECTION("every ROI has its kind, statistics and the shared-pixel mask") {
    RoiFile f = read_rois(rois);
    REQUIRE(f.planes.size() == 2);
    for (const RoiPlane& p : f.planes) {
      REQUIRE(p.features);
      for (const auto& [name, values] : p.features->columns()) CHECK(values->size() == p.masks.count());
      for (uint8_t kind : p.masks.kind) CHECK(kind == (p.role == "soma" ? 0 : 1));
    }
    CHECK(dataset<uint8_t>(rois, "plane0/shared_pixels").size() == 224u * 224u);
    for (const RoiPair& p : f.pairs) CHECK((p.confidence > 0 && p.confidence <= 1));
  }
  SECTION("output is identical at --threads 1 and --threads 2, and for another batch size") {
    const std::string one = (dir / "one.h5").string();
    auto o = run_apical("segment " + session + " --quiet --threads 1 --batch-size 37 --qc none -o " + one);
    INFO(o.output);
    REQUIRE(o.exit_code == 0);
    for (std::string plane : {"plane0", "plane1"}) {
      CHECK(dataset<uint32_t>(one, plane + "/roi_pixels") == dataset<uint32_t>(rois, plane + "/roi_pixels"));
      CHECK(dataset<float>(one, plane + "/roi_weights") == dataset<float>(rois, plane + "/roi_weights"));
      CHECK(dataset<float>(one, plane + "/stats/quality") == dataset<float>(rois, plane + "/stats/quality"));
      CHECK(dataset<float>(one, plane + "/correlation_image") == dataset<float>(rois, plane + "/correlation_image"));
    }
    CHECK(dataset<int32_t>(one, "pairs/dendrite_roi") == dataset<int32_t>(rois, "pairs/dendrite_roi"));
    CHECK(dataset<int32_t>(one, "pairs/soma_roi") == dataset<int32_t>(rois, "pairs/soma_roi"));
    CHECK(dataset<float>(one, "pairs/confidence") == dataset<float>(rois, "pairs/confidence"));
  }
  SECTION("--pairs replaces the automatic pairing; a bad table is refused and leaves no output") {
    const std::string csv = (dir / "pairs.csv").string(), out = (dir / "manual.h5").string();
    std::ofstream(csv) << "soma_roi,dendrite_roi\n0,2\n1,0\n";
    auto o = run_apical("segment " + session + " --quiet --qc none --pairs " + csv + " -o " + out);
    INFO(o.output);
    REQUIRE(o.exit_code == 0);
    CHECK(dataset<int32_t>(out, "pairs/soma_roi") == std::vector<int32_t>{0, 1});
    CHECK(dataset<int32_t>(out, "pairs/dendrite_roi") == std::vector<int32_t>{2, 0});
    const std::string bad = (dir / "bad.csv").string(), bad_out = (dir / "bad.h5").string();
    std::ofstream(bad) << "soma_roi,dendrite_roi\n0,99999\n";
    auto b = run_apical("segment " + session + " --quiet --qc none --pairs " + bad + " -o " + bad_out);
    CHECK(b.exit_code == 1);
    CHECK(b.output.find("99999") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(bad_out));
  }
}

namespace {

// Registers the Allen crop and segments it with no role given; returns rois.h5's path.
std::string segment_allen(const TempDir& dir, std::string& output, const std::string& options = "") {
  const std::string path = test::real_data("allen_movie_100x100x100.h5");
  if (path.empty()) return "";
  const std::string reg = (dir / "reg.h5").string(), out = (dir / "rois.h5").string();
  auto r = run_apical("register " + path + " --dataset data --quiet -o " + reg);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  auto s = run_apical("segment " + reg + " -o " + out + options);
  INFO(s.output);
  REQUIRE(s.exit_code == 0);
  output = s.output;
  return out;
}

}  // namespace

TEST_CASE("segment runs on a real recording with no plane role and says it assumes soma", "[segment][real]") {
  TempDir dir;
  std::string output;
  const std::string out = segment_allen(dir, output);
  if (out.empty()) {
    WARN("../shared/data/real not present; skipping");
    return;
  }
  CHECK(output.find("segmenting it as a soma plane") != std::string::npos);
  RoiFile f = read_rois(out);
  REQUIRE(f.planes.size() == 1);
  CHECK(f.planes[0].role == "soma");
  CHECK(std::filesystem::exists(dir / "qc" / "rois.png"));
}

namespace {

// Mean over the pixels of `image` ([H][W], row-major) at the given indices.
double mean_at(const std::vector<float>& image, const std::vector<uint32_t>& pixels) {
  double sum = 0;
  for (uint32_t p : pixels) sum += image[p];
  return pixels.empty() ? 0.0 : sum / double(pixels.size());
}

// Pixels 1..4 px beyond an ROI's equivalent-disc radius around its centroid that no ROI owns.
std::vector<uint32_t> surround_ring(const std::vector<uint32_t>& roi, const std::vector<uint8_t>& owned, int H, int W) {
  double cy = 0, cx = 0;
  for (uint32_t p : roi) cy += p / W, cx += p % W;
  cy /= double(roi.size()), cx /= double(roi.size());
  const double r = std::sqrt(double(roi.size()) / M_PI), inner = r + 1, outer = r + 4;
  std::vector<uint32_t> ring;
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      const double dist = std::hypot(y - cy, x - cx);
      const uint32_t p = uint32_t(y * W + x);
      if (dist >= inner && dist <= outer && !owned[p]) ring.push_back(p);
    }
  return ring;
}

}  // namespace

// The crop's correlation image is weak (100 frames); its cell bodies are found in the mean
// image. They are ~4-6 px across; with the defaults the diameter is estimated.
TEST_CASE("with the defaults, segment finds >= 5 cell bodies of the Allen crop, each brighter than its surround",
          "[segment][real]") {
  TempDir dir;
  std::string output;
  const std::string out = segment_allen(dir, output);
  if (out.empty()) {
    WARN("../shared/data/real not present; skipping");
    return;
  }
  INFO(output);
  CHECK(output.find("soma diameter") != std::string::npos);
  RoiFile f = accepted_rois(read_rois(out), out);
  CHECK(f.planes[0].soma_diameter_px >= 4.0f);
  CHECK(f.planes[0].soma_diameter_px <= 7.0f);
  const SparseMasks& masks = f.planes[0].masks;
  const std::vector<float> mean = dataset<float>(out, "plane0/mean_image");
  const int H = masks.height, W = masks.width;
  REQUIRE(mean.size() == size_t(H) * W);
  CHECK(masks.count() >= 5);
  CHECK(masks.count() <= 30);
  // Margin: the robust spread (1.4826 MAD) of the mean image, i.e. clearly brighter than
  // the surround, not a neuropil fluctuation (measured: 23-60 above the ring, spread 17).
  std::vector<float> sorted = mean;
  std::sort(sorted.begin(), sorted.end());
  const float median = sorted[sorted.size() / 2];
  std::vector<float> dev(sorted.size());
  for (size_t i = 0; i < sorted.size(); ++i) dev[i] = std::abs(sorted[i] - median);
  std::nth_element(dev.begin(), dev.begin() + long(dev.size() / 2), dev.end());
  const double spread = 1.4826 * dev[dev.size() / 2];
  std::vector<uint8_t> owned(mean.size(), 0);
  for (uint32_t p : masks.pixels) owned[p] = 1;
  for (size_t i = 0; i < masks.count(); ++i) {
    const auto roi = masks.roi_pixels(i);
    const double inside = mean_at(mean, roi), ring = mean_at(mean, surround_ring(roi, owned, H, W));
    INFO("ROI " << i << " area " << roi.size() << " mean " << inside << " ring " << ring << " spread " << spread);
    CHECK(inside - ring >= spread);
  }
}

namespace {

// Scores of `apical evaluate --manual` from its CSV (subject/metric -> value).
std::map<std::string, double> manual_scores(const std::string& csv_path) {
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

}  // namespace

// The development rows of a real, dense GCaMP6 recording (neurofinder), scored against its
// 160 manual soma labels with the defaults: the issue's target was F1 0.6 / IoU-F1 0.5;
// what apical reaches (0.55 / 0.33 on these rows, 0.47 held-out by cross-validation) is
// asserted with a margin, together with the same scores from the labels stored as a TIFF
// and an HDF5 label image.
TEST_CASE("with the defaults, somata of a real dense recording match manual labels (F1 >= 0.5, IoU-F1 >= 0.3)",
          "[segment][real]") {
  const std::string movie = test::real_data("neurofinder_top/movie.h5");
  const std::string labels = test::real_data("neurofinder_top/regions.json");
  if (movie.empty() || labels.empty()) {
    WARN("../shared/data/real/neurofinder_top not present; skipping");
    return;
  }
  TempDir dir;
  const std::string reg = (dir / "reg.h5").string(), rois = (dir / "rois.h5").string();
  auto r = run_apical("register " + movie + " --dataset movie --axes tyx --quiet -o " + reg);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  auto s = run_apical("segment " + reg + " -o " + rois);
  INFO(s.output);
  REQUIRE(s.exit_code == 0);
  const RoiFile f = read_rois(rois);
  CHECK(f.planes[0].soma_diameter_px >= 8.0f);  // the labels' median equivalent diameter is 9.1 px
  CHECK(f.planes[0].soma_diameter_px <= 11.0f);
  const std::string csv = (dir / "scores.csv").string();
  auto e = run_apical("evaluate --manual " + labels + " " + rois + " -o " + csv);
  INFO(e.output);
  REQUIRE(e.exit_code == 0);
  CHECK(std::filesystem::exists(dir / "qc" / "manual.png"));
  const auto m = manual_scores(csv);
  CHECK(m.at("plane0/centroid/f1") >= 0.5);
  CHECK(m.at("plane0/iou/f1") >= 0.3);
  CHECK(m.at("plane0/labelled") == 160);
  // These labels sit about (+0.9, +1.2) px from the image content around them (the symmetric
  // centre of the mean label patch says the same), so evaluate measures the offset and scores
  // IoU again with the labels moved back by it.
  CHECK(m.at("plane0/offset/label_minus_roi_y_px") == Approx(0.9).margin(0.4));
  CHECK(m.at("plane0/offset/label_minus_roi_x_px") == Approx(1.2).margin(0.4));
  CHECK(m.at("plane0/iou_aligned/f1") > m.at("plane0/iou/f1"));

  SECTION("the same labels as a TIFF and an HDF5 label image score the same") {
    const ManualLabels json = read_manual_labels(labels, 256, 512);
    std::vector<float> image(256 * 512, 0.0f);
    for (size_t i = 0; i < json.rois.size(); ++i)
      for (uint32_t p : json.rois[i]) image[p] = float(i + 1);
    const std::string tif = (dir / "labels.tif").string(), h5 = (dir / "labels.h5").string();
    {
      TiffWriter writer(tif, 256, 512, SampleType::uint16, false);
      writer.write_page(image.data());
      writer.close();
      h5::File file = h5::File::create(h5);
      h5::Group root = file.root();
      root.write("labels", std::vector<int32_t>(image.begin(), image.end()), {256, 512});
    }
    for (const std::string& path : {tif, h5}) {
      const std::string other = (dir / "other.csv").string();
      auto o = run_apical("evaluate --force --overlay none --manual " + path + " " + rois + " -o " + other);
      INFO(o.output);
      REQUIRE(o.exit_code == 0);
      const auto n = manual_scores(other);
      // Labels that touch merge in a label image only if they share a value; each has its own.
      CHECK(n.at("plane0/centroid/f1") == Approx(m.at("plane0/centroid/f1")).margin(0.01));
      CHECK(n.at("plane0/iou/f1") == Approx(m.at("plane0/iou/f1")).margin(0.01));
    }
  }
}

TEST_CASE("evaluate --manual names the file and the problem for bad labels", "[segment][real]") {
  const std::string movie = test::real_data("allen_movie_100x100x100.h5");
  if (movie.empty()) {
    WARN("../shared/data/real not present; skipping");
    return;
  }
  TempDir dir;
  std::string output;
  const std::string rois = segment_allen(dir, output);
  const std::string bad = (dir / "bad.json").string();
  std::ofstream(bad) << R"([{"coordinates": [[5, 5], [500, 5]]}])";
  auto e = run_apical("evaluate --manual " + bad + " " + rois);
  INFO(e.output);
  CHECK(e.exit_code == 1);
  CHECK(e.output.find("bad.json") != std::string::npos);
  CHECK(e.output.find("not inside") != std::string::npos);
  std::ofstream(bad) << "[{\"coordinates\": ";
  e = run_apical("evaluate --manual " + bad + " " + rois);
  CHECK(e.exit_code == 1);
  CHECK(e.output.find("not valid JSON") != std::string::npos);
}

// A realistic preset: ring somata with dark nuclei, touching, uneven illumination, neuropil
// with processes, ~230 cells per 512 x 512 px.
TEST_CASE("segment finds somata of the dense-cortex preset (F1 >= 0.85)", "[segment][pipeline]") {
  TempDir dir;
  const std::string session =
      simulate_and_register(dir, "dense", "--preset dense-cortex --height 192 --width 192 --frames 1500 --seed 5");
  const auto r = run_apical("segment " + session + " --quiet");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  auto m = scores_by_name(score_segmentation(read_truth(session + ".truth.h5"), session + "/apical/rois.h5"));
  INFO("soma P/R/F1 " << m["plane0/soma/precision"] << " " << m["plane0/soma/recall"] << " " << m["plane0/soma/f1"]);
  CHECK(m["plane0/soma/f1"] >= 0.85);
}

TEST_CASE("apical run on an imaging-only session (no bci/) skips regress and figures, writes the QC report",
          "[segment][pipeline]") {
  TempDir dir;
  const std::string session = (dir / "imaging").string();
  auto s = run_apical("simulate " + session + " --quiet --height 96 --width 96 --frames 400 --neurons 6 --distractors 2 "
                      "--ensemble-plus 2 --ensemble-minus 2");
  REQUIRE(s.exit_code == 0);
  std::filesystem::remove_all(session + "/bci");
  auto r = run_apical("run " + session);
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(r.output.find("regress and figures skipped") != std::string::npos);
  CHECK(std::filesystem::exists(session + "/apical/traces.h5"));
  CHECK(std::filesystem::exists(session + "/apical/qc/index.html"));
  CHECK(!std::filesystem::exists(session + "/apical/regress.h5"));
}
