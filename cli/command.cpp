#include "cli/command.hpp"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <set>
#include <sstream>

#include "apical_version.hpp"
#include "io/error.hpp"
#include "io/provenance.hpp"

namespace apical::cli {

namespace fs = std::filesystem;

namespace {

// Options that change how a command runs but never what it computes: left out of
// provenance "parameters" so that `apical run` does not redo work over them.
const std::set<std::string> kRunOnlyOptions = {"threads", "quiet", "force", "progress", "config",
                                               "batch-size", "help", "input", "output", "update"};

po::options_description shared_options() {
  po::options_description shared("Options every command takes");
  shared.add_options()
      ("help,h", "show this help")
      ("threads", po::value<int>()->default_value(0), "worker threads (0 = all cores); results do not depend on it")
      ("quiet,q", po::bool_switch(), "print errors only")
      ("force,f", po::bool_switch(), "overwrite existing outputs")
      ("progress", po::bool_switch(), "show progress on stderr even when it is not a terminal")
      ("config", po::value<std::vector<std::string>>()->composing(),
       "read options from this file (INI; [section] per command, e.g. [register]); repeatable; "
       "the command line wins over it, it wins over the session's apical.ini")
      ("batch-size", po::value<int>()->default_value(200), "frames per batch (sets peak memory, not results)")
      ("update", po::bool_switch(), "skip the work when the output is current: same parameters and same inputs "
       "as recorded in its provenance (it is touched so Make sees it fresh)");
  return shared;
}

bool is_session_folder(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec) &&
         (fs::exists(p / "raw", ec) || fs::exists(p / "apical.ini", ec) || fs::exists(p / "apical", ec));
}

std::string value_as_text(const po::variable_value& v) {
  const boost::any& a = v.value();
  if (auto p = boost::any_cast<std::string>(&a)) return *p;
  if (auto p = boost::any_cast<int>(&a)) return std::to_string(*p);
  if (auto p = boost::any_cast<int64_t>(&a)) return std::to_string(*p);
  if (auto p = boost::any_cast<uint64_t>(&a)) return std::to_string(*p);
  if (auto p = boost::any_cast<bool>(&a)) return *p ? "true" : "false";
  if (auto p = boost::any_cast<double>(&a)) {
    std::ostringstream s;
    s << std::setprecision(10) << *p;
    return s.str();
  }
  if (auto p = boost::any_cast<float>(&a)) {
    std::ostringstream s;
    s << std::setprecision(7) << *p;
    return s.str();
  }
  if (auto p = boost::any_cast<std::vector<std::string>>(&a)) {
    std::string out;
    for (const auto& s : *p) out += (out.empty() ? "" : ",") + s;
    return out;
  }
  return "?";
}

// All option names a command accepts (long names).
std::set<std::string> option_names(const po::options_description& d) {
  std::set<std::string> names;
  for (const auto& o : d.options()) names.insert(o->long_name());
  return names;
}

// Every option name any command or the shared group declares.
const std::set<std::string>& every_option_name() {
  static const std::set<std::string> names = [] {
    std::set<std::string> all = option_names(shared_options());
    for (const Command& c : commands())
      for (const std::string& n : option_names(c.usage().options)) all.insert(n);
    return all;
  }();
  return names;
}

// The current spelling of an option name (see renamed_options), with a note when it changed.
std::string current_spelling(const std::string& name, const std::set<std::string>& known, const std::string& where) {
  if (known.count(name)) return name;
  for (const auto& [old_name, new_name] : renamed_options())
    if (name == old_name && known.count(new_name)) {
      static std::set<std::string> noted;  // once per name and process (apical run parses per stage)
      if (noted.insert(where + old_name).second)
        std::cerr << where << ": '" << old_name << "' is a deprecated spelling; use '" << new_name << "'\n";
      return new_name;
    }
  return name;
}

// Command-line tokens with old option spellings replaced ("--threshold=3" -> "--event-threshold=3").
std::vector<std::string> respelled_arguments(std::vector<std::string> args, const std::set<std::string>& known,
                                             const std::string& command) {
  for (std::string& arg : args) {
    if (arg.rfind("--", 0) != 0 || arg.size() == 2) continue;
    const size_t equals = arg.find('=');
    const std::string name = arg.substr(2, equals == std::string::npos ? std::string::npos : equals - 2);
    const std::string spelled = current_spelling(name, known, "apical " + command);
    if (spelled != name) arg = "--" + spelled + (equals == std::string::npos ? "" : arg.substr(equals));
  }
  return args;
}

// Reads one INI file into option tokens for `command`; every key must be known to some command.
std::vector<std::string> config_tokens(const std::string& file, const Command& command,
                                       const Usage& usage) {
  std::ifstream in(file);
  if (!in) throw file_error(file, "cannot open config file");
  po::options_description none;
  po::parsed_options parsed(nullptr);
  try {
    parsed = po::parse_config_file(in, none, true);
  } catch (const po::error& e) {
    throw file_error(file, std::string("not a valid config file: ") + e.what());
  }
  std::set<std::string> mine = option_names(usage.options);
  std::set<std::string> shared = option_names(shared_options());
  std::set<std::string> readable(usage.config_sections.begin(), usage.config_sections.end());
  readable.insert(command.name);
  std::vector<std::string> tokens;
  for (const auto& option : parsed.options) {
    const std::string& key = option.string_key;
    size_t dot = key.find('.');
    std::string section = dot == std::string::npos ? "" : key.substr(0, dot);
    std::string name = dot == std::string::npos ? key : key.substr(dot + 1);
    name = current_spelling(name, every_option_name(), file);
    std::string value = option.value.empty() ? "" : option.value[0];
    bool known = false;
    if (section.empty()) {
      known = shared.count(name) > 0;
    } else {
      for (const Command& other : commands()) {
        Usage u = other.usage();
        if (section == other.name && option_names(u.options).count(name)) known = true;
        for (const auto& s : u.config_sections)
          if (section == s && option_names(u.options).count(name)) known = true;
      }
    }
    if (!known) throw file_error(file, "unknown key '" + key + "' (see apical <command> --help)");
    bool applies = section.empty() || (readable.count(section) && mine.count(name));
    if (applies) tokens.push_back("--" + name + "=" + value);
  }
  return tokens;
}

// Boost.Program_options fills its error messages by replacing %value%, %option% and the
// like with the user's text, and loops forever when that text holds the same placeholder
// (found by fuzz_ini: `--batch-size 'a%value%'` hung). Such tokens are refused up front.
void reject_placeholder_tokens(const std::vector<std::string>& tokens, const std::string& source) {
  for (const std::string& token : tokens)
    for (const char* placeholder : {"%value%", "%option%", "%canonical_option%", "%prefix%", "%original_token%"})
      if (token.find(placeholder) != std::string::npos)
        throw file_error(source, "'" + token + "' holds '" + placeholder +
                                     "', which apical cannot take in an option name or value");
}

void store_tokens(const std::vector<std::string>& tokens, const po::options_description& all,
                  po::variables_map& vm, const std::string& source) {
  reject_placeholder_tokens(tokens, source);
  try {
    po::store(po::command_line_parser(tokens).options(all).run(), vm);
  } catch (const po::error& e) {
    throw file_error(source, e.what());
  }
}

}  // namespace

std::map<std::string, std::string> Invocation::parameters() const {
  std::map<std::string, std::string> out;
  for (const auto& [name, value] : options)
    if (!kRunOnlyOptions.count(name) && !value.empty()) out[name] = value_as_text(value);
  return out;
}

bool Invocation::output_is_current(const std::string& output, const std::vector<std::string>& inputs) const {
  if (!update || !fs::exists(output)) return false;
  bool curated = false;
  try {
    const RecordedProvenance made = read_provenance(output);
    const bool same = made.parameters == parameters_text(parameters()) && made.input_provenance == describe_inputs(inputs);
    // A file curated by hand stands for the run it was curated from (see curated_output_is_current).
    curated = !same && curated_output_is_current(made, inputs);
    if (!same && !curated) return false;
  } catch (const std::exception&) {
    return false;  // unreadable or not ours: redo the work
  }
  std::error_code ec;
  fs::last_write_time(output, fs::file_time_type::clock::now(), ec);
  note(*this, output + (curated ? " is up to date (curated by hand from candidates made with the same parameters and "
                                  "inputs); kept"
                                : " is up to date (same parameters and inputs); skipped"));
  return true;
}

bool Invocation::curated_output_is_current(const RecordedProvenance& made, const std::vector<std::string>& inputs) const {
  if (!made.curated) return false;
  if (made.curated_from_parameters == parameters_text(parameters()) &&
      made.curated_from_input_provenance == describe_inputs(inputs))
    return true;
  note(*this, "the output was curated by hand (" + made.command_line + ") but its candidates were made with other "
              "parameters or inputs: it is made again, without the curation");
  return false;
}

fs::path Invocation::session_path(const std::string& relative) const {
  if (!session) throw InputError("apical " + command + ": no session folder given (and no explicit input/output)");
  return *session / relative;
}

std::string default_text(double value) {
  std::ostringstream text;
  text << std::setprecision(6) << value;
  return text.str();
}

const std::vector<std::pair<std::string, std::string>>& renamed_options() {
  static const std::vector<std::pair<std::string, std::string>> renamed{
      {"frame_rate_hz", "frame-rate"},    {"pixel_size_um", "pixel-size"},
      {"threshold", "event-threshold"},   {"min-interval", "event-min-interval"},
      {"highpass-window", "event-highpass-window"}, {"smoothing", "event-smoothing"},
  };
  return renamed;
}

void add_event_options(po::options_description& options, const stats::EventParams& d) {
  options.add_options()
      ("event-threshold", value_default(d.threshold_sigma), "event minimum prominence and height, noise SDs")
      ("event-min-interval", value_default(d.min_interval_s), "minimum time between events of one ROI, s")
      ("event-highpass-window", value_default(d.highpass_window_s), "running-median high-pass window for events, s")
      ("event-smoothing", value_default(d.smoothing_s), "Gaussian SD of the event detection smoothing, s");
}

stats::EventParams event_params(const Invocation& inv, stats::EventParams p) {
  p.threshold_sigma = inv.get<double>("event-threshold");
  p.min_interval_s = inv.get<double>("event-min-interval");
  p.highpass_window_s = inv.get<double>("event-highpass-window");
  p.smoothing_s = inv.get<double>("event-smoothing");
  return p;
}

void add_acquisition_options(po::options_description& options) {
  options.add_options()
      ("planes", po::value<int>(), "imaging planes interleaved in the raw movie (overrides ScanImage metadata)")
      ("roles", po::value<std::string>(), "comma list of plane roles, soma|dendrite, one per plane")
      ("channels", po::value<int>(), "channels interleaved in the raw movie (channel fastest)")
      ("flyback-frames", po::value<int>(), "discarded flyback frames per volume")
      ("frame-rate", po::value<double>(), "frame rate per plane, Hz")
      ("pixel-size", po::value<double>(), "pixel size, µm");
}

AcquisitionOverrides acquisition_overrides(const Invocation& inv) {
  AcquisitionOverrides o;
  const auto& vm = inv.options;
  if (vm.count("planes")) o.planes = vm["planes"].as<int>();
  if (vm.count("channels")) o.channels = vm["channels"].as<int>();
  if (vm.count("flyback-frames")) o.flyback_frames = vm["flyback-frames"].as<int>();
  if (vm.count("frame-rate")) o.frame_rate_hz = vm["frame-rate"].as<double>();
  if (vm.count("pixel-size")) o.pixel_size_um = vm["pixel-size"].as<double>();
  if (vm.count("roles")) {
    std::stringstream s(vm["roles"].as<std::string>());
    std::string role;
    while (std::getline(s, role, ',')) {
      role.erase(0, role.find_first_not_of(' '));
      role.erase(role.find_last_not_of(' ') + 1);
      if (role != "soma" && role != "dendrite")
        throw InputError("--roles: '" + role + "' is not soma or dendrite");
      o.roles.push_back(role);
    }
  }
  return o;
}

void add_movie_input_options(po::options_description& options) {
  options.add_options()
      ("dataset", po::value<std::string>()->default_value(""), "HDF5 input: dataset path (default: the only 3-D dataset)")
      ("axes", po::value<std::string>()->default_value("tyx"), "HDF5/raw input: axis order of the stored array (tyx, yxt, ...)")
      ("raw-shape", po::value<std::string>(), "raw binary input: T,H,W")
      ("raw-dtype", po::value<std::string>(), "raw binary input: uint16|int16|float32|...")
      ("channel", po::value<int>()->default_value(0), "functional channel to read (0-based)");
}

MovieSpec movie_spec(const Invocation& inv, const std::vector<std::string>& paths) {
  MovieSpec spec;
  spec.paths = paths;
  spec.dataset = inv.get<std::string>("dataset");
  spec.axes = inv.get<std::string>("axes");
  spec.channel = inv.get<int>("channel");
  if (inv.options.count("raw-dtype")) spec.raw_dtype = inv.get<std::string>("raw-dtype");
  if (inv.options.count("raw-shape")) spec.raw_shape = parse_raw_shape(inv.get<std::string>("raw-shape"));
  return spec;
}

std::string docs_page(const std::string& command) {
  static const std::map<std::string, std::string> pages = {
      {"info", "file-formats.md"}, {"simulate", "evaluate.md"}, {"register", "register.md"},
      {"segment", "segment.md"},   {"extract", "extract.md"},   {"regress", "regress.md"},
      {"figures", "regress.md"},   {"qc", "qc.md"},             {"run", "sessions.md"},
      {"plan", "workflows.md"},    {"export", "nwb.md"},        {"import", "nwb.md"},
      {"evaluate", "evaluate.md"}, {"track", "track.md"},       {"place", "place.md"},
      {"curate", "curation.md"}};
  const auto page = pages.find(command);
  return "docs/" + (page == pages.end() ? std::string("commands.md") : page->second);
}

void print_help(const Command& command, std::ostream& out) {
  Usage usage = command.usage();
  out << "usage: " << usage.synopsis << "\n\n" << usage.description << "\n\n";
  out << usage.options << "\n" << shared_options() << "\n";
  out << "Exit codes: 0 ok, 1 bad input or usage, 2 internal error.\n";
  // The page beside the source this binary was built from, when it is still there.
  const std::string page = docs_page(command.name);
  const std::filesystem::path built_beside = std::filesystem::path(APICAL_SOURCE_DIR) / page;
  out << "Documentation: " << page;
  if (std::filesystem::exists(built_beside)) out << " (" << built_beside.string() << ")";
  out << "\n";
}

Invocation parse_invocation(const Command& command, int argc, char** argv) {
  Invocation inv;
  inv.command = command.name;
  for (int i = 0; i < argc; ++i) inv.command_line += (i ? " " : "") + std::string(argv[i]);
  Usage usage = command.usage();
  po::options_description all;
  all.add(usage.options).add(shared_options());
  std::vector<std::string> args =
      respelled_arguments(std::vector<std::string>(argv + 2, argv + argc), option_names(all), command.name);
  po::variables_map vm;
  reject_placeholder_tokens(args, "the command line");
  try {
    po::store(po::command_line_parser(args).options(all).positional(usage.positional).run(), vm);
  } catch (const po::error& e) {
    throw InputError(std::string(e.what()) + " (see apical " + command.name + " --help)");
  }
  if (vm.count("input")) {
    auto inputs = vm["input"].as<std::vector<std::string>>();
    if (inputs.size() == 1 && is_session_folder(inputs[0])) inv.session = fs::path(inputs[0]);
  }
  if (vm.count("config")) inv.config_files = vm["config"].as<std::vector<std::string>>();
  if (inv.session && fs::exists(*inv.session / "apical.ini"))
    inv.config_files.push_back((*inv.session / "apical.ini").string());
  for (const auto& file : inv.config_files)
    store_tokens(config_tokens(file, command, usage), all, vm, file);
  try {
    po::notify(vm);
  } catch (const po::error& e) {
    throw InputError(std::string(e.what()) + " (see apical " + command.name + " --help)");
  }
  inv.options = vm;
  inv.threads = vm["threads"].as<int>();
  inv.quiet = vm["quiet"].as<bool>();
  inv.force = vm["force"].as<bool>();
  inv.progress = vm["progress"].as<bool>() || (!inv.quiet && ::isatty(STDERR_FILENO));
  inv.batch_size = vm["batch-size"].as<int>();
  inv.update = vm["update"].as<bool>();
  if (inv.threads < 0) throw InputError("--threads must be 0 (all cores) or more");
  if (inv.batch_size < 1) throw InputError("--batch-size must be at least 1 frame");
  return inv;
}

void note(const Invocation& inv, const std::string& message) {
  if (!inv.quiet) std::cerr << "apical " << inv.command << ": " << message << "\n";
}

Progress::Progress(const Invocation& inv, std::string label, int64_t total)
    : enabled_(inv.progress), label_("apical " + inv.command + ": " + std::move(label)), total_(total),
      start_(std::chrono::steady_clock::now()), last_(start_) {}

void Progress::update(int64_t done) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_ < std::chrono::milliseconds(500) && done < total_) return;
  last_ = now;
  double elapsed = std::chrono::duration<double>(now - start_).count();
  double rate = elapsed > 0 ? double(done) / elapsed : 0;
  std::fprintf(stderr, "\r%s %lld/%lld (%.0f/s)   ", label_.c_str(), (long long)done, (long long)total_, rate);
  std::fflush(stderr);
}

void Progress::finish() {
  if (enabled_) std::fprintf(stderr, "\n");
}

void summary(const Invocation& inv, const std::string& what, double seconds) {
  if (inv.quiet) return;
  std::ostringstream s;
  s << std::fixed << std::setprecision(2) << seconds;
  std::cout << "apical " << inv.command << ": " << what << " in " << s.str() << " s (peak RSS "
            << std::fixed << std::setprecision(0) << peak_rss_mb() << " MB)" << std::endl;
}

double peak_rss_mb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

}  // namespace apical::cli
