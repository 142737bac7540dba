// Placeholder until the extract stage lands.
#include "cli/command.hpp"
#include "io/error.hpp"

namespace apical::cli {
Usage extract_usage() {
  Usage u;
  u.synopsis = "apical extract";
  u.description = "Not available in this build yet.";
  u.options.add_options()("input", po::value<std::vector<std::string>>(), "inputs");
  u.positional.add("input", -1);
  return u;
}
int extract_run(const Invocation&) { throw InputError("apical extract is not available in this build yet"); }
}  // namespace apical::cli
