// apical simulate OUTDIR: a synthetic session folder as a microscope and BCI rig write it,
// plus truth.h5 beside it for scoring every stage (docs/DESIGN.md §5).
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "cli/command.hpp"
#include "io/atomic_output.hpp"
#include "io/bci_log.hpp"
#include "io/error.hpp"
#include "pipeline/validation/truth.hpp"
#include "io/tiff.hpp"
#include "pipeline/validation/simulate.hpp"

namespace apical::cli {

namespace fs = std::filesystem;

Usage simulate_usage() {
  const SimulationParams d;  // the model's own defaults are the command's defaults
  Usage u;
  u.synopsis = "apical simulate [options] OUTDIR";
  u.description =
      "Writes a complete synthetic two-plane BCI session into OUTDIR, as a microscope and BCI rig\n"
      "would: raw/ (interleaved soma/dendrite int16 TIFF with ScanImage-like metadata), apical.ini,\n"
      "bci/frames.csv, bci/trials.csv, bci/ensemble.csv; and the ground truth (shifts, non-rigid\n"
      "field, bidirectional offset, ROI masks, pairs, clean dF/F, events, roles, coefficients) in\n"
      "OUTDIR.truth.h5 beside the folder (or --truth). Same seed, same files.";
  u.options.add_options()
      ("input", po::value<std::vector<std::string>>()->required(), "output session folder")
      ("truth", po::value<std::string>()->default_value(""), "truth file (default: OUTDIR.truth.h5 beside the folder)")
      ("height", po::value<int>()->default_value(d.height), "frame height, px")
      ("width", po::value<int>()->default_value(d.width), "frame width, px")
      ("frames", po::value<int64_t>()->default_value(d.frames), "frames per plane (imaging volumes)")
      ("frame-rate", value_default<double>(d.frame_rate_hz), "frame rate per plane, Hz")
      ("pixel-size", value_default<double>(d.pixel_size_um), "pixel size, um")
      ("neurons", po::value<int>()->default_value(d.neurons), "paired neurons (soma + 1-3 dendrite ROIs each)")
      ("distractors", po::value<int>()->default_value(d.distractors), "unpaired ROIs (half somata, half dendrites)")
      ("ensemble-plus", po::value<int>()->default_value(d.ensemble_plus), "P+ neurons driving the cursor up")
      ("ensemble-minus", po::value<int>()->default_value(d.ensemble_minus), "P- neurons driving it down")
      ("max-shift", value_default<double>(d.max_shift_px), "largest rigid displacement, px")
      ("nonrigid", value_default<double>(d.nonrigid_px), "largest non-rigid displacement, px (0: rigid only)")
      ("bidi", value_default<double>(d.bidi_px), "bidirectional scan-phase offset of odd lines, px")
      ("photons", value_default<double>(d.photons_per_unit), "photons per count (shot noise; larger = less noise; 0 = none)")
      ("c-reward", value_default<double>(d.c_reward), "effect of reward on the dendritic residual, dF/F")
      ("c-derr", value_default<double>(d.c_derr), "effect of the error change, dF/F per position")
      ("residual-noise", value_default<double>(d.residual_noise), "SD of the dendritic residual noise, dF/F")
      ("event-rate", value_default<double>(d.event_rate_hz), "somatic event rate at session start, Hz")
      ("learning", value_default<double>(d.learning), "P+ event rates reach (1+learning)x by the session end; P- fall by half that")
      ("dendrite-event-rate", value_default<double>(d.dendrite_event_rate_hz), "isolated dendritic events per dendrite ROI, Hz")
      ("early-hit-rate", value_default<double>(d.early_hit_rate), "BCI threshold set for this hit rate in the first third")
      ("opto", po::bool_switch()->default_value(d.opto),
       "optogenetic experiment: on a fraction of the trials the dendritic gain is reduced; writes an opto 0/1 "
       "column in bci/frames.csv and /opto in the truth file")
      ("opto-trial-fraction", value_default<double>(d.opto_trial_fraction),
       "with --opto: fraction of trials stimulated (light on from trial start to end)")
      ("opto-dendrite-gain", value_default<double>(d.opto_dendrite_gain),
       "with --opto: factor on the dendrite's gain on the somatic amplitude under stimulation")
      ("seed", po::value<uint64_t>()->default_value(d.seed), "random seed")
      ("preset", po::value<std::string>()->default_value("default"),
       "'default', or 'dense-cortex': ring somata with dark nuclei, ~230 per 512x512 px, touching; uneven "
       "illumination and vignetting; neuropil with processes (sets --neurons/--distractors unless given); or "
       "'irregular-somata': star-shaped somata, radius 4-8 um, with off-centre nuclei")
      ("frames-per-file", po::value<int>()->default_value(1000), "volumes per TIFF file (ScanImage splits files)");
  u.positional.add("input", 1);
  return u;
}

namespace {

SimulationParams simulation_params(const Invocation& inv) {
  SimulationParams p;
  p.height = inv.get<int>("height");
  p.width = inv.get<int>("width");
  p.frames = inv.get<int64_t>("frames");
  p.frame_rate_hz = inv.get<double>("frame-rate");
  p.pixel_size_um = inv.get<double>("pixel-size");
  p.neurons = inv.get<int>("neurons");
  p.distractors = inv.get<int>("distractors");
  p.ensemble_plus = inv.get<int>("ensemble-plus");
  p.ensemble_minus = inv.get<int>("ensemble-minus");
  p.max_shift_px = inv.get<double>("max-shift");
  p.nonrigid_px = inv.get<double>("nonrigid");
  p.bidi_px = inv.get<double>("bidi");
  p.photons_per_unit = inv.get<double>("photons");
  p.c_reward = inv.get<double>("c-reward");
  p.c_derr = inv.get<double>("c-derr");
  p.residual_noise = inv.get<double>("residual-noise");
  p.event_rate_hz = inv.get<double>("event-rate");
  p.learning = inv.get<double>("learning");
  p.dendrite_event_rate_hz = inv.get<double>("dendrite-event-rate");
  p.early_hit_rate = inv.get<double>("early-hit-rate");
  p.seed = inv.get<uint64_t>("seed");
  p.opto = inv.get<bool>("opto");
  p.opto_trial_fraction = inv.get<double>("opto-trial-fraction");
  p.opto_dendrite_gain = inv.get<double>("opto-dendrite-gain");
  const int neurons = p.neurons, distractors = p.distractors;
  apply_preset(p, inv.get<std::string>("preset"));
  if (!inv.options["neurons"].defaulted()) p.neurons = neurons;
  if (!inv.options["distractors"].defaulted()) p.distractors = distractors;
  validate(p);
  return p;
}

// ScanImage 2016-style static metadata, so readers find planes, rate and scan mode.
std::string scanimage_description(const SimulationParams& p) {
  std::ostringstream d;
  d << std::setprecision(10) << "SI.VERSION_MAJOR = '2016b'\n"
    << "SI.hRoiManager.scanFrameRate = " << p.frame_rate_hz * 2 << "\n"
    << "SI.hRoiManager.scanVolumeRate = " << p.frame_rate_hz << "\n"
    << "SI.hRoiManager.scanZoomFactor = 2\n"
    << "SI.hStackManager.numSlices = 2\n"
    << "SI.hFastZ.enable = true\n"
    << "SI.hFastZ.numDiscardFlybackFrames = 0\n"
    << "SI.hChannels.channelSave = 1\n"
    << "SI.hScan2D.bidirectional = " << (p.bidi_px != 0 ? "true" : "false") << "\n"
    << "apical.simulate.seed = " << p.seed << "\n";
  return d.str();
}

void write_apical_ini(const fs::path& path, const SimulationParams& p) {
  std::ostringstream ini;
  ini << "# Written by apical simulate. Options of any stage may be added in [register],\n"
      << "# [segment], [extract], [regress] sections; the command line wins over this file.\n"
      << "[acquisition]\nplanes = 2\nroles = soma,dendrite\nchannels = 1\n"
      << std::setprecision(10) << "frame-rate = " << p.frame_rate_hz << "\npixel-size = " << p.pixel_size_um << "\n";
  write_whole_file(path, ini.str());
}

// Interleaved raw movie (plane fastest, one channel), split across files like ScanImage.
void write_raw_movie(const Invocation& inv, const SimulatedSession& s, const fs::path& raw_folder) {
  const SimulationParams& p = s.params;
  fs::create_directories(raw_folder);
  const int per_file = std::max(1, inv.get<int>("frames-per-file"));
  const int batch = std::max(1, std::min(inv.batch_size, per_file));
  const std::string description = scanimage_description(p);
  Progress progress(inv, "rendering frames", p.frames);
  std::unique_ptr<TiffWriter> writer;
  FrameStack plane0, plane1;
  for (int64_t first = 0; first < p.frames; first += batch) {
    int count = int(std::min<int64_t>(batch, p.frames - first));
    int64_t file_index = first / per_file;
    count = int(std::min<int64_t>(count, (file_index + 1) * per_file - first));  // never straddle files
    render_frames(s, 0, first, count, plane0);
    render_frames(s, 1, first, count, plane1);
    if (first % per_file == 0) {
      if (writer) writer->close();
      std::ostringstream name;
      name << "session_" << std::setw(5) << std::setfill('0') << (file_index + 1) << ".tif";
      uint64_t bytes = uint64_t(std::min<int64_t>(per_file, p.frames - first)) * 2 * p.height * p.width * 2;
      writer = std::make_unique<TiffWriter>((raw_folder / name.str()).string(), p.height, p.width,
                                            SampleType::int16, bytes > (3ull << 30), description);
    }
    for (int t = 0; t < count; ++t) {
      writer->write_page(plane0.frame_data(t));
      writer->write_page(plane1.frame_data(t));
    }
    progress.update(first + count);
  }
  if (writer) writer->close();
  progress.finish();
}

}  // namespace

int simulate_run(const Invocation& inv) {
  Stopwatch clock;
  fs::path out = fs::path(inv.get<std::vector<std::string>>("input").at(0));
  while (out.has_parent_path() && out.filename().empty()) out = out.parent_path();  // "dir/" -> "dir"
  std::string truth_path = inv.get<std::string>("truth");
  if (truth_path.empty()) truth_path = out.string() + ".truth.h5";
  SimulationParams params = simulation_params(inv);

  AtomicOutput session_output(out, inv.force);
  AtomicOutput truth_output(truth_path, inv.force);
  fs::create_directories(session_output.temp_path());

  SimulatedSession session = simulate_session(params);
  write_raw_movie(inv, session, session_output.temp_path() / "raw");
  write_apical_ini(session_output.temp_path() / "apical.ini", params);
  write_bci_log(session_output.temp_path() / "bci", simulated_bci_log(session));
  fs::create_directories(session_output.temp_path() / "apical");
  write_truth(truth_output.temp_path().string(), simulated_truth(session), Provenance{inv.command_line, inv.parameters(), {}});

  session_output.commit();
  truth_output.commit();
  int hits = 0;
  for (const auto& t : session.trials) hits += t.hit;
  std::ostringstream what;
  what << "wrote " << out.string() << " (" << params.frames << " frames x 2 planes of " << params.width << "x"
       << params.height << ", " << session.trials.size() << " trials, " << hits << " hits) and " << truth_path;
  summary(inv, what.str(), clock.seconds());
  return kOk;
}

}  // namespace apical::cli
