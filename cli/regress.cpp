// apical regress: dendritic instructive signals (docs/DESIGN.md §4) -> regress.h5.
#include <cmath>
#include <iomanip>
#include <sstream>
#include <tuple>

#include <filesystem>

#include "cli/command.hpp"
#include "io/atomic_output.hpp"
#include "io/error.hpp"
#include "pipeline/regress/regress_io.hpp"

namespace apical::cli {

Usage regress_usage() {
  const RegressParams d;
  const stats::EventParams e;
  const stats::PaperEventParams pe;
  Usage u;
  u.synopsis =
      "apical regress [options] SESSION\n"
      "       apical regress [options] traces.h5 --rois rois.h5 --bci BCI_FOLDER -o regress.h5";
  u.description =
      "The analysis of dendritic instructive signals (Francioni et al. 2026). Reads traces.h5, rois.h5\n"
      "(soma-dendrite pairs) and the BCI log (frames.csv, trials.csv, ensemble.csv); matches the online\n"
      "ensemble (P+/P-) to offline soma ROIs by centroid; then:\n"
      "  1. somatic events (high-pass, MAD noise, prominence threshold, minimum interval);\n"
      "  2. per neuron the somato-dendritic (SD) fit dendritic ~ somatic amplitude and the SD\n"
      "     residual of every event (>0 amplification, <0 attenuation);\n"
      "  3. residual ~ reward + error + d_error per neuron, and pooled with role x task\n"
      "     interactions: OLS beta/SE/t/p, permutation p by circularly shifting the behaviour\n"
      "     against the imaging, Benjamini-Hochberg across neurons;\n"
      "  4. network prediction of residuals from other neurons (ridge, cross-validated R^2 vs shuffle);\n"
      "  5. learning: early residual vs later change of event rate and amplitude, by role;\n"
      "  6. decoding of trial outcome from residual vectors (cross-validated logistic vs shuffle).\n"
      "Given SESSION it reads SESSION/apical/{traces,rois}.h5 and SESSION/bci/, and writes\n"
      "SESSION/apical/regress.h5. The BCI log must have exactly one row per imaging frame.";
  u.options.add_options()
      ("input", po::value<std::vector<std::string>>()->required(), "SESSION folder, or traces.h5")
      ("rois", po::value<std::string>()->default_value(""), "rois.h5 (default SESSION/apical/rois.h5)")
      ("bci", po::value<std::string>()->default_value(""), "BCI log folder (default SESSION/bci)")
      ("output,o", po::value<std::string>()->default_value(""), "output file (default SESSION/apical/regress.h5)")
      ("match-radius", value_default<double>(8.0),
       "largest distance between an online ensemble centroid and an offline soma ROI centroid, px")
      ("frame-rate", value_default<double>(0.0),
       "frame rate per plane, Hz, when traces.h5 lacks it (0: take it from traces.h5)")
      ("event-method", po::value<std::string>()->default_value(d.event_method),
       "'apical' (running-median high-pass, MAD noise) or 'paper' (the published detector: Butterworth "
       "high-pass, threshold x SD of the filtered trace, amplitude from the trough to the maximum after)")
      ("event-cutoff", value_default<double>(pe.cutoff_fraction),
       "paper method: high-pass cut-off as a fraction of the frame rate")
      ("event-filter-order", po::value<int>()->default_value(pe.order), "paper method: Butterworth order (even)")
      ("window", value_default<double>(d.window_s), "window w of d_error and reward, s")
      ("dendrite-pre", value_default<double>(d.dendrite_pre_s), "dendritic peak searched from this long before the somatic peak, s")
      ("dendrite-post", value_default<double>(d.dendrite_post_s), "... to this long after it, s")
      ("min-events", po::value<int>()->default_value(d.min_events), "somatic events a neuron needs for its SD fit and GLM")
      ("sd-fit", po::value<std::string>()->default_value(d.sd_fit),
       "SD model: 'linear', or 'aic' (the least AIC of linear, proportional and saturating; reported per neuron)")
      ("reference-condition", po::value<std::string>()->default_value(""),
       "COLUMN=VALUE of bci/frames.csv (e.g. opto=0): SD fits on those events only, residuals of every event "
       "relative to them, and residuals compared between conditions (empty: none)")
      ("sensitivity", po::bool_switch()->default_value(d.sensitivity),
       "re-fit the pooled model with the threshold x 0.7, 1, 1.3 and the window 0.5, 1, 2 s (/sensitivity)")
      ("permutations", po::value<int>()->default_value(d.permutations), "circular-shift permutations (0: none)")
      ("min-shift", value_default<double>(d.permutation_min_shift_s), "smallest circular shift of the behaviour, s")
      ("seed", po::value<uint64_t>()->default_value(d.seed), "random seed of permutations and shuffles")
      ("cv-folds", po::value<int>()->default_value(d.cv_folds), "cross-validation folds (network prediction, decoding)")
      ("ridge-lambda", value_default<double>(d.ridge_lambda), "ridge penalty on standardised predictors, in observations")
      ("network-window", value_default<double>(d.network_window_s), "other neurons' activity averaged over this window around each event, s")
      ("network-shuffles", po::value<int>()->default_value(d.network_shuffles), "shuffles of the residuals for the network-prediction null")
      ("decoding-shuffles", po::value<int>()->default_value(d.decoding_shuffles), "shuffles of the trial labels for the decoding null")
      ("decoding-bin", value_default<double>(d.decoding_bin_s), "decoding over time: bin width, s")
      ("decoding-span", value_default<double>(d.decoding_span_s),
       "decoding over time: bins cover this long before and after each trial's outcome, s")
      ("trials-per-block", po::value<int>()->default_value(d.trials_per_block), "trials per block of the learning curve");
  add_event_options(u.options, e);
  u.positional.add("input", -1);
  u.config_sections = {"acquisition"};
  return u;
}

int regress_run(const Invocation& inv) {
  Stopwatch clock;
  const std::vector<std::string> inputs = inv.get<std::vector<std::string>>("input");
  std::string traces, rois = inv.get<std::string>("rois"), bci = inv.get<std::string>("bci"),
                      output = inv.get<std::string>("output");
  if (inv.session) {
    traces = inv.session_path("apical/traces.h5").string();
    if (rois.empty()) rois = inv.session_path("apical/rois.h5").string();
    if (bci.empty()) bci = inv.session_path("bci").string();
    if (output.empty()) output = inv.session_path("apical/regress.h5").string();
  } else {
    if (inputs.size() != 1) throw InputError("give one SESSION folder or one traces.h5 (see apical regress --help)");
    traces = inputs[0];
  }
  if (rois.empty() || bci.empty() || output.empty())
    throw InputError("without a SESSION folder, give traces.h5 --rois rois.h5 --bci FOLDER -o regress.h5");

  RegressInputOptions io;
  io.match_radius_px = inv.get<double>("match-radius");
  io.frame_rate_hz = inv.get<double>("frame-rate");
  const std::string log = (std::filesystem::path(bci) / "").string();
  const std::vector<std::string> used = {traces, rois, log + "frames.csv", log + "trials.csv", log + "ensemble.csv"};
  if (inv.output_is_current(output, used)) return kOk;
  AtomicOutput out(output, inv.force || inv.update);
  const RegressInputs in = read_regress_inputs(traces, rois, bci, io);
  const std::vector<int> unmatched = in.ensemble.unmatched_neurons();
  if (!unmatched.empty()) {
    std::string list;
    for (int n : unmatched) list += (list.empty() ? "" : ", ") + std::to_string(n);
    note(inv, std::to_string(unmatched.size()) + " of " + std::to_string(in.ensemble.neuron.size()) +
                  " ensemble neurons have no soma ROI within " + std::to_string(io.match_radius_px) +
                  " px (role 0 for them): neuron(s) " + list);
  }

  RegressParams p;
  p.frame_rate_hz = in.frame_rate_hz;
  p.events = event_params(inv, p.events);
  p.window_s = inv.get<double>("window");
  p.dendrite_pre_s = inv.get<double>("dendrite-pre");
  p.dendrite_post_s = inv.get<double>("dendrite-post");
  p.min_events = inv.get<int>("min-events");
  p.permutations = inv.get<int>("permutations");
  p.permutation_min_shift_s = inv.get<double>("min-shift");
  p.seed = inv.get<uint64_t>("seed");
  p.cv_folds = inv.get<int>("cv-folds");
  p.ridge_lambda = inv.get<double>("ridge-lambda");
  p.network_window_s = inv.get<double>("network-window");
  p.network_shuffles = inv.get<int>("network-shuffles");
  p.decoding_shuffles = inv.get<int>("decoding-shuffles");
  p.trials_per_block = inv.get<int>("trials-per-block");
  p.event_method = inv.get<std::string>("event-method");
  p.paper_events.cutoff_fraction = inv.get<double>("event-cutoff");
  p.paper_events.order = inv.get<int>("event-filter-order");
  p.sd_fit = inv.get<std::string>("sd-fit");
  if (const std::string ref = inv.get<std::string>("reference-condition"); !ref.empty())
    std::tie(p.reference_column, p.reference_value) = parse_reference_condition(ref);
  p.sensitivity = inv.get<bool>("sensitivity");
  p.decoding_bin_s = inv.get<double>("decoding-bin");
  p.decoding_span_s = inv.get<double>("decoding-span");

  const RegressResult r = analyze_session(in.soma_dff, in.dendrite_dff, in.neurons, in.log, p);
  write_regress(out.temp_path().string(), r, p, input_record(in), Provenance{inv.command_line, inv.parameters(), used});
  out.commit();

  double interaction_p = NAN;
  for (size_t k = 0; k < r.pooled_terms.size(); ++k)
    if (r.pooled_terms[k] == "role:d_error") interaction_p = r.pooled_p[k];
  int fitted = 0;
  for (double s : r.sd_slope) fitted += std::isfinite(s);
  const double seconds = clock.seconds();
  std::ostringstream what;
  what << std::setprecision(3) << r.soma_roi.size() << " neurons (" << fitted << " with an SD fit, "
       << in.ensemble.matched() << "/" << in.ensemble.neuron.size() << " ensemble matched), " << r.events.size()
       << " events, " << r.frames << " frames (" << std::fixed << std::setprecision(0)
       << double(r.soma_roi.size()) / std::max(seconds, 1e-9) << " ROIs/s); pooled role:d_error p = "
       << std::scientific << std::setprecision(2) << interaction_p << " -> " << output;
  summary(inv, what.str(), seconds);
  return kOk;
}

}  // namespace apical::cli
