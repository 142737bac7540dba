#include "io/session_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "io/error.hpp"

namespace apical {

namespace {

std::string holder_of(int fd) {
  char text[32] = {0};
  ssize_t n = ::pread(fd, text, sizeof(text) - 1, 0);
  std::string pid = n > 0 ? std::string(text, size_t(n)) : std::string();
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid.empty() ? "another process" : "process " + pid;
}

}  // namespace

SessionLock::SessionLock(const std::filesystem::path& session) {
  const std::filesystem::path folder = session / "apical";
  std::error_code ec;
  std::filesystem::create_directories(folder, ec);
  const std::filesystem::path path = folder / ".run.lock";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw file_error(path.string(), std::string("cannot create the run lock: ") + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const std::string holder = holder_of(fd_);
    ::close(fd_);
    fd_ = -1;
    throw file_error(session.string(), "another `apical run` (" + holder +
                                           ") is working on this session; wait for it to finish, then run again");
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  // The pid only serves the message of a second run: failing to write it is harmless.
  if (::ftruncate(fd_, 0) == 0) [[maybe_unused]] ssize_t written = ::pwrite(fd_, pid.data(), pid.size(), 0);
}

SessionLock::~SessionLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

}  // namespace apical
