// A full disk: every stage reports "no space left" naming its output, exits 1, and leaves
// neither a file at the target path nor a temporary. The output folder is a small tmpfs
// mounted by the test (needs root; skipped with a message otherwise).
#include <catch2/catch.hpp>

#include <sys/statvfs.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>

#include "tests/test_support.hpp"

using apical::test::run_apical;
using apical::test::run_shell;
using apical::test::TempDir;
namespace fs = std::filesystem;

namespace {

// A tmpfs of `kilobytes` mounted at `folder` for the object's lifetime.
class SmallDisk {
 public:
  SmallDisk(const fs::path& folder, int kilobytes) : folder_(folder) {
    fs::create_directories(folder);
    mounted_ = run_shell("mount -t tmpfs -o size=" + std::to_string(kilobytes) + "k tmpfs '" + folder.string() + "'")
                   .exit_code == 0;
  }
  ~SmallDisk() {
    if (mounted_) run_shell("umount -l '" + folder_.string() + "'");
  }
  SmallDisk(const SmallDisk&) = delete;
  SmallDisk& operator=(const SmallDisk&) = delete;
  bool mounted() const { return mounted_; }

  // Fills the disk with a file until only about `keep_kb` kilobytes stay free.
  void fill_leaving(int keep_kb) const {
    struct statvfs st {};
    REQUIRE(::statvfs(folder_.c_str(), &st) == 0);
    const uint64_t free_bytes = uint64_t(st.f_bavail) * st.f_frsize;
    const uint64_t keep = uint64_t(keep_kb) * 1024;
    std::ofstream filler(folder_ / "filler.bin", std::ios::binary);
    std::string block(4096, '\1');
    for (uint64_t written = 0; written + keep < free_bytes; written += block.size())
      filler.write(block.data(), std::streamsize(block.size()));
  }

 private:
  fs::path folder_;
  bool mounted_ = false;
};

bool can_mount() {
  static const bool allowed = [] {
    TempDir probe("apical_mount_probe");
    SmallDisk disk(probe / "m", 64);
    return disk.mounted();
  }();
  return allowed;
}

std::vector<std::string> temporaries(const fs::path& folder) {
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(folder, ec))
    if (e.path().filename().string().find(".tmp-") != std::string::npos) found.push_back(e.path().string());
  return found;
}

// The path the error message names ("apical X: error: PATH: cannot write: no space left...").
std::string named_output(const std::string& output) {
  std::smatch m;
  static const std::regex pattern(R"(error: (\S+): cannot write: no space left on device)");
  return std::regex_search(output, m, pattern) ? m[1].str() : std::string();
}

std::string contents(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Every file in a folder with its bytes.
std::map<std::string, std::string> snapshot(const fs::path& folder) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(folder))
    if (e.is_regular_file() && e.path().filename() != "filler.bin") files[e.path().string()] = contents(e.path());
  return files;
}

// The stage failed as the contract says: exit 1, "no space left" naming a file in `folder`,
// that file absent (or, when it was there before, unchanged), and no temporary anywhere.
void check_failed_cleanly(const apical::test::CommandResult& r, const fs::path& folder,
                          const std::map<std::string, std::string>& before = {}) {
  INFO(r.output);
  CHECK(r.exit_code == 1);
  const std::string named = named_output(r.output);
  REQUIRE_FALSE(named.empty());
  CHECK(named.rfind(folder.string(), 0) == 0);
  CHECK(named.find(".tmp-") == std::string::npos);
  if (before.count(named)) CHECK(contents(named) == before.at(named));
  else CHECK_FALSE(fs::exists(named));
  CHECK(temporaries(folder).empty());
}

void copy_into(const fs::path& from, const fs::path& to) {
  fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
}

uint64_t size_in_kb(const fs::path& path) {
  uint64_t bytes = 0;
  if (fs::is_regular_file(path)) bytes = fs::file_size(path);
  else
    for (const auto& e : fs::recursive_directory_iterator(path))
      if (e.is_regular_file()) bytes += e.file_size() + 4096;
  return bytes / 1024 + 8;
}

}  // namespace

TEST_CASE("register onto a 2 MB disk fails with 'no space left', leaving no file (the movie's last chunks fail late)",
          "[faults][disk-full]") {
  const std::string movie = apical::test::real_data("allen_movie_100x100x100.h5");
  if (movie.empty()) {
    WARN("real data folder absent; skipping");
    return;
  }
  if (!can_mount()) {
    WARN("cannot mount a tmpfs (needs root); skipping the disk-full test");
    return;
  }
  TempDir dir;
  SmallDisk disk(dir / "out", 2048);
  REQUIRE(disk.mounted());
  auto r = run_apical("register " + movie + " --dataset data -q -o " + (dir / "out" / "reg.h5").string());
  check_failed_cleanly(r, dir / "out");
  CHECK(named_output(r.output) == (dir / "out" / "reg.h5").string());
}

TEST_CASE("every stage writing onto a full disk fails with 'no space left' naming its output, leaving no file",
          "[faults][disk-full]") {
  if (!can_mount()) {
    WARN("cannot mount a tmpfs (needs root); skipping the disk-full test");
    return;
  }
  TempDir dir;
  const fs::path roomy = dir / "roomy";
  auto sim = run_apical("simulate " + roomy.string() +
                        " -q --height 96 --width 96 --frames 900 --neurons 8 --distractors 2 --seed 7");
  INFO(sim.output);
  REQUIRE(sim.exit_code == 0);
  auto full_run = run_apical("run " + roomy.string() + " -q");
  INFO(full_run.output);
  REQUIRE(full_run.exit_code == 0);

  // Each stage with the outputs of the stages before it on a disk with little room left.
  const std::vector<std::pair<std::string, std::vector<std::string>>> stages = {
      {"register", {}},
      {"segment", {"registered.h5"}},
      {"extract", {"registered.h5", "rois.h5"}},
      {"regress", {"registered.h5", "rois.h5", "traces.h5"}},
      {"figures", {"registered.h5", "rois.h5", "traces.h5", "regress.h5"}},
      {"qc", {"registered.h5", "rois.h5", "traces.h5", "regress.h5", "qc", "figures"}},
  };
  for (const auto& [stage, before] : stages) {
    INFO("stage " << stage);
    const fs::path session = dir / ("session_" + stage);
    fs::create_directories(session);
    for (const char* part : {"raw", "bci", "apical.ini"}) copy_into(roomy / part, session / part);
    uint64_t needed_kb = 256;
    for (const auto& name : before) needed_kb += size_in_kb(roomy / "apical" / name);
    SmallDisk disk(session / "apical", int(needed_kb));
    REQUIRE(disk.mounted());
    for (const auto& name : before) copy_into(roomy / "apical" / name, session / "apical" / name);
    if (stage == "qc") fs::remove(session / "apical" / "qc" / "index.html");
    disk.fill_leaving(24);
    const auto before_run = snapshot(session / "apical");
    auto r = run_apical(stage + " " + session.string() + " -q");
    check_failed_cleanly(r, session / "apical", before_run);
  }
}

TEST_CASE("simulate onto a full disk fails with 'no space left', leaving neither the session nor its truth",
          "[faults][disk-full]") {
  if (!can_mount()) {
    WARN("cannot mount a tmpfs (needs root); skipping the disk-full test");
    return;
  }
  TempDir dir;
  SmallDisk disk(dir / "out", 512);
  REQUIRE(disk.mounted());
  auto r = run_apical("simulate " + (dir / "out" / "s").string() + " -q --height 96 --width 96 --frames 300 --neurons 8 --distractors 2");
  check_failed_cleanly(r, dir / "out");
  CHECK_FALSE(fs::exists(dir / "out" / "s"));
  CHECK_FALSE(fs::exists(dir / "out" / "s.truth.h5"));
}
