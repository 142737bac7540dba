// Movie readers and writers against known arrays, real recordings, and bad input.
#include <catch2/catch.hpp>

#include <regex>

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>

#include "io/atomic_output.hpp"
#include "io/error.hpp"
#include "io/h5.hpp"
#include "io/h5_columns.hpp"
#include "io/movie.hpp"
#include "io/page_cache.hpp"
#include "io/provenance.hpp"
#include "io/round_clip.hpp"
#include "io/tiff.hpp"
#include "io/truth_file.hpp"
#include "tests/test_support.hpp"

using namespace apical;
using apical::test::TempDir;

namespace {

// A known movie: value depends on (t, y, x) so any axis mix-up shows.
std::vector<float> known_movie(int frames, int height, int width) {
  std::vector<float> v(size_t(frames) * height * width);
  for (int t = 0; t < frames; ++t)
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x)
        v[(size_t(t) * height + y) * width + x] = float(t * 1000 + y * 31 + x) - 500.0f;
  return v;
}

void write_tiff(const std::string& path, const std::vector<float>& movie, int frames, int height,
                int width, SampleType type, bool big, const std::string& description = {}) {
  TiffWriter writer(path, height, width, type, big, description);
  for (int t = 0; t < frames; ++t) writer.write_page(movie.data() + size_t(t) * height * width);
  writer.close();
}

std::vector<float> read_all(const Movie& movie, int plane) {
  FrameStack stack;
  movie.read(plane, 0, int(movie.frames()), stack);
  return stack.pixels;
}

MovieSpec spec_of(std::vector<std::string> paths) {
  MovieSpec s;
  s.paths = std::move(paths);
  return s;
}

}  // namespace

TEST_CASE("classic and BigTIFF round-trip int16, uint16 and float32 pages exactly", "[io][tiff]") {
  TempDir dir;
  const int T = 7, H = 13, W = 17;
  auto movie = known_movie(T, H, W);
  for (bool big : {false, true}) {
    for (SampleType type : {SampleType::int16, SampleType::float32}) {
      std::string path = (dir / ("m" + std::to_string(big) + sample_type_name(type) + ".tif")).string();
      write_tiff(path, movie, T, H, W, type, big);
      auto m = open_movie(spec_of({path}), {});
      REQUIRE(m->frames() == T);
      REQUIRE(m->height() == H);
      REQUIRE(m->width() == W);
      CHECK(m->dtype() == sample_type_name(type));
      CHECK(read_all(*m, 0) == movie);
    }
  }
  // uint16 clips negatives to 0 and keeps the rest.
  std::string path = (dir / "u16.tif").string();
  write_tiff(path, movie, T, H, W, SampleType::uint16, false);
  auto m = open_movie(spec_of({path}), {});
  auto back = read_all(*m, 0);
  for (size_t i = 0; i < movie.size(); ++i) REQUIRE(back[i] == std::max(0.0f, movie[i]));
}

TEST_CASE("several TIFF files in a folder read as one movie in natural order", "[io][tiff]") {
  TempDir dir;
  const int H = 8, W = 9;
  auto movie = known_movie(12, H, W);
  // Files 1, 2 and 10: natural order puts file10 last.
  int starts[] = {0, 4, 8};
  const char* names[] = {"run_1.tif", "run_2.tif", "run_10.tif"};
  for (int f = 0; f < 3; ++f) {
    std::vector<float> part(movie.begin() + size_t(starts[f]) * H * W, movie.begin() + size_t(starts[f] + 4) * H * W);
    write_tiff((dir / names[f]).string(), part, 4, H, W, SampleType::int16, f == 1);
  }
  auto m = open_movie(spec_of({dir.path().string()}), {});
  REQUIRE(m->frames() == 12);
  CHECK(read_all(*m, 0) == movie);
  auto g = open_movie(spec_of({(dir / "run_*.tif").string()}), {});
  CHECK(read_all(*g, 0) == movie);
}

TEST_CASE("interleaved planes and channels de-interleave channel fastest, then plane", "[io][tiff]") {
  TempDir dir;
  const int H = 4, W = 5, planes = 2, channels = 2, frames = 6;
  auto pages = known_movie(frames * planes * channels, H, W);
  std::string path = (dir / "interleaved.tif").string();
  write_tiff(path, pages, frames * planes * channels, H, W, SampleType::int16, false);
  AcquisitionOverrides o;
  o.planes = planes;
  o.channels = channels;
  MovieSpec s = spec_of({path});
  s.channel = 1;
  auto m = open_movie(s, o);
  REQUIRE(m->planes() == 2);
  REQUIRE(m->frames() == frames);
  FrameStack stack;
  m->read(1, 2, 3, stack);
  for (int i = 0; i < 3; ++i) {
    int page = ((2 + i) * planes + 1) * channels + 1;
    REQUIRE(stack.frame_data(i)[0] == pages[size_t(page) * H * W]);
  }
}

TEST_CASE("HDF5 movies read the same in every axis order", "[io][hdf5]") {
  TempDir dir;
  const int T = 5, H = 6, W = 7;
  auto movie = known_movie(T, H, W);
  for (std::string axes : {"tyx", "yxt", "txy", "xyt"}) {
    std::string path = (dir / ("m_" + axes + ".h5")).string();
    {
      h5::File f = h5::File::create(path);
      std::vector<uint64_t> dims(3);
      int size_of[3];
      for (int i = 0; i < 3; ++i) size_of[i] = axes[i] == 't' ? T : axes[i] == 'y' ? H : W;
      for (int i = 0; i < 3; ++i) dims[i] = uint64_t(size_of[i]);
      std::vector<int16_t> stored(movie.size());
      for (int t = 0; t < T; ++t)
        for (int y = 0; y < H; ++y)
          for (int x = 0; x < W; ++x) {
            int idx[3];
            for (int i = 0; i < 3; ++i) idx[i] = axes[i] == 't' ? t : axes[i] == 'y' ? y : x;
            stored[(size_t(idx[0]) * size_of[1] + idx[1]) * size_of[2] + idx[2]] =
                int16_t(movie[(size_t(t) * H + y) * W + x]);
          }
      f.root().write("data/movie", stored, dims);
    }
    MovieSpec s = spec_of({path});
    s.axes = axes;
    auto m = open_movie(s, {});
    REQUIRE(m->frames() == T);
    REQUIRE(m->height() == H);
    CHECK(read_all(*m, 0) == movie);
    // A batch from the middle matches too.
    FrameStack part;
    m->read(0, 2, 2, part);
    CHECK(std::equal(part.pixels.begin(), part.pixels.end(), movie.begin() + size_t(2) * H * W));
  }
}

TEST_CASE("raw binary movies read with a given shape and dtype", "[io][raw]") {
  TempDir dir;
  const int T = 4, H = 3, W = 5;
  auto movie = known_movie(T, H, W);
  std::vector<int16_t> raw(movie.begin(), movie.end());
  std::string path = (dir / "movie.bin").string();
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<char*>(raw.data()), raw.size() * 2);
  MovieSpec s = spec_of({path});
  s.raw_shape = {T, H, W};
  s.raw_dtype = "int16";
  auto m = open_movie(s, {});
  CHECK(read_all(*m, 0) == movie);
  s.raw_shape = {T + 1, H, W};
  CHECK_THROWS_WITH(open_movie(s, {}), Catch::Contains("movie.bin") && Catch::Contains("needs"));
}

TEST_CASE("real ScanImage 3.8 file reads as 30 frames of 64x64 at 8.138 Hz, bidirectional", "[io][real]") {
  std::string path = test::real_data("scanimage38_bidi.tif");
  if (path.empty()) {
    WARN("../shared/data/real not present; skipping");
    return;
  }
  auto m = open_movie(spec_of({path}), {});
  CHECK(m->frames() == 30);
  CHECK(m->height() == 64);
  CHECK(m->width() == 64);
  CHECK(m->acquisition().frame_rate_hz == Approx(8.138).margin(0.001));
  CHECK(m->acquisition().bidirectional);
  CHECK(m->acquisition().zoom == Approx(1.6));
  auto pixels = read_all(*m, 0);
  CHECK(*std::max_element(pixels.begin(), pixels.end()) > 0);
}

TEST_CASE("real sima example: the TIFF and the yxt HDF5 give the same 20x128x256 movie", "[io][real]") {
  std::string tif = test::real_data("sima_example.tif"), h5path = test::real_data("sima_example.h5");
  if (tif.empty() || h5path.empty()) {
    WARN("../shared/data/real not present; skipping");
    return;
  }
  auto a = open_movie(spec_of({tif}), {});
  MovieSpec s = spec_of({h5path});
  s.dataset = "imaging";
  s.axes = "yxt";
  auto b = open_movie(s, {});
  REQUIRE(a->frames() == 20);
  REQUIRE(a->height() == 128);
  REQUIRE(a->width() == 256);
  REQUIRE(b->frames() == 20);
  REQUIRE(b->height() == 128);
  REQUIRE(b->width() == 256);
  CHECK(read_all(*a, 0) == read_all(*b, 0));
}

TEST_CASE("real Allen crop reads as 100 frames of 100x100", "[io][real]") {
  std::string path = test::real_data("allen_movie_100x100x100.h5");
  if (path.empty()) {
    WARN("../shared/data/real not present; skipping");
    return;
  }
  MovieSpec s = spec_of({path});
  s.dataset = "data";
  auto m = open_movie(s, {});
  CHECK(m->frames() == 100);
  CHECK(m->height() == 100);
  CHECK(m->width() == 100);
  CHECK(m->dtype() == "int16");
}

TEST_CASE("a real gzip-chunked HDF5 movie streams in odd batches equal to its uncompressed copy", "[io][real][hdf5]") {
  const std::string path = test::real_data("neurofinder_top/movie.h5");
  if (path.empty()) {
    WARN("../shared/data/real/neurofinder_top not present; skipping");
    return;
  }
  // The uncompressed values: one whole-dataset read, written to a contiguous copy.
  test::TempDir dir;
  const std::string plain = (dir / "plain.h5").string();
  {
    const h5::File in = h5::File::open_read(path);
    const h5::Dataset d = in.root().dataset("movie");
    CHECK(!d.chunk_dims().empty());  // the real file is chunked (and gzip-compressed)
    const std::vector<uint16_t> values = d.read<uint16_t>();
    h5::File out = h5::File::create(plain);
    h5::Group root = out.root();
    root.write("movie", values, d.dims());
  }
  MovieSpec compressed = spec_of({path}), uncompressed = spec_of({plain});
  compressed.dataset = uncompressed.dataset = "movie";
  auto a = open_movie(compressed, {});
  auto b = open_movie(uncompressed, {});
  REQUIRE(a->frames() == 600);
  REQUIRE(a->height() == 256);
  REQUIRE(a->width() == 512);
  // Batches of 37 frames cross the 50-frame chunks at every phase.
  FrameStack fa, fb;
  for (int64_t first = 0; first < a->frames(); first += 37) {
    const int count = int(std::min<int64_t>(37, a->frames() - first));
    a->read(0, first, count, fa);
    b->read(0, first, count, fb);
    REQUIRE(fa.pixels == fb.pixels);
  }
}

TEST_CASE("bad inputs give one clear message naming the file and the problem", "[io][errors]") {
  TempDir dir;
  const int T = 6, H = 16, W = 16;
  auto movie = known_movie(T, H, W);
  std::string good = (dir / "good.tif").string();
  write_tiff(good, movie, T, H, W, SampleType::int16, false);

  SECTION("truncated TIFF") {
    std::string cut = (dir / "cut.tif").string();
    std::filesystem::copy_file(good, cut);
    std::filesystem::resize_file(cut, std::filesystem::file_size(good) - 700);
    CHECK_THROWS_AS(open_movie(spec_of({cut}), {}), InputError);
    CHECK_THROWS_WITH(open_movie(spec_of({cut}), {}), Catch::Contains("cut.tif") && Catch::Contains("truncated"));
  }
  SECTION("pages of different sizes") {
    std::string mixed = (dir / "mixed.tif").string();
    {
      TiffWriter w(mixed, H, W, SampleType::int16, false);
      w.write_page(movie.data());
      w.close();
    }
    std::string other = (dir / "other.tif").string();
    write_tiff(other, movie, 1, H / 2, W, SampleType::int16, false);
    CHECK_THROWS_WITH(open_movie(spec_of({mixed, other}), {}), Catch::Contains("other.tif"));
  }
  SECTION("empty file") {
    std::string empty = (dir / "empty.tif").string();
    std::ofstream(empty).close();
    CHECK_THROWS_WITH(open_movie(spec_of({empty}), {}), Catch::Contains("empty.tif") && Catch::Contains("empty"));
  }
  SECTION("HDF5 dataset that does not exist") {
    std::string path = (dir / "m.h5").string();
    h5::File::create(path).root().write("data", std::vector<float>(24), {2, 3, 4});
    MovieSpec s = spec_of({path});
    s.dataset = "/nope";
    CHECK_THROWS_WITH(open_movie(s, {}), Catch::Contains("m.h5") && Catch::Contains("/nope"));
  }
  SECTION("axis string that does not fit") {
    std::string path = (dir / "m.h5").string();
    h5::File::create(path).root().write("data", std::vector<float>(24), {2, 3, 4});
    MovieSpec s = spec_of({path});
    s.axes = "tyz";
    CHECK_THROWS_WITH(open_movie(s, {}), Catch::Contains("m.h5") && Catch::Contains("tyz"));
    h5::File::create(path).root().write("data", std::vector<float>(6), {2, 3});
    s.axes = "tyx";
    CHECK_THROWS_WITH(open_movie(s, {}), Catch::Contains("no 3-D dataset"));
    s.dataset = "data";
    CHECK_THROWS_WITH(open_movie(s, {}), Catch::Contains("2 dimensions"));
  }
  SECTION("not a TIFF at all") {
    std::string text = (dir / "notes.tif").string();
    std::ofstream(text) << "hello, this is not an image";
    CHECK_THROWS_WITH(open_movie(spec_of({text}), {}), Catch::Contains("notes.tif") && Catch::Contains("not a TIFF"));
  }
  SECTION("NaN in a frame is named") {
    FrameStack batch(10, 2, 2, 2);
    batch.pixels[5] = std::numeric_limits<float>::quiet_NaN();
    CHECK_THROWS_WITH(Movie::check_finite(batch, 0, "x.tif"), Catch::Contains("frame 11") && Catch::Contains("x.tif"));
  }
}

TEST_CASE("atomic output leaves nothing at the target unless committed", "[io][output]") {
  TempDir dir;
  auto target = dir / "out.h5";
  {
    AtomicOutput out(target, false);
    h5::File::create(out.temp_path().string()).root().set_attribute("x", 1.0);
    CHECK(std::filesystem::exists(out.temp_path()));
  }  // destroyed without commit: an error path
  CHECK_FALSE(std::filesystem::exists(target));
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()), {}) == 0);
  {
    AtomicOutput out(target, false);
    h5::File::create(out.temp_path().string()).root().set_attribute("x", 1.0);
    out.commit();
  }
  CHECK(std::filesystem::exists(target));
  CHECK_THROWS_WITH(AtomicOutput(target, false), Catch::Contains("exists") && Catch::Contains("--force"));
  CHECK_NOTHROW(AtomicOutput(target, true));
}

TEST_CASE("provenance attributes say how a file was made", "[io][provenance]") {
  TempDir dir;
  std::string path = (dir / "p.h5").string();
  {
    h5::File f = h5::File::create(path);
    Provenance p{"apical test --x 1", {{"x", "1"}, {"a", "b"}}, {"in.tif"}};
    h5::Group root = f.root();
    write_provenance(root, p);
  }
  h5::File f = h5::File::open_read(path);
  auto root = f.root();
  CHECK(root.string_attribute("command_line").value() == "apical test --x 1");
  CHECK(root.string_attribute("parameters").value() == "a=b\nx=1\n");
  // Absolute input paths (a file's provenance must not depend on where it was made from).
  CHECK(root.string_attribute("inputs").value() == (std::filesystem::current_path() / "in.tif").string() + "\n");
  CHECK(root.string_attribute("apical_version").has_value());
  CHECK(root.string_attribute("created_utc").value().size() == 20);
}

TEST_CASE("an input's modification time is recorded as ISO-8601 UTC", "[io][provenance]") {
  TempDir dir;
  const std::string input = (dir / "in.csv").string();
  std::ofstream(input) << "x\n";
  const std::string text = describe_inputs({input});
  INFO(text);
  CHECK(text.rfind(input + " (2 bytes, modified ", 0) == 0);
  CHECK(std::regex_search(text, std::regex(R"(modified \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z\))")));
}

TEST_CASE("ScanImage 2015+ metadata: planes, channels, flyback frames skipped, volume rate", "[io][scanimage]") {
  TempDir dir;
  const int H = 6, W = 5, planes = 2, channels = 2, flyback = 1, volumes = 4;
  const int pages_per_volume = (planes + flyback) * channels;
  auto pages = known_movie(volumes * pages_per_volume, H, W);
  std::string description =
      "SI.VERSION_MAJOR = '2018b'\nSI.hRoiManager.scanFrameRate = 90\nSI.hRoiManager.scanVolumeRate = 30\n"
      "SI.hStackManager.numSlices = 2\nSI.hFastZ.enable = true\nSI.hFastZ.numDiscardFlybackFrames = 1\n"
      "SI.hChannels.channelSave = [1;2]\nSI.hScan2D.bidirectional = false\nSI.hRoiManager.scanZoomFactor = 3\n";
  std::string path = (dir / "si.tif").string();
  write_tiff(path, pages, volumes * pages_per_volume, H, W, SampleType::int16, true, description);
  MovieSpec s = spec_of({path});
  s.channel = 1;
  auto m = open_movie(s, {});
  CHECK(m->acquisition().source.find("ScanImage 2015+") != std::string::npos);
  CHECK(m->planes() == 2);
  CHECK(m->acquisition().channels == 2);
  CHECK(m->acquisition().flyback_frames == 1);
  CHECK(m->acquisition().frame_rate_hz == Approx(30));
  CHECK_FALSE(m->acquisition().bidirectional);
  CHECK(m->acquisition().zoom == Approx(3));
  REQUIRE(m->frames() == volumes);
  FrameStack stack;
  m->read(1, 0, volumes, stack);
  for (int t = 0; t < volumes; ++t) {
    int page = t * pages_per_volume + 1 * channels + 1;  // plane 1, channel 1; flyback pages never read
    CHECK(stack.frame_data(t)[3] == pages[size_t(page) * H * W + 3]);
  }
  // apical.ini / flags override the file's metadata, and say so.
  AcquisitionOverrides o;
  o.frame_rate_hz = 15;
  o.roles = {"soma", "dendrite"};
  auto m2 = open_movie(s, o);
  CHECK(m2->acquisition().frame_rate_hz == 15);
  CHECK(m2->acquisition().source.find("apical.ini") != std::string::npos);
}

TEST_CASE("round_clip equals rounding half to even and clipping, for every stored type", "[io][round]") {
  std::vector<float> values = {0.5f,     1.5f,     2.5f,     -0.5f,    -1.5f,    -2.5f,     0.49999997f, 3.7f,
                               -3.7f,    32766.5f, 32767.4f, 32767.5f, 32768.0f, -32767.5f, -32768.5f,   -40000.f,
                               65534.5f, 65535.4f, 65535.5f, 70000.f,  1e10f,    -1e10f,    255.5f,      254.5f};
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> wide(-80000.f, 80000.f);
  for (int i = 0; i < 1001; ++i) values.push_back(wide(rng));  // odd count: the scalar tail runs too
  auto check = [&](auto zero) {
    using T = decltype(zero);
    std::vector<T> out(values.size());
    round_clip(values.data(), values.size(), out.data());
    const double lo = double(std::numeric_limits<T>::lowest()), hi = double(std::numeric_limits<T>::max());
    for (size_t i = 0; i < values.size(); ++i) {
      // nearbyint rounds half to even in the default mode: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2.
      const double expected = std::clamp(std::nearbyint(double(values[i])), lo, hi);
      INFO("value " << values[i]);
      REQUIRE(double(out[i]) == expected);
    }
  };
  check(int16_t{});
  check(uint16_t{});
  check(uint8_t{});
  check(int32_t{});
  check(uint32_t{});
  std::vector<int16_t> ties(3);
  round_clip(values.data(), 3, ties.data());
  CHECK(ties == std::vector<int16_t>{0, 2, 2});
}

TEST_CASE("drop-behind leaves written and read movie data out of the page cache", "[io][page_cache]") {
  TempDir dir;
  struct statfs fs {};
  REQUIRE(::statfs(dir.path().c_str(), &fs) == 0);
  if (!drop_behind_enabled() || fs.f_type == TMPFS_MAGIC) {
    WARN("skipped: APICAL_PAGE_CACHE=keep, or a tmpfs temp folder (its pages are the only copy)");
    return;
  }
  const std::string path = (std::filesystem::path(dir.path()) / "stream.bin").string();
  const size_t chunk = size_t(1) << 20, chunks = 16, lag = 4 * chunk;
  const long page = ::sysconf(_SC_PAGESIZE);
  // Fraction of the pages of [offset, offset + bytes) in the page cache, via mincore.
  auto resident = [&](int fd, size_t offset, size_t bytes) {
    void* map = ::mmap(nullptr, bytes, PROT_READ, MAP_SHARED, fd, off_t(offset));
    REQUIRE(map != MAP_FAILED);
    std::vector<unsigned char> in_core((bytes + size_t(page) - 1) / size_t(page));
    REQUIRE(::mincore(map, bytes, in_core.data()) == 0);
    ::munmap(map, bytes);
    size_t count = 0;
    for (unsigned char c : in_core) count += c & 1;
    return double(count) / double(in_core.size());
  };
  std::vector<unsigned char> data(chunk, 7);
  {  // Probe: does this filesystem honour the hints at all (FUSE and some overlays do not)?
    const std::string probe_path = (std::filesystem::path(dir.path()) / "probe.bin").string();
    const int probe = ::open(probe_path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
    REQUIRE(probe >= 0);
    REQUIRE(::pwrite(probe, data.data(), chunk, 0) == ssize_t(chunk));
    const double cached = resident(probe, 0, chunk);
    ::sync_file_range(probe, 0, off_t(chunk),
                      SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
    ::posix_fadvise(probe, 0, off_t(chunk), POSIX_FADV_DONTNEED);
    const double kept = resident(probe, 0, chunk);
    ::close(probe);
    if (cached < 0.5 || kept > 0.5) {
      WARN("skipped: on this filesystem written pages are not cached, or sync_file_range + "
           "POSIX_FADV_DONTNEED do not drop them (e.g. overlayfs)");
      return;
    }
  }
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
  REQUIRE(fd >= 0);
  DropBehind writer(fd, path, lag);
  for (size_t i = 0; i < chunks; ++i) {
    REQUIRE(::pwrite(fd, data.data(), chunk, off_t(i * chunk)) == ssize_t(chunk));
    writer.after_write();
  }
  const double behind = resident(fd, 0, (chunks - 5) * chunk), recent = resident(fd, (chunks - 1) * chunk, chunk);
  // The hints are best effort (a page still in another CPU's LRU batch is skipped): without
  // them all of it would be cached, so "most of it gone" is the property.
  CHECK(behind < 0.5);   // more than `lag` behind the end: written back and dropped
  CHECK(recent > 0.95);  // within the lag: still cached, not waited for
  // Reading back gives the data written, and leaves what was read uncached (chunk 0: long
  // written back, so its pages are clean and can go).
  std::vector<unsigned char> back(chunk);
  REQUIRE(::pread(fd, back.data(), chunk, 0) == ssize_t(chunk));
  CHECK(back == data);
  DropBehind(fd).after_read(0, chunk);
  CHECK(resident(fd, 0, chunk) < 0.5);
  ::close(fd);
}

TEST_CASE("write_columns stores each column as a 1-D dataset of its element type; column_of gathers a field of each row", "[io][hdf5]") {
  struct Row {
    int id;
    double value;
  };
  const std::vector<Row> rows = {{1, 0.5}, {-2, 1.5}, {3, -2.5}};
  TempDir dir;
  const std::string path = (dir / "columns.h5").string();
  {
    h5::File f = h5::File::create(path);
    h5::Group root = f.root();
    h5::write_columns(root, {{"id", h5::column_of<int8_t>(rows, &Row::id)}, {"value", h5::column_of<double>(rows, &Row::value)}});
    f.close();
  }
  h5::File f = h5::File::open_read(path);
  const h5::Dataset id = f.root().dataset("id");
  CHECK(id.dims() == h5::Dims{3});
  CHECK(H5Tget_size(h5::Handle(H5Dget_type(id.id()), H5Tclose).id()) == 1);
  CHECK(id.read<int8_t>() == std::vector<int8_t>{1, -2, 3});
  CHECK(f.root().read<double>("value") == std::vector<double>{0.5, 1.5, -2.5});
}

TEST_CASE("read_truth gives back what write_truth wrote, opto tables and settings included", "[io][hdf5][truth]") {
  Truth truth;
  truth.frame_rate_hz = 30;
  truth.height = 4;
  truth.width = 5;
  truth.settings = {3, 1.5, 0.3, -0.15, 0.1, (uint64_t(1) << 53) + 1};  // a double would round it
  TruthPlane plane;
  plane.role = "soma";
  plane.shifts = {{0.5f, -1}, {0, 0}, {1, 2}};
  plane.masks.height = 4;
  plane.masks.width = 5;
  plane.masks.add({1, 2, 6}, {1, 1, 1}, 0);
  plane.dff = arma::fmat{{0.1f, 0.2f, 0.3f}};
  plane.baseline_f0 = {100};
  plane.neuropil_coef = {0.7f};
  plane.static_image = cv::Mat(4, 5, CV_32F, cv::Scalar(2.0f));
  plane.nonrigid_basis = arma::fmat(0, 4);
  plane.nonrigid_coef = arma::fmat(0, 3);
  truth.planes = {plane};
  truth.neuron_soma_roi = {0};
  truth.neuron_role = {1};
  truth.beta_reward = {0.3f};
  truth.beta_derr = {-0.1f};
  truth.sd_gain = {0.8f};
  truth.events = {{0, 1, 1.0f, 0.9f, 0.1f, -1.0f, 1}};
  truth.opto = TruthOpto{0.5, 0.5, {0, 1, 1}, {1}, {1}, {-0.2f}};
  TempDir dir;
  const std::string path = (dir / "t.truth.h5").string();
  write_truth(path, truth, Provenance{"test", {}, {}});
  const Truth back = read_truth(path);
  CHECK(back.settings.frames == 3);
  CHECK(back.settings.c_derr == -0.15);
  CHECK(back.settings.seed == (uint64_t(1) << 53) + 1);
  REQUIRE(back.planes.size() == 1);
  CHECK(back.planes[0].shifts[0].dy == 0.5f);
  CHECK(back.planes[0].baseline_f0 == plane.baseline_f0);
  CHECK(cv::countNonZero(back.planes[0].static_image != plane.static_image) == 0);
  CHECK(arma::approx_equal(back.planes[0].dff, plane.dff, "absdiff", 0.0f));
  CHECK(back.neuron_role == truth.neuron_role);
  REQUIRE(back.events.size() == 1);
  CHECK(back.events[0].d_error == -1.0f);
  CHECK(back.events[0].reward == 1);
  REQUIRE(back.opto);
  CHECK(back.opto->stimulated == truth.opto->stimulated);
  CHECK(back.opto->event_shift == truth.opto->event_shift);
  CHECK(back.opto->dendrite_gain == 0.5);
}
