// Extra named columns of bci/frames.csv (issue 14 §1): read as numbers per frame, written
// back in order; a bad name or value is an InputError naming the file (and the line).
#include <catch2/catch.hpp>

#include <fstream>

#include "io/bci_log.hpp"
#include "io/error.hpp"
#include "tests/test_support.hpp"

using namespace apical;
using apical::test::TempDir;
namespace fs = std::filesystem;

namespace {

// Five frames with `header_extra` columns and `cell_extra` values on every row.
void write_log(const fs::path& folder, const std::string& header_extra, const std::string& cell_extra) {
  fs::create_directories(folder);
  std::ofstream frames(folder / "frames.csv");
  frames << "frame,time_s,control,cursor,target,trial" << header_extra << "\n";
  for (int t = 0; t < 5; ++t) frames << t << ",0,0,0,4,-1" << cell_extra << "\n";
  std::ofstream(folder / "trials.csv") << "trial,start_frame,end_frame,outcome,reward_frame\n";
  std::ofstream(folder / "ensemble.csv") << "neuron,role,y,x\n";
}

std::string error_of(const std::string& header_extra, const std::string& cell_extra) {
  TempDir dir;
  write_log(dir / "bci", header_extra, cell_extra);
  try {
    read_bci_log(dir / "bci");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("extra frames.csv columns are read per frame and written back in order", "[io][bci]") {
  TempDir dir;
  write_log(dir / "bci", ",opto,laser_mw", ",1,2.5");
  const BciLog log = read_bci_log(dir / "bci");
  REQUIRE(log.extra_columns == std::vector<std::string>{"opto", "laser_mw"});
  for (const BciFrameRow& f : log.frames) CHECK(f.extra == std::vector<double>{1.0, 2.5});
  write_bci_log(dir / "copy", log);
  std::ifstream in(dir / "copy" / "frames.csv");
  std::string header, row;
  std::getline(in, header);
  std::getline(in, row);
  CHECK(header == "frame,time_s,control,cursor,target,trial,opto,laser_mw");
  CHECK(row == "0,0,0,0,4,-1,1,2.5");
  CHECK(read_bci_log(dir / "copy").frames[4].extra == std::vector<double>{1.0, 2.5});
}

TEST_CASE("a log without extra columns has none", "[io][bci]") {
  TempDir dir;
  write_log(dir / "bci", "", "");
  CHECK(read_bci_log(dir / "bci").extra_columns.empty());
}

TEST_CASE("bad extra columns are InputErrors naming frames.csv and the problem", "[io][bci]") {
  CHECK_THAT(error_of(",opto,opto", ",1,1"), Catch::Contains("frames.csv") && Catch::Contains("names column 'opto' twice"));
  CHECK_THAT(error_of(",trial", ",1"), Catch::Contains("names column 'trial' twice"));
  CHECK_THAT(error_of(",2nd", ",1"), Catch::Contains("'2nd' is not a name"));
  CHECK_THAT(error_of(",", ","), Catch::Contains("'' is not a name"));
  CHECK_THAT(error_of(",opto", ",on"), Catch::Contains("line 2") && Catch::Contains("opto 'on' is not a number"));
  CHECK_THAT(error_of(",opto", ",nan"), Catch::Contains("opto 'nan' is not"));
  CHECK_THAT(error_of(",opto", ""), Catch::Contains("line 2 has 6 values; expected 7"));
  CHECK_THAT(error_of("x", ""), Catch::Contains("header is"));
}
