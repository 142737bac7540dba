// apical curate on a simulated session: the decisions reach rois.h5, apical run --update
// re-extracts from the curated ROIs and keeps them (segment is not re-run over them), and a
// segment with other parameters makes the ROIs again.
#include <catch2/catch.hpp>

#include <fstream>

#include "io/rois_file.hpp"
#include "io/traces_file.hpp"
#include "pipeline/curate/curate.hpp"
#include "tests/test_support.hpp"

using apical::test::run_apical;
using apical::test::TempDir;
namespace fs = std::filesystem;

namespace {

// A small session segmented and extracted (about a second).
std::string extracted_session(const TempDir& dir) {
  const std::string session = (dir / "s").string();
  REQUIRE(run_apical("simulate " + session + " -q --height 96 --width 96 --frames 300 --neurons 8 --seed 3").exit_code == 0);
  REQUIRE(run_apical("run " + session + " -q --to extract").exit_code == 0);
  return session;
}

}  // namespace

TEST_CASE("apical run --update after apical curate re-extracts the curated ROIs and keeps the curation",
          "[cli][curate]") {
  TempDir dir;
  const std::string session = extracted_session(dir);
  const std::string rois_path = session + "/apical/rois.h5", traces_path = session + "/apical/traces.h5";
  const apical::RoiFile before = apical::read_rois(rois_path);
  const size_t accepted_before = before.planes[0].accepted_count();
  REQUIRE(accepted_before >= 2);
  REQUIRE(apical::read_traces(traces_path)[0].rois == accepted_before);
  // Reject the first two accepted somata; the page's identity of this rois.h5 comes along.
  const apical::CuratedRoisIdentity identity =
      apical::rois_identity(apical::read_provenance(rois_path).created_utc, before);
  const std::string decisions = (dir / "decisions.json").string();
  std::ofstream(decisions) << apical::curation_json({identity, {{0, 0, false}, {0, 1, false}}});

  auto curated = run_apical("curate " + session + " " + decisions);
  INFO(curated.output);
  REQUIRE(curated.exit_code == 0);
  CHECK(curated.output.find("-> " + rois_path) != std::string::npos);
  CHECK(apical::read_rois(rois_path).planes[0].accepted_count() == accepted_before - 2);

  auto update = run_apical("run " + session + " --update --to extract");
  INFO(update.output);
  REQUIRE(update.exit_code == 0);
  CHECK(update.output.find("rois.h5 is up to date (curated by hand") != std::string::npos);
  const apical::RoiFile after = apical::read_rois(rois_path);
  CHECK(after.planes[0].accepted_count() == accepted_before - 2);  // segment kept it
  CHECK(apical::read_provenance(rois_path).command_line.find("apical curate") != std::string::npos);
  CHECK(apical::read_traces(traces_path)[0].rois == accepted_before - 2);  // extract re-ran on it
  CHECK(apical::read_provenance(traces_path).input_provenance.find("apical curate") != std::string::npos);

  // The same decisions again: refused, they were made on the rois.h5 before curation.
  auto again = run_apical("curate " + session + " " + decisions);
  CHECK(again.exit_code == 1);
  CHECK(again.output.find("was decided on another rois.h5") != std::string::npos);

  // Other segment parameters: new candidates, the curation is gone, and the run says so.
  auto resegment = run_apical("segment " + session + " --update --soma-threshold 5");
  INFO(resegment.output);
  CHECK(resegment.output.find("curated by hand") != std::string::npos);
  CHECK(apical::read_provenance(rois_path).command_line.find("apical curate") == std::string::npos);
}

TEST_CASE("apical curate reports a session without rois.h5 and a missing decisions file", "[cli][curate]") {
  TempDir dir;
  fs::create_directories(dir / "s" / "raw");
  std::ofstream(dir / "d.json") << "{\"decisions\": []}";
  auto no_rois = run_apical("curate " + (dir / "s").string() + " " + (dir / "d.json").string());
  CHECK(no_rois.exit_code == 1);
  CHECK(no_rois.output.find("rois.h5: not found") != std::string::npos);
  auto no_file = run_apical("curate " + (dir / "s").string());
  CHECK(no_file.exit_code == 1);
  CHECK(no_file.output.find("decisions") != std::string::npos);
}
