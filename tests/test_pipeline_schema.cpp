// Every output explains itself: a pipeline run's files hold no dataset without units, a
// description and dimension labels, enumerations carry labels, every file carries its
// timebase. (That docs/file-formats.md prints the schema is checked in test_cli_docs.cpp.)
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "io/h5.hpp"
#include "io/schema.hpp"
#include "tests/test_support.hpp"

using namespace apical;
using apical::test::run_apical;
using apical::test::TempDir;
namespace fs = std::filesystem;

namespace {

// Every problem with one file's self-description, one line each.
std::vector<std::string> undescribed(const std::string& path) {
  std::vector<std::string> problems;
  h5::File file = h5::File::open_read(path);
  const h5::Group root = file.root();
  for (const char* attr : {"frame_rate_hz", "pixel_size_um"})
    if (!root.number_attribute(attr)) problems.push_back(path + ": no root attribute " + attr);
  if (!root.has("timestamps")) problems.push_back(path + ": no /timestamps");
  const std::regex iso(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)");
  if (!std::regex_match(root.string_attribute("created_utc").value_or(""), iso))
    problems.push_back(path + ": created_utc is not ISO-8601");
  for (const std::string& name : root.dataset_paths()) {
    const h5::Dataset ds = root.dataset(name);
    for (const char* attr : {"units", "description"})
      if (ds.string_attribute(attr).value_or("").empty()) problems.push_back(path + ":" + name + " has no " + attr);
    if (!ds.dimension_labels_complete()) problems.push_back(path + ":" + name + " lacks dimension labels");
  }
  return problems;
}

}  // namespace

TEST_CASE("every dataset of every output of a pipeline run has units, a description and dimension labels",
          "[schema][pipeline]") {
  TempDir dir("apical_schema");
  const std::string session = (dir / "s").string();
  REQUIRE(run_apical("simulate " + session + " -q --height 96 --width 96 --frames 1200 --neurons 8 --distractors 2")
              .exit_code == 0);
  const auto run = run_apical("run " + session + " -q");
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  std::vector<std::string> problems;
  for (const char* f : {"registered.h5", "rois.h5", "traces.h5", "regress.h5"}) {
    const auto p = undescribed((fs::path(session) / "apical" / f).string());
    problems.insert(problems.end(), p.begin(), p.end());
  }
  const auto p = undescribed(session + ".truth.h5");
  problems.insert(problems.end(), p.begin(), p.end());
  for (const auto& line : problems) UNSCOPED_INFO(line);
  CHECK(problems.empty());

  // Enumerations are labelled, and strings read back as text.
  h5::File regress = h5::File::open_read((fs::path(session) / "apical" / "regress.h5").string());
  CHECK(regress.root().dataset("neurons/role").string_attribute("labels").value_or("").find("P+") != std::string::npos);
  CHECK(regress.root().dataset("events/outcome").string_attribute("labels").value_or("").find("hit") != std::string::npos);
  // The timebase: the BCI log's clock, one time per frame.
  const auto times = regress.root().read<double>("timestamps");
  REQUIRE(times.size() == 1200);
  CHECK(times[30] == Approx(1.0).margin(1e-6));  // the simulator's 30 Hz clock
}
