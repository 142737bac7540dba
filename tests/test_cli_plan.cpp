// apical plan on a simulated session: machine-readable output, and bounds that hold for the
// peak memory each stage then reports.
#include <catch2/catch.hpp>

#include <map>
#include <regex>
#include <sstream>

#include "tests/test_support.hpp"

using apical::test::run_apical;
using apical::test::TempDir;

namespace {

std::map<std::string, std::string> key_values(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

int peak_rss_mb(const std::string& summary) {
  std::smatch m;
  static const std::regex peak("peak RSS ([0-9]+) MB");
  return std::regex_search(summary, m, peak) ? std::stoi(m[1]) : -1;
}

}  // namespace

TEST_CASE("apical plan prints key=value and JSON per stage, and each stage peaks within its bound", "[cli][plan]") {
  TempDir dir;
  const std::string session = (dir / "s").string();
  auto sim = run_apical("simulate " + session + " -q --height 96 --width 96 --frames 1200 --neurons 8 --distractors 2");
  REQUIRE(sim.exit_code == 0);

  auto before = run_apical("plan " + session + " --threads 2");
  INFO(before.output);
  REQUIRE(before.exit_code == 0);
  auto kv = key_values(before.output);
  CHECK(kv["frames"] == "1200");
  CHECK(kv["height"] == "96");
  CHECK(kv["rois_from"] == "assumed");
  CHECK(kv["regress.config_sections"] == "regress,acquisition");
  auto json = run_apical("plan " + session + " --json");
  CHECK(json.exit_code == 0);
  CHECK(json.output.find("\"register\": {\"mem_mb\": ") != std::string::npos);

  for (const std::string stage : {"register", "segment", "extract", "regress", "figures", "qc"}) {
    // Asked just before the stage runs, as the Snakefile does when it submits the job.
    const std::string threads = stage == "figures" || stage == "qc" ? "1" : "2";
    auto plan = key_values(run_apical("plan " + session + " --threads " + threads).output);
    auto ran = run_apical(stage + " " + session + " --threads " + threads);
    INFO(stage << ": " << ran.output);
    REQUIRE(ran.exit_code == 0);
    const int peak = peak_rss_mb(ran.output);
    REQUIRE(peak > 0);
    CHECK(peak <= std::stoi(plan[stage + ".mem_mb"]));
  }
  CHECK(key_values(run_apical("plan " + session).output)["rois_from"] == "rois.h5");

  auto not_session = run_apical("plan " + (dir / "nothing").string());
  CHECK(not_session.exit_code == 1);
}
