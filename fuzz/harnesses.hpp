#pragma once
// The fuzz harnesses for the io parsers, one function each, shared by the libFuzzer targets
// (fuzz/fuzz_*.cpp) and the regression test that replays fixed findings in every build
// (tests/test_io_fuzz_regressions.cpp). Each asserts the contract of fuzz_support.hpp.
#include <hdf5.h>

#include <memory>

#include "fuzz/fuzz_support.hpp"
#include "io/bci_log.hpp"
#include "io/h5.hpp"
#include "io/movie.hpp"
#include "io/scanimage.hpp"

namespace apical::fuzz {

// A TIFF/BigTIFF file as a user's movie: the directory index, the ScanImage metadata (3.x
// state.*, 2015+ SI.* in the description or Software tag, the 2016+ header block), the
// plane/channel de-interleaving, then the first and last frame of every plane.
inline void tiff_movie(const uint8_t* data, size_t size) {
  const auto path = scratch("movie.tif");
  write_file(path, std::string_view(reinterpret_cast<const char*>(data), size));
  expect_success_or_input_error([&] {
    MovieSpec spec;
    spec.paths = {path.string()};
    std::unique_ptr<Movie> movie = open_movie(spec, {});
    FrameStack frames;
    for (int plane = 0; plane < movie->planes(); ++plane) {
      if (movie->frames() == 0) break;
      movie->read(plane, 0, 1, frames);
      movie->read(plane, movie->frames() - 1, 1, frames);
    }
  });
}

// ScanImage metadata text (any of its three homes in a TIFF) -> acquisition facts.
inline void scanimage(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  expect_success_or_input_error([&] {
    parse_scanimage_keys(text);
    bool found = false;
    Acquisition a = scanimage_acquisition(text, found);
    // Facts the stages divide by or allocate from must be sane when reported.
    if (found && (a.planes < 1 || a.channels < 1 || a.flyback_frames < 0 || !(a.frame_rate_hz >= 0)))
      std::abort();
  });
}

// Raw binary input: --axes, --raw-shape and --raw-dtype as a user types them, and the file.
// Input layout: axes line, shape line, dtype line, then the file's bytes.
inline void raw_movie(const uint8_t* data, size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  const std::string axes(take_line(rest));
  const std::string shape(take_line(rest));
  const std::string dtype(take_line(rest));
  const auto path = scratch("movie.raw");
  write_file(path, rest);
  expect_success_or_input_error([&] {
    MovieSpec spec;
    spec.paths = {path.string()};
    spec.axes = axes;
    spec.raw_shape = parse_raw_shape(shape);
    spec.raw_dtype = dtype.empty() ? "int16" : dtype;
    std::unique_ptr<Movie> movie = open_movie(spec, {});
    FrameStack frames;
    movie->read(0, 0, 1, frames);
    movie->read(0, movie->frames() - 1, 1, frames);
  });
}

// An HDF5 element type for a fuzzer byte (one in ten: a string).
inline hid_t type_of(uint8_t code) {
  static const hid_t* types[] = {&H5T_NATIVE_INT8_g,  &H5T_NATIVE_UINT8_g, &H5T_NATIVE_INT16_g,
                                 &H5T_NATIVE_UINT16_g, &H5T_NATIVE_INT32_g, &H5T_NATIVE_UINT32_g,
                                 &H5T_NATIVE_INT64_g,  &H5T_NATIVE_FLOAT_g, &H5T_NATIVE_DOUBLE_g};
  H5open();
  if (code % 10 == 9) return H5T_C_S1;  // a string dataset
  return *types[code % 9];
}

// Writes the datasets the records describe: "/d0", "/g/d1", "/g/g/d2", ...
inline void build_file(const std::string& path, std::string_view records) {
  h5::File file = h5::File::create(path);
  h5::Group root = file.root();
  for (int i = 0; records.size() >= 8 && i < 6; ++i, records.remove_prefix(8)) {
    const auto* r = reinterpret_cast<const uint8_t*>(records.data());
    const int rank = 1 + r[0] % 4;
    h5::Dims dims;
    for (int a = 0; a < rank; ++a) dims.push_back(a < 3 ? r[2 + a] : 2);
    h5::DatasetOptions options;
    if (r[5] % 2) {
      options.chunk = dims;
      for (auto& c : options.chunk) c = std::max<uint64_t>(1, c / 2);
    }
    std::string name;
    for (int d = 0; d < r[6] % 3; ++d) name += "g/";
    name += "d" + std::to_string(i);
    bool zero = false;
    for (auto d : dims) zero = zero || d == 0;
    if (zero && !options.chunk.empty()) continue;  // HDF5 rejects zero-sized chunks
    try {
      root.create_dataset(name, type_of(r[1]), dims, options);
    } catch (const std::exception&) {
      // a layout HDF5 refuses to write is no input of a user's
    }
  }
  file.close();
}

// Opening a user's HDF5 movie (path + --dataset + --axes) as far as apical's own checks go:
// the fuzzer builds a valid HDF5 file (datasets of any rank, shape, type, place; groups)
// and picks the --dataset and --axes a user might give. HDF5's own parsing of damaged
// bytes is the library's business, not fuzzed here.
// Input layout: a line "--dataset" value, a line "--axes" value, then records of 8 bytes:
// rank, type, three sizes (0..255), chunked flag, and the depth of nesting of its name.
inline void hdf5_movie(const uint8_t* data, size_t size) {
  h5::silence_library_errors();
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  const std::string dataset(take_line(rest));
  const std::string axes(take_line(rest));
  const auto path = scratch("movie.h5");
  build_file(path.string(), rest);
  expect_success_or_input_error([&] {
    MovieSpec spec;
    spec.paths = {path.string()};
    spec.dataset = dataset;
    spec.axes = axes;
    std::unique_ptr<Movie> movie = open_movie(spec, {});
    FrameStack frames;
    movie->read(0, 0, 1, frames);
    movie->read(0, movie->frames() - 1, 1, frames);
  });
}

// The BCI log as a rig writes it: frames.csv, trials.csv and ensemble.csv, then the checks
// against the imaging (a 600-frame, 160x160 px movie). Input layout: the three files'
// texts separated by '|'.
inline void bci_log(const uint8_t* data, size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  const auto folder = scratch("bci");
  std::filesystem::create_directories(folder);
  for (const char* name : {"frames.csv", "trials.csv", "ensemble.csv"}) {
    size_t bar = rest.find('|');
    write_file(folder / name, rest.substr(0, bar));
    rest.remove_prefix(bar == std::string_view::npos ? rest.size() : bar + 1);
  }
  expect_success_or_input_error([&] {
    BciLog log = read_bci_log(folder);
    check_bci_log_fits(log, 600, 160, 160);
  });
}

}  // namespace apical::fuzz
