// An INI file given with --config (and read the same way as a session's apical.ini), with
// apical's own checks: unknown sections and keys, values of the wrong type, then the
// acquisition facts, plane roles, --raw-shape and --axes it may set.
#include "cli/command.hpp"
#include "fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace apical;
  const auto ini = fuzz::scratch("config.ini");
  fuzz::write_file(ini, std::string_view(reinterpret_cast<const char*>(data), size));
  const std::string movie = fuzz::scratch("absent.raw").string();
  for (const char* name : {"register", "regress"}) {
    const cli::Command* command = nullptr;
    for (const auto& c : cli::commands())
      if (std::string(c.name) == name) command = &c;
    fuzz::expect_success_or_input_error([&] {
      std::vector<std::string> args = {"apical", name, "--config", ini.string(), movie, "-o", movie + ".h5"};
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      cli::Invocation inv = cli::parse_invocation(*command, int(argv.size()), argv.data());
      if (std::string(name) == "register") {
        cli::acquisition_overrides(inv);
        cli::movie_spec(inv, {movie});
      }
    });
  }
  return 0;
}
