// Options: every name a command reads is declared (so a misspelling fails here, not in a
// user's run), --help shows each default once and rounded, and old spellings still work.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "tests/test_support.hpp"

using apical::test::run_apical;
using apical::test::run_shell;
using apical::test::TempDir;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kCommands = {"register", "segment", "extract", "regress", "figures", "qc",
                                            "run",      "simulate", "evaluate", "info",   "plan",     "export", "import"};

std::string source_of(const std::string& file) {
  std::ifstream in(std::string(APICAL_SOURCE_DIR) + "/cli/" + file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Option names a source file reads: inv.get<...>("x"), inv.has("x"), vm["x"], vm.count("x").
std::set<std::string> names_read(const std::string& source) {
  std::set<std::string> names;
  const std::regex read(R"((?:\.get<[^>]*>|\.has|vm\[|vm\.count\(|options\[)\(?"([a-z0-9-]+)\")");
  for (auto it = std::sregex_iterator(source.begin(), source.end(), read); it != std::sregex_iterator(); ++it)
    names.insert((*it)[1]);
  return names;
}

std::set<std::string> names_in_help(const std::string& help) {
  std::set<std::string> names;
  const std::regex option(R"(--([a-z0-9-]+))");
  for (auto it = std::sregex_iterator(help.begin(), help.end(), option); it != std::sregex_iterator(); ++it)
    names.insert((*it)[1]);
  return names;
}

}  // namespace

TEST_CASE("every option a command reads is declared in its --help", "[cli][options]") {
  std::set<std::string> declared_anywhere;
  for (const auto& command : kCommands) {
    const auto help = run_apical(command + " --help");
    REQUIRE(help.exit_code == 0);
    const auto declared = names_in_help(help.output);
    declared_anywhere.insert(declared.begin(), declared.end());
    for (const auto& name : names_read(source_of(command + ".cpp"))) {
      if (name == "input") continue;  // the positional argument
      INFO("apical " << command << " reads --" << name);
      CHECK(declared.count(name) == 1);
    }
  }
  // The shared groups (cli/command.cpp) are read by several commands: each name is declared by some.
  for (const auto& name : names_read(source_of("command.cpp"))) {
    if (name == "input") continue;
    INFO("cli/command.cpp reads --" << name);
    CHECK(declared_anywhere.count(name) == 1);
  }
}

TEST_CASE("help text shows each default once, rounded", "[cli][options]") {
  for (const auto& command : kCommands) {
    const auto help = run_apical(command + " --help").output;
    std::istringstream lines(help);
    std::string line;
    while (std::getline(lines, line)) {
      INFO("apical " << command << ": " << line);
      CHECK_FALSE((line.find("(=") != std::string::npos && line.find("(default") != std::string::npos));
      CHECK_FALSE(std::regex_search(line, std::regex(R"(\(=-?[0-9]*\.[0-9]{7,})")));
    }
  }
}

TEST_CASE("old option spellings still work, with a note naming the new one", "[cli][options]") {
  TempDir dir("apical_options");
  const std::string session = (dir / "s").string();
  REQUIRE(run_apical("simulate " + session + " -q --height 96 --width 96 --frames 1500 --neurons 8 --distractors 2")
              .exit_code == 0);
  // Old flags: --frame_rate_hz (the old [acquisition] key) and regress --threshold.
  const auto info = run_apical("register " + session + " --frame_rate_hz 30");
  INFO(info.output);
  CHECK(info.exit_code == 0);
  CHECK(info.output.find("'frame_rate_hz' is a deprecated spelling; use 'frame-rate'") != std::string::npos);
  REQUIRE(run_apical("segment " + session + " -q").exit_code == 0);
  REQUIRE(run_apical("extract " + session + " -q").exit_code == 0);
  const auto regress = run_apical("regress " + session + " --threshold 3.5 --permutations 0");
  INFO(regress.output);
  CHECK(regress.exit_code == 0);
  CHECK(regress.output.find("'threshold' is a deprecated spelling; use 'event-threshold'") != std::string::npos);
  const auto parameters = run_apical("info " + session + "/apical/regress.h5");
  CHECK(parameters.output.find("event-threshold=3.5") != std::string::npos);
}

TEST_CASE("an option value holding Boost's %value% placeholder is an error naming it, not a hang", "[cli][options]") {
  // fuzz_ini found the hang: Boost.Program_options loops forever filling %value% with a
  // value that holds %value%. Both doors: the command line and an INI file (the finding).
  const std::string timeout = "timeout 10 " + std::string(APICAL_BINARY) + " ";
  const auto line = run_shell(timeout + "register absent.h5 --batch-size 'a%value%'");
  INFO(line.output);
  CHECK(line.exit_code == 1);
  CHECK(line.output.find("the command line: 'a%value%' holds '%value%'") != std::string::npos);
  const std::string ini = std::string(APICAL_SOURCE_DIR) + "/fuzz/regressions/ini/timeout-value-placeholder-in-value.ini";
  const auto file = run_shell(timeout + "register absent.h5 --config '" + ini + "'");
  INFO(file.output);
  CHECK(file.exit_code == 1);
  CHECK(file.output.find(ini + ": ") != std::string::npos);
  CHECK(file.output.find("holds '%value%'") != std::string::npos);
}
