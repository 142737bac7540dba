#include "io/bci_log.hpp"

#include <algorithm>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "io/atomic_output.hpp"
#include "io/error.hpp"

namespace apical {

namespace fs = std::filesystem;

namespace {

const char* kFramesHeader = "frame,time_s,control,cursor,target,trial";
const char* kTrialsHeader = "trial,start_frame,end_frame,outcome,reward_frame";
const char* kEnsembleHeader = "neuron,role,y,x";

// Rows of a CSV file after checking its header; each row split on commas.
std::vector<std::vector<std::string>> read_csv(const fs::path& path, const std::string& header) {
  std::ifstream in(path);
  if (!in) throw file_error(path.string(), "missing (the BCI log needs frames.csv, trials.csv and ensemble.csv)");
  std::string line;
  if (!std::getline(in, line)) throw file_error(path.string(), "is empty");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line != header) throw file_error(path.string(), "header is '" + line + "'; expected '" + header + "'");
  size_t columns = size_t(std::count(header.begin(), header.end(), ',')) + 1;
  std::vector<std::vector<std::string>> rows;
  int number = 1;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::vector<std::string> cells;
    std::stringstream s(line);
    std::string cell;
    while (std::getline(s, cell, ',')) cells.push_back(cell);
    if (cells.size() != columns)
      throw file_error(path.string(), "line " + std::to_string(number) + " has " + std::to_string(cells.size()) +
                                          " values; expected " + std::to_string(columns));
    rows.push_back(std::move(cells));
  }
  return rows;
}

template <typename T> T parse(const std::string& text, const fs::path& path, size_t row, const char* column) {
  std::istringstream s(text);
  T value{};
  s >> value;
  if (s.fail() || !s.eof())
    throw file_error(path.string(), "line " + std::to_string(row + 2) + ": " + column + " '" + text +
                                        "' is not a number");
  return value;
}

void check_position(int value, const fs::path& path, size_t row, const char* column) {
  if (value < 0 || value > 6)
    throw file_error(path.string(), "line " + std::to_string(row + 2) + ": " + column + " " +
                                        std::to_string(value) + " outside positions 0..6");
}

}  // namespace

BciLog read_bci_log(const fs::path& folder) {
  BciLog log;
  fs::path frames_path = folder / "frames.csv";
  auto rows = read_csv(frames_path, kFramesHeader);
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    BciFrameRow f;
    f.frame = parse<int64_t>(r[0], frames_path, i, "frame");
    f.time_s = parse<double>(r[1], frames_path, i, "time_s");
    f.control = parse<double>(r[2], frames_path, i, "control");
    f.cursor = parse<int>(r[3], frames_path, i, "cursor");
    f.target = parse<int>(r[4], frames_path, i, "target");
    f.trial = parse<int>(r[5], frames_path, i, "trial");
    if (f.frame != int64_t(i))
      throw file_error(frames_path.string(), "line " + std::to_string(i + 2) + ": frame " + std::to_string(f.frame) +
                                                 " out of order; expected " + std::to_string(i));
    check_position(f.cursor, frames_path, i, "cursor");
    check_position(f.target, frames_path, i, "target");
    log.frames.push_back(f);
  }
  fs::path trials_path = folder / "trials.csv";
  rows = read_csv(trials_path, kTrialsHeader);
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    BciTrialRow t;
    t.trial = parse<int>(r[0], trials_path, i, "trial");
    t.start_frame = parse<int64_t>(r[1], trials_path, i, "start_frame");
    t.end_frame = parse<int64_t>(r[2], trials_path, i, "end_frame");
    if (r[3] != "hit" && r[3] != "miss")
      throw file_error(trials_path.string(), "line " + std::to_string(i + 2) + ": outcome '" + r[3] +
                                                 "' is neither hit nor miss");
    t.hit = r[3] == "hit";
    t.reward_frame = parse<int64_t>(r[4], trials_path, i, "reward_frame");
    if (t.end_frame < t.start_frame || (t.hit && (t.reward_frame < t.start_frame || t.reward_frame > t.end_frame)) ||
        (!t.hit && t.reward_frame != -1))
      throw file_error(trials_path.string(), "line " + std::to_string(i + 2) +
                                                 ": frames inconsistent (end before start, or reward outside a hit trial)");
    log.trials.push_back(t);
  }
  fs::path ensemble_path = folder / "ensemble.csv";
  rows = read_csv(ensemble_path, kEnsembleHeader);
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    EnsembleRow e;
    e.neuron = parse<int>(r[0], ensemble_path, i, "neuron");
    if (r[1] != "P+" && r[1] != "P-")
      throw file_error(ensemble_path.string(), "line " + std::to_string(i + 2) + ": role '" + r[1] + "' is neither P+ nor P-");
    e.role = r[1] == "P+" ? 1 : -1;
    e.y = parse<float>(r[2], ensemble_path, i, "y");
    e.x = parse<float>(r[3], ensemble_path, i, "x");
    log.ensemble.push_back(e);
  }
  return log;
}

void write_bci_log(const fs::path& folder, const BciLog& log) {
  fs::create_directories(folder);
  std::ostringstream frames, trials, ensemble;
  frames << kFramesHeader << "\n" << std::setprecision(9);
  for (const auto& f : log.frames)
    frames << f.frame << "," << f.time_s << "," << f.control << "," << f.cursor << "," << f.target << "," << f.trial << "\n";
  trials << kTrialsHeader << "\n";
  for (const auto& t : log.trials)
    trials << t.trial << "," << t.start_frame << "," << t.end_frame << "," << (t.hit ? "hit" : "miss") << ","
           << t.reward_frame << "\n";
  ensemble << kEnsembleHeader << "\n" << std::setprecision(7);
  for (const auto& e : log.ensemble)
    ensemble << e.neuron << "," << (e.role > 0 ? "P+" : "P-") << "," << e.y << "," << e.x << "\n";
  write_whole_file(folder / "frames.csv", frames.str());
  write_whole_file(folder / "trials.csv", trials.str());
  write_whole_file(folder / "ensemble.csv", ensemble.str());
}

}  // namespace apical
