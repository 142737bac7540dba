#include "io/page_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "io/atomic_output.hpp"
#include "io/error.hpp"

namespace apical {

bool drop_behind_enabled() {
  static const bool enabled = [] {
    const char* setting = std::getenv("APICAL_PAGE_CACHE");
    return !(setting && std::strcmp(setting, "keep") == 0);
  }();
  return enabled;
}

DropBehind::DropBehind(int fd, std::string path, uint64_t lag_bytes)
    : fd_(fd), path_(std::move(path)), lag_bytes_(lag_bytes), enabled_(fd >= 0 && drop_behind_enabled()) {}

void DropBehind::write_back(uint64_t offset, uint64_t bytes, unsigned flags) const {
  if (::sync_file_range(fd_, off_t(offset), off_t(bytes), flags) == 0) return;
  // A filesystem without it is fine; a failed writeback is a failed write, and reporting it here
  // is the only chance: the error is consumed, a later close() would not see it.
  if (errno == EINVAL || errno == ESPIPE || errno == ENOSYS || errno == EOPNOTSUPP) return;
  throw write_error(path_.empty() ? "output file" : path_, errno);
}

void DropBehind::after_write() {
  if (!enabled_) return;
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return;
  const uint64_t end = uint64_t(st.st_size);
  if (end > writeback_started_) {
    write_back(writeback_started_, end - writeback_started_, SYNC_FILE_RANGE_WRITE);
    writeback_started_ = end;
  }
  if (end <= lag_bytes_ || end - lag_bytes_ <= dropped_) return;
  const uint64_t upto = end - lag_bytes_;
  // Pages behind the lag are written out (waiting for any still in flight), then dropped.
  write_back(dropped_, upto - dropped_,
             SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
  ::posix_fadvise(fd_, off_t(dropped_), off_t(upto - dropped_), POSIX_FADV_DONTNEED);
  dropped_ = upto;
}

void DropBehind::after_read(uint64_t offset, uint64_t bytes) const {
  if (enabled_) ::posix_fadvise(fd_, off_t(offset), off_t(bytes), POSIX_FADV_DONTNEED);
}

void DropBehind::disable_readahead() const {
  if (enabled_) ::posix_fadvise(fd_, 0, 0, POSIX_FADV_RANDOM);
}

void DropBehind::prefetch(uint64_t offset, uint64_t bytes) const {
  if (enabled_) ::posix_fadvise(fd_, off_t(offset), off_t(bytes), POSIX_FADV_WILLNEED);
}

}  // namespace apical
