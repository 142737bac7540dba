#pragma once
// The BCI log of a session (DESIGN §3): bci/frames.csv, bci/trials.csv, bci/ensemble.csv.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace apical {

struct BciFrameRow {
  int64_t frame = 0;
  double time_s = 0;
  double control = 0;
  int cursor = 0;  // position 0..6
  int target = 0;  // position 0..6
  int trial = -1;  // -1 between trials
};

struct BciTrialRow {
  int trial = 0;
  int64_t start_frame = 0;
  int64_t end_frame = 0;
  bool hit = false;            // outcome "hit" (reward) or "miss" (timeout, error)
  int64_t reward_frame = -1;   // -1 for a miss
};

struct EnsembleRow {
  int neuron = 0;
  int role = 0;  // +1 "P+", -1 "P-"
  float y = 0;   // soma centroid, soma-plane px
  float x = 0;
};

struct BciLog {
  std::vector<BciFrameRow> frames;
  std::vector<BciTrialRow> trials;
  std::vector<EnsembleRow> ensemble;
};

// Reads the three files from `folder` (the session's bci/). InputError naming file and line
// for a missing file, a wrong header, a bad value or frames out of order.
BciLog read_bci_log(const std::filesystem::path& folder);
// Writes the three CSV files into `folder` (created if needed).
void write_bci_log(const std::filesystem::path& folder, const BciLog& log);

}  // namespace apical
