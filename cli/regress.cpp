// Placeholder until the regress stage lands.
#include "cli/command.hpp"
#include "io/error.hpp"

namespace apical::cli {
Usage regress_usage() {
  Usage u;
  u.synopsis = "apical regress";
  u.description = "Not available in this build yet.";
  u.options.add_options()("input", po::value<std::vector<std::string>>(), "inputs");
  u.positional.add("input", -1);
  return u;
}
int regress_run(const Invocation&) { throw InputError("apical regress is not available in this build yet"); }
}  // namespace apical::cli
