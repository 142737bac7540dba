// Opening a user's HDF5 movie (path + --dataset + --axes) as far as apical's own checks go:
// the fuzzer builds a valid HDF5 file (datasets of any rank, shape, type, place; groups)
// and picks the --dataset and --axes a user might give. HDF5's own parsing of damaged
// bytes is the library's business, not fuzzed here.
// Input layout: a line "--dataset" value, a line "--axes" value, then records of 8 bytes:
// rank, type, three sizes (0..255), chunked flag, and the depth of nesting of its name.
#include <hdf5.h>

#include "fuzz/fuzz_support.hpp"
#include "io/h5.hpp"
#include "io/movie.hpp"

namespace {

hid_t type_of(uint8_t code) {
  static const hid_t* types[] = {&H5T_NATIVE_INT8_g,  &H5T_NATIVE_UINT8_g, &H5T_NATIVE_INT16_g,
                                 &H5T_NATIVE_UINT16_g, &H5T_NATIVE_INT32_g, &H5T_NATIVE_UINT32_g,
                                 &H5T_NATIVE_INT64_g,  &H5T_NATIVE_FLOAT_g, &H5T_NATIVE_DOUBLE_g};
  H5open();
  if (code % 10 == 9) return H5T_C_S1;  // a string dataset
  return *types[code % 9];
}

// Writes the datasets the records describe: "/d0", "/g/d1", "/g/g/d2", ...
void build_file(const std::string& path, std::string_view records) {
  apical::h5::File file = apical::h5::File::create(path);
  apical::h5::Group root = file.root();
  for (int i = 0; records.size() >= 8 && i < 6; ++i, records.remove_prefix(8)) {
    const auto* r = reinterpret_cast<const uint8_t*>(records.data());
    const int rank = 1 + r[0] % 4;
    apical::h5::Dims dims;
    for (int a = 0; a < rank; ++a) dims.push_back(a < 3 ? r[2 + a] : 2);
    apical::h5::DatasetOptions options;
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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace apical;
  h5::silence_library_errors();
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  const std::string dataset(fuzz::take_line(rest));
  const std::string axes(fuzz::take_line(rest));
  const auto path = fuzz::scratch("movie.h5");
  build_file(path.string(), rest);
  fuzz::expect_success_or_input_error([&] {
    MovieSpec spec;
    spec.paths = {path.string()};
    spec.dataset = dataset;
    spec.axes = axes;
    std::unique_ptr<Movie> movie = open_movie(spec, {});
    FrameStack frames;
    movie->read(0, 0, 1, frames);
    movie->read(0, movie->frames() - 1, 1, frames);
  });
  return 0;
}
