#include "io/bci_log.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <type_traits>
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

// One data row of a CSV file: its line number in the file (1 = the header) and its cells.
struct CsvRow {
  int line = 0;
  std::vector<std::string> cells;
};

std::vector<std::string> split_commas(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream s(line);
  std::string cell;
  while (std::getline(s, cell, ',')) cells.push_back(cell);
  if (!line.empty() && line.back() == ',') cells.push_back("");  // a last, empty cell
  return cells;
}

bool is_column_name(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

// Named columns after `header` (frames.csv only); the header must start with `header`.
std::vector<std::string> extra_columns(const fs::path& path, const std::string& line, const std::string& header) {
  const bool exact = line == header;
  if (!exact && line.rfind(header + ",", 0) != 0)
    throw file_error(path.string(), "header is '" + line + "'; expected '" + header + "'");
  if (exact) return {};
  const std::string rest = line.substr(header.size() + 1);
  std::vector<std::string> names = rest.empty() ? std::vector<std::string>{""} : split_commas(rest);
  std::vector<std::string> seen = split_commas(header);
  for (const std::string& name : names) {
    if (!is_column_name(name))
      throw file_error(path.string(), "header column '" + name + "' is not a name (letters, digits, '_')");
    if (std::find(seen.begin(), seen.end(), name) != seen.end())
      throw file_error(path.string(), "header names column '" + name + "' twice");
    seen.push_back(name);
  }
  return names;
}

// Rows of a CSV file after checking its header; each row split on commas. With `extras`,
// named columns after the standard ones are allowed and returned there.
std::vector<CsvRow> read_csv(const fs::path& path, const std::string& header,
                             std::vector<std::string>* extras = nullptr) {
  std::ifstream in(path);
  if (!in) throw file_error(path.string(), "missing (the BCI log needs frames.csv, trials.csv and ensemble.csv)");
  std::string line;
  if (!std::getline(in, line)) throw file_error(path.string(), "is empty");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (extras) *extras = extra_columns(path, line, header);
  else if (line != header) throw file_error(path.string(), "header is '" + line + "'; expected '" + header + "'");
  size_t columns = size_t(std::count(header.begin(), header.end(), ',')) + 1 + (extras ? extras->size() : 0);
  std::vector<CsvRow> rows;
  int number = 1;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    CsvRow row{number, split_commas(line)};
    if (row.cells.size() != columns)
      throw file_error(path.string(), "line " + std::to_string(number) + " has " + std::to_string(row.cells.size()) +
                                          " values; expected " + std::to_string(columns));
    rows.push_back(std::move(row));
  }
  return rows;
}

InputError line_error(const fs::path& path, int line, const std::string& problem) {
  return file_error(path.string(), "line " + std::to_string(line) + ": " + problem);
}

template <typename T> T parse(const std::string& text, const fs::path& path, int line, const char* column) {
  std::istringstream s(text);
  T value{};
  s >> value;
  if (s.fail() || !s.eof()) throw line_error(path, line, std::string(column) + " '" + text + "' is not a number");
  if constexpr (std::is_floating_point_v<T>)
    if (!std::isfinite(value)) throw line_error(path, line, std::string(column) + " '" + text + "' is not finite");
  return value;
}

void check_position(int value, const fs::path& path, int line, const char* column) {
  if (value < 0 || value > 6)
    throw line_error(path, line, std::string(column) + " " + std::to_string(value) + " outside positions 0..6");
}

std::vector<BciFrameRow> read_frames(const fs::path& path, std::vector<int>& lines,
                                     std::vector<std::string>& extras) {
  std::vector<BciFrameRow> frames;
  for (const CsvRow& row : read_csv(path, kFramesHeader, &extras)) {
    const auto& r = row.cells;
    BciFrameRow f;
    f.frame = parse<int64_t>(r[0], path, row.line, "frame");
    f.time_s = parse<double>(r[1], path, row.line, "time_s");
    f.control = parse<double>(r[2], path, row.line, "control");
    f.cursor = parse<int>(r[3], path, row.line, "cursor");
    f.target = parse<int>(r[4], path, row.line, "target");
    f.trial = parse<int>(r[5], path, row.line, "trial");
    for (size_t c = 0; c < extras.size(); ++c) f.extra.push_back(parse<double>(r[6 + c], path, row.line, extras[c].c_str()));
    if (f.frame != int64_t(frames.size()))
      throw line_error(path, row.line, "frame " + std::to_string(f.frame) + " out of order; expected " +
                                           std::to_string(frames.size()));
    check_position(f.cursor, path, row.line, "cursor");
    check_position(f.target, path, row.line, "target");
    frames.push_back(f);
    lines.push_back(row.line);
  }
  return frames;
}

void check_trial_frames(const BciTrialRow& t, const fs::path& path, int line) {
  const std::string span = std::to_string(t.start_frame) + ".." + std::to_string(t.end_frame);
  if (t.start_frame < 0) throw line_error(path, line, "start_frame " + std::to_string(t.start_frame) + " is negative");
  if (t.end_frame < t.start_frame) throw line_error(path, line, "end_frame comes before start_frame (" + span + ")");
  if (t.hit && (t.reward_frame < t.start_frame || t.reward_frame > t.end_frame))
    throw line_error(path, line, "reward_frame " + std::to_string(t.reward_frame) + " lies outside its trial's frames " +
                                     span);
  if (!t.hit && t.reward_frame != -1)
    throw line_error(path, line, "a miss has reward_frame " + std::to_string(t.reward_frame) + "; expected -1");
}

std::vector<BciTrialRow> read_trials(const fs::path& path, std::vector<int>& lines) {
  std::vector<BciTrialRow> trials;
  std::map<int, int> line_of_trial;
  for (const CsvRow& row : read_csv(path, kTrialsHeader)) {
    const auto& r = row.cells;
    BciTrialRow t;
    t.trial = parse<int>(r[0], path, row.line, "trial");
    t.start_frame = parse<int64_t>(r[1], path, row.line, "start_frame");
    t.end_frame = parse<int64_t>(r[2], path, row.line, "end_frame");
    if (r[3] != "hit" && r[3] != "miss") throw line_error(path, row.line, "outcome '" + r[3] + "' is neither hit nor miss");
    t.hit = r[3] == "hit";
    t.reward_frame = parse<int64_t>(r[4], path, row.line, "reward_frame");
    check_trial_frames(t, path, row.line);
    if (auto [it, fresh] = line_of_trial.emplace(t.trial, row.line); !fresh)
      throw line_error(path, row.line, "trial " + std::to_string(t.trial) + " appears again (first on line " +
                                           std::to_string(it->second) + ")");
    // A frame in two trials would count its events, and its reward, twice.
    if (!trials.empty() && t.start_frame <= trials.back().end_frame)
      throw line_error(path, row.line, "trial " + std::to_string(t.trial) + " starts at frame " +
                                           std::to_string(t.start_frame) + ", inside or before the previous trial (" +
                                           std::to_string(trials.back().start_frame) + ".." +
                                           std::to_string(trials.back().end_frame) + ", line " +
                                           std::to_string(lines.back()) + "): trials must not overlap and must be in order");
    trials.push_back(t);
    lines.push_back(row.line);
  }
  return trials;
}

std::vector<EnsembleRow> read_ensemble(const fs::path& path, std::vector<int>& lines) {
  std::vector<EnsembleRow> ensemble;
  std::map<int, int> line_of_neuron;
  for (const CsvRow& row : read_csv(path, kEnsembleHeader)) {
    const auto& r = row.cells;
    EnsembleRow e;
    e.neuron = parse<int>(r[0], path, row.line, "neuron");
    if (r[1] != "P+" && r[1] != "P-") throw line_error(path, row.line, "role '" + r[1] + "' is neither P+ nor P-");
    e.role = r[1] == "P+" ? 1 : -1;
    e.y = parse<float>(r[2], path, row.line, "y");
    e.x = parse<float>(r[3], path, row.line, "x");
    if (e.y < 0 || e.x < 0)
      throw line_error(path, row.line, "neuron " + std::to_string(e.neuron) + " at y,x " + r[2] + "," + r[3] +
                                           " lies outside the field (negative position)");
    // One id with two positions (or roles) would give one neuron two roles.
    if (auto [it, fresh] = line_of_neuron.emplace(e.neuron, row.line); !fresh)
      throw line_error(path, row.line, "neuron " + std::to_string(e.neuron) + " appears again (first on line " +
                                           std::to_string(it->second) + ")");
    ensemble.push_back(e);
    lines.push_back(row.line);
  }
  return ensemble;
}

}  // namespace

BciLog read_bci_log(const fs::path& folder) {
  BciLog log;
  log.folder = folder;
  log.frames = read_frames(folder / "frames.csv", log.frame_lines, log.extra_columns);
  log.trials = read_trials(folder / "trials.csv", log.trial_lines);
  log.ensemble = read_ensemble(folder / "ensemble.csv", log.ensemble_lines);
  return log;
}

void check_bci_log_fits(const BciLog& log, int64_t frames, int height, int width) {
  const fs::path trials = log.folder / "trials.csv";
  for (size_t i = 0; i < log.trials.size(); ++i)
    if (log.trials[i].end_frame >= frames)
      throw line_error(trials, log.trial_lines.at(i),
                       "trial " + std::to_string(log.trials[i].trial) + " ends at frame " +
                           std::to_string(log.trials[i].end_frame) + ", beyond the movie's " + std::to_string(frames) +
                           " frames (0.." + std::to_string(frames - 1) + ")");
  const fs::path ensemble = log.folder / "ensemble.csv";
  for (size_t i = 0; i < log.ensemble.size(); ++i) {
    const EnsembleRow& e = log.ensemble[i];
    if (e.y >= float(height) || e.x >= float(width))
      throw line_error(ensemble, log.ensemble_lines.at(i),
                       "neuron " + std::to_string(e.neuron) + " at y,x " + std::to_string(e.y) + "," +
                           std::to_string(e.x) + " lies outside the " + std::to_string(height) + "x" +
                           std::to_string(width) + " px soma-plane field (were the positions saved in another "
                           "unit or for another field of view?)");
  }
}

void write_bci_log(const fs::path& folder, const BciLog& log) {
  fs::create_directories(folder);
  std::ostringstream frames, trials, ensemble;
  frames << kFramesHeader;
  for (const std::string& name : log.extra_columns) frames << "," << name;
  frames << "\n" << std::setprecision(9);
  for (const auto& f : log.frames) {
    frames << f.frame << "," << f.time_s << "," << f.control << "," << f.cursor << "," << f.target << "," << f.trial;
    for (size_t c = 0; c < log.extra_columns.size(); ++c) frames << "," << f.extra.at(c);
    frames << "\n";
  }
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
