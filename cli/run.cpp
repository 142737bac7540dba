// apical run SESSION: every stage for one session folder, in order, each skipping its work
// when its output is current (same parameters and inputs, per the output's provenance).
#include <filesystem>
#include <iomanip>
#include <sstream>

#include "cli/command.hpp"
#include "io/error.hpp"
#include "io/session_lock.hpp"

namespace apical::cli {

Usage run_usage() {
  Usage u;
  u.synopsis = "apical run [options] SESSION";
  u.description =
      "Runs register, segment, extract, regress, figures and qc on one session folder (what\n"
      "Makefile.analysis does per session). Each stage reads its options from the session's\n"
      "apical.ini ([register], [segment], ... sections) and skips its work when its output is up\n"
      "to date: same parameters and same inputs as recorded in the output's provenance. Each stage\n"
      "prints its own one-line summary; outputs land in SESSION/apical/. A session without a BCI\n"
      "log (no bci/ folder: imaging only) runs register, segment, extract and qc, and says once\n"
      "that regress and figures were skipped.";
  u.options.add_options()
      ("input", po::value<std::vector<std::string>>()->required(), "SESSION folder")
      ("from", po::value<std::string>()->default_value("register"), "first stage to run")
      ("to", po::value<std::string>()->default_value("qc"), "last stage to run");
  u.positional.add("input", 1);
  return u;
}

namespace {

const std::vector<std::string> kStages = {"register", "segment", "extract", "regress", "figures", "qc"};

// The shared options of this run, passed on to every stage.
std::vector<std::string> shared_arguments(const Invocation& inv) {
  std::vector<std::string> args;
  if (inv.threads > 0) args.push_back("--threads=" + std::to_string(inv.threads));
  if (inv.quiet) args.push_back("--quiet");
  if (inv.options["progress"].as<bool>()) args.push_back("--progress");
  args.push_back("--batch-size=" + std::to_string(inv.batch_size));
  for (const auto& file : inv.config_files)
    if (!inv.session || file != (*inv.session / "apical.ini").string()) args.push_back("--config=" + file);
  return args;
}

int run_stage(const std::string& stage, const std::string& session, const std::vector<std::string>& shared) {
  const Command* command = nullptr;
  for (const auto& c : commands())
    if (stage == c.name) command = &c;
  if (!command) throw std::runtime_error("no stage " + stage);
  std::vector<std::string> args = {"apical", stage, session};
  if (stage != "qc") args.push_back("--update");
  args.insert(args.end(), shared.begin(), shared.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  Invocation stage_invocation = parse_invocation(*command, int(argv.size()), argv.data());
  try {
    return command->run(stage_invocation);
  } catch (const InputError& e) {
    throw InputError(stage + ": " + e.what());
  }
}

}  // namespace

int run_run(const Invocation& inv) {
  Stopwatch clock;
  if (!inv.session) throw InputError("apical run needs a SESSION folder (with raw/, apical.ini or apical/)");
  auto first = std::find(kStages.begin(), kStages.end(), inv.get<std::string>("from"));
  auto last = std::find(kStages.begin(), kStages.end(), inv.get<std::string>("to"));
  if (first == kStages.end() || last == kStages.end() || first > last)
    throw InputError("--from/--to must name stages in order: register segment extract regress figures qc");
  SessionLock lock(*inv.session);  // a second run on this session stops here, with a message
  std::vector<std::string> shared = shared_arguments(inv);
  // regress and figures analyse the BCI task: imaging-only sessions stop before them.
  const bool imaging_only = !std::filesystem::exists(*inv.session / "bci");
  bool told = false;
  int stages = 0;
  for (auto stage = first; stage <= last; ++stage) {
    if (imaging_only && (*stage == "regress" || *stage == "figures")) {
      if (!told) note(inv, "no bci/ folder in " + inv.session->string() + ": an imaging-only session; regress and figures skipped");
      told = true;
      continue;
    }
    int code = run_stage(*stage, inv.session->string(), shared);
    if (code != kOk) return code;
    ++stages;
  }
  summary(inv, std::to_string(stages) + " stages on " + inv.session->string(), clock.seconds());
  return kOk;
}

}  // namespace apical::cli
