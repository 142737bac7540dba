// The command line as a user meets it: exit codes, one clear message naming the file and
// the problem, no partial output, config files, interruption.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "io/tiff.hpp"
#include "tests/test_support.hpp"

using namespace apical;
using apical::test::run_apical;
using apical::test::run_shell;
using apical::test::TempDir;
namespace fs = std::filesystem;

namespace {

// A small single-plane int16 TIFF with a textured, drifting image.
std::string small_tiff(const TempDir& dir, const std::string& name, int frames = 40, int size = 48) {
  std::string path = (dir / name).string();
  TiffWriter writer(path, size, size, SampleType::int16, false);
  std::vector<float> frame(size_t(size) * size);
  for (int t = 0; t < frames; ++t) {
    for (int y = 0; y < size; ++y)
      for (int x = 0; x < size; ++x)
        frame[size_t(y) * size + x] = float(1000 + 300 * std::sin(0.3 * (x + t % 3)) * std::cos(0.25 * y) + 7 * ((x * 13 + y * 7 + t) % 5));
    writer.write_page(frame.data());
  }
  writer.close();
  return path;
}

bool no_files_but(const fs::path& folder, const std::vector<std::string>& allowed) {
  for (const auto& entry : fs::directory_iterator(folder)) {
    std::string name = entry.path().filename().string();
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      UNSCOPED_INFO("unexpected file " << name);
      return false;
    }
  }
  return true;
}

}  // namespace

TEST_CASE("apical --version and --help work and name every command", "[cli]") {
  auto v = run_apical("--version");
  CHECK(v.exit_code == 0);
  CHECK_THAT(v.output, Catch::StartsWith("apical "));
  auto h = run_apical("--help");
  CHECK(h.exit_code == 0);
  for (const char* c : {"info", "simulate", "register", "segment", "extract", "regress", "figures", "evaluate"})
    CHECK_THAT(h.output, Catch::Contains(c));
  auto r = run_apical("register --help");
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("--max-shift") && Catch::Contains("default") && Catch::Contains("--threads") &&
                           Catch::Contains("--batch-size") && Catch::Contains("px"));
  auto u = run_apical("frobnicate");
  CHECK(u.exit_code == 1);
  CHECK_THAT(u.output, Catch::Contains("unknown command"));
}

TEST_CASE("bad input: one message naming the file and the problem, exit 1, no output", "[cli][errors]") {
  TempDir dir;
  std::string good = small_tiff(dir, "good.tif");
  std::string out = (dir / "out.h5").string();

  SECTION("truncated TIFF") {
    fs::copy_file(good, dir / "cut.tif");
    fs::resize_file(dir / "cut.tif", fs::file_size(good) / 2);
    auto r = run_apical("register " + (dir / "cut.tif").string() + " -o " + out);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.output, Catch::Contains("cut.tif") && Catch::Contains("truncated"));
  }
  SECTION("empty file") {
    std::ofstream(dir / "empty.tif").close();
    auto r = run_apical("register " + (dir / "empty.tif").string() + " -o " + out);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.output, Catch::Contains("empty.tif") && Catch::Contains("empty"));
  }
  SECTION("HDF5 dataset that does not exist") {
    auto r0 = run_apical("register " + good + " -q -o " + (dir / "reg.h5").string());
    REQUIRE(r0.exit_code == 0);
    auto r = run_apical("register " + (dir / "reg.h5").string() + " --dataset /nothing/here -o " + out);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.output, Catch::Contains("reg.h5") && Catch::Contains("/nothing/here"));
  }
  SECTION("axis string that does not fit") {
    auto r0 = run_apical("register " + good + " -q -o " + (dir / "reg.h5").string());
    REQUIRE(r0.exit_code == 0);
    auto r = run_apical("register " + (dir / "reg.h5").string() + " --dataset plane0/movie --axes tq -o " + out);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.output, Catch::Contains("reg.h5") && Catch::Contains("'tq'"));
  }
  SECTION("unwritable output folder") {
    fs::create_directories(dir / "locked");
    fs::permissions(dir / "locked", fs::perms::owner_read | fs::perms::owner_exec);
    auto r = run_apical("register " + good + " -o " + (dir / "locked" / "out.h5").string());
    fs::permissions(dir / "locked", fs::perms::owner_all);
    if (::geteuid() == 0) {
      // root may write anywhere; the check still must not crash
      CHECK(r.exit_code == 0);
    } else {
      CHECK(r.exit_code == 1);
      CHECK_THAT(r.output, Catch::Contains("locked") && Catch::Contains("not writable"));
    }
    fs::remove_all(dir / "locked");
  }
  SECTION("output folder that is a file") {
    std::ofstream(dir / "plainfile").put('x');
    auto r = run_apical("register " + good + " -o " + (dir / "plainfile" / "out.h5").string());
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.output, Catch::Contains("plainfile"));
  }
  SECTION("config file with an unknown key") {
    std::ofstream(dir / "bad.ini") << "[register]\nmax-shift = 5\nmax-shfit = 7\n";
    auto r = run_apical("register " + good + " --config " + (dir / "bad.ini").string() + " -o " + out);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.output, Catch::Contains("bad.ini") && Catch::Contains("register.max-shfit"));
  }
  SECTION("option value of the wrong type") {
    auto r = run_apical("register " + good + " --max-shift lots -o " + out);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.output, Catch::Contains("max-shift"));
  }
  SECTION("existing output without --force") {
    REQUIRE(run_apical("register " + good + " -q -o " + out).exit_code == 0);
    auto r = run_apical("register " + good + " -o " + out);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.output, Catch::Contains("out.h5") && Catch::Contains("--force"));
    CHECK(run_apical("register " + good + " -q --force -o " + out).exit_code == 0);
    return;
  }
  CHECK_FALSE(fs::exists(out));
  CHECK(no_files_but(dir.path(), {"good.tif", "cut.tif", "empty.tif", "reg.h5", "bad.ini", "plainfile"}));
}

TEST_CASE("a session's apical.ini sets options; the command line wins; --config wins over apical.ini", "[cli][config]") {
  TempDir dir;
  fs::create_directories(dir / "s" / "raw");
  small_tiff(dir, "s/raw/movie.tif");
  std::ofstream(dir / "s" / "apical.ini") << "[acquisition]\nplanes = 1\nroles = soma\nframe_rate_hz = 15\n"
                                         << "[register]\nmax-shift = 4\n[segment]\n";
  std::string session = (dir / "s").string();
  REQUIRE(run_apical("register " + session + " -q").exit_code == 0);
  auto info = run_apical("info " + session + "/apical/registered.h5");
  CHECK_THAT(info.output, Catch::Contains("max-shift=4") && Catch::Contains("frame_rate_hz=15"));
  REQUIRE(run_apical("register " + session + " -q --force --max-shift 6").exit_code == 0);
  CHECK_THAT(run_apical("info " + session + "/apical/registered.h5").output, Catch::Contains("max-shift=6"));
  std::ofstream(dir / "extra.ini") << "[register]\nmax-shift = 5\n";
  REQUIRE(run_apical("register " + session + " -q --force --config " + (dir / "extra.ini").string()).exit_code == 0);
  CHECK_THAT(run_apical("info " + session + "/apical/registered.h5").output, Catch::Contains("max-shift=5"));
}

TEST_CASE("killing register mid-write leaves no file at the target path", "[cli][interrupt]") {
  TempDir dir;
  std::string session = (dir / "s").string();
  REQUIRE(run_apical("simulate " + session + " -q --height 256 --width 256 --frames 1500 --neurons 10").exit_code == 0);
  std::string target = session + "/apical/registered.h5";
  for (int signal_number : {SIGKILL, SIGTERM}) {
    pid_t pid = ::fork();
    if (pid == 0) {
      ::execl(APICAL_BINARY, APICAL_BINARY, "register", session.c_str(), "-q", "--force", "--batch-size", "50",
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    // Wait until the temporary output exists (writing has begun), then kill.
    fs::path folder = fs::path(session) / "apical";
    bool writing = false;
    for (int i = 0; i < 400 && !writing; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
      for (const auto& e : fs::directory_iterator(folder))
        if (e.path().filename().string().find(".tmp-") != std::string::npos) writing = true;
    }
    REQUIRE(writing);
    ::kill(pid, signal_number);
    int status = 0;
    ::waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status));
    CHECK_FALSE(fs::exists(target));
    if (signal_number == SIGTERM) {
      // A catchable signal also removes the process's temporary file.
      CHECK_FALSE(fs::exists(folder / (".registered.h5.tmp-" + std::to_string(pid))));
    }
  }
  // A rerun completes normally and clears the SIGKILLed run's leftover temporary file.
  CHECK(run_apical("register " + session + " -q").exit_code == 0);
  CHECK(fs::exists(target));
  for (const auto& e : fs::directory_iterator(fs::path(session) / "apical"))
    CHECK(e.path().filename().string().find(".tmp-") == std::string::npos);
}

TEST_CASE("simulate is deterministic per seed", "[cli][simulate]") {
  TempDir dir;
  std::string opts = " -q --height 96 --width 96 --frames 200 --neurons 10 --seed 9";
  REQUIRE(run_apical("simulate " + (dir / "a").string() + opts).exit_code == 0);
  REQUIRE(run_apical("simulate " + (dir / "b").string() + opts).exit_code == 0);
  auto same = run_shell("cmp " + (dir / "a/raw/session_00001.tif").string() + " " + (dir / "b/raw/session_00001.tif").string() +
                        " && cmp " + (dir / "a/bci/frames.csv").string() + " " + (dir / "b/bci/frames.csv").string());
  CHECK(same.exit_code == 0);
  REQUIRE(run_apical("simulate " + (dir / "c").string() + " -q --height 96 --width 96 --frames 200 --neurons 10 --seed 10").exit_code == 0);
  CHECK(run_shell("cmp -s " + (dir / "a/raw/session_00001.tif").string() + " " + (dir / "c/raw/session_00001.tif").string()).exit_code != 0);
}
