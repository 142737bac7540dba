#include "io/atomic_output.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>
#include <regex>
#include <vector>

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

// Write failures recorded where they could not be thrown (see record_write_failure).
struct WriteFailure {
  std::string path;
  int error_number;
};
std::mutex g_failures_mutex;
std::vector<WriteFailure> g_failures;

// The first recorded failure of `path` or of a file inside it (a folder output), removed.
std::optional<int> take_write_failure(const std::filesystem::path& path) {
  std::lock_guard lock(g_failures_mutex);
  const std::string prefix = path.string() + "/";
  for (auto it = g_failures.begin(); it != g_failures.end(); ++it) {
    if (it->path == path.string() || it->path.rfind(prefix, 0) == 0) {
      int error_number = it->error_number;
      g_failures.erase(it);
      return error_number;
    }
  }
  return std::nullopt;
}

// fsync on one file or folder; 0 or the errno. Filesystems that cannot sync (EINVAL) pass.
int sync_one(const std::filesystem::path& path, bool folder) {
  int fd = ::open(path.c_str(), (folder ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  int result = ::fsync(fd) == 0 || errno == EINVAL ? 0 : errno;
  ::close(fd);
  return result;
}

// Forces a finished output (a file, or a folder of files) to the disk, so that a write error
// the kernel still holds (delayed allocation, NFS, quota) surfaces now, before the rename.
// It also makes the rename safe across a power cut: the renamed file is never empty.
void sync_output(const std::filesystem::path& path, const std::filesystem::path& target) {
  namespace fs = std::filesystem;
  std::error_code ec;
  int error_number = 0;
  if (fs::is_directory(path, ec)) {
    for (const auto& entry : fs::recursive_directory_iterator(path, ec)) {
      if (entry.is_regular_file(ec)) error_number = sync_one(entry.path(), false);
      else if (entry.is_directory(ec)) error_number = sync_one(entry.path(), true);
      if (error_number) break;
    }
    if (!error_number) error_number = sync_one(path, true);
  } else {
    error_number = sync_one(path, false);
  }
  if (error_number) throw write_error(target.string(), error_number);
}

}  // namespace

InputError write_error(const std::string& path, int error_number) {
  std::string why = error_number == ENOSPC ? "no space left on device"
                    : error_number == EDQUOT ? "disk quota exceeded"
                    : error_number == 0 ? "write failed"
                                        : std::string("write failed: ") + std::strerror(error_number);
  return file_error(output_name(path), "cannot write: " + why);
}

std::string output_name(const std::string& path) {
  static const std::regex temporary(R"(^\.(.+)\.tmp-[0-9]+$)");
  std::filesystem::path out;
  for (const auto& part : std::filesystem::path(path)) {
    std::smatch m;
    const std::string text = part.string();
    out /= std::regex_match(text, m, temporary) ? m[1].str() : text;
  }
  return out.string();
}

void record_write_failure(const std::string& path, int error_number) {
  std::lock_guard lock(g_failures_mutex);
  g_failures.push_back({path, error_number});
}

void write_whole_file(const std::filesystem::path& path, std::string_view bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw file_error(output_name(path.string()), std::string("cannot create: ") + std::strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int error_number = n < 0 ? errno : ENOSPC;
      ::close(fd);
      throw write_error(path.string(), error_number);
    }
    done += size_t(n);
  }
  if (::close(fd) != 0 && errno != EINTR) throw write_error(path.string(), errno);
}

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
    while (take_write_failure(temp_)) {
    }  // failures of an abandoned output concern no later one
  }
  unregister_pending(temp_.string());
}

void AtomicOutput::write(std::string_view bytes) const { write_whole_file(temp_, bytes); }

void AtomicOutput::commit() {
  if (std::optional<int> failed = take_write_failure(temp_)) throw write_error(target_.string(), *failed);
  sync_output(temp_, target_);
  std::error_code ec;
  // A folder output (a simulated session) replaces the old folder as a whole.
  if (std::filesystem::is_directory(target_, ec)) std::filesystem::remove_all(target_, ec);
  std::filesystem::rename(temp_, target_, ec);
  if (ec) throw file_error(target_.string(), "cannot rename finished output into place: " + ec.message());
  committed_ = true;
  sync_one(temp_.parent_path().empty() ? "." : temp_.parent_path(), true);  // the rename itself, for power cuts

}

}  // namespace apical
