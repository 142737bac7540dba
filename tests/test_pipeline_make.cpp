// Sessions at scale: Makefile.analysis over three simulated sessions, up-to-date checks,
// re-running only what an apical.ini edit touches, and kill -9 mid-run then re-make.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "io/h5.hpp"
#include "tests/test_support.hpp"

using namespace apical;
using apical::test::run_apical;
using apical::test::run_shell;
using apical::test::TempDir;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kOutputs = {"registered.h5", "rois.h5", "traces.h5", "regress.h5"};

std::string make_command(const fs::path& sessions, const std::string& extra = "") {
  return "make -f " + std::string(APICAL_SOURCE_DIR) + "/Makefile.analysis SESSIONS=" + sessions.string() +
         " APICAL=" + APICAL_BINARY + " " + extra;
}

std::string created(const fs::path& file) {
  return h5::File::open_read(file.string()).root().string_attribute("created_utc").value_or("") + "|" +
         h5::File::open_read(file.string()).root().string_attribute("command_line").value_or("") +
         std::to_string(fs::last_write_time(file).time_since_epoch().count());
}

std::string created_only(const fs::path& file) {
  return h5::File::open_read(file.string()).root().string_attribute("created_utc").value_or("");
}

// The numbers a stage produced (not its timestamps): datasets that define the result.
std::map<std::string, std::vector<double>> results(const fs::path& apical_dir) {
  std::map<std::string, std::vector<double>> out;
  auto grab = [&](const std::string& file, const std::string& name) {
    h5::File f = h5::File::open_read((apical_dir / file).string());
    h5::Group root = f.root();
    if (root.has(name)) out[file + ":" + name] = root.read<double>(name);
  };
  grab("registered.h5", "plane0/shifts");
  grab("registered.h5", "plane1/mean_image");
  grab("rois.h5", "plane0/roi_pixels");
  grab("rois.h5", "plane1/roi_weights");
  grab("rois.h5", "pairs/dendrite_roi");
  grab("traces.h5", "plane0/dff");
  grab("traces.h5", "plane1/F");
  grab("regress.h5", "glm/beta");
  grab("regress.h5", "neurons/sd_slope");
  return out;
}

bool temporary_exists(const fs::path& folder) {
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(folder, ec))
    if (e.path().filename().string().find(".tmp-") != std::string::npos) {
      UNSCOPED_INFO("temporary file " << e.path());
      return true;
    }
  return false;
}

// Equal as numbers, NaN equal to NaN (a neuron without a fit is NaN in both runs).
bool same_values(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))) return false;
  return true;
}

}  // namespace

TEST_CASE("Makefile.analysis builds three sessions, stays up to date, re-runs only what an edit touches, survives kill -9",
          "[make][pipeline]") {
  if (run_shell("make --version").exit_code != 0) {
    WARN("GNU make not installed; skipping");
    return;
  }
  TempDir dir;
  fs::path sessions = dir / "sessions";
  for (int day = 1; day <= 3; ++day) {
    auto r = run_apical("simulate " + (sessions / ("day" + std::to_string(day))).string() +
                        " -q --height 128 --width 128 --frames 2400 --neurons 10 --distractors 4 --seed " +
                        std::to_string(100 + day));
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
  }
  // Truth files live beside the session folders; they are not sessions (no apical.ini).
  auto first = run_shell(make_command(sessions, "-j 2"));
  INFO(first.output);
  REQUIRE(first.exit_code == 0);
  for (int day = 1; day <= 3; ++day) {
    fs::path out = sessions / ("day" + std::to_string(day)) / "apical";
    for (const auto& f : kOutputs) CHECK(fs::exists(out / f));
    CHECK(fs::exists(out / "figures" / "learning_curve.png"));
    CHECK(fs::exists(out / "qc" / "index.html"));
    CHECK_FALSE(temporary_exists(out));
  }
  CHECK(fs::exists(sessions / "figures" / "learning_curve.png"));
  CHECK(run_shell(make_command(sessions, "-q")).exit_code == 0);

  SECTION("editing one session's apical.ini re-runs only that session's affected stages") {
    std::map<std::string, std::string> before;
    for (int day = 1; day <= 3; ++day)
      for (const auto& f : kOutputs) {
        fs::path p = sessions / ("day" + std::to_string(day)) / "apical" / f;
        before[p.string()] = created(p);
      }
    std::string day2_regress_created = created_only(sessions / "day2" / "apical" / "regress.h5");
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // a newer mtime for make
    std::ofstream(sessions / "day2" / "apical.ini", std::ios::app) << "[regress]\npermutations = 200\n";
    CHECK(run_shell(make_command(sessions, "-q")).exit_code != 0);
    auto again = run_shell(make_command(sessions, "-j 2"));
    INFO(again.output);
    REQUIRE(again.exit_code == 0);
    for (int day : {1, 3})
      for (const auto& f : kOutputs) {
        fs::path p = sessions / ("day" + std::to_string(day)) / "apical" / f;
        CHECK(created(p) == before[p.string()]);  // not even touched
      }
    for (const auto& f : {"registered.h5", "rois.h5", "traces.h5"}) {
      fs::path p = sessions / "day2" / "apical" / f;
      CHECK(created_only(p) == before[p.string()].substr(0, before[p.string()].find('|')));  // not recomputed
    }
    CHECK(created_only(sessions / "day2" / "apical" / "regress.h5") != day2_regress_created);  // recomputed
    CHECK(run_shell(make_command(sessions, "-q")).exit_code == 0);
  }

  SECTION("kill -9 of a stage mid-run, then make, gives the same outputs as the clean run") {
    fs::path out = sessions / "day1" / "apical";
    auto clean = results(out);
    REQUIRE(clean.size() >= 8);
    for (const auto& f : kOutputs) fs::remove(out / f);
    // Run make in its own process group and kill the whole group once a stage is writing.
    pid_t pid = ::fork();
    if (pid == 0) {
      ::setpgid(0, 0);
      std::string command = make_command(sessions, "-j 1 > /dev/null 2>&1");
      ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::setpgid(pid, pid);
    bool writing = false;
    for (int i = 0; i < 2000 && !writing; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      writing = temporary_exists(out) && fs::exists(out / "registered.h5");  // past the first stage
    }
    REQUIRE(writing);
    ::kill(-pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    auto rerun = run_shell(make_command(sessions, "-j 2"));
    INFO(rerun.output);
    REQUIRE(rerun.exit_code == 0);
    CHECK_FALSE(temporary_exists(out));
    auto again = results(out);
    REQUIRE(again.size() == clean.size());
    for (const auto& [name, values] : clean) {
      INFO(name);
      CHECK(same_values(again[name], values));
    }
  }
}
