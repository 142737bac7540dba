// Placeholder until the figures stage lands.
#include "cli/command.hpp"
#include "io/error.hpp"

namespace apical::cli {
Usage figures_usage() {
  Usage u;
  u.synopsis = "apical figures";
  u.description = "Not available in this build yet.";
  u.options.add_options()("input", po::value<std::vector<std::string>>(), "inputs");
  u.positional.add("input", -1);
  return u;
}
int figures_run(const Invocation&) { throw InputError("apical figures is not available in this build yet"); }
}  // namespace apical::cli
