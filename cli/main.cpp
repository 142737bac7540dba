// apical: one binary, subcommands dispatched from a small table (cli/commands.cpp); each in its own file.
#include <tbb/global_control.h>

#include <iostream>
#include <memory>

#include "apical_version.hpp"
#include "cli/command.hpp"
#include "io/atomic_output.hpp"
#include "io/error.hpp"
#include "io/h5.hpp"


namespace {

void print_overview() {
  std::cout << "apical " << APICAL_VERSION
            << " - two-photon calcium imaging: motion correction, soma/dendrite ROIs, traces,\n"
               "and regression of dendritic signals on reward, error and BCI role.\n\n"
               "usage: apical <command> [options]   (apical <command> --help for details)\n\ncommands:\n";
  for (const auto& c : apical::cli::commands())
    std::cout << "  " << c.name << std::string(12 - std::min<size_t>(11, std::string(c.name).size()), ' ')
              << c.summary << "\n";
  std::cout << "\nExit codes: 0 ok, 1 bad input or usage, 2 internal error.\n";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace apical::cli;
  apical::h5::skip_library_cleanup_at_exit();
  if (argc < 2) {
    print_overview();
    return kBadInput;
  }
  std::string name = argv[1];
  if (name == "--version" || name == "version") {
    std::cout << "apical " << APICAL_VERSION << "\n";
    return kOk;
  }
  if (name == "--help" || name == "-h" || name == "help") {
    print_overview();
    return kOk;
  }
  const Command* command = nullptr;
  for (const auto& c : commands())
    if (name == c.name) command = &c;
  if (!command) {
    std::cerr << "apical: unknown command '" << name << "' (apical --help lists them)\n";
    return kBadInput;
  }
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      print_help(*command, std::cout);
      return kOk;
    }
  }
  apical::install_output_cleanup_handlers();
  try {
    Invocation invocation = parse_invocation(*command, argc, argv);
    std::unique_ptr<tbb::global_control> limit;
    if (invocation.threads > 0)
      limit = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                    size_t(invocation.threads));
    return command->run(invocation);
  } catch (const apical::InputError& e) {
    std::cerr << "apical " << name << ": error: " << e.what() << "\n";
    return kBadInput;
  } catch (const std::exception& e) {
    std::cerr << "apical " << name << ": internal error: " << e.what() << "\n";
    return kInternalError;
  }
}
