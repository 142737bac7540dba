// apical segment: soma and dendrite ROIs per plane, soma<->dendrite pairing -> rois.h5 (+ qc/rois.png).
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <sstream>

#include "cli/command.hpp"
#include "io/atomic_output.hpp"
#include "io/error.hpp"
#include "io/registered_file.hpp"
#include "io/soma_model_file.hpp"
#include "pipeline/segment/segment_anatomy.hpp"
#include "pipeline/reporting/qc_rois.hpp"
#include "pipeline/segment/segment_stream.hpp"

namespace apical::cli {

namespace fs = std::filesystem;

Usage segment_usage() {
  Usage u;
  u.synopsis = "apical segment [options] SESSION\n       apical segment [options] registered.h5 -o rois.h5";
  u.description =
      "ROI detection per plane of a registered movie, by the plane's role. Two streaming passes per\n"
      "plane: summary images (mean, max of the binned movie, local correlation image of the binned,\n"
      "high-passed, neuropil-subtracted movie) -> ROIs; then binned ROI traces -> refinement, SNR,\n"
      "skewness, quality. Soma plane: compact cell bodies (nucleus included). Dendrite plane: puncta\n"
      "and thin, elongated or disconnected segments (no roundness, size or connectedness filter;\n"
      "pieces with the same activity are merged). Each dendrite ROI is paired with at most one soma\n"
      "(lateral-distance prior x coincidence of activity), with a confidence; --pairs overrides.\n"
      "Given a SESSION it reads SESSION/apical/registered.h5 and writes SESSION/apical/rois.h5 and\n"
      "SESSION/apical/qc/rois.png. Memory: 2 batches of frames (default 50 frames when --batch-size\n"
      "is not given) + ~80 B/pixel + the binned ROI traces; independent of the movie length.";
  u.options.add_options()
      ("input", po::value<std::vector<std::string>>()->required(), "SESSION folder, or registered.h5")
      ("output,o", po::value<std::string>()->default_value(""), "output file (default SESSION/apical/rois.h5)")
      ("qc", po::value<std::string>()->default_value(""),
       "QC overlay PNG (default qc/rois.png beside the output; 'none' to skip)")
      ("roles", po::value<std::string>(),
       "comma list of plane roles, soma|dendrite (default: the roles in registered.h5; unknown -> soma)")
      ("temporal-bin", po::value<int>()->default_value(0),
       "frames per bin for summary images and traces (0: frame rate / 3 Hz, 10 if unknown)")
      ("soma-diameter", po::value<std::string>()->default_value("auto"),
       "typical soma diameter: 'auto' (estimated from the summary images), px (e.g. 9 or 9px), or um with the "
       "pixel size from the movie's metadata or apical.ini (e.g. 12um)")
      ("dendrite-length", value_default<float>(12.0f), "longest single dendrite segment, px")
      ("template-threshold", value_default<float>(SegmentParams{}.template_threshold),
       "soma template: candidates accepted at this log-odds or more (lower: more cells, less precision)")
      ("soma-model", po::value<std::string>()->default_value(""),
       "soma template weights (JSON from scripts/train_soma_model.py --json) instead of the built-in ones, "
       "e.g. a model fitted on another part of the field")
      ("soma-threshold", value_default<float>(4.0f),
       "soma seeds: robust z-score of the blob-filtered correlation image, at least this")
      ("dendrite-threshold", value_default<float>(4.0f),
       "dendrite seeds: robust z-score of the blob-filtered correlation image, at least this")
      ("dendrite-merge-correlation", value_default<float>(0.9f),
       "dendrite pieces closer than 5 px whose noise-corrected trace correlation is at least this are one ROI "
       "(> 1: never merge)")
      ("max-rois", po::value<int>()->default_value(1000), "most ROIs kept per plane (by quality)")
      ("pair-sigma", value_default<float>(10.0f), "pairing: lateral-distance prior sigma, px")
      ("pair-max-distance", value_default<float>(25.0f), "pairing: largest soma-dendrite distance, px")
      ("pair-min-correlation", value_default<float>(0.25f),
       "pairing: least correlation of the high-passed binned traces (Pearson r)")
      ("pair-min-confidence", value_default<float>(0.5f), "pairing: least confidence, 0..1")
      ("pairs", po::value<std::string>()->default_value(""),
       "CSV 'soma_roi,dendrite_roi' (0-based ROI indices of the soma and dendrite planes): replaces the "
       "automatic pairing");
  u.positional.add("input", -1);
  return u;
}

namespace {

std::vector<std::string> split_roles(const std::string& text) {
  std::vector<std::string> roles;
  std::stringstream s(text);
  std::string role;
  while (std::getline(s, role, ',')) {
    role.erase(0, role.find_first_not_of(' '));
    role.erase(role.find_last_not_of(' ') + 1);
    if (role != "soma" && role != "dendrite") throw InputError("--roles: '" + role + "' is not soma or dendrite");
    roles.push_back(role);
  }
  return roles;
}

SegmentOptions segment_options(const Invocation& inv) {
  SegmentOptions o;
  if (inv.options.count("roles")) o.roles = split_roles(inv.get<std::string>("roles"));
  o.temporal_bin = inv.get<int>("temporal-bin");
  if (o.temporal_bin < 0) throw InputError("--temporal-bin must be >= 0");
  set_soma_diameter(o, inv.get<std::string>("soma-diameter"));
  o.soma.dendrite_max_length_px = o.dendrite.dendrite_max_length_px = inv.get<float>("dendrite-length");
  o.soma.threshold = inv.get<float>("soma-threshold");
  o.soma.template_threshold = inv.get<float>("template-threshold");
  if (!std::isfinite(o.soma.template_threshold)) throw InputError("--template-threshold must be a finite log-odds");
  if (const std::string model = inv.get<std::string>("soma-model"); !model.empty()) {
    o.soma.soma_model = read_soma_model(model);
    if (o.soma.soma_model.weights.size() != size_t(soma_template_feature_count()))
      throw file_error(model, "holds " + std::to_string(o.soma.soma_model.weights.size()) + " weights; the soma template has " +
                                  std::to_string(soma_template_feature_count()) + " features");
  }
  o.dendrite.threshold = inv.get<float>("dendrite-threshold");
  o.dendrite.merge_min_correlation = inv.get<float>("dendrite-merge-correlation");
  o.soma.max_rois = o.dendrite.max_rois = inv.get<int>("max-rois");
  o.pairing.distance_sigma_px = inv.get<float>("pair-sigma");
  o.pairing.max_distance_px = inv.get<float>("pair-max-distance");
  o.pairing.min_correlation = inv.get<float>("pair-min-correlation");
  o.pairing.min_confidence = inv.get<float>("pair-min-confidence");
  if (!(o.pairing.distance_sigma_px > 0) || !(o.pairing.max_distance_px > 0))
    throw InputError("--pair-sigma and --pair-max-distance must be positive");
  if (!(o.pairing.min_confidence >= 0 && o.pairing.min_confidence <= 1))
    throw InputError("--pair-min-confidence must be within 0..1");
  if (const std::string pairs = inv.get<std::string>("pairs"); !pairs.empty()) {
    o.manual_pairs = true;
    o.pairs = read_pairs_csv(pairs);
  }
  // Memory is set by the batch: 50 frames unless the user chose otherwise.
  o.batch_size = inv.has("batch-size") ? inv.batch_size : 50;
  return o;
}

}  // namespace

int segment_run(const Invocation& inv) {
  Stopwatch clock;
  std::vector<std::string> inputs = inv.get<std::vector<std::string>>("input");
  std::string input = inputs.at(0), output = inv.get<std::string>("output");
  if (inv.session) {
    input = inv.session_path("apical/registered.h5").string();
    if (output.empty()) output = inv.session_path("apical/rois.h5").string();
  }
  if (inputs.size() > 1) throw InputError("segment takes one input (a SESSION folder or registered.h5)");
  if (output.empty()) throw InputError("no output: give a SESSION folder or -o rois.h5");
  if (!fs::exists(input)) throw file_error(input, "not found (run apical register first)");
  std::string qc = inv.get<std::string>("qc");
  if (qc.empty()) qc = (fs::path(output).parent_path() / "qc" / "rois.png").string();

  const SegmentOptions options = segment_options(inv);
  auto movie = open_registered(input);
  std::vector<std::string> used = {input};
  if (inv.options.count("pairs") && !inv.get<std::string>("pairs").empty()) used.push_back(inv.get<std::string>("pairs"));
  if (inv.output_is_current(output, used)) return kOk;
  AtomicOutput out(output, inv.force || inv.update);
  Progress progress(inv, "segmenting (2 passes per plane)", 2 * movie->frames() * movie->planes());
  Segmentation s = segment_movie(*movie, options, [&](int64_t done, int64_t) { progress.update(done); });
  progress.finish();
  for (const auto& message : s.notes) note(inv, message);
  write_segmentation(out.temp_path().string(), s, Provenance{inv.command_line, inv.parameters(), used});
  out.commit();
  if (qc != "none") {
    std::vector<cv::Mat> means;
    for (const auto& p : s.planes) means.push_back(p.mean);
    write_roi_overlay(qc, to_roi_file(s), means);
  }

  const double seconds = clock.seconds();
  size_t rois = 0;
  std::ostringstream what;
  what << "segmented " << s.frames << " frames x " << s.planes.size() << " plane(s)";
  for (const auto& p : s.planes) {
    size_t somata = 0;
    for (const Roi& r : p.rois) somata += r.kind == kSoma;
    size_t accepted = 0;
    for (const Roi& r : p.rois) accepted += r.accepted();
    rois += accepted;
    what << "; plane " << p.plane << " (" << p.role << "): ";
    if (p.role == "soma")
      what << "soma diameter " << std::fixed << std::setprecision(1) << p.soma_diameter_px << " px (" << p.diameter_method
           << "), ";
    what << somata << " soma, " << p.rois.size() - somata << " dendrite ROIs";
    if (accepted < p.rois.size()) what << " (" << accepted << " accepted, " << p.rois.size() - accepted << " rejected)";
  }
  what << "; " << s.pairs.size() << " " << s.pairing << " pairs (" << std::fixed << std::setprecision(0)
       << double(s.frames * 2 * int64_t(s.planes.size())) / std::max(seconds, 1e-9) << " frames/s over 2 passes, "
       << std::setprecision(1) << double(rois) / std::max(seconds, 1e-9) << " ROIs/s, peak RSS " << std::setprecision(0)
       << peak_rss_mb() << " MB) -> " << output;
  summary(inv, what.str(), seconds);
  return kOk;
}

}  // namespace apical::cli
