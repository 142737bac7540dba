// qc/rois.html, the ROI page: self-contained (nothing fetched), every candidate outlined with
// its state, images embedded, traces only when traces.h5 was made from this very rois.h5.
// (The page in a real browser: tests/browser/curation_round_trip.py.)
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <regex>

#include <nlohmann/json.hpp>

#include "io/curation_file.hpp"
#include "io/provenance.hpp"
#include "io/rois_file.hpp"
#include "io/traces_file.hpp"
#include "pipeline/curate/curate.hpp"
#include "pipeline/reporting/qc_rois_page.hpp"
#include "tests/test_support.hpp"

using namespace apical;
using apical::test::run_apical;

namespace {

// The page's embedded data object.
nlohmann::json page_data(const std::string& html) {
  const std::string open = "<script type=\"application/json\" id=apical-data>";
  const size_t begin = html.find(open) + open.size(), end = html.find("</script>", begin);
  REQUIRE(begin != std::string::npos + open.size());
  return nlohmann::json::parse(html.substr(begin, end - begin));
}

}  // namespace

TEST_CASE("the ROI page embeds every candidate, its state, the images and matching traces, and fetches nothing",
          "[curate][qc]") {
  test::TempDir dir;
  const std::string session = (dir / "s").string();
  REQUIRE(run_apical("simulate " + session + " -q --height 96 --width 96 --frames 300 --neurons 8 --seed 3").exit_code == 0);
  REQUIRE(run_apical("run " + session + " -q --to extract").exit_code == 0);
  const std::string rois_path = session + "/apical/rois.h5", traces_path = session + "/apical/traces.h5";
  const std::string html = roi_page_html(rois_path, traces_path, "s");

  // Offline: no URL but the SVG namespace, no external script, style, image or link.
  std::string without_namespace = std::regex_replace(html, std::regex("http://www\\.w3\\.org/2000/svg"), "");
  CHECK(without_namespace.find("http://") == std::string::npos);
  CHECK(without_namespace.find("https://") == std::string::npos);
  CHECK(html.find("<script src") == std::string::npos);
  CHECK(html.find("<link") == std::string::npos);

  const RoiFile rois = read_rois(rois_path);
  const nlohmann::json data = page_data(html);
  REQUIRE(data["planes"].size() == rois.planes.size());
  const CuratedRoisIdentity id = rois_identity(read_provenance(rois_path).created_utc, rois);
  CHECK(data["identity"]["fingerprint"] == id.fingerprint);
  for (size_t k = 0; k < rois.planes.size(); ++k) {
    const auto& plane = data["planes"][k];
    const RoiPlane& truth = rois.planes[k];
    CHECK(plane["mean"].get<std::string>().rfind("data:image/png;base64,iVBOR", 0) == 0);  // a PNG
    CHECK(plane["correlation"].get<std::string>().rfind("data:image/png;base64,", 0) == 0);
    REQUIRE(plane["rois"].size() == truth.masks.count());
    for (size_t i = 0; i < truth.masks.count(); ++i) {
      const auto& roi = plane["rois"][i];
      CHECK(roi["rej"] == int(truth.rejection[i]));
      CHECK(roi["f"]["pixels"] == truth.masks.roi_pixels(i).size());
      CHECK(roi["d"].get<std::string>().rfind("M", 0) == 0);
      // Traces for accepted ROIs (extract's rows), none for rejected candidates.
      CHECK(roi.contains("t") == (i < truth.accepted_count()));
      if (roi.contains("t")) CHECK(roi["t"].size() == 300);  // 300 frames: fewer than 400 bins, kept whole
    }
  }
  // The page's trace is traces.h5's dF/F (in thousandths).
  const std::vector<TracesPlane> traces = read_traces(traces_path, {.dff = true});
  const auto& shown = data["planes"][0]["rois"][0]["t"];
  for (size_t t = 0; t < 300; ++t) {
    if (!std::isfinite(traces[0].dff(0, t))) continue;
    CHECK(shown[t].get<double>() / 1000 == Approx(traces[0].dff(0, t)).margin(0.0006));
  }

  // A session name cannot end the page's script element early.
  const std::string odd = roi_page_html(rois_path, traces_path, "a</script><b>&");
  CHECK(page_data(odd)["session"] == "a</script><b>&");
  CHECK(odd.find("<title>apical ROIs: a&lt;/script&gt;&lt;b&gt;&amp;</title>") != std::string::npos);

  // After a curation the traces belong to the old ROIs: the page leaves them out and says why.
  const std::string decisions = (dir / "d.json").string();
  std::ofstream(decisions) << curation_json({id, {{0, 0, false}}});
  curate_session(session, decisions, Provenance{"test", {}, {}});
  const nlohmann::json curated = page_data(roi_page_html(rois_path, traces_path, "s"));
  CHECK(curated["traces_note"].get<std::string>().find("another rois.h5") != std::string::npos);
  CHECK_FALSE(curated["planes"][0]["rois"][0].contains("t"));
  // Rejected by hand: the first rejected candidate (accepted ROIs first, each group in its old order).
  const size_t first_rejected = rois.planes[0].accepted_count() - 1;
  CHECK(curated["planes"][0]["rois"][first_rejected]["rej"] == int(kCuratedRejection));
  CHECK(curated["planes"][0]["rois"][first_rejected]["cur"] == 1);
}

TEST_CASE("apical qc writes and links the ROI page, and writes none without rois.h5", "[curate][qc]") {
  test::TempDir dir;
  const std::string session = (dir / "s").string();
  REQUIRE(run_apical("simulate " + session + " -q --height 96 --width 96 --frames 200 --neurons 8 --seed 3").exit_code == 0);
  REQUIRE(run_apical("qc " + session + " -q").exit_code == 0);
  CHECK_FALSE(std::filesystem::exists(session + "/apical/qc/rois.html"));
  REQUIRE(run_apical("run " + session + " -q --to segment").exit_code == 0);
  REQUIRE(run_apical("qc " + session + " -q").exit_code == 0);
  CHECK(std::filesystem::exists(session + "/apical/qc/rois.html"));
  std::ifstream index(session + "/apical/qc/index.html");
  const std::string text((std::istreambuf_iterator<char>(index)), std::istreambuf_iterator<char>());
  CHECK(text.find("href=\"rois.html\"") != std::string::npos);

  // A broken rois.h5: the report is still written and says why there is no ROI page.
  std::filesystem::remove(session + "/apical/qc/rois.html");
  std::ofstream(session + "/apical/rois.h5", std::ios::trunc) << "not HDF5";
  REQUIRE(run_apical("qc " + session + " -q").exit_code == 0);
  CHECK_FALSE(std::filesystem::exists(session + "/apical/qc/rois.html"));
  std::ifstream broken(session + "/apical/qc/index.html");
  const std::string said((std::istreambuf_iterator<char>(broken)), std::istreambuf_iterator<char>());
  CHECK(said.find("No ROI page: ") != std::string::npos);
  CHECK(said.find("rois.h5") != std::string::npos);
}
