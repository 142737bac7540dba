#pragma once
// Multi-page TIFF, classic and BigTIFF, either byte order: a reader that indexes every page
// up front (so truncation and mixed page sizes are found before any work starts) and reads
// pages on demand, and a streaming writer (uncompressed). Uncompressed strip pages are read
// with pread directly; compressed (LZW, Deflate, PackBits, ...) and tiled pages are decoded
// by libtiff (io/tiff_libtiff.hpp).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "io/page_cache.hpp"
#include "io/tiff_libtiff.hpp"

namespace apical {

enum class SampleType { uint8, uint16, int16, uint32, int32, float32 };
std::string sample_type_name(SampleType type);
size_t sample_type_bytes(SampleType type);

// File handle closed on destruction.
class FileDescriptor {
 public:
  FileDescriptor() = default;
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(FileDescriptor&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  FileDescriptor& operator=(FileDescriptor&& other) noexcept;
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor();
  int get() const { return fd_; }

 private:
  int fd_ = -1;
};

class TiffReader {
 public:
  // Parses every page's directory; InputError naming the file for truncation, a compression
  // libtiff cannot decode, differing page sizes or anything else it cannot read.
  explicit TiffReader(const std::string& path);

  const std::string& path() const { return path_; }
  int64_t pages() const { return int64_t(pages_.size()); }
  int height() const { return height_; }
  int width() const { return width_; }
  SampleType sample_type() const { return sample_type_; }
  bool big_tiff() const { return big_tiff_; }
  // Tag 270 and 305 of page 0, and ScanImage 2016+'s header block (empty when absent).
  const std::string& first_description() const { return first_description_; }
  const std::string& software() const { return software_; }
  const std::string& scanimage_header() const { return scanimage_header_; }

  // Reads page `index` converted to float32 into out[height*width]. Thread-safe (pread).
  void read_page(int64_t index, float* out) const;
  // Starts reading page `index` in the background (the kernel's own readahead is off).
  void prefetch_page(int64_t index) const;
  // InputError naming the file when it was truncated, extended or rewritten since it was
  // indexed (its size or modification time differ): its pages may mix two versions.
  void check_unchanged() const;

 private:
  struct Strip {
    uint64_t offset;
    uint64_t bytes;
  };
  struct Page {
    std::vector<Strip> strips;  // usually one; adjacent strips are merged (tiles when tiled)
    uint64_t directory = 0;     // byte offset of the page's directory
    bool by_libtiff = false;    // compressed or tiled: decoded by libtiff
  };
  void parse();
  uint64_t parse_directory(uint64_t offset, int64_t index);
  void read_scanimage_header();
  void read_uncompressed(const Page& page, int64_t index, unsigned char* buffer, size_t bytes) const;
  void convert_page(const unsigned char* buffer, size_t n, bool swap, float* out) const;

  std::string path_;
  FileDescriptor fd_;
  uint64_t file_size_ = 0;
  int64_t modified_ns_ = 0;  // st_mtim when indexed
  bool big_tiff_ = false;
  bool swap_bytes_ = false;
  int height_ = 0;
  int width_ = 0;
  SampleType sample_type_ = SampleType::uint16;
  std::string first_description_;
  std::string software_;
  std::string scanimage_header_;
  std::vector<Page> pages_;
  std::unique_ptr<LibtiffPages> libtiff_;  // only when some page is compressed or tiled
};

// Writes pages one after another; the file is complete after close() (or destruction).
class TiffWriter {
 public:
  TiffWriter(const std::string& path, int height, int width, SampleType type, bool big_tiff,
             std::string first_description = {});
  ~TiffWriter();
  TiffWriter(const TiffWriter&) = delete;
  TiffWriter& operator=(const TiffWriter&) = delete;
  // Values are rounded and clipped to the sample type.
  void write_page(const float* pixels);
  void close();

 private:
  void write_all(const void* data, size_t bytes, uint64_t offset);
  std::string path_;
  FileDescriptor fd_;
  DropBehind drop_behind_{-1};  // a movie is written once: keep it out of the page cache
  int height_, width_;
  SampleType type_;
  bool big_tiff_;
  std::string description_;
  uint64_t end_ = 0;                  // next free byte
  uint64_t previous_next_field_ = 0;  // where to patch the previous IFD's next pointer
  int64_t pages_written_ = 0;
  std::vector<unsigned char> buffer_;
};

}  // namespace apical
