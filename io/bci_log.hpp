#pragma once
// The BCI log of a session (docs/DESIGN.md §3): bci/frames.csv, bci/trials.csv, bci/ensemble.csv.
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
  std::vector<double> extra;  // values of BciLog::extra_columns, in that order
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
  // Named columns of frames.csv after the six standard ones (e.g. "opto", 0/1 per frame).
  std::vector<std::string> extra_columns;
  std::vector<BciTrialRow> trials;
  std::vector<EnsembleRow> ensemble;
  // Where it was read from, and each row's line in its file (for messages; empty when built).
  std::filesystem::path folder;
  std::vector<int> frame_lines, trial_lines, ensemble_lines;
};

// Reads the three files from `folder` (the session's bci/). frames.csv may carry extra named
// numeric columns after the standard six (names: letters, digits, '_', not starting with a
// digit; unique). InputError naming the file and line for: a missing file, a wrong header, a bad or non-finite value; frames missing,
// repeated or out of order; cursor or target outside 0..6; a trial ending before it starts,
// overlapping or preceding the previous trial, or repeating its id; a hit's reward frame
// outside its trial, a miss with a reward frame; an ensemble neuron at a negative position,
// or repeating its id.
BciLog read_bci_log(const std::filesystem::path& folder);
// Checks a log read by read_bci_log against the imaging (`frames` frames of height x width
// px in the soma plane): InputError naming the file and line for a trial reaching beyond
// the movie or an ensemble neuron outside the field.
void check_bci_log_fits(const BciLog& log, int64_t frames, int height, int width);
// Writes the three CSV files into `folder` (created if needed).
void write_bci_log(const std::filesystem::path& folder, const BciLog& log);

}  // namespace apical
