#pragma once
// Compressed (LZW, Deflate, PackBits, ...) and tiled TIFF pages, decoded by libtiff.
// apical's own index (io/tiff.hpp) still finds every page's directory and checks the file's
// structure; only the decoding of such pages goes through libtiff. Uncompressed strip pages
// never come here (they keep the pread fast path).
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace apical {

class LibtiffPages {
 public:
  // bytes_per_sample: of the page's samples (libtiff returns them in host byte order).
  LibtiffPages(std::string path, int height, int width, size_t bytes_per_sample);
  ~LibtiffPages();
  LibtiffPages(const LibtiffPages&) = delete;
  LibtiffPages& operator=(const LibtiffPages&) = delete;

  // Decodes page `index` (1-based in messages), whose directory starts at byte
  // `directory_offset`, into out[height*width*bytes_per_sample]. Thread-safe: each caller
  // borrows its own libtiff handle. InputError naming the file and page when the page
  // cannot be decoded (corrupt compressed data, a damaged tile table).
  void read_page(uint64_t directory_offset, int64_t index, unsigned char* out) const;

  // True when this libtiff can decode compression scheme `scheme` (TIFF tag 259).
  static bool codec_available(int scheme);

 private:
  struct Handle;  // one open libtiff file and its last error message
  std::unique_ptr<Handle> borrow() const;
  void give_back(std::unique_ptr<Handle> handle) const;
  void read_strips(Handle& handle, const std::string& page_name, unsigned char* out) const;
  void read_tiles(Handle& handle, const std::string& page_name, unsigned char* out) const;

  std::string path_;
  int height_, width_;
  size_t bytes_per_sample_;
  mutable std::mutex idle_mutex_;
  mutable std::vector<std::unique_ptr<Handle>> idle_;  // handles not in use, reused
};

}  // namespace apical
