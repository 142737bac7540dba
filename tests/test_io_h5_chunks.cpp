// Deflate(+Shuffle) chunked HDF5 movies, read through apical's parallel chunk inflation
// (io/h5_chunks), against the known arrays they were written from: every axis order, chunk
// shapes that do not divide the movie, sample types, chunks never written, damaged chunks.
#include <catch2/catch.hpp>
#include <tbb/global_control.h>

#include <fstream>
#include <numeric>

#include "io/error.hpp"
#include "io/h5.hpp"
#include "io/h5_chunks.hpp"
#include "io/movie.hpp"
#include "tests/test_support.hpp"

using namespace apical;
using apical::test::TempDir;

namespace {

struct Stored {
  hid_t type = H5T_STD_U16LE;
  h5::Dims dims;   // stored order
  h5::Dims chunk;
  bool shuffle = true;
  bool deflate = true;
  bool fletcher32 = false;
  bool skip_last_chunk = false;  // leave the last chunk along axis 0 unwritten (fill value)
};

// Value at stored index i: fits every type tested and differs along every axis.
double known_value(size_t i, hid_t type) {
  const double v = double((i * 7919) % (H5Tget_size(type) == 1 ? 127 : 30011));
  return H5Tget_class(type) == H5T_FLOAT ? v * 0.5 - 1000.25 : (H5Tget_sign(type) == H5T_SGN_2 ? v - (H5Tget_size(type) == 1 ? 60 : 15000) : v);
}

// Writes /movie with the given storage; returns its values in stored order.
std::vector<double> write_movie(const std::string& path, const Stored& s) {
  const size_t n = size_t(s.dims[0] * s.dims[1] * s.dims[2]);
  std::vector<double> values(n);
  for (size_t i = 0; i < n; ++i) values[i] = known_value(i, s.type);
  h5::Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
  const hsize_t dims[3] = {s.dims[0], s.dims[1], s.dims[2]}, chunk[3] = {s.chunk[0], s.chunk[1], s.chunk[2]};
  h5::Handle space(H5Screate_simple(3, dims, nullptr), H5Sclose);
  h5::Handle plist(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  H5Pset_chunk(plist.id(), 3, chunk);
  if (s.fletcher32) H5Pset_fletcher32(plist.id());
  if (s.shuffle) H5Pset_shuffle(plist.id());
  if (s.deflate) H5Pset_deflate(plist.id(), 4);
  const double fill = 0;
  H5Pset_fill_value(plist.id(), H5T_NATIVE_DOUBLE, &fill);
  h5::Handle ds(H5Dcreate2(file.id(), "movie", s.type, space.id(), H5P_DEFAULT, plist.id(), H5P_DEFAULT), H5Dclose);
  REQUIRE(ds.valid());
  hsize_t rows = s.dims[0];
  if (s.skip_last_chunk) rows = ((s.dims[0] - 1) / s.chunk[0]) * s.chunk[0];
  const hsize_t start[3] = {0, 0, 0}, count[3] = {rows, s.dims[1], s.dims[2]};
  H5Sselect_hyperslab(space.id(), H5S_SELECT_SET, start, nullptr, count, nullptr);
  h5::Handle memory(H5Screate_simple(3, count, nullptr), H5Sclose);
  REQUIRE(H5Dwrite(ds.id(), H5T_NATIVE_DOUBLE, memory.id(), space.id(), H5P_DEFAULT, values.data()) >= 0);
  if (s.skip_last_chunk) std::fill(values.begin() + ptrdiff_t(rows * s.dims[1] * s.dims[2]), values.end(), 0.0);
  return values;
}

// Frames [0, T) in t,y,x order from stored-order values.
std::vector<float> as_tyx(const std::vector<double>& values, const h5::Dims& dims, const std::string& axes) {
  const size_t t_axis = axes.find('t'), y_axis = axes.find('y'), x_axis = axes.find('x');
  const uint64_t T = dims[t_axis], H = dims[y_axis], W = dims[x_axis];
  std::vector<float> out(T * H * W);
  const uint64_t stride[3] = {dims[1] * dims[2], dims[2], 1};
  for (uint64_t t = 0; t < T; ++t)
    for (uint64_t y = 0; y < H; ++y)
      for (uint64_t x = 0; x < W; ++x)
        out[(t * H + y) * W + x] = float(values[t * stride[t_axis] + y * stride[y_axis] + x * stride[x_axis]]);
  return out;
}

// Reads the whole movie in batches of `batch` frames.
std::vector<float> read_in_batches(const std::string& path, const std::string& axes, int batch) {
  MovieSpec spec;
  spec.paths = {path};
  spec.dataset = "movie";
  spec.axes = axes;
  auto movie = open_movie(spec, {});
  std::vector<float> all;
  FrameStack frames;
  for (int64_t first = 0; first < movie->frames(); first += batch) {
    const int count = int(std::min<int64_t>(batch, movie->frames() - first));
    movie->read(0, first, count, frames);
    all.insert(all.end(), frames.pixels.begin(), frames.pixels.end());
  }
  return all;
}

bool reads_by_inflating(const std::string& path) {
  const h5::File file = h5::File::open_read(path);
  return h5::InflatingChunkReader::open(file.root().dataset("movie"), 1 << 20).has_value();
}

}  // namespace

TEST_CASE("Deflate and Shuffle chunked movies in every axis order read back exactly, in any batch size",
          "[io][hdf5][chunks]") {
  TempDir dir;
  struct Case {
    std::string axes;
    h5::Dims dims, chunk;
  };
  const std::vector<Case> cases = {
      {"tyx", {23, 17, 29}, {5, 17, 29}},   // whole frames per chunk, last chunk partial
      {"tyx", {23, 17, 29}, {4, 6, 10}},    // chunks split frames, edge chunks on every axis
      {"yxt", {17, 29, 23}, {8, 8, 7}},     // time last
      {"txy", {23, 29, 17}, {23, 5, 5}},    // frames transposed, all time in one chunk
  };
  for (const Case& c : cases) {
    for (bool shuffle : {true, false}) {
      const std::string path = (dir / ("m_" + c.axes + std::to_string(shuffle) + ".h5")).string();
      Stored stored;
      stored.dims = c.dims;
      stored.chunk = c.chunk;
      stored.shuffle = shuffle;
      const std::vector<double> values = write_movie(path, stored);
      REQUIRE(reads_by_inflating(path));
      const std::vector<float> expected = as_tyx(values, c.dims, c.axes);
      for (int batch : {1, 3, 7, 23}) {
        INFO(c.axes << " chunk " << c.chunk[0] << "x" << c.chunk[1] << "x" << c.chunk[2] << " shuffle " << shuffle
                    << " batch " << batch);
        REQUIRE(read_in_batches(path, c.axes, batch) == expected);
      }
    }
  }
}

TEST_CASE("every integer and float sample type inflates to the values H5Dread gives", "[io][hdf5][chunks]") {
  TempDir dir;
  for (hid_t type : {H5T_STD_U8LE, H5T_STD_I16LE, H5T_STD_U16LE, H5T_STD_I32LE, H5T_STD_U32LE, H5T_IEEE_F32LE,
                     H5T_IEEE_F64LE}) {
    const std::string path = (dir / ("type" + std::to_string(H5Tget_size(type)) + ".h5")).string();
    Stored stored;
    stored.type = type;
    stored.dims = {9, 11, 13};
    stored.chunk = {4, 11, 13};
    const std::vector<double> values = write_movie(path, stored);
    REQUIRE(reads_by_inflating(path));
    REQUIRE(read_in_batches(path, "tyx", 4) == as_tyx(values, stored.dims, "tyx"));
  }
}

TEST_CASE("a chunk never written reads as the fill value", "[io][hdf5][chunks]") {
  TempDir dir;
  const std::string path = (dir / "sparse.h5").string();
  Stored stored;
  stored.dims = {12, 8, 8};
  stored.chunk = {5, 8, 8};
  stored.skip_last_chunk = true;
  const std::vector<double> values = write_movie(path, stored);
  REQUIRE(read_in_batches(path, "tyx", 5) == as_tyx(values, stored.dims, "tyx"));
}

TEST_CASE("other filters and unfiltered chunks keep HDF5's own reading, with equal values", "[io][hdf5][chunks]") {
  TempDir dir;
  Stored checksummed;
  checksummed.dims = {10, 6, 7};
  checksummed.chunk = {3, 6, 7};
  checksummed.fletcher32 = true;
  const std::string a = (dir / "fletcher.h5").string();
  std::vector<double> values = write_movie(a, checksummed);
  CHECK_FALSE(reads_by_inflating(a));
  CHECK(read_in_batches(a, "tyx", 4) == as_tyx(values, checksummed.dims, "tyx"));
  Stored plain = checksummed;
  plain.fletcher32 = plain.shuffle = plain.deflate = false;
  const std::string b = (dir / "plain.h5").string();
  values = write_movie(b, plain);
  CHECK_FALSE(reads_by_inflating(b));
  CHECK(read_in_batches(b, "tyx", 4) == as_tyx(values, plain.dims, "tyx"));
  Stored big_endian = plain;
  big_endian.deflate = true;
  big_endian.type = H5T_STD_U16BE;
  const std::string c = (dir / "big_endian.h5").string();
  values = write_movie(c, big_endian);
  CHECK_FALSE(reads_by_inflating(c));
  CHECK(read_in_batches(c, "tyx", 4) == as_tyx(values, big_endian.dims, "tyx"));
}

TEST_CASE("a damaged compressed chunk is one error naming the file and the frame", "[io][hdf5][chunks]") {
  TempDir dir;
  const std::string path = (dir / "damaged.h5").string();
  Stored stored;
  stored.dims = {20, 16, 16};
  stored.chunk = {5, 16, 16};
  write_movie(path, stored);
  haddr_t address = 0;
  hsize_t size = 0;
  {
    const h5::File file = h5::File::open_read(path);
    const h5::Dataset ds = file.root().dataset("movie");
    const hsize_t at[3] = {10, 0, 0};
    unsigned mask = 0;
    REQUIRE(H5Dget_chunk_info_by_coord(ds.id(), at, &mask, &address, &size) >= 0);
  }
  {
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(std::streamoff(address));
    const std::string garbage(size_t(std::min<hsize_t>(size, 64)), '\xff');
    file.write(garbage.data(), std::streamsize(garbage.size()));
  }
  REQUIRE_THROWS_WITH(read_in_batches(path, "tyx", 7),
                      Catch::StartsWith(path + ": dataset /movie: the compressed chunk at frame 10 is corrupt"));
}

TEST_CASE("the real gzip movie reads the same with one thread and with two", "[io][hdf5][chunks][real]") {
  const std::string path = test::real_data("neurofinder_top/movie.h5");
  if (path.empty()) {
    WARN("../shared/data/real/neurofinder_top not present; skipping");
    return;
  }
  REQUIRE(reads_by_inflating(path));  // gzip + shuffle: the parallel path
  std::vector<float> one, two;
  {
    tbb::global_control threads(tbb::global_control::max_allowed_parallelism, 1);
    one = read_in_batches(path, "tyx", 64);
  }
  {
    tbb::global_control threads(tbb::global_control::max_allowed_parallelism, 2);
    two = read_in_batches(path, "tyx", 64);
  }
  REQUIRE(one.size() == size_t(600) * 256 * 512);
  REQUIRE(one == two);
}
