// apical extract: fluorescence, neuropil, dF/F and events of every ROI -> traces.h5 (+ qc/traces.png).
#include <filesystem>
#include <iomanip>
#include <optional>
#include <sstream>

#include "cli/command.hpp"
#include "io/atomic_output.hpp"
#include "io/error.hpp"
#include "pipeline/extract/extract_stream.hpp"
#include "pipeline/reporting/qc_traces.hpp"

namespace apical::cli {

namespace fs = std::filesystem;

Usage extract_usage() {
  Usage u;
  u.synopsis =
      "apical extract [options] SESSION\n"
      "       apical extract [options] registered.h5 --rois rois.h5 -o traces.h5";
  u.description =
      "One streaming pass over the registered movie for every ROI of every plane: raw F (weighted\n"
      "mask mean; pixels shared by two ROIs excluded), neuropil Fneu (mean of a surround ring that\n"
      "excludes every ROI's pixels, with an inner gap and a minimum pixel count), corrected\n"
      "F - r*Fneu (r fixed, or estimated per ROI as the lower-envelope slope of F on Fneu, clipped\n"
      "to a range), baseline F0 (maximin, running percentile or constant) and dF/F = (F - F0)/F0,\n"
      "then calcium events per ROI on dF/F (high-pass, robust noise sigma, k*sigma minimum\n"
      "prominence, minimum inter-event interval). A baseline at or below the floor (1% of the\n"
      "median |F|) is flagged per ROI (f0_flag) and warned about; dF/F stays finite.\n"
      "Given a SESSION it reads SESSION/apical/{registered,rois}.h5 and writes\n"
      "SESSION/apical/traces.h5 and SESSION/apical/qc/traces.png.\n"
      "traces.h5: /plane{k}/F, Fneu, dff, f0 float32 [N,T] (rows in rois.h5 order; attributes role,\n"
      "frame_rate_hz), neuropil_coef [N], f0_flag [N], events/{roi,frame,base_frame,amplitude,prominence}.";
  u.options.add_options()
      ("input", po::value<std::vector<std::string>>()->required(), "SESSION folder, or registered.h5")
      ("rois", po::value<std::string>()->default_value(""), "rois.h5 (default SESSION/apical/rois.h5)")
      ("output,o", po::value<std::string>()->default_value(""), "output file (default SESSION/apical/traces.h5)")
      ("qc", po::value<std::string>()->default_value(""),
       "QC raster PNG (default qc/traces.png beside the output's folder: SESSION/apical/qc/traces.png); 'none' to skip")
      ("frame-rate", value_default<double>(0),
       "frame rate per plane, Hz (0: the frame_rate_hz attribute of registered.h5; an error if that is missing)")
      ("neuropil-coef", po::value<std::string>()->default_value("0.7"),
       "neuropil coefficient r in F - r*Fneu (dimensionless), or 'estimate' (per ROI)")
      ("neuropil-coef-min", value_default<float>(0.0f), "estimate: lower clip of r")
      ("neuropil-coef-max", value_default<float>(1.0f), "estimate: upper clip of r")

      ("neuropil-inner-gap", value_default<float>(2.0f),
       "ring starts beyond this distance from the ROI, px")
      ("neuropil-min-pixels", po::value<int>()->default_value(350), "ring grows until it holds this many pixels")
      ("neuropil-max-radius", value_default<float>(60.0f), "ring never reaches beyond this distance, px")
      ("neuropil-roi-margin", value_default<float>(1.0f),
       "pixels within this distance of any ROI are in no ring, px")
      ("baseline", po::value<std::string>()->default_value("maximin"), "baseline F0: maximin | percentile | constant")
      ("baseline-sigma", value_default<double>(1.0), "Gaussian smoothing before the baseline filter, s (0 = none)")
      ("baseline-window", value_default<double>(60.0), "running baseline window, s")
      ("baseline-percentile", value_default<double>(10.0),
       "percentile for 'percentile' and 'constant' baselines, %")
      ;
  add_event_options(u.options, stats::EventParams{});
  u.positional.add("input", -1);
  return u;
}

namespace {

BaselineMethod baseline_method(const std::string& name) {
  if (name == "maximin") return BaselineMethod::maximin;
  if (name == "percentile") return BaselineMethod::percentile;
  if (name == "constant") return BaselineMethod::constant;
  throw InputError("--baseline: '" + name + "' is not maximin, percentile or constant");
}

void set_neuropil_coef(ExtractOptions& o, const std::string& text) {
  if (text == "estimate") {
    o.estimate_neuropil = true;
    return;
  }
  try {
    size_t used = 0;
    o.neuropil_coef = std::stof(text, &used);
    if (used == text.size()) return;
  } catch (...) {
  }
  throw InputError("--neuropil-coef: '" + text + "' is not a number or 'estimate'");
}

ExtractOptions extract_options(const Invocation& inv) {
  ExtractOptions o;
  o.masks.neuropil_inner_gap_px = inv.get<float>("neuropil-inner-gap");
  o.masks.neuropil_min_pixels = inv.get<int>("neuropil-min-pixels");
  o.masks.neuropil_max_radius_px = inv.get<float>("neuropil-max-radius");
  o.masks.neuropil_roi_margin_px = inv.get<float>("neuropil-roi-margin");
  set_neuropil_coef(o, inv.get<std::string>("neuropil-coef"));
  o.coef.min_coef = inv.get<float>("neuropil-coef-min");
  o.coef.max_coef = inv.get<float>("neuropil-coef-max");
  o.baseline.method = baseline_method(inv.get<std::string>("baseline"));
  o.baseline.sigma_s = inv.get<double>("baseline-sigma");
  o.baseline.window_s = inv.get<double>("baseline-window");
  o.baseline.percentile = inv.get<double>("baseline-percentile");
  o.events = event_params(inv, o.events);
  o.frame_rate_hz = inv.get<double>("frame-rate");
  if (!(o.frame_rate_hz >= 0)) throw InputError("--frame-rate must be > 0 Hz (or 0: from registered.h5)");
  o.batch_size = inv.batch_size;
  return o;
}

std::string roi_list(const std::vector<int>& rois) {
  std::ostringstream s;
  for (size_t i = 0; i < rois.size() && i < 20; ++i) s << (i ? ", " : "") << rois[i];
  if (rois.size() > 20) s << ", ... (" << rois.size() << " in all)";
  return s.str();
}

}  // namespace

int extract_run(const Invocation& inv) {
  Stopwatch clock;
  std::string registered = inv.get<std::vector<std::string>>("input").at(0);
  std::string rois = inv.get<std::string>("rois"), output = inv.get<std::string>("output");
  std::string qc = inv.get<std::string>("qc");
  if (inv.session) {
    registered = inv.session_path("apical/registered.h5").string();
    if (rois.empty()) rois = inv.session_path("apical/rois.h5").string();
    if (output.empty()) output = inv.session_path("apical/traces.h5").string();
  } else if (inv.get<std::vector<std::string>>("input").size() > 1) {
    throw InputError("apical extract takes one registered.h5 (or a SESSION folder)");
  }
  if (rois.empty()) throw InputError("no ROIs: give a SESSION folder or --rois rois.h5");
  if (output.empty()) throw InputError("no output: give a SESSION folder or -o traces.h5");
  for (const std::string& p : {registered, rois})
    if (!fs::exists(p)) throw file_error(p, "not found");
  if (qc.empty()) qc = (fs::path(output).parent_path() / "qc" / "traces.png").string();

  const ExtractOptions options = extract_options(inv);
  if (inv.output_is_current(output, {registered, rois})) return kOk;
  AtomicOutput out(output, inv.force || inv.update);
  // One progress line per phase (frames read, then ROIs processed).
  std::optional<Progress> progress;
  std::string phase;
  ExtractionSummary s = extract_traces(
      registered, rois, options, out.temp_path().string(),
      Provenance{inv.command_line, inv.parameters(), {registered, rois}},
      [&](const char* name, int64_t done, int64_t total) {
        if (phase != name) {
          if (progress) progress->finish();
          progress.emplace(inv, name, total);
          phase = name;
        }
        progress->update(done);
      });
  if (progress) progress->finish();
  out.commit();

  std::vector<TracesRaster> rasters;
  for (const auto& p : s.per_plane) rasters.push_back(p.raster);
  if (qc != "none") write_traces_qc(qc, rasters);

  for (const auto& p : s.per_plane) {
    if (!p.f0_flagged.empty())
      note(inv, "warning: plane" + std::to_string(p.plane) + ": baseline F0 <= 0 (floored) for " +
                    std::to_string(p.f0_flagged.size()) + " ROI(s): " + roi_list(p.f0_flagged) +
                    " (f0_flag = 1; their dF/F is not meaningful there)");
    if (p.neuropil_short > 0)
      note(inv, "plane" + std::to_string(p.plane) + ": " + std::to_string(p.neuropil_short) +
                    " neuropil ring(s) below --neuropil-min-pixels (hit the frame border or --neuropil-max-radius)");
  }
  const double seconds = clock.seconds();
  std::ostringstream what;
  what << "extracted " << s.rois << " ROIs x " << s.frames << " frames x " << s.planes << " plane(s) ("
       << std::fixed << std::setprecision(0) << double(s.frames * s.planes) / std::max(seconds, 1e-9) << " frames/s)";
  for (const auto& p : s.per_plane) {
    what << "; plane " << p.plane << ": " << p.rois << " ROIs, " << p.events << " events, r "
         << std::setprecision(2) << p.mean_coef << (options.estimate_neuropil ? " (mean estimate" : " (fixed");
    if (options.estimate_neuropil) what << ", " << p.coef_clipped << " clipped, " << p.coef_fallback << " fallback";
    what << "), " << p.f0_flagged.size() << " F0 flagged";
  }
  what << " -> " << output;
  summary(inv, what.str(), seconds);
  return kOk;
}

}  // namespace apical::cli
