// apical evaluate: scores a session's outputs against the simulator's truth.
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cli/command.hpp"
#include "io/atomic_output.hpp"
#include "io/error.hpp"
#include "pipeline/evaluate.hpp"

namespace apical::cli {

namespace fs = std::filesystem;

Usage evaluate_usage() {
  Usage u;
  u.synopsis = "apical evaluate [options] SESSION [--truth TRUTH.h5] [-o scores.csv]";
  u.description =
      "Compares every stage output present in SESSION/apical/ with the ground truth written by\n"
      "apical simulate (default SESSION.truth.h5 beside the folder) and prints the scores:\n"
      "  register: rigid shift RMS error after removing the constant offset, maximum error,\n"
      "            fraction of frames within 0.5 px, bidirectional offset error, block-shift RMS error.\n"
      "  segment:  per plane and kind precision/recall/F1 at IoU >= 0.5; pairing accuracy, wrong pairs.\n"
      "  extract:  median dF/F correlation with the truth per plane and kind; event F1; neuropil error.\n"
      "  regress:  role assignment; sign accuracy and rank correlation of reward/d_error coefficients.\n"
      "Scores go to stdout as 'stage plane metric value' lines, and to a CSV with -o.";
  u.options.add_options()
      ("input", po::value<std::vector<std::string>>()->required(), "SESSION folder")
      ("truth", po::value<std::string>()->default_value(""), "truth file (default SESSION.truth.h5)")
      ("output,o", po::value<std::string>()->default_value(""), "also write the scores as CSV here");
  u.positional.add("input", 1);
  return u;
}

namespace {

struct ScoreTable {
  std::vector<ScoreRow> rows;
  void add(const std::string& stage, const std::string& subject, const std::string& metric, double value) {
    rows.push_back({stage, subject, metric, value});
  }
  void add(const std::vector<ScoreRow>& more) { rows.insert(rows.end(), more.begin(), more.end()); }
};

}  // namespace

int evaluate_run(const Invocation& inv) {
  Stopwatch clock;
  fs::path session = inv.get<std::vector<std::string>>("input").at(0);
  while (session.has_parent_path() && session.filename().empty()) session = session.parent_path();
  std::string truth_path = inv.get<std::string>("truth");
  if (truth_path.empty()) truth_path = session.string() + ".truth.h5";
  if (!fs::exists(truth_path)) throw file_error(truth_path, "truth file not found (give --truth)");
  Truth truth = read_truth(truth_path);

  ScoreTable table;
  fs::path registered = session / "apical" / "registered.h5";
  if (fs::exists(registered)) {
    for (const auto& s : score_registration(truth, registered.string())) {
      std::string plane = "plane" + std::to_string(s.plane);
      table.add("register", plane, "shift_rms_error_px", s.shift_rms_error_px);
      table.add("register", plane, "shift_max_error_px", s.shift_max_error_px);
      table.add("register", plane, "fraction_within_0.5px", s.fraction_within_half_px);
      table.add("register", plane, "bidi_error_px", s.bidi_error_px);
      if (s.block_rms_error_px >= 0) table.add("register", plane, "block_rms_error_px", s.block_rms_error_px);
    }
  }
  fs::path rois = session / "apical" / "rois.h5", traces = session / "apical" / "traces.h5",
           regress = session / "apical" / "regress.h5";
  if (fs::exists(rois)) table.add(score_segmentation(truth, rois.string()));
  if (fs::exists(rois) && fs::exists(traces)) table.add(score_extraction(truth, rois.string(), traces.string()));
  if (fs::exists(regress)) table.add(score_regression(truth, regress.string()));
  if (table.rows.empty()) throw file_error(session.string(), "holds no apical outputs to evaluate (run the stages first)");

  for (const auto& [stage, subject, metric, value] : table.rows)
    if (!inv.quiet) std::cout << std::left << std::setw(10) << stage << std::setw(18) << subject << std::setw(28) << metric
              << std::setprecision(4) << value << "\n";
  std::string csv = inv.get<std::string>("output");
  if (!csv.empty()) {
    AtomicOutput out(csv, inv.force);
    std::ostringstream f;
    f << "stage,subject,metric,value\n" << std::setprecision(8);
    for (const auto& [stage, subject, metric, value] : table.rows)
      f << stage << "," << subject << "," << metric << "," << value << "\n";
    out.write(f.str());
    out.commit();
  }
  summary(inv, "scored " + std::to_string(table.rows.size()) + " metrics against " + truth_path, clock.seconds());
  return kOk;
}

}  // namespace apical::cli
