// apical plan SESSION: per-stage peak memory and threads, for schedulers (Snakefile -> SLURM).
#include <filesystem>
#include <iostream>
#include <sstream>
#include <thread>

#include "cli/command.hpp"
#include "io/error.hpp"
#include "io/registered_file.hpp"
#include "pipeline/plan/plan.hpp"

namespace apical::cli {

namespace fs = std::filesystem;

Usage plan_usage() {
  Usage u;
  u.synopsis = "apical plan [options] SESSION";
  u.description =
      "Prints the resources each stage needs on SESSION: a bound on its peak memory (MiB, what SLURM\n"
      "calls MB), the threads to give it and the apical.ini sections it reads. The bounds come from\n"
      "the movie's shape (read from the raw files' headers, or registered.h5), --batch-size,\n"
      "--threads and, once segment has run, the ROI count in rois.h5 (before that --rois per plane\n"
      "is assumed). Every stage streams its movie, so the bound is set by the batches in flight,\n"
      "not by the movie's length. Output: key=value lines (stage.mem_mb=...), or JSON with --json.";
  u.options.add_options()
      ("input", po::value<std::vector<std::string>>()->required(), "SESSION folder")
      ("json", po::bool_switch(), "print JSON instead of key=value lines")
      ("rois", po::value<int64_t>()->default_value(1000), "ROIs per plane to assume while rois.h5 does not exist")
      ("nonrigid", po::value<bool>()->default_value(false)->implicit_value(true),
       "register with --nonrigid (read from apical.ini [register] like register itself)")
      ("reference-frames", po::value<int>()->default_value(300), "register's reference sample, frames (as [register])");
  add_movie_input_options(u.options);
  add_acquisition_options(u.options);
  u.positional.add("input", 1);
  u.config_sections = {"acquisition", "register"};
  return u;
}

namespace {

int sample_bytes(const std::string& dtype) {
  if (dtype == "uint8" || dtype == "int8") return 1;
  if (dtype == "int16" || dtype == "uint16") return 2;
  if (dtype == "float64" || dtype == "int64" || dtype == "uint64") return 8;
  return 4;
}

// The movie the stages will stream: the raw files, or registered.h5 once raw/ is gone.
SessionShape movie_shape(const Invocation& inv) {
  const fs::path raw = inv.session_path("raw"), registered = inv.session_path("apical/registered.h5");
  std::unique_ptr<Movie> movie;
  if (fs::exists(raw)) movie = open_movie(movie_spec(inv, {raw.string()}), acquisition_overrides(inv));
  else if (fs::exists(registered)) movie = open_registered(registered.string());
  else throw InputError(inv.session->string() + ": no raw/ folder and no apical/registered.h5 to size the stages from");
  SessionShape s;
  s.planes = movie->planes();
  s.frames = movie->frames();
  s.height = movie->height();
  s.width = movie->width();
  s.sample_bytes = sample_bytes(movie->dtype());
  s.frame_rate_hz = movie->acquisition().frame_rate_hz;
  return s;
}

void add_roi_counts(const Invocation& inv, SessionShape& s) {
  const fs::path rois = inv.session_path("apical/rois.h5");
  s.rois_measured = fs::exists(rois);
  if (s.rois_measured) s.rois_per_plane = count_rois(rois.string(), s.planes);
  else s.rois_per_plane.assign(size_t(s.planes), inv.get<int64_t>("rois"));
}

RunSettings run_settings(const Invocation& inv) {
  RunSettings r;
  r.threads = inv.threads > 0 ? inv.threads : int(std::max(1u, std::thread::hardware_concurrency()));
  r.batch_size = inv.batch_size;
  r.segment_batch_size = inv.has("batch-size") ? inv.batch_size : 50;  // as apical segment does
  r.reference_frames = inv.get<int>("reference-frames");
  r.nonrigid = inv.get<bool>("nonrigid");
  if (r.reference_frames < 1) throw InputError("--reference-frames must be at least 1");
  return r;
}

// The apical.ini sections a stage reads: its own and those its usage shares.
std::vector<std::string> config_sections(const std::string& stage) {
  for (const Command& c : commands())
    if (stage == c.name) {
      std::vector<std::string> sections = c.usage().config_sections;
      sections.insert(sections.begin(), stage);
      return sections;
    }
  throw std::runtime_error("no command " + stage);
}

std::string json_string(const std::string& text) {
  std::ostringstream out;
  out << '"';
  for (char c : text) {
    if (c == '"' || c == '\\') out << '\\' << c;
    else if (static_cast<unsigned char>(c) < 0x20) out << "\\u00" << "0123456789abcdef"[(c >> 4) & 15] << "0123456789abcdef"[c & 15];
    else out << c;
  }
  return out.str() + '"';
}

std::string joined(const std::vector<std::string>& items, const std::string& separator, bool quoted) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : separator) + (quoted ? json_string(item) : item);
  return out;
}

std::string joined(const std::vector<int64_t>& numbers) {
  std::string out;
  for (int64_t n : numbers) out += (out.empty() ? "" : ",") + std::to_string(n);
  return out;
}

void print_key_values(const std::string& session, const SessionShape& s, const RunSettings& r,
                      const std::vector<StageEstimate>& stages) {
  std::cout << "session=" << session << "\nplanes=" << s.planes << "\nframes=" << s.frames << "\nheight=" << s.height
            << "\nwidth=" << s.width << "\nrois=" << joined(s.rois_per_plane)
            << "\nrois_from=" << (s.rois_measured ? "rois.h5" : "assumed") << "\nthreads=" << r.threads
            << "\nbatch_size=" << r.batch_size << "\nprocess_mb=" << process_floor_mb() << "\n";
  for (const auto& e : stages)
    std::cout << e.stage << ".mem_mb=" << e.mem_mb << "\n"
              << e.stage << ".threads=" << e.threads << "\n"
              << e.stage << ".config_sections=" << joined(config_sections(e.stage), ",", false) << "\n"
              << e.stage << ".bound=" << e.bound << "\n";
}

void print_json(const std::string& session, const SessionShape& s, const RunSettings& r,
                const std::vector<StageEstimate>& stages) {
  std::cout << "{\n  \"session\": " << json_string(session) << ",\n  \"movie\": {\"planes\": " << s.planes
            << ", \"frames\": " << s.frames << ", \"height\": " << s.height << ", \"width\": " << s.width
            << "},\n  \"rois\": [" << joined(s.rois_per_plane) << "],\n  \"rois_from\": \""
            << (s.rois_measured ? "rois.h5" : "assumed") << "\",\n  \"threads\": " << r.threads
            << ",\n  \"batch_size\": " << r.batch_size << ",\n  \"process_mb\": " << process_floor_mb()
            << ",\n  \"stages\": {";
  for (size_t i = 0; i < stages.size(); ++i) {
    const StageEstimate& e = stages[i];
    std::cout << (i ? "," : "") << "\n    " << json_string(e.stage) << ": {\"mem_mb\": " << e.mem_mb
              << ", \"threads\": " << e.threads << ", \"config_sections\": ["
              << joined(config_sections(e.stage), ", ", true) << "], \"bound\": " << json_string(e.bound) << "}";
  }
  std::cout << "\n  }\n}\n";
}

}  // namespace

int plan_run(const Invocation& inv) {
  if (!inv.session) throw InputError("apical plan needs a SESSION folder (with raw/, apical.ini or apical/)");
  if (inv.get<int64_t>("rois") < 0) throw InputError("--rois must be 0 or more");
  SessionShape shape = movie_shape(inv);
  add_roi_counts(inv, shape);
  const RunSettings settings = run_settings(inv);
  const std::vector<StageEstimate> stages = estimate_stages(shape, settings);
  if (inv.get<bool>("json")) print_json(inv.session->string(), shape, settings, stages);
  else print_key_values(inv.session->string(), shape, settings, stages);
  return kOk;
}

}  // namespace apical::cli
