// Placeholder until the segment stage lands.
#include "cli/command.hpp"
#include "io/error.hpp"

namespace apical::cli {
Usage segment_usage() {
  Usage u;
  u.synopsis = "apical segment";
  u.description = "Not available in this build yet.";
  u.options.add_options()("input", po::value<std::vector<std::string>>(), "inputs");
  u.positional.add("input", -1);
  return u;
}
int segment_run(const Invocation&) { throw InputError("apical segment is not available in this build yet"); }
}  // namespace apical::cli
