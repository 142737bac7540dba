// placeholder until the simulator model lands
#include "cli/command.hpp"
namespace apical::cli {
Usage simulate_usage() { Usage u; u.synopsis = "apical simulate"; return u; }
int simulate_run(const Invocation&) { return 2; }
}
