#include "io/tiff.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <regex>
#include <unordered_set>

#include "io/atomic_output.hpp"
#include "io/error.hpp"
#include "io/round_clip.hpp"

namespace apical {

std::string sample_type_name(SampleType type) {
  switch (type) {
    case SampleType::uint8: return "uint8";
    case SampleType::uint16: return "uint16";
    case SampleType::int16: return "int16";
    case SampleType::uint32: return "uint32";
    case SampleType::int32: return "int32";
    case SampleType::float32: return "float32";
  }
  return "?";
}

size_t sample_type_bytes(SampleType type) {
  switch (type) {
    case SampleType::uint8: return 1;
    case SampleType::uint16:
    case SampleType::int16: return 2;
    default: return 4;
  }
}

FileDescriptor& FileDescriptor::operator=(FileDescriptor&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

FileDescriptor::~FileDescriptor() {
  if (fd_ >= 0) ::close(fd_);
}

namespace {

enum Tag : uint16_t {
  kImageWidth = 256,
  kImageLength = 257,
  kBitsPerSample = 258,
  kCompression = 259,
  kImageDescription = 270,
  kStripOffsets = 273,
  kSamplesPerPixel = 277,
  kRowsPerStrip = 278,
  kStripByteCounts = 279,
  kSoftware = 305,
  kTileWidth = 322,
  kTileOffsets = 324,
  kTileByteCounts = 325,
  kSampleFormat = 339,
};

size_t tiff_type_size(uint16_t type) {
  switch (type) {
    case 1: case 2: case 6: case 7: return 1;
    case 3: case 8: return 2;
    case 4: case 9: case 11: case 13: return 4;
    case 5: case 10: case 12: case 16: case 17: case 18: return 8;
    default: return 0;
  }
}

void pread_exact(int fd, void* out, size_t bytes, uint64_t offset, const std::string& path,
                 const std::string& what) {
  auto* p = static_cast<char*>(out);
  size_t done = 0;
  while (done < bytes) {
    ssize_t n = ::pread(fd, p + done, bytes - done, off_t(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw file_error(path, "truncated: cannot read " + what);
    done += size_t(n);
  }
}

template <typename T> T byteswap(T v) {
  T out;
  auto* src = reinterpret_cast<unsigned char*>(&v);
  auto* dst = reinterpret_cast<unsigned char*>(&out);
  for (size_t i = 0; i < sizeof(T); ++i) dst[i] = src[sizeof(T) - 1 - i];
  return out;
}

template <typename T> T load(const unsigned char* p, bool swap) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return swap ? byteswap(v) : v;
}

// One directory entry, with its values read whether inline or out of line.
struct Entry {
  uint16_t tag = 0;
  uint16_t type = 0;
  uint64_t count = 0;
  std::vector<unsigned char> bytes;
};

uint64_t entry_value(const Entry& e, size_t i, bool swap) {
  const unsigned char* p = e.bytes.data() + i * tiff_type_size(e.type);
  switch (e.type) {
    case 1: case 7: return p[0];
    case 3: return load<uint16_t>(p, swap);
    case 4: case 13: return load<uint32_t>(p, swap);
    case 16: case 18: return load<uint64_t>(p, swap);
    default: return 0;
  }
}

// ScanImage 2016+ BigTIFFs carry their static metadata in a block after the file header.
constexpr uint32_t kScanImageMagic = 117637889;

}  // namespace

TiffReader::TiffReader(const std::string& path) : path_(path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw file_error(path, std::string("cannot open: ") + std::strerror(errno));
  fd_ = FileDescriptor(fd);
  struct stat st {};
  ::fstat(fd, &st);
  if (S_ISDIR(st.st_mode)) throw file_error(path, "is a folder, not a TIFF file");
  file_size_ = uint64_t(st.st_size);
  modified_ns_ = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  if (file_size_ == 0) throw file_error(path, "is empty (0 bytes)");
  DropBehind(fd).disable_readahead();  // pages are read in plane order: see prefetch_page
  parse();
}

void TiffReader::parse() {
  unsigned char header[16] = {0};
  if (file_size_ < 8) throw file_error(path_, "too short to be a TIFF file");
  pread_exact(fd_.get(), header, std::min<uint64_t>(16, file_size_), 0, path_, "header");
  if (header[0] == 'I' && header[1] == 'I') swap_bytes_ = false;
  else if (header[0] == 'M' && header[1] == 'M') swap_bytes_ = true;
  else throw file_error(path_, "not a TIFF file (bad byte-order mark)");
  // Our host is little-endian (x86_64, aarch64); 'MM' files need swapping.
  uint16_t magic = load<uint16_t>(header + 2, swap_bytes_);
  uint64_t first_ifd = 0;
  if (magic == 42) {
    first_ifd = load<uint32_t>(header + 4, swap_bytes_);
  } else if (magic == 43) {
    big_tiff_ = true;
    if (file_size_ < 16) throw file_error(path_, "truncated BigTIFF header");
    first_ifd = load<uint64_t>(header + 8, swap_bytes_);
    read_scanimage_header();
  } else {
    throw file_error(path_, "not a TIFF file (bad magic number " + std::to_string(magic) + ")");
  }
  uint64_t offset = first_ifd;
  int64_t index = 0;
  // A directory pointing back to an earlier one would repeat its pages up to any limit (and
  // take minutes to get there): every directory is visited once.
  std::unordered_set<uint64_t> visited;
  while (offset != 0) {
    if (offset >= file_size_)
      throw file_error(path_, "truncated: directory of page " + std::to_string(index + 1) +
                                  " lies beyond the end of the file");
    if (!visited.insert(offset).second)
      throw file_error(path_, "corrupt: the directory of page " + std::to_string(index + 1) +
                                  " points back to an earlier page's (the chain loops)");
    offset = parse_directory(offset, index++);
  }
  if (pages_.empty()) throw file_error(path_, "contains no image pages");
  if (std::any_of(pages_.begin(), pages_.end(), [](const Page& p) { return p.by_libtiff; }))
    libtiff_ = std::make_unique<LibtiffPages>(path_, height_, width_, sample_type_bytes(sample_type_));

  // ImageJ writes stacks over 4 GB with one directory and contiguous pages ("images=N").
  std::smatch m;
  static const std::regex images_re("images=(\\d+)");
  if (pages_.size() == 1 && first_description_.rfind("ImageJ=", 0) == 0 &&
      std::regex_search(first_description_, m, images_re)) {
    int64_t images = std::stoll(m[1]);
    const Page first = pages_[0];
    uint64_t page_bytes = uint64_t(height_) * width_ * sample_type_bytes(sample_type_);
    if (images > 1 && first.strips.size() == 1 && !first.by_libtiff) {
      uint64_t end = first.strips[0].offset + page_bytes * uint64_t(images);
      if (end > file_size_)
        throw file_error(path_, "truncated: ImageJ header promises " + std::to_string(images) +
                                    " images but the file holds fewer");
      for (int64_t k = 1; k < images; ++k)
        pages_.push_back(Page{{Strip{first.strips[0].offset + page_bytes * uint64_t(k), page_bytes}}});
    }
  }
}

void TiffReader::read_scanimage_header() {
  unsigned char block[16];
  if (file_size_ < 32) return;
  pread_exact(fd_.get(), block, 16, 16, path_, "ScanImage header");
  if (load<uint32_t>(block, swap_bytes_) != kScanImageMagic) return;
  uint32_t static_bytes = load<uint32_t>(block + 8, swap_bytes_);
  if (32 + uint64_t(static_bytes) > file_size_ || static_bytes > (64u << 20)) return;
  scanimage_header_.resize(static_bytes);
  pread_exact(fd_.get(), scanimage_header_.data(), static_bytes, 32, path_, "ScanImage header");
  scanimage_header_.resize(std::strlen(scanimage_header_.c_str()));
}

uint64_t TiffReader::parse_directory(uint64_t offset, int64_t index) {
  const size_t count_bytes = big_tiff_ ? 8 : 2;
  const size_t entry_bytes = big_tiff_ ? 20 : 12;
  const size_t inline_bytes = big_tiff_ ? 8 : 4;
  const std::string page_name = "page " + std::to_string(index + 1);

  unsigned char count_buffer[8];
  if (offset + count_bytes > file_size_)
    throw file_error(path_, "truncated: directory of " + page_name + " is cut off");
  pread_exact(fd_.get(), count_buffer, count_bytes, offset, path_, "directory of " + page_name);
  uint64_t entries = big_tiff_ ? load<uint64_t>(count_buffer, swap_bytes_)
                               : load<uint16_t>(count_buffer, swap_bytes_);
  uint64_t table_bytes = entries * entry_bytes + inline_bytes;
  if (entries > 4096 || offset + count_bytes + table_bytes > file_size_)
    throw file_error(path_, "truncated or corrupt: directory of " + page_name + " is cut off");
  std::vector<unsigned char> table(table_bytes);
  pread_exact(fd_.get(), table.data(), table_bytes, offset + count_bytes, path_,
              "directory of " + page_name);

  int width = 0, height = 0, bits = 0, format = 1, samples = 1, compression = 1;
  uint64_t rows_per_strip = std::numeric_limits<uint32_t>::max();
  Entry strip_offsets, strip_bytes;
  bool tiled = false;
  for (uint64_t i = 0; i < entries; ++i) {
    const unsigned char* p = table.data() + i * entry_bytes;
    Entry e;
    e.tag = load<uint16_t>(p, swap_bytes_);
    e.type = load<uint16_t>(p + 2, swap_bytes_);
    e.count = big_tiff_ ? load<uint64_t>(p + 4, swap_bytes_) : load<uint32_t>(p + 4, swap_bytes_);
    size_t type_size = tiff_type_size(e.type);
    const unsigned char* value_field = p + (big_tiff_ ? 12 : 8);
    bool wanted = e.tag == kImageWidth || e.tag == kImageLength || e.tag == kBitsPerSample ||
                  e.tag == kCompression || e.tag == kStripOffsets || e.tag == kSamplesPerPixel ||
                  e.tag == kRowsPerStrip || e.tag == kStripByteCounts || e.tag == kSampleFormat ||
                  e.tag == kTileWidth || e.tag == kTileOffsets || e.tag == kTileByteCounts ||
                  (index == 0 && (e.tag == kImageDescription || e.tag == kSoftware));
    if (!wanted || type_size == 0) continue;
    // A value larger than the file is corrupt: checked before multiplying (the count may
    // overflow) and before allocating (fuzzing found a 256 MB allocation per entry here).
    if (e.count > file_size_ / type_size) throw file_error(path_, "corrupt directory entry in " + page_name);
    // Every tag read below needs a value (fuzzing found a count of 0: a copy from null).
    if (e.count == 0)
      throw file_error(path_, "corrupt directory entry in " + page_name + ": tag " + std::to_string(e.tag) +
                                  " has no value");
    const uint64_t total = e.count * type_size;
    uint64_t at = 0;
    if (total > inline_bytes) {
      at = big_tiff_ ? load<uint64_t>(value_field, swap_bytes_) : load<uint32_t>(value_field, swap_bytes_);
      if (at > file_size_ - total)
        throw file_error(path_, "truncated: tag " + std::to_string(e.tag) + " of " + page_name +
                                    " lies beyond the end of the file");
    }
    e.bytes.resize(total);
    if (total <= inline_bytes) {
      std::memcpy(e.bytes.data(), value_field, total);
    } else {
      pread_exact(fd_.get(), e.bytes.data(), total, at, path_, "tag of " + page_name);
    }
    switch (e.tag) {
      case kImageWidth: width = int(entry_value(e, 0, swap_bytes_)); break;
      case kImageLength: height = int(entry_value(e, 0, swap_bytes_)); break;
      case kBitsPerSample: bits = int(entry_value(e, 0, swap_bytes_)); break;
      case kCompression: compression = int(entry_value(e, 0, swap_bytes_)); break;
      case kSamplesPerPixel: samples = int(entry_value(e, 0, swap_bytes_)); break;
      case kRowsPerStrip: rows_per_strip = entry_value(e, 0, swap_bytes_); break;
      case kSampleFormat: format = int(entry_value(e, 0, swap_bytes_)); break;
      case kStripOffsets:
      case kTileOffsets: strip_offsets = std::move(e); break;
      case kStripByteCounts:
      case kTileByteCounts: strip_bytes = std::move(e); break;
      case kTileWidth: tiled = true; break;
      case kImageDescription:
        first_description_.assign(e.bytes.begin(), e.bytes.end());
        first_description_.resize(std::strlen(first_description_.c_str()));
        break;
      case kSoftware:
        software_.assign(e.bytes.begin(), e.bytes.end());
        software_.resize(std::strlen(software_.c_str()));
        break;
    }
  }
  if (compression != 1 && !LibtiffPages::codec_available(compression))
    throw file_error(path_, page_name + " is compressed with scheme " + std::to_string(compression) +
                                ", which libtiff cannot decode here (apical reads uncompressed, LZW, "
                                "Deflate and PackBits pages)");
  const bool by_libtiff = compression != 1 || tiled;
  if (samples != 1) throw file_error(path_, page_name + " has " + std::to_string(samples) +
                                                " samples per pixel; expected 1 (grey)");
  if (width <= 0 || height <= 0) throw file_error(path_, page_name + " has no image size");
  SampleType type;
  if (format == 3 && bits == 32) type = SampleType::float32;
  else if (format == 2 && bits == 16) type = SampleType::int16;
  else if (format == 2 && bits == 32) type = SampleType::int32;
  else if (bits == 16) type = SampleType::uint16;
  else if (bits == 8) type = SampleType::uint8;
  else if (bits == 32) type = SampleType::uint32;
  else throw file_error(path_, page_name + " has unsupported sample format (" +
                                   std::to_string(bits) + " bits, format " + std::to_string(format) + ")");

  if (index == 0) {
    height_ = height;
    width_ = width;
    sample_type_ = type;
  } else if (height != height_ || width != width_ || type != sample_type_) {
    throw file_error(path_, page_name + " is " + std::to_string(width) + "x" +
                                std::to_string(height) + " " + sample_type_name(type) +
                                " but page 1 is " + std::to_string(width_) + "x" +
                                std::to_string(height_) + " " + sample_type_name(sample_type_) +
                                "; all pages must have the same size and type");
  }

  size_t n_strips = strip_offsets.count;
  if (n_strips == 0 || strip_bytes.count != n_strips)
    throw file_error(path_, page_name + " has no or inconsistent strip tables");
  uint64_t expected = uint64_t(width) * height * sample_type_bytes(type);
  Page page;
  page.directory = offset;
  page.by_libtiff = by_libtiff;
  uint64_t total = 0;
  for (size_t s = 0; s < n_strips; ++s) {
    Strip strip{entry_value(strip_offsets, s, swap_bytes_), entry_value(strip_bytes, s, swap_bytes_)};
    if (strip.bytes > file_size_ || strip.offset > file_size_ - strip.bytes)  // (no overflow)
      throw file_error(path_, "truncated: pixel data of " + page_name + " ends beyond byte " +
                                  std::to_string(std::max(strip.offset, strip.bytes)) + " but the file has " +
                                  std::to_string(file_size_) + " bytes");
    if (!page.strips.empty() && page.strips.back().offset + page.strips.back().bytes == strip.offset)
      page.strips.back().bytes += strip.bytes;
    else
      page.strips.push_back(strip);
    total += strip.bytes;
  }
  (void)rows_per_strip;
  if (!by_libtiff && total < expected)  // (compressed sizes are libtiff's to check)
    throw file_error(path_, page_name + " holds " + std::to_string(total) + " bytes of pixels; " +
                                std::to_string(expected) + " expected");
  pages_.push_back(std::move(page));

  const unsigned char* next_field = table.data() + entries * entry_bytes;
  return big_tiff_ ? load<uint64_t>(next_field, swap_bytes_) : load<uint32_t>(next_field, swap_bytes_);
}

namespace {

template <typename T>
void convert_samples(const unsigned char* src, size_t n, bool swap, float* out) {
  if (swap) {
    for (size_t i = 0; i < n; ++i) out[i] = float(load<T>(src + i * sizeof(T), true));
    return;
  }
  for (size_t i = 0; i < n; ++i) {  // native byte order: a plain loop the compiler vectorizes
    T v;
    std::memcpy(&v, src + i * sizeof(T), sizeof(T));
    out[i] = float(v);
  }
}

}  // namespace

void TiffReader::prefetch_page(int64_t index) const {
  if (index < 0 || index >= pages()) return;
  const DropBehind hints(fd_.get());
  for (const Strip& strip : pages_[size_t(index)].strips) hints.prefetch(strip.offset, strip.bytes);
}

void TiffReader::check_unchanged() const {
  struct stat st {};
  if (::fstat(fd_.get(), &st) != 0) return;
  const int64_t modified_ns = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  if (uint64_t(st.st_size) != file_size_)
    throw file_error(path_, "changed while being read: now " + std::to_string(st.st_size) + " bytes, " +
                                std::to_string(file_size_) + " when apical opened it (was it still being copied?)");
  if (modified_ns != modified_ns_)
    throw file_error(path_, "changed while being read (modified since apical opened it): the frames read may mix "
                            "two versions of the file");
}

void TiffReader::read_page(int64_t index, float* out) const {
  if (index < 0 || index >= pages())
    throw file_error(path_, "page " + std::to_string(index + 1) + " requested but the file has " +
                                std::to_string(pages()) + " pages");
  const Page& page = pages_[size_t(index)];
  size_t n = size_t(height_) * width_;
  size_t bytes = n * sample_type_bytes(sample_type_);
  thread_local std::vector<unsigned char> buffer;
  buffer.resize(bytes);
  bool swap = swap_bytes_;
  if (page.by_libtiff) {
    libtiff_->read_page(page.directory, index, buffer.data());
    for (const Strip& strip : page.strips) DropBehind(fd_.get()).after_read(strip.offset, strip.bytes);
    swap = false;  // libtiff returns samples in host byte order
  } else {
    read_uncompressed(page, index, buffer.data(), bytes);
  }
  convert_page(buffer.data(), n, swap, out);
}

void TiffReader::read_uncompressed(const Page& page, int64_t index, unsigned char* buffer, size_t bytes) const {
  size_t filled = 0;
  for (const Strip& strip : page.strips) {
    size_t take = std::min<uint64_t>(strip.bytes, bytes - filled);
    try {
      pread_exact(fd_.get(), buffer + filled, take, strip.offset, path_,
                  "pixels of page " + std::to_string(index + 1));
    } catch (const InputError&) {
      check_unchanged();  // the index saw these bytes: a file cut short since is the better message
      throw;
    }
    DropBehind(fd_.get()).after_read(strip.offset, take);
    filled += take;
    if (filled == bytes) break;
  }
}

void TiffReader::convert_page(const unsigned char* buffer, size_t n, bool swap, float* out) const {
  switch (sample_type_) {
    case SampleType::uint8: for (size_t i = 0; i < n; ++i) out[i] = buffer[i]; break;
    case SampleType::uint16: convert_samples<uint16_t>(buffer, n, swap, out); break;
    case SampleType::int16: convert_samples<int16_t>(buffer, n, swap, out); break;
    case SampleType::uint32: convert_samples<uint32_t>(buffer, n, swap, out); break;
    case SampleType::int32: convert_samples<int32_t>(buffer, n, swap, out); break;
    case SampleType::float32: convert_samples<float>(buffer, n, swap, out); break;
  }
}

// ---------------------------------------------------------------------------- writer

TiffWriter::TiffWriter(const std::string& path, int height, int width, SampleType type,
                       bool big_tiff, std::string first_description)
    : path_(path), height_(height), width_(width), type_(type), big_tiff_(big_tiff),
      description_(std::move(first_description)) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw file_error(path, std::string("cannot create: ") + std::strerror(errno));
  fd_ = FileDescriptor(fd);
  drop_behind_ = DropBehind(fd, path);
  unsigned char header[16] = {'I', 'I'};
  if (big_tiff_) {
    uint16_t magic = 43, offset_size = 8, zero = 0;
    std::memcpy(header + 2, &magic, 2);
    std::memcpy(header + 4, &offset_size, 2);
    std::memcpy(header + 6, &zero, 2);
    previous_next_field_ = 8;
    end_ = 16;
  } else {
    uint16_t magic = 42;
    std::memcpy(header + 2, &magic, 2);
    previous_next_field_ = 4;
    end_ = 8;
  }
  write_all(header, size_t(end_), 0);
}

TiffWriter::~TiffWriter() = default;

void TiffWriter::write_all(const void* data, size_t bytes, uint64_t offset) {
  const auto* p = static_cast<const char*>(data);
  size_t done = 0;
  while (done < bytes) {
    ssize_t n = ::pwrite(fd_.get(), p + done, bytes - done, off_t(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw write_error(path_, n < 0 ? errno : ENOSPC);
    done += size_t(n);
  }
}

namespace {

void put_entry(std::vector<unsigned char>& ifd, bool big, uint16_t tag, uint16_t type,
               uint64_t count, uint64_t value) {
  unsigned char e[20] = {0};
  std::memcpy(e, &tag, 2);
  std::memcpy(e + 2, &type, 2);
  if (big) {
    std::memcpy(e + 4, &count, 8);
    if (type == 3) { uint16_t v = uint16_t(value); std::memcpy(e + 12, &v, 2); }
    else std::memcpy(e + 12, &value, 8);
  } else {
    uint32_t c = uint32_t(count);
    std::memcpy(e + 4, &c, 4);
    if (type == 3) { uint16_t v = uint16_t(value); std::memcpy(e + 8, &v, 2); }
    else { uint32_t v = uint32_t(value); std::memcpy(e + 8, &v, 4); }
  }
  ifd.insert(ifd.end(), e, e + (big ? 20 : 12));
}

}  // namespace

void TiffWriter::write_page(const float* pixels) {
  size_t n = size_t(height_) * width_;
  size_t bytes = n * sample_type_bytes(type_);
  buffer_.resize(bytes);
  switch (type_) {
    case SampleType::uint8: round_clip(pixels, n, reinterpret_cast<uint8_t*>(buffer_.data())); break;
    case SampleType::uint16: round_clip(pixels, n, reinterpret_cast<uint16_t*>(buffer_.data())); break;
    case SampleType::int16: round_clip(pixels, n, reinterpret_cast<int16_t*>(buffer_.data())); break;
    case SampleType::uint32: round_clip(pixels, n, reinterpret_cast<uint32_t*>(buffer_.data())); break;
    case SampleType::int32: round_clip(pixels, n, reinterpret_cast<int32_t*>(buffer_.data())); break;
    case SampleType::float32: round_clip(pixels, n, reinterpret_cast<float*>(buffer_.data())); break;
  }
  uint64_t description_offset = 0;
  bool with_description = pages_written_ == 0 && !description_.empty();
  if (with_description) {
    description_offset = end_;
    write_all(description_.c_str(), description_.size() + 1, end_);
    end_ += description_.size() + 1;
  }
  uint64_t data_offset = end_;
  if (!big_tiff_ && data_offset + bytes + 4096 > std::numeric_limits<uint32_t>::max())
    throw file_error(path_, "movie exceeds 4 GB; write BigTIFF instead");
  write_all(buffer_.data(), bytes, data_offset);
  end_ += bytes;
  if (end_ % 2) end_ += 1;  // directories start on a word boundary

  uint16_t sample_format = type_ == SampleType::float32 ? 3
                           : (type_ == SampleType::int16 || type_ == SampleType::int32) ? 2 : 1;
  std::vector<unsigned char> ifd;
  uint64_t entries = with_description ? 11 : 10;
  if (big_tiff_) ifd.insert(ifd.end(), reinterpret_cast<unsigned char*>(&entries),
                            reinterpret_cast<unsigned char*>(&entries) + 8);
  else { uint16_t e = uint16_t(entries); ifd.insert(ifd.end(), (unsigned char*)&e, (unsigned char*)&e + 2); }
  uint16_t long_type = big_tiff_ ? 16 : 4;
  put_entry(ifd, big_tiff_, kImageWidth, 4, 1, uint64_t(width_));
  put_entry(ifd, big_tiff_, kImageLength, 4, 1, uint64_t(height_));
  put_entry(ifd, big_tiff_, kBitsPerSample, 3, 1, sample_type_bytes(type_) * 8);
  put_entry(ifd, big_tiff_, kCompression, 3, 1, 1);
  put_entry(ifd, big_tiff_, 262, 3, 1, 1);  // photometric: black is zero
  if (with_description) put_entry(ifd, big_tiff_, kImageDescription, 2, description_.size() + 1, description_offset);
  put_entry(ifd, big_tiff_, kStripOffsets, long_type, 1, data_offset);
  put_entry(ifd, big_tiff_, kSamplesPerPixel, 3, 1, 1);
  put_entry(ifd, big_tiff_, kRowsPerStrip, 4, 1, uint64_t(height_));
  put_entry(ifd, big_tiff_, kStripByteCounts, long_type, 1, bytes);
  put_entry(ifd, big_tiff_, kSampleFormat, 3, 1, sample_format);
  uint64_t zero = 0;
  ifd.insert(ifd.end(), (unsigned char*)&zero, (unsigned char*)&zero + (big_tiff_ ? 8 : 4));

  uint64_t ifd_offset = end_;
  write_all(ifd.data(), ifd.size(), ifd_offset);
  end_ += ifd.size();
  // Link the previous directory (or the header) to this one.
  if (big_tiff_) write_all(&ifd_offset, 8, previous_next_field_);
  else { uint32_t o = uint32_t(ifd_offset); write_all(&o, 4, previous_next_field_); }
  previous_next_field_ = ifd_offset + ifd.size() - (big_tiff_ ? 8 : 4);
  ++pages_written_;
  drop_behind_.after_write();
}

void TiffWriter::close() { fd_ = FileDescriptor(); }

}  // namespace apical
