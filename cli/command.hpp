#pragma once
// What every subcommand shares: the usage/run shape, the shared options (defined once
// here), config files and a session's apical.ini, exit codes, the summary line, progress.
#include <boost/program_options.hpp>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "io/movie.hpp"
#include "io/provenance.hpp"
#include "stats/events.hpp"

namespace apical::cli {

namespace po = boost::program_options;

// Documented exit codes.
enum ExitCode { kOk = 0, kBadInput = 1, kInternalError = 2 };

// A command's declarative surface: shown by --help, used to parse and to validate configs.
struct Usage {
  std::string synopsis;     // e.g. "apical register [options] SESSION | -i INPUT... -o OUTPUT"
  std::string description;  // what it does, in a scientist's words
  po::options_description options{"Command options"};
  po::positional_options_description positional;
  std::vector<std::string> config_sections;  // apical.ini sections it reads (besides its own)
};

// A parsed invocation handed to run().
struct Invocation {
  std::string command;
  std::string command_line;  // full, as typed (for provenance)
  po::variables_map options;
  std::optional<std::filesystem::path> session;  // when given a session folder
  int threads = 0;
  bool quiet = false;
  bool force = false;
  bool progress = false;  // progress lines on stderr
  int batch_size = 200;
  std::vector<std::string> config_files;  // read, in order of precedence

  template <typename T> T get(const std::string& name) const { return options[name].as<T>(); }
  bool has(const std::string& name) const { return options.count(name) && !options[name].defaulted(); }
  // Every option value as text (for provenance "parameters"), shared options excluded.
  std::map<std::string, std::string> parameters() const;
  // Session folder paths per the contract (InputError if no session was given).
  std::filesystem::path session_path(const std::string& relative) const;
  // With --update: true (after touching the output so Make sees it fresh) when `output`
  // exists with this invocation's parameters and the same inputs; the stage then skips.
  bool output_is_current(const std::string& output, const std::vector<std::string>& inputs) const;
  // ... or when `output` was curated by hand from an output that was current (apical curate).
  bool curated_output_is_current(const RecordedProvenance& made, const std::vector<std::string>& inputs) const;
  bool update = false;
};

struct Command {
  const char* name;
  const char* summary;
  Usage (*usage)();
  int (*run)(const Invocation&);
};

// The reference page of a command in the source tree ("docs/register.md").
std::string docs_page(const std::string& command);

// The dispatch table (cli/main.cpp).
const std::vector<Command>& commands();

// A typed option whose default comes from a parameter struct, shown once in --help and
// rounded the way a person writes it (0.1, not 0.10000000000000001).
std::string default_text(double value);
template <typename T> po::typed_value<T>* value_default(const T& value) {
  if constexpr (std::is_floating_point_v<T>) return po::value<T>()->default_value(value, default_text(double(value)));
  else return po::value<T>()->default_value(value);
}

// Old option spellings still accepted (command line and config files), each with a note
// naming the new one: {old, new}.
const std::vector<std::pair<std::string, std::string>>& renamed_options();

// Options of the [acquisition] section of apical.ini, also accepted as flags.
void add_acquisition_options(po::options_description& options);
AcquisitionOverrides acquisition_overrides(const Invocation& invocation);
// Options naming a raw movie (for register, info).
void add_movie_input_options(po::options_description& options);
MovieSpec movie_spec(const Invocation& invocation, const std::vector<std::string>& paths);
// The event detector's options (extract, regress): one spelling, defaults from `defaults`.
void add_event_options(po::options_description& options, const stats::EventParams& defaults);
stats::EventParams event_params(const Invocation& invocation, stats::EventParams defaults);

// Parses argv for `command`, reading --config files and a session's apical.ini.
Invocation parse_invocation(const Command& command, int argc, char** argv);
void print_help(const Command& command, std::ostream& out);

// Prints "apical <command>: <message>" lines to stderr unless --quiet.
void note(const Invocation& invocation, const std::string& message);
// Progress on stderr (only when it is a terminal, unless --progress), rate-limited.
class Progress {
 public:
  Progress(const Invocation& invocation, std::string label, int64_t total);
  void update(int64_t done);
  void finish();

 private:
  bool enabled_;
  std::string label_;
  int64_t total_;
  std::chrono::steady_clock::time_point start_, last_;
};

// The one-line summary every command prints at the end: "apical X: <what> in 1.23 s".
class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};
void summary(const Invocation& invocation, const std::string& what, double seconds);

// Peak resident memory of this process, MB (from /proc/self/status VmHWM).
double peak_rss_mb();

}  // namespace apical::cli
