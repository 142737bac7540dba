// apical register: motion correction per plane -> registered.h5.
#include <iomanip>
#include <sstream>

#include "cli/command.hpp"
#include "io/atomic_output.hpp"
#include "io/error.hpp"
#include "pipeline/register/register_stream.hpp"

namespace apical::cli {

Usage register_usage() {
  Usage u;
  u.synopsis = "apical register [options] SESSION\n       apical register [options] INPUT... -o registered.h5";
  u.description =
      "Motion correction of every plane: a reference image (iteratively refined mean of the most\n"
      "correlated frames), rigid phase correlation (whitened, edge-tapered, bounded, sub-pixel),\n"
      "optional piecewise non-rigid correction on overlapping blocks, and bidirectional scan-phase\n"
      "correction. Given a SESSION folder it reads SESSION/raw/ and writes SESSION/apical/registered.h5.\n"
      "Shift convention: /plane{k}/shifts holds (dy, dx) px such that content at reference (y, x)\n"
      "appears in the raw frame at (y+dy, x+dx).";
  u.options.add_options()
      ("input", po::value<std::vector<std::string>>()->required(), "SESSION folder, or movie file(s)/folder/glob")
      ("output,o", po::value<std::string>()->default_value(""), "output file (default SESSION/apical/registered.h5)")
      ("max-shift", po::value<int>()->default_value(15), "largest rigid shift searched, px")
      ("nonrigid", po::value<bool>()->default_value(false)->implicit_value(true), "add piecewise non-rigid correction")
      ("block-size", po::value<int>()->default_value(128), "non-rigid block size, px (blocks overlap by half)")
      ("max-block-shift", po::value<int>()->default_value(5), "largest block shift beyond the rigid one, px")
      ("block-snr", value_default<float>(1.2f), "blocks whose peak SNR is below this borrow from neighbours")
      ("bidi", po::value<std::string>()->default_value("auto"), "bidirectional scan-phase offset: auto | off | <px>")
      ("shifts-from", po::value<int>()->default_value(-1), "apply this plane's shifts to the other planes (-1: estimate each)")
      ("reference-frames", po::value<int>()->default_value(300), "frames sampled evenly for the reference image")
      ("output-dtype", po::value<std::string>()->default_value("auto"), "stored movie type: auto (as input) | float32 | int16 | uint16")
      ("compression", po::value<int>()->default_value(0), "deflate level for the movie, 0-9 (0: none, fastest)");
  add_movie_input_options(u.options);
  add_acquisition_options(u.options);
  u.positional.add("input", -1);
  u.config_sections = {"acquisition"};
  return u;
}

int register_run(const Invocation& inv) {
  Stopwatch clock;
  std::vector<std::string> inputs = inv.get<std::vector<std::string>>("input");
  std::string output = inv.get<std::string>("output");
  if (inv.session) {
    inputs = {inv.session_path("raw").string()};
    if (output.empty()) output = inv.session_path("apical/registered.h5").string();
  }
  if (output.empty()) throw InputError("no output: give a SESSION folder or -o registered.h5");

  auto movie = open_movie(movie_spec(inv, inputs), acquisition_overrides(inv));
  if (movie->acquisition().source.empty())
    note(inv, "no ScanImage metadata or apical.ini found: reading " + std::to_string(movie->planes()) +
                  " plane(s); set [acquisition] planes/roles/frame-rate if that is wrong");

  RegisterOptions options;
  options.params.max_shift_px = inv.get<int>("max-shift");
  options.params.nonrigid = inv.get<bool>("nonrigid");
  options.params.block_size = inv.get<int>("block-size");
  options.params.max_block_shift_px = inv.get<int>("max-block-shift");
  options.params.block_snr_threshold = inv.get<float>("block-snr");
  options.params.reference_frames = inv.get<int>("reference-frames");
  options.bidi = inv.get<std::string>("bidi");
  options.shifts_from_plane = inv.get<int>("shifts-from");
  options.output_dtype = inv.get<std::string>("output-dtype");
  options.compression = inv.get<int>("compression");
  options.batch_size = inv.batch_size;
  if (options.compression < 0 || options.compression > 9) throw InputError("--compression must be 0..9");

  // apical.ini is not an input as such: the options it sets are recorded as parameters, so
  // editing another stage's section leaves registration current.
  const std::vector<std::string> used = movie->files();
  if (inv.output_is_current(output, used)) return kOk;
  AtomicOutput out(output, inv.force || inv.update);
  Progress progress(inv, "registering frames", movie->frames() * movie->planes());
  RegistrationSummary s = register_movie(*movie, options, out.temp_path().string(),
                                         Provenance{inv.command_line, inv.parameters(), used},
                                         [&](int64_t done, int64_t) { progress.update(done); });
  progress.finish();
  out.commit();

  double seconds = clock.seconds();
  std::ostringstream what;
  what << std::fixed << std::setprecision(2) << "registered " << s.frames << " frames x " << s.planes << " plane(s) ("
       << std::setprecision(0) << double(s.frames * s.planes) / std::max(seconds, 1e-9) << " frames/s)";
  for (const auto& p : s.per_plane)
    what << std::setprecision(2) << "; plane " << p.plane << ": max shift " << p.max_abs_shift_px << " px, bidi "
         << p.bidi_offset_px << " px, crispness " << p.crispness_before << " -> " << p.crispness_after;
  what << " -> " << output;
  summary(inv, what.str(), seconds);
  return kOk;
}

}  // namespace apical::cli
