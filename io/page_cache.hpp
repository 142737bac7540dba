#pragma once
// Streams large files past the page cache ("drop-behind"). A stage reads or writes a movie
// once; keeping it cached evicts everything else on the machine, and on virtual machines
// that hand freed memory back to the host every fresh page-cache page costs a fault. On the
// 2-core development VM a new 3 GB file was written at ~400 MB/s buffered and ~3.5 GB/s with
// drop-behind; an uncached one read at ~550 MB/s and ~3 GB/s (bench/page_cache.sh).
// Set APICAL_PAGE_CACHE=keep in the environment to leave the page cache alone.
#include <algorithm>
#include <cstdint>
#include <string>

namespace apical {

// True unless APICAL_PAGE_CACHE=keep.
bool drop_behind_enabled();

// Drop-behind for one open file descriptor (not owned). Page-cache hints only: they never
// change what is read or written, and failures (e.g. a filesystem without them) are ignored.
class DropBehind {
 public:
  // path: named in the error when a writeback fails. lag_bytes: written data younger than
  // this stays cached (and is not waited for), so a slow disk only throttles a writer that
  // is that far ahead of it.
  explicit DropBehind(int fd, std::string path = {}, uint64_t lag_bytes = uint64_t(64) << 20);
  // After writes at the end of the file: starts writeback of what is new since the last call
  // and drops what lies more than lag_bytes behind the end (after its writeback finishes).
  // InputError naming the file when the writeback fails (EIO, ENOSPC, ...).
  void after_write();
  // After reading bytes [offset, offset + bytes): drops those pages.
  void after_read(uint64_t offset, uint64_t bytes) const;
  // After reads anywhere in the file (e.g. through HDF5): drops all its clean pages.
  void after_read_anywhere() const { after_read(0, 0); }
  // For readers that know what they will read next: turns the kernel's sequential readahead
  // off (in a movie of interleaved planes it would read, and cache, the other planes'
  // pages too) ...
  void disable_readahead() const;
  // ... and asks for exactly [offset, offset + bytes) to be read in the background instead.
  void prefetch(uint64_t offset, uint64_t bytes) const;

 private:
  void write_back(uint64_t offset, uint64_t bytes, unsigned flags) const;
  int fd_ = -1;
  std::string path_;
  uint64_t lag_bytes_ = 0;
  uint64_t writeback_started_ = 0;  // bytes [0, this) have had writeback started
  uint64_t dropped_ = 0;            // bytes [0, this) have been written back and dropped
  bool enabled_ = false;
};

// Calls read(i) for i in [0, count), each item's prefetch(i) issued `ahead` items before its
// read, so that many disk reads are in flight while the current one is converted.
template <typename Prefetch, typename Read>
void read_ahead(int count, int ahead, const Prefetch& prefetch, const Read& read) {
  for (int i = 0; i < std::min(count, ahead); ++i) prefetch(i);
  for (int i = 0; i < count; ++i) {
    if (i + ahead < count) prefetch(i + ahead);
    read(i);
  }
}

}  // namespace apical
