// apical curate's library: decisions applied to rois.h5 (accepted, reason "curated", order,
// pairs), provenance, and the errors a person meets (a wrong index, a broken file).
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <iterator>

#include "core/roi_codes.hpp"
#include "io/error.hpp"
#include "io/h5.hpp"
#include "io/schema.hpp"
#include "pipeline/curate/curate.hpp"
#include "test_support.hpp"

using namespace apical;
namespace fs = std::filesystem;

namespace {

constexpr int kSide = 32;

// A square ROI of side 3 at (y, x); its pixels identify it through any reordering.
std::vector<uint32_t> square(int y, int x) {
  std::vector<uint32_t> px;
  for (int dy = 0; dy < 3; ++dy)
    for (int dx = 0; dx < 3; ++dx) px.push_back(uint32_t((y + dy) * kSide + x + dx));
  return px;
}

// Plane 0 (soma): 3 accepted somata at rows 0, 5, 10, then 2 rejected (template score, shape)
// at rows 15, 20. Plane 1 (dendrite): 2 accepted dendrites. Soma k pairs with dendrite k.
RoiFile synthetic_rois() {
  RoiFile rois;
  for (int k = 0; k < 2; ++k) {
    RoiPlane p;
    p.role = k == 0 ? "soma" : "dendrite";
    p.masks.height = p.masks.width = kSide;
    p.features.emplace();
    const int n = k == 0 ? 5 : 2;
    for (int i = 0; i < n; ++i) {
      p.masks.add(square(5 * i, 4 * k), std::vector<float>(9, 1.0f), uint8_t(k));
      p.features->centroid_y.push_back(float(5 * i + 1));
      p.features->centroid_x.push_back(float(4 * k + 1));
      p.features->area.push_back(9);
      p.rejection.push_back(k == 0 && i >= 3 ? uint8_t(i - 2) : uint8_t(0));
    }
    p.mean_image = cv::Mat(kSide, kSide, CV_32F, cv::Scalar(float(k + 1)));
    p.correlation_image = cv::Mat(kSide, kSide, CV_32F, cv::Scalar(0.5f));
    if (k == 0) p.rejection_labels = kRejectionLabels;
    rois.planes.push_back(std::move(p));
  }
  rois.pairs = {{0, 0, 1, 0, 0.9f}, {0, 1, 1, 1, 0.8f}};
  rois.frames = 10;
  rois.pairing = "automatic";
  return rois;
}

// A session folder whose rois.h5 was written by "apical segment" with one parameter.
struct CurationSession {
  test::TempDir dir{"apical_curate"};
  fs::path session = dir / "session";
  std::string rois_path = (session / "apical" / "rois.h5").string();
  CurationSession() {
    fs::create_directories(session / "apical");
    Timebase t;
    t.frames = 10;
    t.frame_rate_hz = 30;
    write_rois_file(rois_path, synthetic_rois(), Provenance{"apical segment session", {{"soma-threshold", "4"}}, {}}, t);
  }
  std::string decisions(const std::string& json, const std::string& name = "decisions.json") const {
    const std::string path = (dir / name).string();
    std::ofstream(path) << json;
    return path;
  }
  CurationResult curate(const std::string& decisions_path) const {
    return curate_session(session, decisions_path, Provenance{"apical curate session " + decisions_path, {}, {}});
  }
};

// Index of the ROI of `plane` whose first pixel is that of square(y, x).
size_t find_roi(const RoiPlane& plane, int y, int x) {
  for (size_t i = 0; i < plane.masks.count(); ++i)
    if (plane.masks.roi_pixels(i) == square(y, x)) return i;
  FAIL("no ROI at " << y << "," << x);
  return 0;
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("curate rejects and accepts the decided ROIs, marks them curated, and keeps accepted ROIs first",
          "[curate]") {
  CurationSession s;
  // Reject soma 1 (accepted by the detector), accept soma 4 (rejected for its shape),
  // confirm soma 0 as it was.
  const CurationResult r = s.curate(s.decisions(
      R"({"decisions": [{"plane": 0, "roi": 1, "accepted": false}, {"plane": 0, "roi": 4, "accepted": true},
                        {"plane": 0, "roi": 0, "accepted": true}]})"));
  CHECK(r.planes[0].accepted_before == 3);
  CHECK(r.planes[0].accepted_after == 3);
  CHECK(r.planes[0].changed == 2);
  CHECK(r.planes[0].rejected_by_hand == 1);
  CHECK(r.planes[0].accepted_by_hand == 2);

  const RoiFile out = read_rois(s.rois_path);
  const RoiPlane& soma = out.planes[0];
  REQUIRE(soma.masks.count() == 5);
  REQUIRE(soma.curated.size() == 5);
  const size_t rejected = find_roi(soma, 5, 0), accepted = find_roi(soma, 20, 0), confirmed = find_roi(soma, 0, 0);
  const size_t untouched_rejected = find_roi(soma, 15, 0);
  CHECK(soma.rejection[rejected] == kCuratedRejection);
  CHECK(soma.rejection[accepted] == 0);
  CHECK(soma.rejection[confirmed] == 0);
  CHECK(soma.rejection[untouched_rejected] == kLowTemplateScore);  // the detector's reason stays
  CHECK(soma.curated[rejected] == 1);
  CHECK(soma.curated[accepted] == 1);
  CHECK(soma.curated[confirmed] == 1);
  CHECK(soma.curated[untouched_rejected] == 0);
  CHECK(soma.accepted_count() == 3);  // accepted first: 0, 2, 4 then 1 and 3
  CHECK(accepted < 3);
  CHECK(rejected >= 3);
  // Features travel with their ROI.
  CHECK(soma.features->centroid_y[accepted] == Approx(21));
  CHECK(soma.features->centroid_y[rejected] == Approx(6));
  // The reason is labelled in the file itself.
  const h5::File file = h5::File::open_read(s.rois_path);
  CHECK(file.root().group("plane0").dataset("rejection").string_attribute("labels")->find("100=curated") !=
        std::string::npos);
  CHECK(file.root().group("plane0").dataset("accepted").read<uint8_t>()[rejected] == 0);
  CHECK(file.root().group("plane0").dataset("accepted").read<uint8_t>()[accepted] == 1);
  // extract's view of the file holds.
  CHECK_NOTHROW(accepted_rois(out, s.rois_path));
}

TEST_CASE("curate moves pairs with their ROIs and drops the pairs of ROIs rejected by hand", "[curate]") {
  CurationSession s;
  s.curate(s.decisions(R"({"decisions": [{"plane": 0, "roi": 0, "accepted": false}]})"));
  const RoiFile out = read_rois(s.rois_path);
  REQUIRE(out.pairs.size() == 1);  // soma 0's pair is gone, soma 1's remains
  const RoiPair& p = out.pairs[0];
  CHECK(out.planes[0].masks.roi_pixels(size_t(p.soma_roi)) == square(5, 0));
  CHECK(out.planes[1].masks.roi_pixels(size_t(p.dendrite_roi)) == square(5, 4));
  CHECK(p.confidence == Approx(0.8f));
}

TEST_CASE("curate records its provenance and the segmentation it curated, through repeated curations", "[curate]") {
  CurationSession s;
  const std::string first = s.decisions(R"({"decisions": [{"plane": 1, "roi": 1, "accepted": false}]})");
  s.curate(first);
  RecordedProvenance made = read_provenance(s.rois_path);
  CHECK(made.command_line == "apical curate session " + first);
  CHECK(made.input_provenance.find(fs::absolute(first).lexically_normal().string()) != std::string::npos);
  CHECK(made.input_provenance.find("apical segment session") != std::string::npos);  // the rois.h5 it replaced
  REQUIRE(made.curated);
  CHECK(made.curated_from_parameters == "soma-threshold=4\n");
  // Summary images and the timebase survive the rewrite; every dataset is in the schema.
  CHECK(read_roi_image(s.rois_path, 1, RoiImage::mean).at<float>(3, 3) == 2.0f);
  CHECK(read_timebase(s.rois_path).frames == 10);
  CHECK(read_timebase(s.rois_path).frame_rate_hz == Approx(30));
  // A second curation (on the new file) still names the segmentation, not the first curation.
  const RoiFile now = read_rois(s.rois_path);
  const std::string second = s.decisions(
      curation_json(CurationDecisions{rois_identity(made.created_utc, now), {{0, 0, false}}}), "second.json");
  s.curate(second);
  made = read_provenance(s.rois_path);
  CHECK(made.curated_from_parameters == "soma-threshold=4\n");
  CHECK(made.input_provenance.find("apical curate session " + first) != std::string::npos);
  const RoiFile twice = read_rois(s.rois_path);
  CHECK(twice.planes[1].rejection[find_roi(twice.planes[1], 5, 4)] == kCuratedRejection);
  CHECK(twice.planes[0].rejection[find_roi(twice.planes[0], 0, 0)] == kCuratedRejection);
}

TEST_CASE("curate names the file and the problem, and leaves rois.h5 as it was", "[curate]") {
  CurationSession s;
  const std::string before = file_bytes(s.rois_path);
  auto fails_with = [&](const std::string& json, const std::string& problem) {
    const std::string path = s.decisions(json);
    try {
      s.curate(path);
      FAIL("no error for " << json);
    } catch (const InputError& e) {
      const std::string message = e.what();
      INFO(message);
      CHECK(message.find(path) != std::string::npos);
      CHECK(message.find(problem) != std::string::npos);
    }
    CHECK(file_bytes(s.rois_path) == before);
  };
  fails_with(R"({"decisions": [{"plane": 0, "roi": 5, "accepted": false}]})", "plane 0 ROI 5 does not exist");
  fails_with(R"({"decisions": [{"plane": 2, "roi": 0, "accepted": false}]})", "plane 2 is out of range");
  fails_with(R"({"decisions": [{"plane": 0, "roi": 1, "accepted": false})", "is not valid JSON");
  fails_with(R"({"decisions": [{"plane": 0, "roi": 1, "accepted": "no"}]})", "\"accepted\" must be true or false");
  fails_with(R"({"decisions": [{"plane": 0, "roi": -1, "accepted": true}]})", "indices start at 0");
  fails_with(R"({"decisions": [{"plane": 0, "roi": 18446744073709551615, "accepted": true}]})", "does not exist");
  fails_with(R"({"decisions": [{"plane": 99999999999, "roi": 0, "accepted": true}]})", "plane 99999999999 is out of range");
  fails_with(R"({"decisions": [{"plane": 0, "roi": 1.5, "accepted": true}]})", "\"roi\" must be a whole number");
  fails_with(R"({"decisions": [{"plane": 0, "roi": 1, "accepted": true}, {"plane": 0, "roi": 1, "accepted": false}]})",
             "decided twice");
  fails_with(R"([1, 2])", "not an apical decisions file");
  fails_with(R"({"rois_h5": {"created_utc": "2001-01-01T00:00:00Z", "rois_per_plane": [5, 2], "fingerprint": "0"},
                 "decisions": []})",
             "was decided on another rois.h5");

  test::TempDir empty("apical_curate_empty");
  fs::create_directories(empty / "raw");
  try {
    curate_session(empty.path(), s.decisions("{\"decisions\": []}"), Provenance{});
    FAIL("no error for a session without rois.h5");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()).find((empty / "apical" / "rois.h5").string()) != std::string::npos);
  }
}
