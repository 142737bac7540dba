// Compressed and tiled TIFF pages (decoded by libtiff) against known arrays written with
// libtiff itself, a real recording re-saved compressed, and damaged compressed data.
#include <catch2/catch.hpp>
#include <tiffio.h>

#include <cstring>
#include <fstream>
#include <memory>

#include "io/error.hpp"
#include "io/movie.hpp"
#include "io/tiff.hpp"
#include "tests/test_support.hpp"

using namespace apical;
using apical::test::TempDir;

namespace {

struct TiffCloser {
  void operator()(TIFF* tif) const { TIFFClose(tif); }
};
using TiffHandle = std::unique_ptr<TIFF, TiffCloser>;

// How a test file is laid out: compression, strips of `rows_per_strip` rows or tiles.
struct Layout {
  uint16_t compression = COMPRESSION_LZW;
  uint16_t predictor = 1;      // 2: horizontal differencing (integer samples)
  uint32_t rows_per_strip = 8;
  uint32_t tile_height = 0;    // > 0: tiled, tiles of tile_height x tile_width
  uint32_t tile_width = 0;
};

// A value for every (t, y, x) that fits each sample type and shows any mix-up of axes.
float known_value(SampleType type, int t, int y, int x) {
  const int v = t * 97 + y * 13 + x * 3;
  switch (type) {
    case SampleType::uint8: return float(v % 251);
    case SampleType::int16: return float(v % 3001 - 1500);
    case SampleType::float32: return float(v) * 0.25f - 100.0f;
    default: return float(v % 60001);
  }
}

template <typename T>
std::vector<unsigned char> page_bytes(SampleType type, int t, int height, int width) {
  std::vector<unsigned char> bytes(size_t(height) * width * sizeof(T));
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      const T v = T(known_value(type, t, y, x));
      std::memcpy(bytes.data() + (size_t(y) * width + x) * sizeof(T), &v, sizeof(T));
    }
  return bytes;
}

std::vector<unsigned char> known_page(SampleType type, int t, int height, int width) {
  switch (type) {
    case SampleType::uint8: return page_bytes<uint8_t>(type, t, height, width);
    case SampleType::int16: return page_bytes<int16_t>(type, t, height, width);
    case SampleType::float32: return page_bytes<float>(type, t, height, width);
    default: return page_bytes<uint16_t>(type, t, height, width);
  }
}

void set_page_tags(TIFF* tif, SampleType type, int height, int width, const Layout& layout) {
  TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, uint32_t(width));
  TIFFSetField(tif, TIFFTAG_IMAGELENGTH, uint32_t(height));
  TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, uint16_t(1));
  TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, uint16_t(sample_type_bytes(type) * 8));
  TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT, type == SampleType::float32 ? SAMPLEFORMAT_IEEEFP
                                          : type == SampleType::int16 ? SAMPLEFORMAT_INT
                                                                      : SAMPLEFORMAT_UINT);
  TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
  TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
  TIFFSetField(tif, TIFFTAG_COMPRESSION, layout.compression);
  if (layout.predictor != 1) TIFFSetField(tif, TIFFTAG_PREDICTOR, layout.predictor);
  if (layout.tile_height > 0) {
    TIFFSetField(tif, TIFFTAG_TILELENGTH, layout.tile_height);
    TIFFSetField(tif, TIFFTAG_TILEWIDTH, layout.tile_width);
  } else {
    TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, layout.rows_per_strip);
  }
}

// One page through libtiff's own encoder; tiles padded with zeros at the image's edge.
void write_libtiff_page(TIFF* tif, const std::vector<unsigned char>& page, int height, int width,
                        size_t sample_bytes, const Layout& layout) {
  const size_t row_bytes = size_t(width) * sample_bytes;
  if (layout.tile_height == 0) {
    std::vector<unsigned char> row_copy(row_bytes);  // libtiff's predictor encodes in place
    for (uint32_t row = 0; row < uint32_t(height); ++row) {
      std::memcpy(row_copy.data(), page.data() + row * row_bytes, row_bytes);
      REQUIRE(TIFFWriteScanline(tif, row_copy.data(), row, 0) == 1);
    }
  } else {
    std::vector<unsigned char> tile(size_t(layout.tile_height) * layout.tile_width * sample_bytes);
    for (uint32_t y = 0; y < uint32_t(height); y += layout.tile_height)
      for (uint32_t x = 0; x < uint32_t(width); x += layout.tile_width) {
        std::fill(tile.begin(), tile.end(), 0);
        for (uint32_t r = 0; r < layout.tile_height && y + r < uint32_t(height); ++r)
          std::memcpy(tile.data() + r * layout.tile_width * sample_bytes,
                      page.data() + (y + r) * row_bytes + x * sample_bytes,
                      std::min<size_t>(layout.tile_width, width - x) * sample_bytes);
        REQUIRE(TIFFWriteTile(tif, tile.data(), x, y, 0, 0) > 0);
      }
  }
  REQUIRE(TIFFWriteDirectory(tif) == 1);
}

void write_libtiff_movie(const std::string& path, const std::vector<std::vector<unsigned char>>& pages,
                         SampleType type, int height, int width, const Layout& layout, bool big_tiff = false) {
  TiffHandle tif(TIFFOpen(path.c_str(), big_tiff ? "w8" : "w"));
  REQUIRE(tif);
  for (const auto& page : pages) {
    set_page_tags(tif.get(), type, height, width, layout);
    write_libtiff_page(tif.get(), page, height, width, sample_type_bytes(type), layout);
  }
}

std::vector<float> as_floats(const std::vector<unsigned char>& page, SampleType type) {
  const size_t bytes = sample_type_bytes(type), n = page.size() / bytes;
  std::vector<float> out(n);
  for (size_t i = 0; i < n; ++i) {
    const unsigned char* p = page.data() + i * bytes;
    switch (type) {
      case SampleType::uint8: out[i] = p[0]; break;
      case SampleType::int16: { int16_t v; std::memcpy(&v, p, 2); out[i] = v; break; }
      case SampleType::float32: { float v; std::memcpy(&v, p, 4); out[i] = v; break; }
      default: { uint16_t v; std::memcpy(&v, p, 2); out[i] = v; break; }
    }
  }
  return out;
}

// Writes `frames` known pages with `layout` and checks every page reads back exactly.
void check_round_trip(const std::string& path, SampleType type, const Layout& layout, bool big_tiff = false) {
  const int frames = 4, height = 37, width = 53;  // odd sizes: partial last strip and edge tiles
  std::vector<std::vector<unsigned char>> pages;
  for (int t = 0; t < frames; ++t) pages.push_back(known_page(type, t, height, width));
  write_libtiff_movie(path, pages, type, height, width, layout, big_tiff);
  TiffReader reader(path);
  REQUIRE(reader.pages() == frames);
  REQUIRE(reader.height() == height);
  REQUIRE(reader.width() == width);
  REQUIRE(reader.sample_type() == type);
  std::vector<float> page(size_t(height) * width);
  for (int t = frames - 1; t >= 0; --t) {  // out of order: each page found by its own directory
    reader.read_page(t, page.data());
    REQUIRE(page == as_floats(pages[size_t(t)], type));
  }
}

// Byte offset of the first strip (or tile) of page `index` (0-based), found with libtiff.
uint64_t first_data_offset(const std::string& path, int index) {
  TiffHandle tif(TIFFOpen(path.c_str(), "r"));
  REQUIRE(TIFFSetDirectory(tif.get(), tdir_t(index)) == 1);
  return TIFFIsTiled(tif.get()) ? TIFFGetStrileOffset(tif.get(), 0) : TIFFGetStrileOffset(tif.get(), 0);
}

}  // namespace

TEST_CASE("LZW pages of every sample type read back exactly as written by libtiff", "[io][tiff][compressed]") {
  TempDir dir;
  for (SampleType type : {SampleType::uint8, SampleType::uint16, SampleType::int16, SampleType::float32}) {
    INFO(sample_type_name(type));
    check_round_trip((dir / ("lzw_" + sample_type_name(type) + ".tif")).string(), type, Layout{COMPRESSION_LZW});
  }
  // Horizontal differencing, as ImageJ and tifffile write LZW of integer data.
  check_round_trip((dir / "lzw_predictor.tif").string(), SampleType::uint16, Layout{COMPRESSION_LZW, 2});
}

TEST_CASE("Deflate pages, classic and BigTIFF, read back exactly", "[io][tiff][compressed]") {
  TempDir dir;
  for (SampleType type : {SampleType::uint16, SampleType::int16, SampleType::float32}) {
    INFO(sample_type_name(type));
    check_round_trip((dir / ("deflate_" + sample_type_name(type) + ".tif")).string(), type,
                     Layout{COMPRESSION_ADOBE_DEFLATE});
    check_round_trip((dir / ("deflate_big_" + sample_type_name(type) + ".tif")).string(), type,
                     Layout{COMPRESSION_ADOBE_DEFLATE, 1, 5}, true);
  }
  check_round_trip((dir / "deflate_predictor.tif").string(), SampleType::int16,
                   Layout{COMPRESSION_ADOBE_DEFLATE, 2, 37});
}

TEST_CASE("PackBits pages read back exactly", "[io][tiff][compressed]") {
  TempDir dir;
  check_round_trip((dir / "packbits.tif").string(), SampleType::uint16, Layout{COMPRESSION_PACKBITS});
  check_round_trip((dir / "packbits8.tif").string(), SampleType::uint8, Layout{COMPRESSION_PACKBITS, 1, 1});
}

TEST_CASE("tiled pages, uncompressed and Deflate, with partial edge tiles read back exactly", "[io][tiff][compressed]") {
  TempDir dir;
  check_round_trip((dir / "tiled.tif").string(), SampleType::uint16, Layout{COMPRESSION_NONE, 1, 0, 16, 32});
  check_round_trip((dir / "tiled_deflate.tif").string(), SampleType::float32,
                   Layout{COMPRESSION_ADOBE_DEFLATE, 1, 0, 32, 16});
}

TEST_CASE("a real recording re-saved with LZW and Deflate gives the original frames", "[io][tiff][compressed][real]") {
  const std::string original = apical::test::real_data("sima_example.tif");
  if (original.empty()) {
    WARN("../shared/data/real not present; skipping");
    return;
  }
  TempDir dir;
  MovieSpec spec;
  spec.paths = {original};
  const auto source = open_pages(spec);
  const int height = source->height(), width = source->width();
  const int frames = int(std::min<int64_t>(source->pages(), 40));
  REQUIRE(source->dtype() == "uint16");
  std::vector<std::vector<unsigned char>> pages;
  std::vector<float> frame(size_t(height) * width);
  for (int t = 0; t < frames; ++t) {
    source->read_page(t, frame.data());
    std::vector<unsigned char> bytes(frame.size() * 2);
    for (size_t i = 0; i < frame.size(); ++i) {
      const uint16_t v = uint16_t(frame[i]);
      std::memcpy(bytes.data() + 2 * i, &v, 2);
    }
    pages.push_back(std::move(bytes));
  }
  for (const Layout& layout : {Layout{COMPRESSION_LZW, 2, 16}, Layout{COMPRESSION_ADOBE_DEFLATE, 1, 64}}) {
    const std::string path = (dir / ("sima_" + std::to_string(layout.compression) + ".tif")).string();
    write_libtiff_movie(path, pages, SampleType::uint16, height, width, layout);
    spec.paths = {path};
    const auto compressed = open_pages(spec);
    REQUIRE(compressed->pages() == frames);
    std::vector<float> batch(size_t(frames) * height * width);
    compressed->read_pages(0, 1, frames, batch.data());
    for (int t = 0; t < frames; ++t) {
      INFO("compression " << layout.compression << " frame " << t);
      REQUIRE(std::equal(batch.begin() + ptrdiff_t(t) * height * width,
                         batch.begin() + ptrdiff_t(t + 1) * height * width,
                         as_floats(pages[size_t(t)], SampleType::uint16).begin()));
    }
  }
}

TEST_CASE("a corrupt compressed page is one error naming the file and the page", "[io][tiff][compressed]") {
  TempDir dir;
  for (uint16_t compression : {uint16_t(COMPRESSION_ADOBE_DEFLATE), uint16_t(COMPRESSION_LZW)}) {
    const std::string path = (dir / ("corrupt_" + std::to_string(compression) + ".tif")).string();
    const int height = 32, width = 40;
    std::vector<std::vector<unsigned char>> pages;
    for (int t = 0; t < 3; ++t) pages.push_back(known_page(SampleType::uint16, t, height, width));
    write_libtiff_movie(path, pages, SampleType::uint16, height, width, Layout{compression, 1, 32});
    const uint64_t offset = first_data_offset(path, 1);
    {  // garbage over the start of page 2's compressed stream (no valid zlib header or LZW code)
      std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
      file.seekp(std::streamoff(offset));
      const std::string garbage(24, '\xff');
      file.write(garbage.data(), std::streamsize(garbage.size()));
    }
    TiffReader reader(path);  // the index is intact
    std::vector<float> page(size_t(height) * width);
    reader.read_page(0, page.data());
    REQUIRE(page == as_floats(pages[0], SampleType::uint16));
    try {
      reader.read_page(1, page.data());
      FAIL("a corrupt page was read without an error");
    } catch (const InputError& e) {
      const std::string message = e.what();
      INFO(message);
      CHECK(message.rfind(path + ": page 2", 0) == 0);
      CHECK(message.find("corrupt") != std::string::npos);
    }
    reader.read_page(2, page.data());  // the other pages are unharmed
    REQUIRE(page == as_floats(pages[2], SampleType::uint16));
  }
}

TEST_CASE("a compression scheme libtiff cannot decode is refused when the file is opened", "[io][tiff][compressed]") {
  TempDir dir;
  const std::string path = (dir / "unknown.tif").string();
  const int height = 8, width = 8;
  write_libtiff_movie(path, {known_page(SampleType::uint16, 0, height, width)}, SampleType::uint16, height, width,
                      Layout{COMPRESSION_NONE});
  {  // rewrite the Compression tag's value in place: 1 -> 60000 (no such codec)
    TiffHandle tif(TIFFOpen(path.c_str(), "r+"));
    REQUIRE(tif);
  }
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::string entry("\x03\x01\x03\x00\x01\x00\x00\x00\x01\x00", 10);  // tag 259, SHORT, 1, value 1
  const size_t at = bytes.find(entry);
  REQUIRE(at != std::string::npos);
  bytes[at + 8] = char(0x60);
  bytes[at + 9] = char(0xea);  // 60000
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
  }
  REQUIRE_THROWS_WITH(TiffReader(path), Catch::Contains(path + ": page 1 is compressed with scheme 60000"));
}
