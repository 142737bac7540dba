#include "io/atomic_output.hpp"

#include <array>
#include <csignal>
#include <cstring>
#include <fstream>
#include <unistd.h>

#include <cerrno>

#include "io/error.hpp"

namespace apical {
namespace {

// Fixed-size table of temp paths readable from a signal handler (no allocation there).
constexpr int kMaxPending = 64;
constexpr int kMaxPath = 4096;
std::array<std::array<char, kMaxPath>, kMaxPending> g_pending{};
std::array<volatile sig_atomic_t, kMaxPending> g_in_use{};

int register_pending(const std::string& path) {
  if (path.size() + 1 >= kMaxPath) return -1;
  for (int i = 0; i < kMaxPending; ++i) {
    if (!g_in_use[i]) {
      std::memcpy(g_pending[i].data(), path.c_str(), path.size() + 1);
      g_in_use[i] = 1;
      return i;
    }
  }
  return -1;
}

void unregister_pending(const std::string& path) {
  for (int i = 0; i < kMaxPending; ++i)
    if (g_in_use[i] && path == g_pending[i].data()) g_in_use[i] = 0;
}

extern "C" void remove_pending_and_die(int signal_number) {
  for (int i = 0; i < kMaxPending; ++i)
    if (g_in_use[i]) ::unlink(g_pending[i].data());
  std::signal(signal_number, SIG_DFL);
  ::raise(signal_number);
}

// A process that can no longer write: gone, or a zombie (killed, not yet reaped; where
// nothing reaps orphans, as in some containers, zombies linger).
bool process_is_gone(pid_t pid) {
  if (::kill(pid, 0) != 0) return errno == ESRCH;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  size_t close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

// Temporary files of this target left by processes that no longer exist (kill -9).
void remove_stale_temporaries(const std::filesystem::path& folder, const std::string& name) {
  const std::string prefix = "." + name + ".tmp-";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
    std::string file = entry.path().filename().string();
    if (file.rfind(prefix, 0) != 0) continue;
    try {
      pid_t pid = pid_t(std::stol(file.substr(prefix.size())));
      if (pid > 0 && process_is_gone(pid)) std::filesystem::remove_all(entry.path(), ec);
    } catch (...) {
      // not one of ours
    }
  }
}

}  // namespace

void install_output_cleanup_handlers() {
  for (int s : {SIGINT, SIGTERM, SIGHUP}) std::signal(s, remove_pending_and_die);
}

AtomicOutput::AtomicOutput(std::filesystem::path target, bool force) : target_(std::move(target)) {
  namespace fs = std::filesystem;
  fs::path folder = target_.parent_path().empty() ? fs::path(".") : target_.parent_path();
  std::error_code ec;
  if (!fs::exists(folder, ec)) fs::create_directories(folder, ec);
  if (!fs::is_directory(folder, ec))
    throw file_error(folder.string(), "output folder does not exist and cannot be created");
  if (::access(folder.c_str(), W_OK) != 0)
    throw file_error(folder.string(), "output folder is not writable");
  if (fs::exists(target_, ec) && !force)
    throw file_error(target_.string(), "output exists already (use --force to overwrite)");
  remove_stale_temporaries(folder, target_.filename().string());
  temp_ = folder / ("." + target_.filename().string() + ".tmp-" + std::to_string(::getpid()));
  fs::remove_all(temp_, ec);
  register_pending(temp_.string());
}

AtomicOutput::~AtomicOutput() {
  if (!committed_) {
    std::error_code ec;
    std::filesystem::remove_all(temp_, ec);
  }
  unregister_pending(temp_.string());
}

void AtomicOutput::commit() {
  std::error_code ec;
  // A folder output (a simulated session) replaces the old folder as a whole.
  if (std::filesystem::is_directory(target_, ec)) std::filesystem::remove_all(target_, ec);
  std::filesystem::rename(temp_, target_, ec);
  if (ec) throw file_error(target_.string(), "cannot rename finished output into place: " + ec.message());
  committed_ = true;
}

}  // namespace apical
