// apical evaluate: scores a session's outputs against the simulator's truth.
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <tuple>

#include "cli/command.hpp"
#include "io/atomic_output.hpp"
#include "io/error.hpp"
#include "io/truth_file.hpp"
#include "pipeline/validation/evaluate.hpp"
#include "pipeline/validation/evaluate_manual.hpp"
#include "pipeline/reporting/plot.hpp"

namespace apical::cli {

namespace fs = std::filesystem;

Usage evaluate_usage() {
  Usage u;
  u.synopsis =
      "apical evaluate [options] SESSION [--truth TRUTH.h5] [-o scores.csv]\n"
      "       apical evaluate --manual LABELS [--plane K] [--rows A:B] [--cols A:B] SESSION|rois.h5 [-o scores.csv]";
  u.description =
      "Compares every stage output present in SESSION/apical/ with the ground truth written by\n"
      "apical simulate (default SESSION.truth.h5 beside the folder) and prints the scores:\n"
      "  register: rigid shift RMS error after removing the constant offset, maximum error,\n"
      "            fraction of frames within 0.5 px, bidirectional offset error, block-shift RMS error.\n"
      "  segment:  per plane and kind precision/recall/F1 at IoU >= 0.5; pairing accuracy, wrong pairs.\n"
      "  extract:  median dF/F correlation with the truth per plane and kind; event F1; neuropil error.\n"
      "  regress:  role assignment; sign accuracy and rank correlation of reward/d_error coefficients.\n"
      "Scores go to stdout as 'stage plane metric value' lines, and to a CSV with -o.\n"
      "With --manual it scores one plane's accepted ROIs against hand-drawn ones instead:\n"
      "neurofinder JSON regions, or an integer label image (TIFF, or HDF5 with --manual-dataset;\n"
      "0 = background). Precision, recall and F1 by centroid distance <= 5 px and by IoU >= 0.5,\n"
      "each with optimal one-to-one matching, and an overlay PNG of found against manual ROIs.\n"
      "It also measures where the labels sit relative to the ROIs they match (median offset) and,\n"
      "when that rounds to a pixel or more, scores IoU again with the labels moved back by it.\n"
      "--rows A:B / --cols A:B score one part of the field (e.g. rows a model was not fitted on):\n"
      "only labels and ROIs whose centroid lies in it count.";
  u.options.add_options()
      ("input", po::value<std::vector<std::string>>()->required(), "SESSION folder")
      ("truth", po::value<std::string>()->default_value(""), "truth file (default SESSION.truth.h5)")
      ("output,o", po::value<std::string>()->default_value(""), "also write the scores as CSV here")
      ("manual", po::value<std::string>()->default_value(""),
       "manual ROI labels (.json neurofinder regions, .tif or .h5 label image) to score against")
      ("manual-dataset", po::value<std::string>()->default_value(""),
       "HDF5 label image: dataset path (default: the only 2-D dataset)")
      ("plane", po::value<int>()->default_value(-1), "with --manual: the plane scored (-1: the first soma plane)")
      ("rows", po::value<std::string>()->default_value(""),
       "with --manual: score only labels and ROIs whose centroid lies in rows A:B (half-open, from 0)")
      ("cols", po::value<std::string>()->default_value(""),
       "with --manual: score only labels and ROIs whose centroid lies in columns A:B (half-open, from 0)")
      ("overlay", po::value<std::string>()->default_value(""),
       "with --manual: overlay PNG (default qc/manual.png beside rois.h5; 'none' to skip)");
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

void write_scores_csv(const std::string& csv, const std::vector<ScoreRow>& rows, bool force) {
  AtomicOutput out(csv, force);
  std::ostringstream f;
  f << "stage,subject,metric,value\n" << std::setprecision(8);
  for (const auto& [stage, subject, metric, value] : rows) f << stage << "," << subject << "," << metric << "," << value << "\n";
  out.write(f.str());  // checked: a full disk is an error naming the file
  out.commit();
}

void print_scores(const Invocation& inv, const std::vector<ScoreRow>& rows) {
  if (inv.quiet) return;
  for (const auto& [stage, subject, metric, value] : rows)
    std::cout << std::left << std::setw(10) << stage << std::setw(22) << subject << std::setw(28) << metric
              << std::setprecision(4) << value << "\n";
}

int evaluate_manual_run(const Invocation& inv, const std::string& labels_path) {
  Stopwatch clock;
  const fs::path input = inv.get<std::vector<std::string>>("input").at(0);
  const std::string rois_path = fs::is_directory(input) ? (input / "apical" / "rois.h5").string() : input.string();
  if (!fs::exists(rois_path)) throw file_error(rois_path, "not found (run apical segment first)");
  FieldPart part;
  std::tie(part.row_begin, part.row_end) = parse_pixel_range(inv.get<std::string>("rows"), "--rows");
  std::tie(part.col_begin, part.col_end) = parse_pixel_range(inv.get<std::string>("cols"), "--cols");
  const ManualEvaluation e = evaluate_against_manual(rois_path, labels_path, inv.get<int>("plane"),
                                                     inv.get<std::string>("manual-dataset"), part);
  print_scores(inv, e.rows);
  std::string overlay = inv.get<std::string>("overlay");
  if (overlay.empty()) overlay = (fs::path(rois_path).parent_path() / "qc" / "manual.png").string();
  if (overlay != "none") plot::write_png(overlay, e.overlay);
  if (const std::string csv = inv.get<std::string>("output"); !csv.empty()) write_scores_csv(csv, e.rows, inv.force);
  std::ostringstream what;
  what << std::fixed << std::setprecision(3) << "plane " << e.plane;
  if (!part.whole())
    what << " rows " << part.row_begin << ":" << (part.row_end < 0 ? std::string("end") : std::to_string(part.row_end))
         << " cols " << part.col_begin << ":" << (part.col_end < 0 ? std::string("end") : std::to_string(part.col_end));
  what << ": " << e.scores.centroid.found << " ROIs against "
       << e.scores.centroid.labelled << " manual (" << e.format << "); centroid P/R/F1 " << e.scores.centroid.precision
       << "/" << e.scores.centroid.recall << "/" << e.scores.centroid.f1 << ", IoU P/R/F1 " << e.scores.iou.precision
       << "/" << e.scores.iou.recall << "/" << e.scores.iou.f1;
  const LabelOffset& offset = e.scores.offset;
  if (offset.moved_y_px != 0 || offset.moved_x_px != 0)
    what << std::setprecision(2) << std::showpos << "; the labels sit (" << offset.y_px << ", " << offset.x_px
         << ") px (y, x) from the ROIs they match (median); moved by (" << offset.moved_y_px << ", "
         << offset.moved_x_px << ") px" << std::noshowpos << std::setprecision(3) << ", IoU P/R/F1 "
         << e.scores.iou_aligned.precision << "/" << e.scores.iou_aligned.recall << "/" << e.scores.iou_aligned.f1;
  if (overlay != "none") what << " -> " << overlay;
  summary(inv, what.str(), clock.seconds());
  return kOk;
}

}  // namespace

int evaluate_run(const Invocation& inv) {
  if (const std::string manual = inv.get<std::string>("manual"); !manual.empty()) return evaluate_manual_run(inv, manual);
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

  print_scores(inv, table.rows);
  if (const std::string csv = inv.get<std::string>("output"); !csv.empty()) write_scores_csv(csv, table.rows, inv.force);
  summary(inv, "scored " + std::to_string(table.rows.size()) + " metrics against " + truth_path, clock.seconds());
  return kOk;
}

}  // namespace apical::cli
