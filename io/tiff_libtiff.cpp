#include "io/tiff_libtiff.hpp"

#include <tiffio.h>

#include <algorithm>
#include <cstdarg>
#include <cstring>

#include "io/error.hpp"

namespace apical {

namespace {

struct TiffCloser {
  void operator()(TIFF* tif) const { TIFFClose(tif); }
};
struct OptionsFreer {
  void operator()(TIFFOpenOptions* options) const { TIFFOpenOptionsFree(options); }
};

// No single allocation of libtiff's beyond this: a damaged strip or tile size in a file must
// not allocate gigabytes (a real frame's strip is a few MiB).
constexpr tmsize_t kMaxLibtiffAllocation = tmsize_t(1) << 30;

}  // namespace

struct LibtiffPages::Handle {
  std::unique_ptr<TIFF, TiffCloser> tif;
  std::string last_error;  // libtiff reports through a callback: the message lands here

  // libtiff's message goes to the handle, not to stderr: apical prints one message per error.
  static int on_error(TIFF*, void* user_data, const char* module, const char* format, va_list args) {
    char text[512];
    std::vsnprintf(text, sizeof text, format, args);
    static_cast<Handle*>(user_data)->last_error = text;
    return 1;
  }
  static int on_warning(TIFF*, void*, const char*, const char*, va_list) { return 1; }
};

LibtiffPages::LibtiffPages(std::string path, int height, int width, size_t bytes_per_sample)
    : path_(std::move(path)), height_(height), width_(width), bytes_per_sample_(bytes_per_sample) {}

LibtiffPages::~LibtiffPages() = default;

bool LibtiffPages::codec_available(int scheme) {
  return scheme > 0 && scheme <= 0xffff && TIFFIsCODECConfigured(uint16_t(scheme)) == 1;
}

std::unique_ptr<LibtiffPages::Handle> LibtiffPages::borrow() const {
  {
    std::lock_guard<std::mutex> lock(idle_mutex_);
    if (!idle_.empty()) {
      std::unique_ptr<Handle> handle = std::move(idle_.back());
      idle_.pop_back();
      return handle;
    }
  }
  auto handle = std::make_unique<Handle>();
  std::unique_ptr<TIFFOpenOptions, OptionsFreer> options(TIFFOpenOptionsAlloc());
  TIFFOpenOptionsSetErrorHandlerExtR(options.get(), &Handle::on_error, handle.get());
  TIFFOpenOptionsSetWarningHandlerExtR(options.get(), &Handle::on_warning, handle.get());
  TIFFOpenOptionsSetMaxSingleMemAlloc(options.get(), kMaxLibtiffAllocation);
  // "m": read with read(2), not mmap (a file truncated underneath is then an error, not SIGBUS).
  handle->tif.reset(TIFFOpenExt(path_.c_str(), "rm", options.get()));
  if (!handle->tif) throw file_error(path_, "libtiff cannot open it: " + handle->last_error);
  return handle;
}

void LibtiffPages::give_back(std::unique_ptr<Handle> handle) const {
  std::lock_guard<std::mutex> lock(idle_mutex_);
  idle_.push_back(std::move(handle));
}

void LibtiffPages::read_page(uint64_t directory_offset, int64_t index, unsigned char* out) const {
  const std::string page_name = "page " + std::to_string(index + 1);
  std::unique_ptr<Handle> handle = borrow();
  handle->last_error.clear();
  if (!TIFFSetSubDirectory(handle->tif.get(), directory_offset))
    throw file_error(path_, "cannot read the directory of " + page_name + ": " + handle->last_error);
  uint32_t width = 0, height = 0;
  TIFFGetField(handle->tif.get(), TIFFTAG_IMAGEWIDTH, &width);
  TIFFGetField(handle->tif.get(), TIFFTAG_IMAGELENGTH, &height);
  if (int64_t(width) != width_ || int64_t(height) != height_)
    throw file_error(path_, page_name + ": libtiff reads a different image size than apical's index");
  if (TIFFIsTiled(handle->tif.get())) read_tiles(*handle, page_name, out);
  else read_strips(*handle, page_name, out);
  give_back(std::move(handle));  // (a handle that failed is dropped: its state is unknown)
}

void LibtiffPages::read_strips(Handle& handle, const std::string& page_name, unsigned char* out) const {
  TIFF* tif = handle.tif.get();
  uint32_t rows_per_strip = 0;
  TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &rows_per_strip);
  rows_per_strip = std::clamp<uint32_t>(rows_per_strip, 1, uint32_t(height_));
  const size_t row_bytes = size_t(width_) * bytes_per_sample_;
  const uint32_t strips = (uint32_t(height_) + rows_per_strip - 1) / rows_per_strip;
  if (TIFFNumberOfStrips(tif) < strips)
    throw file_error(path_, page_name + " has " + std::to_string(TIFFNumberOfStrips(tif)) +
                                " strips; its size needs " + std::to_string(strips));
  for (uint32_t s = 0; s < strips; ++s) {
    const uint32_t first_row = s * rows_per_strip;
    const uint32_t rows = std::min(rows_per_strip, uint32_t(height_) - first_row);
    const tmsize_t wanted = tmsize_t(rows * row_bytes);
    const tmsize_t got = TIFFReadEncodedStrip(tif, s, out + first_row * row_bytes, wanted);
    if (got != wanted)
      throw file_error(path_, page_name + ": compressed data of strip " + std::to_string(s + 1) +
                                  " is corrupt (" + (handle.last_error.empty() ? "short strip" : handle.last_error) + ")");
  }
}

void LibtiffPages::read_tiles(Handle& handle, const std::string& page_name, unsigned char* out) const {
  TIFF* tif = handle.tif.get();
  uint32_t tile_width = 0, tile_height = 0;
  TIFFGetField(tif, TIFFTAG_TILEWIDTH, &tile_width);
  TIFFGetField(tif, TIFFTAG_TILELENGTH, &tile_height);
  if (tile_width == 0 || tile_height == 0 || tile_width > 65536 || tile_height > 65536)
    throw file_error(path_, page_name + " has an implausible tile size " + std::to_string(tile_width) + "x" +
                                std::to_string(tile_height));
  const size_t tile_bytes = size_t(tile_width) * tile_height * bytes_per_sample_;
  std::vector<unsigned char> tile(tile_bytes);
  const size_t row_bytes = size_t(width_) * bytes_per_sample_;
  for (uint32_t y = 0; y < uint32_t(height_); y += tile_height) {
    for (uint32_t x = 0; x < uint32_t(width_); x += tile_width) {
      const ttile_t number = TIFFComputeTile(tif, x, y, 0, 0);
      if (TIFFReadEncodedTile(tif, number, tile.data(), tmsize_t(tile_bytes)) != tmsize_t(tile_bytes))
        throw file_error(path_, page_name + ": compressed data of the tile at (" + std::to_string(y) + ", " +
                                    std::to_string(x) + ") is corrupt (" +
                                    (handle.last_error.empty() ? "short tile" : handle.last_error) + ")");
      // Edge tiles are padded to the full tile size; only the part inside the image is kept.
      const uint32_t rows = std::min(tile_height, uint32_t(height_) - y);
      const size_t copy_bytes = size_t(std::min(tile_width, uint32_t(width_) - x)) * bytes_per_sample_;
      for (uint32_t r = 0; r < rows; ++r)
        std::memcpy(out + (y + r) * row_bytes + x * bytes_per_sample_,
                    tile.data() + size_t(r) * tile_width * bytes_per_sample_, copy_bytes);
    }
  }
}

}  // namespace apical
