// The BCI log's remaining fields under bad input: each problem is an InputError naming the
// file and the line (and what is wrong), never a log accepted silently.
#include <catch2/catch.hpp>

#include <fstream>
#include <regex>

#include "io/bci_log.hpp"
#include "io/error.hpp"
#include "tests/test_support.hpp"

using namespace apical;
using apical::test::TempDir;
namespace fs = std::filesystem;

namespace {

// A consistent log: 20 frames, two trials (a hit rewarded at frame 7, a miss), two neurons.
struct LogText {
  std::string frames = "frame,time_s,control,cursor,target,trial\n";
  std::string trials =
      "trial,start_frame,end_frame,outcome,reward_frame\n"
      "0,2,8,hit,7\n"
      "1,10,18,miss,-1\n";
  std::string ensemble =
      "neuron,role,y,x\n"
      "3,P+,40.5,60\n"
      "8,P-,100,20.25\n";
  LogText() {
    for (int t = 0; t < 20; ++t)
      frames += std::to_string(t) + "," + std::to_string(t / 30.0) + ",0.5,3,5," +
                (t >= 2 && t <= 8 ? "0" : t >= 10 && t <= 18 ? "1" : "-1") + "\n";
  }
  void write(const fs::path& folder) const {
    fs::create_directories(folder);
    std::ofstream(folder / "frames.csv") << frames;
    std::ofstream(folder / "trials.csv") << trials;
    std::ofstream(folder / "ensemble.csv") << ensemble;
  }
};

// The message of the InputError that reading (and fitting to a 20-frame 160x160 movie) gives.
std::string error_of(const LogText& text) {
  TempDir dir;
  text.write(dir / "bci");
  try {
    BciLog log = read_bci_log(dir / "bci");
    check_bci_log_fits(log, 20, 160, 160);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("a consistent BCI log is read whole, with each row's line", "[io][bci]") {
  TempDir dir;
  LogText().write(dir / "bci");
  BciLog log = read_bci_log(dir / "bci");
  REQUIRE_NOTHROW(check_bci_log_fits(log, 20, 160, 160));
  CHECK(log.frames.size() == 20);
  REQUIRE(log.trials.size() == 2);
  CHECK(log.trials[0].reward_frame == 7);
  CHECK(log.trial_lines == std::vector<int>{2, 3});
  REQUIRE(log.ensemble.size() == 2);
  CHECK(log.ensemble[1].x == 20.25f);
  CHECK(log.ensemble_lines == std::vector<int>{2, 3});
}

TEST_CASE("overlapping trials are an error naming trials.csv, the line and the earlier trial", "[io][bci]") {
  LogText text;
  text.trials = replaced(text.trials, "1,10,18,miss", "1,8,18,miss");
  const std::string message = error_of(text);
  CHECK_THAT(message, Catch::Contains("trials.csv: line 3:") && Catch::Contains("trial 1 starts at frame 8") &&
                          Catch::Contains("previous trial (2..8, line 2)") && Catch::Contains("must not overlap"));
}

TEST_CASE("trials out of order are an error (a later line starting earlier)", "[io][bci]") {
  LogText text;
  text.trials = "trial,start_frame,end_frame,outcome,reward_frame\n1,10,18,miss,-1\n0,2,8,hit,7\n";
  CHECK_THAT(error_of(text), Catch::Contains("trials.csv: line 3:") && Catch::Contains("must not overlap and must be in order"));
}

TEST_CASE("a trial beyond the movie's frames is an error naming the line and the movie length", "[io][bci]") {
  LogText text;
  text.trials = replaced(text.trials, "1,10,18,miss", "1,10,25,miss");
  CHECK_THAT(error_of(text), Catch::Contains("trials.csv: line 3:") &&
                                 Catch::Contains("ends at frame 25, beyond the movie's 20 frames (0..19)"));
  text = LogText();
  text.trials = replaced(text.trials, "0,2,8,hit,7", "0,-4,8,hit,7");
  CHECK_THAT(error_of(text), Catch::Contains("trials.csv: line 2: start_frame -4 is negative"));
}

TEST_CASE("a reward frame outside its trial is an error naming the line and the trial's frames", "[io][bci]") {
  LogText text;
  text.trials = replaced(text.trials, "0,2,8,hit,7", "0,2,8,hit,9");
  CHECK_THAT(error_of(text), Catch::Contains("trials.csv: line 2: reward_frame 9 lies outside its trial's frames 2..8"));
  text = LogText();
  text.trials = replaced(text.trials, "1,10,18,miss,-1", "1,10,18,miss,12");
  CHECK_THAT(error_of(text), Catch::Contains("trials.csv: line 3: a miss has reward_frame 12; expected -1"));
  text = LogText();
  text.trials = replaced(text.trials, "0,2,8,hit,7", "0,8,2,hit,7");
  CHECK_THAT(error_of(text), Catch::Contains("trials.csv: line 2: end_frame comes before start_frame"));
}

TEST_CASE("a repeated trial id is an error naming both lines", "[io][bci]") {
  LogText text;
  text.trials = replaced(text.trials, "1,10,18,miss", "0,10,18,miss");
  CHECK_THAT(error_of(text), Catch::Contains("trials.csv: line 3: trial 0 appears again (first on line 2)"));
}

TEST_CASE("an ensemble neuron outside the field is an error naming ensemble.csv, the line and the field", "[io][bci]") {
  LogText text;
  text.ensemble = replaced(text.ensemble, "8,P-,100,20.25", "8,P-,9999,20.25");
  CHECK_THAT(error_of(text), Catch::Contains("ensemble.csv: line 3: neuron 8 at y,x 9999") &&
                                 Catch::Contains("outside the 160x160 px soma-plane field"));
  text = LogText();
  text.ensemble = replaced(text.ensemble, "3,P+,40.5,60", "3,P+,40.5,160");  // x = W is one past the edge
  CHECK_THAT(error_of(text), Catch::Contains("ensemble.csv: line 2: neuron 3"));
  text = LogText();
  text.ensemble = replaced(text.ensemble, "3,P+,40.5,60", "3,P+,-1,60");
  CHECK_THAT(error_of(text), Catch::Contains("ensemble.csv: line 2: neuron 3 at y,x -1,60 lies outside the field"));
  text = LogText();
  text.ensemble = replaced(text.ensemble, "3,P+,40.5,60", "3,P+,nan,60");
  CHECK_THAT(error_of(text), Catch::Contains("ensemble.csv: line 2: y 'nan'"));
}

TEST_CASE("a repeated ensemble neuron id is an error naming both lines", "[io][bci]") {
  LogText text;
  text.ensemble = replaced(text.ensemble, "8,P-,100,20.25", "3,P-,100,20.25");
  CHECK_THAT(error_of(text), Catch::Contains("ensemble.csv: line 3: neuron 3 appears again (first on line 2)"));
}

TEST_CASE("line numbers count blank lines, so the line named is the line in the file", "[io][bci]") {
  LogText text;
  text.ensemble = "neuron,role,y,x\n\n3,P+,40.5,60\n\n8,P-,9999,20.25\n";
  CHECK_THAT(error_of(text), Catch::Contains("ensemble.csv: line 5:"));
}

TEST_CASE("a time or control that is not a finite number is an error naming frames.csv and the line", "[io][bci]") {
  LogText text;
  text.frames = replaced(text.frames, "\n4,0.133333,", "\n4,inf,");
  CHECK_THAT(error_of(text), Catch::Contains("frames.csv: line 6: time_s 'inf'"));
  text = LogText();
  text.frames = replaced(text.frames, "\n5,0.166667,0.5,", "\n5,0.166667,1e999,");
  CHECK_THAT(error_of(text), Catch::Contains("frames.csv: line 7: control '1e999'"));
}
