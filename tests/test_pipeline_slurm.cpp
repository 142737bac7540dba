// The Snakefile on a real single-node SLURM (scripts/slurm-local.sh): three simulated
// sessions through profiles/slurm give the same data as Makefile.analysis; a second run
// submits nothing; an edit to one session's [regress] re-runs only its regress and what
// follows; a job cancelled while it writes is re-run to the same data; a bad sessions folder
// is an error before any job is submitted.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "io/h5.hpp"
#include "tests/test_support.hpp"

using namespace apical;
using apical::test::run_apical;
using apical::test::run_shell;
using apical::test::TempDir;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kStageFiles = {"registered.h5", "rois.h5", "traces.h5", "regress.h5"};
const std::vector<std::string> kDays = {"day1", "day2", "day3"};

bool tool_present(const std::string& tool) {
  return run_shell("PATH=\"$PATH:/usr/sbin\" command -v " + tool).exit_code == 0;
}

std::string source(const std::string& relative) { return std::string(APICAL_SOURCE_DIR) + "/" + relative; }

// A single-node SLURM for the test's lifetime, stopped by the PIDs its script started.
class LocalSlurm {
 public:
  explicit LocalSlurm(const fs::path& state) : state_(state) {
    auto r = run_shell("PATH=\"$PATH:/usr/sbin\" bash " + source("scripts/slurm-local.sh") + " start " + state.string());
    INFO(r.output);
    started_ = r.exit_code == 0;
  }
  ~LocalSlurm() {
    if (started_) run_shell("PATH=\"$PATH:/usr/sbin\" bash " + source("scripts/slurm-local.sh") + " stop " + state_.string());
  }
  bool started() const { return started_; }
  // What a client shell needs: the config, /usr/sbin, and USER (unset in CI; Snakemake's
  // --slurm mode reads it).
  std::string environment() const {
    return "export SLURM_CONF=" + (state_ / "slurm.conf").string() +
           " PATH=\"$PATH:/usr/sbin\"; export USER=\"${USER:-$(id -un)}\"; ";
  }

 private:
  fs::path state_;
  bool started_ = false;
};

struct Workflow {
  const LocalSlurm& slurm;
  fs::path workdir;   // Snakemake's own state (.snakemake) lives here, not in the checkout
  fs::path sessions;

  std::string command(const std::string& sessions_folder) const {
    return slurm.environment() + "cd " + workdir.string() + " && timeout 900 snakemake -s " + source("Snakefile") +
           " --profile " + source("profiles/slurm") + " --config sessions=" + sessions_folder +
           " apical=" + APICAL_BINARY + " threads=1 2>&1";
  }
  apical::test::CommandResult run() const { return run_shell(command(sessions.string())); }
};

apical::test::CommandResult run_make(const fs::path& sessions) {
  return run_shell("make -f " + source("Makefile.analysis") + " SESSIONS=" + sessions.string() + " APICAL=" +
                   APICAL_BINARY + " -j 2 2>&1");
}

size_t submitted_jobs(const std::string& snakemake_output) {
  static const std::regex submitted("has been submitted with SLURM jobid");
  return size_t(std::distance(std::sregex_iterator(snakemake_output.begin(), snakemake_output.end(), submitted),
                              std::sregex_iterator()));
}

std::string created_utc(const fs::path& file) {
  return h5::File::open_read(file.string()).root().string_attribute("created_utc").value_or("");
}

bool temporary_exists(const fs::path& folder) {
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(folder, ec))
    if (e.path().filename().string().find(".tmp-") != std::string::npos) return true;
  return false;
}

// Every dataset as numbers, and every attribute below the root as text (the root holds the
// provenance, whose command line and time differ between runs by design).
void collect(const h5::Group& group, const std::string& prefix, std::map<std::string, std::vector<double>>& data,
             std::map<std::string, std::string>& attributes) {
  for (const auto& name : group.children()) {
    H5O_info_t info;
    if (H5Oget_info_by_name(group.id(), name.c_str(), &info, H5P_DEFAULT) < 0) continue;
    const std::string path = prefix + "/" + name;
    if (info.type == H5O_TYPE_GROUP) {
      h5::Group child = group.group(name);
      for (const auto& [key, value] : child.attributes_as_text()) attributes[path + "@" + key] = value;
      collect(child, path, data, attributes);
    } else if (info.type == H5O_TYPE_DATASET) {
      data[path] = group.dataset(name).read<double>();
    }
  }
}

bool same_numbers(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))) return false;
  return true;
}

// Same datasets with the same values, same group attributes.
void check_same_data(const fs::path& a, const fs::path& b) {
  INFO(a.string() << " vs " << b.string());
  std::map<std::string, std::vector<double>> data_a, data_b;
  std::map<std::string, std::string> attributes_a, attributes_b;
  collect(h5::File::open_read(a.string()).root(), "", data_a, attributes_a);
  collect(h5::File::open_read(b.string()).root(), "", data_b, attributes_b);
  REQUIRE(data_a.size() > 3);
  REQUIRE(data_a.size() == data_b.size());
  for (const auto& [name, values] : data_a) {
    INFO(name);
    REQUIRE(data_b.count(name));
    CHECK(same_numbers(values, data_b[name]));
  }
  CHECK(attributes_a == attributes_b);
}

std::string file_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every CSV of a figures folder, byte for byte.
void check_same_figures(const fs::path& a, const fs::path& b) {
  size_t compared = 0;
  for (const auto& entry : fs::directory_iterator(a))
    if (entry.path().extension() == ".csv") {
      INFO(entry.path().string());
      REQUIRE(fs::exists(b / entry.path().filename()));
      CHECK(file_text(entry.path()) == file_text(b / entry.path().filename()));
      ++compared;
    }
  CHECK(compared >= 7);
}

void check_outputs_complete(const fs::path& sessions) {
  for (const auto& day : kDays) {
    const fs::path out = sessions / day / "apical";
    INFO(out.string());
    for (const auto& f : kStageFiles) CHECK(fs::exists(out / f));
    CHECK(fs::exists(out / "figures" / "learning_curve.png"));
    CHECK(fs::exists(out / "qc" / "index.html"));
    CHECK_FALSE(temporary_exists(out));
    for (const auto& stage : {"register", "segment", "extract", "regress", "figures", "qc"})
      CHECK(fs::exists(sessions / ".logs" / day / (std::string(stage) + ".log")));
  }
  CHECK(fs::exists(sessions / "figures" / "learning_curve.png"));
}

void check_same_as_make(const fs::path& sessions, const fs::path& make_sessions, const std::vector<std::string>& days) {
  for (const auto& day : days) {
    for (const auto& f : kStageFiles) check_same_data(sessions / day / "apical" / f, make_sessions / day / "apical" / f);
    check_same_figures(sessions / day / "apical" / "figures", make_sessions / day / "apical" / "figures");
  }
  check_same_figures(sessions / "figures", make_sessions / "figures");
}

// Starts the workflow in its own process group, cancels the SLURM job running once a stage of
// `session` is writing its output, and waits for Snakemake to give up on it.
void cancel_a_job_while_it_writes(const Workflow& workflow, const fs::path& session) {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    const std::string command = workflow.command(workflow.sessions.string()) + " > /dev/null";
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::setpgid(pid, pid);
  bool writing = false;
  for (int i = 0; i < 12000 && !writing; ++i) {  // up to 2 min
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    writing = temporary_exists(session / "apical");
  }
  auto cancelled = run_shell(workflow.slurm.environment() + "squeue -h -t R -o %i | xargs -r scancel 2>&1");
  int status = 0;
  ::waitpid(pid, &status, 0);
  INFO(cancelled.output);
  REQUIRE(writing);
  CHECK(cancelled.exit_code == 0);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) != 0);  // Snakemake reports the cancelled job as failed
}

}  // namespace

TEST_CASE("Snakefile on a real SLURM: same data as make, no needless jobs, survives a cancelled job",
          "[slurm][pipeline]") {
  for (const auto& tool : {"snakemake", "slurmctld", "slurmd", "munged", "sbatch", "make"})
    if (!tool_present(tool)) {
      WARN(std::string(tool) + " is not installed; skipping the SLURM workflow test "
                               "(bash scripts/install-deps.sh --with-workflow installs them)");
      return;
    }
  TempDir dir("apical_slurm");
  LocalSlurm slurm(dir / "slurm");
  REQUIRE(slurm.started());
  Workflow workflow{slurm, dir / "run", dir / "sessions"};
  fs::create_directories(workflow.workdir);

  // Bad configuration: an error naming the folder, and nothing submitted.
  auto missing = run_shell(workflow.command((dir / "no-such-folder").string()));
  CHECK(missing.exit_code != 0);
  CHECK(missing.output.find("no-such-folder does not exist") != std::string::npos);
  CHECK(submitted_jobs(missing.output) == 0);
  fs::create_directories(dir / "empty");
  auto empty = run_shell(workflow.command((dir / "empty").string()));
  CHECK(empty.exit_code != 0);
  CHECK(empty.output.find("no session folder") != std::string::npos);
  CHECK(submitted_jobs(empty.output) == 0);
  CHECK(run_shell(slurm.environment() + "squeue -h | wc -l").output == "0\n");

  for (size_t i = 0; i < kDays.size(); ++i) {
    auto r = run_apical("simulate " + (workflow.sessions / kDays[i]).string() +
                        " -q --height 128 --width 128 --frames 2400 --neurons 10 --distractors 4 --seed " +
                        std::to_string(101 + i));
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
  }
  const fs::path make_sessions = dir / "make";
  fs::create_directories(make_sessions);
  for (const auto& day : kDays) fs::copy(workflow.sessions / day, make_sessions / day, fs::copy_options::recursive);
  auto made = run_make(make_sessions);
  INFO(made.output);
  REQUIRE(made.exit_code == 0);

  auto first = workflow.run();
  INFO(first.output);
  REQUIRE(first.exit_code == 0);
  CHECK(submitted_jobs(first.output) == kDays.size() * 6 + 1);
  check_outputs_complete(workflow.sessions);
  check_same_as_make(workflow.sessions, make_sessions, kDays);

  auto second = workflow.run();
  INFO(second.output);
  CHECK(second.exit_code == 0);
  CHECK(submitted_jobs(second.output) == 0);

  // Edit day2's [regress]: its regress, figures, qc and the cross-session panels, nothing else.
  std::map<std::string, std::string> before;
  for (const auto& day : kDays)
    for (const auto& f : kStageFiles) before[day + "/" + f] = created_utc(workflow.sessions / day / "apical" / f);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // a distinguishable created_utc
  std::ofstream(workflow.sessions / "day2" / "apical.ini", std::ios::app) << "[regress]\npermutations = 200\n";
  auto edited = workflow.run();
  INFO(edited.output);
  REQUIRE(edited.exit_code == 0);
  CHECK(submitted_jobs(edited.output) == 4);
  for (const auto& day : kDays)
    for (const auto& f : kStageFiles) {
      INFO(day << "/" << f);
      const bool recomputed = created_utc(workflow.sessions / day / "apical" / f) != before[day + "/" + f];
      CHECK(recomputed == (day == "day2" && f == "regress.h5"));
    }
  std::ofstream(make_sessions / "day2" / "apical.ini", std::ios::app) << "[regress]\npermutations = 200\n";
  auto remade = run_make(make_sessions);
  INFO(remade.output);
  REQUIRE(remade.exit_code == 0);
  check_same_as_make(workflow.sessions, make_sessions, kDays);

  // Cancel a day1 job while it writes; the next run finishes with the clean run's data.
  // (All of day1's outputs go: Snakemake does not remake missing intermediates under a
  // present, newer result.)
  fs::remove_all(workflow.sessions / "day1" / "apical");
  cancel_a_job_while_it_writes(workflow, workflow.sessions / "day1");
  auto resumed = workflow.run();
  INFO(resumed.output);
  REQUIRE(resumed.exit_code == 0);
  CHECK(submitted_jobs(resumed.output) >= 1);
  check_outputs_complete(workflow.sessions);
  check_same_as_make(workflow.sessions, make_sessions, kDays);
}
