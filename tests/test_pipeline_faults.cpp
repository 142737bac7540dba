// Faults while `apical run` works: kill -9 at random moments, a second run on the same
// session, and the raw movie truncated or rewritten underneath register.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "io/h5.hpp"
#include "tests/test_support.hpp"

using namespace apical;
using apical::test::run_apical;
using apical::test::TempDir;
namespace fs = std::filesystem;

namespace {

// The numbers each stage produced (not timestamps), keyed by file and dataset.
std::map<std::string, std::vector<double>> results(const fs::path& apical_dir) {
  std::map<std::string, std::vector<double>> out;
  const std::map<std::string, std::vector<std::string>> datasets = {
      {"registered.h5", {"plane0/shifts", "plane0/movie", "plane1/mean_image"}},
      {"rois.h5", {"plane0/roi_pixels", "plane1/roi_weights", "pairs/dendrite_roi"}},
      {"traces.h5", {"plane0/dff", "plane1/F"}},
      {"regress.h5", {"glm/beta", "neurons/sd_slope"}},
  };
  for (const auto& [file, names] : datasets) {
    h5::File f = h5::File::open_read((apical_dir / file).string());
    for (const auto& name : names)
      if (f.root().has(name)) out[file + ":" + name] = f.root().read<double>(name);
  }
  for (const char* csv : {"figures/learning_curve.csv", "figures/sd_scatter.csv"}) {
    std::ifstream in(apical_dir / csv);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    out[csv] = std::vector<double>(text.begin(), text.end());
  }
  return out;
}

bool same_values(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))) return false;
  return true;
}

std::vector<std::string> temporaries(const fs::path& folder) {
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(folder, ec))
    if (e.path().filename().string().find(".tmp-") != std::string::npos) found.push_back(e.path().string());
  return found;
}

// `apical ARGS` started in its own process group; stdout and stderr to `log`.
pid_t start_apical(const std::string& args, const fs::path& log) {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    std::string command = "exec " + std::string(APICAL_BINARY) + " " + args + " > '" + log.string() + "' 2>&1";
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::setpgid(pid, pid);
  return pid;
}

int wait_exit_code(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string read_text(const fs::path& file) {
  std::ifstream in(file);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

std::string simulate(const fs::path& session, const std::string& size) {
  auto r = run_apical("simulate " + session.string() + " -q " + size + " --neurons 8 --distractors 2 --seed 11");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  return session.string();
}

template <typename Condition> bool wait_until(Condition&& condition, int timeout_ms = 60000) {
  for (int waited = 0; waited < timeout_ms; waited += 2) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

}  // namespace

TEST_CASE("30 kill -9 at random moments of apical run: each re-run ends with the outputs of an uninterrupted run",
          "[faults][kill][pipeline]") {
  TempDir dir;
  const std::string session = simulate(dir / "s", "--height 96 --width 96 --frames 900");
  const fs::path out = fs::path(session) / "apical";
  const auto start = std::chrono::steady_clock::now();
  auto clean_run = run_apical("run " + session + " -q");
  const double clean_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  INFO(clean_run.output);
  REQUIRE(clean_run.exit_code == 0);
  const auto clean = results(out);
  REQUIRE(clean.size() >= 12);

  // The seed is printed with every failure; APICAL_KILL_SEED replays a run of kills.
  const char* seed_text = std::getenv("APICAL_KILL_SEED");
  const unsigned seed = seed_text ? unsigned(std::strtoul(seed_text, nullptr, 10)) : 20261201u;
  std::mt19937 random(seed);
  std::uniform_real_distribution<double> moment(0.0, clean_ms);
  for (int kill = 0; kill < 30; ++kill) {
    // Every third kill starts from nothing, so the early stages are hit as often as the late.
    if (kill % 3 == 0)
      for (const auto& name : {"registered.h5", "rois.h5", "traces.h5", "regress.h5"}) fs::remove(out / name);
    const int delay_ms = int(moment(random));
    INFO("kill " << kill << " of seed " << seed << " after " << delay_ms << " ms");
    pid_t pid = start_apical("run " + session + " -q", dir / "killed.log");
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    ::kill(-pid, SIGKILL);
    wait_exit_code(pid);
    auto rerun = run_apical("run " + session + " -q");
    INFO(rerun.output);
    REQUIRE(rerun.exit_code == 0);
    CHECK(temporaries(out).empty());
    const auto again = results(out);
    REQUIRE(again.size() == clean.size());
    for (const auto& [name, values] : clean) {
      INFO(name);
      CHECK(same_values(again.at(name), values));
    }
  }
}

TEST_CASE("a second apical run on a session being run stops with a clear message, and the first finishes intact",
          "[faults][concurrent][pipeline]") {
  TempDir dir;
  const std::string session = simulate(dir / "s", "--height 96 --width 96 --frames 900");
  const fs::path out = fs::path(session) / "apical";
  pid_t first = start_apical("run " + session + " -q", dir / "first.log");
  REQUIRE(wait_until([&] { return !temporaries(out).empty(); }));  // the first run is writing
  auto second = run_apical("run " + session + " -q");
  INFO(second.output);
  CHECK(second.exit_code == 1);
  CHECK_THAT(second.output, Catch::Contains(session) && Catch::Contains("another `apical run` (process " +
                                                                        std::to_string(first)));
  CHECK(wait_exit_code(first) == 0);
  INFO(read_text(dir / "first.log"));
  CHECK(temporaries(out).empty());
  // The outputs are those of one run alone: a third run on a fresh copy (same folder name:
  // figures are labelled with it) gives the same.
  const fs::path copy = dir / "alone" / "s";
  fs::create_directories(copy);
  for (const char* part : {"raw", "bci", "apical.ini"})
    fs::copy(fs::path(session) / part, copy / part, fs::copy_options::recursive);
  REQUIRE(run_apical("run " + copy.string() + " -q").exit_code == 0);
  const auto alone = results(copy / "apical");
  const auto raced = results(out);
  for (const auto& [name, values] : alone) {
    INFO(name);
    CHECK(same_values(raced.at(name), values));
  }
  // The lock goes with the process: after the first run ends, a new run may start.
  CHECK(run_apical("run " + session + " -q").exit_code == 0);
}

TEST_CASE("a raw movie truncated or rewritten while register reads it is an error naming the file, with no output",
          "[faults][changed-input][pipeline]") {
  TempDir dir;
  const std::string session = simulate(dir / "s", "--height 128 --width 128 --frames 1200 --frames-per-file 1200");
  const fs::path raw = fs::path(session) / "raw";
  fs::path movie;
  for (const auto& e : fs::directory_iterator(raw)) movie = e.path();
  const fs::path out = fs::path(session) / "apical";

  SECTION("truncated to half") {
    pid_t pid = start_apical("register " + session + " --threads 1 --batch-size 10", dir / "register.log");
    REQUIRE(wait_until([&] { return !temporaries(out).empty(); }));
    fs::resize_file(movie, fs::file_size(movie) / 2);
    const int code = wait_exit_code(pid);
    const std::string log = read_text(dir / "register.log");
    INFO(log);
    CHECK(code == 1);
    CHECK_THAT(log, Catch::Contains(movie.string() + ": changed while being read"));
  }
  SECTION("rewritten in place, same size") {
    pid_t pid = start_apical("register " + session + " --threads 1 --batch-size 10", dir / "register.log");
    REQUIRE(wait_until([&] { return !temporaries(out).empty(); }));
    {
      std::fstream f(movie, std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(std::streamoff(fs::file_size(movie) / 2));
      f.write("\x7f\x7f\x7f\x7f", 4);
    }
    const int code = wait_exit_code(pid);
    const std::string log = read_text(dir / "register.log");
    INFO(log);
    CHECK(code == 1);
    CHECK_THAT(log, Catch::Contains(movie.string() + ": changed while being read"));
  }
  CHECK_FALSE(fs::exists(out / "registered.h5"));
  CHECK(temporaries(out).empty());
}
