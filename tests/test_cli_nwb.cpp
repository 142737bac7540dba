// apical export / import against NWB: the exported sample session passes the NWB schema
// validator (and files with a required part removed do not), reads back with h5py alone
// equal to apical's own files, imports back to equal traces; a suite2p-style file written by
// h5py imports and the analysis runs on it; bad files give one clear error each.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "io/h5.hpp"
#include "io/h5_matrix.hpp"
#include "io/rois_file.hpp"
#include "tests/test_support.hpp"

using namespace apical;
using apical::test::run_apical;
using apical::test::run_shell;
using apical::test::TempDir;
namespace fs = std::filesystem;

namespace {

const std::string kPython = "/usr/bin/python3";  // Debian's, with python3-h5py and python3-hdmf
const std::string kScripts = std::string(APICAL_SOURCE_DIR) + "/tests/nwb/";
const std::string kValidator = std::string(APICAL_SOURCE_DIR) + "/tools/nwb/nwb_validate.py";

bool python_has(const std::string& module) {
  return run_shell(kPython + " -c 'import " + module + "'").exit_code == 0;
}

const std::string kNwbFacts =
    "[nwb]\nindicator = GCaMP6s\nlocation = M1 (layer 5 somata, layer 1 dendrites)\nsubject-id = mouse1\n"
    "species = Mus musculus\nsession-start-time = 2026-03-02T10:15:00+01:00\n";

// A small simulated session run through regress, with the [nwb] facts in its apical.ini.
std::string analysed_session(const TempDir& dir) {
  const std::string session = (dir / "session").string();
  REQUIRE(run_apical("simulate " + session + " -q --height 128 --width 128 --frames 1500 --neurons 12 --seed 3").exit_code == 0);
  std::ofstream(session + "/apical.ini", std::ios::app) << kNwbFacts;
  const auto run = run_apical("run " + session + " -q --to regress");
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  return session;
}

// A session folder holding only what import needs: apical.ini and the BCI log.
std::string empty_session_like(const std::string& session, const std::string& path) {
  fs::create_directories(path);
  fs::copy_file(session + "/apical.ini", path + "/apical.ini");
  fs::copy(session + "/bci", path + "/bci", fs::copy_options::recursive);
  return path;
}

void require_equal_traces(const std::string& a, const std::string& b, const std::vector<std::string>& names) {
  const h5::File fa = h5::File::open_read(a), fb = h5::File::open_read(b);
  for (int k = 0; fa.root().has("plane" + std::to_string(k)); ++k) {
    const std::string p = "plane" + std::to_string(k);
    for (const std::string& name : names) {
      INFO(p << "/" << name);
      const arma::fmat ma = h5::read_matrix<float>(fa.root().group(p), name), mb = h5::read_matrix<float>(fb.root().group(p), name);
      REQUIRE(ma.n_rows == mb.n_rows);
      REQUIRE(ma.n_cols == mb.n_cols);
      REQUIRE(arma::approx_equal(ma, mb, "absdiff", 0.0f));
    }
  }
}

// Accepted masks of two rois.h5 files are the same pixels with the same weights.
void require_equal_masks(const std::string& a, const std::string& b) {
  const RoiFile ra = accepted_rois(read_rois(a), a), rb = accepted_rois(read_rois(b), b);
  REQUIRE(ra.planes.size() == rb.planes.size());
  for (size_t k = 0; k < ra.planes.size(); ++k) {
    INFO("plane " << k);
    CHECK(ra.planes[k].masks.pixels == rb.planes[k].masks.pixels);
    CHECK(ra.planes[k].masks.weights == rb.planes[k].masks.weights);
    CHECK(ra.planes[k].masks.offsets == rb.planes[k].masks.offsets);
    CHECK(ra.planes[k].masks.kind == rb.planes[k].masks.kind);
  }
}

}  // namespace

TEST_CASE("the exported session passes the NWB validator, and files missing a required part fail it", "[cli][nwb]") {
  if (!python_has("hdmf") || !python_has("h5py")) {
    WARN("python3-hdmf or python3-h5py missing (scripts/install-deps.sh installs them): NWB validation skipped");
    return;
  }
  TempDir dir;
  const std::string session = analysed_session(dir), nwb = (dir / "session.nwb").string();
  const auto exported = run_apical("export " + session + " --nwb " + nwb);
  INFO(exported.output);
  REQUIRE(exported.exit_code == 0);
  const auto valid = run_shell(kPython + " " + kValidator + " " + nwb);
  INFO(valid.output);
  REQUIRE(valid.exit_code == 0);
  CHECK(valid.output.find("valid") != std::string::npos);
  // Each removal breaks one requirement of the schema; the validator must notice every one.
  const std::vector<std::pair<std::string, std::string>> removals = {
      {"del f['identifier']", "identifier"},
      {"del f['general/optophysiology/ImagingPlane_plane0/indicator']", "indicator"},
      {"del f['processing/ophys/Fluorescence/F_plane0/rois']", "rois"},
      {"del f['acquisition/TwoPhotonSeries_plane0/imaging_plane']", "imaging_plane"},
      {"del f['processing/ophys/DfOverF/DfOverF_plane1/data'].attrs['unit']", "unit"},
      {"del f['intervals/trials/start_time']", "start_time"},
  };
  for (const auto& [removal, named] : removals) {
    INFO(removal);
    const std::string broken = (dir / "broken.nwb").string();
    fs::copy_file(nwb, broken, fs::copy_options::overwrite_existing);
    REQUIRE(run_shell(kPython + " -c \"import h5py; f = h5py.File('" + broken + "', 'a'); " + removal + "\"").exit_code == 0);
    const auto result = run_shell(kPython + " " + kValidator + " " + broken);
    INFO(result.output);
    CHECK(result.exit_code == 1);
    CHECK(result.output.find(named) != std::string::npos);
  }
}

TEST_CASE("the exported NWB read with h5py alone equals apical's traces, masks, movie, trials and pairs", "[cli][nwb]") {
  if (!python_has("h5py")) {
    WARN("python3-h5py missing: skipped");
    return;
  }
  TempDir dir;
  const std::string session = analysed_session(dir);
  for (const std::string mode : {"", " --include-movie"}) {
    INFO("export" << mode);
    fs::create_directories(dir / "elsewhere");
    const std::string nwb = (dir / "elsewhere" / "session.nwb").string();  // the movie link is relative
    REQUIRE(run_apical("export " + session + " --force --nwb " + nwb + mode).exit_code == 0);
    const auto back = run_shell("cd / && " + kPython + " " + kScripts + "read_back.py " + nwb + " " + session);
    INFO(back.output);
    REQUIRE(back.exit_code == 0);
    CHECK(back.output.find("equal") != std::string::npos);
  }
}

TEST_CASE("export then import gives traces and masks equal to the originals, and regress runs on them", "[cli][nwb]") {
  TempDir dir;
  const std::string session = analysed_session(dir), nwb = (dir / "session.nwb").string();
  REQUIRE(run_apical("export " + session + " --nwb " + nwb).exit_code == 0);
  const std::string copy = empty_session_like(session, (dir / "imported").string());
  const auto imported = run_apical("import " + copy + " --nwb " + nwb);
  INFO(imported.output);
  REQUIRE(imported.exit_code == 0);
  require_equal_traces(session + "/apical/traces.h5", copy + "/apical/traces.h5", {"F", "Fneu", "dff"});
  require_equal_masks(session + "/apical/rois.h5", copy + "/apical/rois.h5");
  const RoiFile original = read_rois(session + "/apical/rois.h5"), again = read_rois(copy + "/apical/rois.h5");
  REQUIRE(again.pairs.size() == original.pairs.size());
  for (size_t i = 0; i < original.pairs.size(); ++i) {
    CHECK(again.pairs[i].soma_roi == original.pairs[i].soma_roi);
    CHECK(again.pairs[i].dendrite_roi == original.pairs[i].dendrite_roi);
  }
  const h5::File rois = h5::File::open_read(copy + "/apical/rois.h5");
  CHECK(rois.root().string_attribute("inputs").value_or("").find(nwb) != std::string::npos);  // provenance names the NWB
  const auto run = run_apical("run " + copy + " -q --from regress --to regress");
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  CHECK(fs::exists(copy + "/apical/regress.h5"));
}

TEST_CASE("a suite2p-style NWB written by h5py imports to apical's masks and traces, and apical run finishes regress",
          "[cli][nwb]") {
  if (!python_has("h5py")) {
    WARN("python3-h5py missing: skipped");
    return;
  }
  TempDir dir;
  const std::string session = analysed_session(dir), nwb = (dir / "suite2p.nwb").string();
  const auto written = run_shell(kPython + " " + kScripts + "suite2p_style.py " + session + " " + nwb);
  INFO(written.output);
  REQUIRE(written.exit_code == 0);
  const std::string copy = empty_session_like(session, (dir / "from_suite2p").string());
  const auto imported = run_apical("import " + copy + " --nwb " + nwb);
  INFO(imported.output);
  REQUIRE(imported.exit_code == 0);
  require_equal_masks(session + "/apical/rois.h5", copy + "/apical/rois.h5");
  // No DfOverF in the file: dF/F is computed as extract computes it (r = 0.7, same baseline).
  require_equal_traces(session + "/apical/traces.h5", copy + "/apical/traces.h5", {"F", "Fneu", "dff"});
  const auto run = run_apical("run " + copy + " -q --from regress --to regress");
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  CHECK(fs::exists(copy + "/apical/regress.h5"));
}

TEST_CASE("bad NWB files and missing facts are one clear error naming the file and the problem", "[cli][nwb]") {
  if (!python_has("h5py")) {
    WARN("python3-h5py missing: skipped");
    return;
  }
  TempDir dir;
  const std::string session = analysed_session(dir);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"no-rois", "holds no ROIs"},
      {"count-mismatch", "data holds traces of"},
      {"voxel-mask", "unknown mask type"},
  };
  for (const auto& [broken, message] : cases) {
    INFO(broken);
    const std::string nwb = (dir / (broken + ".nwb")).string();
    REQUIRE(run_shell(kPython + " " + kScripts + "suite2p_style.py " + session + " " + nwb + " " + broken).exit_code == 0);
    const std::string copy = empty_session_like(session, (dir / broken).string());
    const auto result = run_apical("import " + copy + " --nwb " + nwb);
    INFO(result.output);
    CHECK(result.exit_code == 1);
    CHECK(result.output.find(nwb + ": ") != std::string::npos);
    CHECK(result.output.find(message) != std::string::npos);
    CHECK_FALSE(fs::exists(copy + "/apical/rois.h5"));  // no partial output
    CHECK_FALSE(fs::exists(copy + "/apical/traces.h5"));
  }
  // A fact NWB requires and apical.ini lacks names its key.
  const std::string bare = empty_session_like(session, (dir / "bare").string());
  fs::copy(session + "/apical", bare + "/apical", fs::copy_options::recursive);
  std::ofstream(bare + "/apical.ini", std::ios::trunc) << "[acquisition]\nroles = soma,dendrite\n";
  const auto missing = run_apical("export " + bare + " --nwb " + (dir / "x.nwb").string());
  INFO(missing.output);
  CHECK(missing.exit_code == 1);
  CHECK(missing.output.find("[nwb] indicator is missing") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "x.nwb"));
}
