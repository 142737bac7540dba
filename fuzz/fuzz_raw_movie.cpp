// Raw binary input: --axes, --raw-shape and --raw-dtype as a user types them, and the file.
// Input layout: axes line, shape line, dtype line, then the file's bytes.
#include "fuzz/fuzz_support.hpp"
#include "io/movie.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace apical;
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  const std::string axes(fuzz::take_line(rest));
  const std::string shape(fuzz::take_line(rest));
  const std::string dtype(fuzz::take_line(rest));
  const auto path = fuzz::scratch("movie.raw");
  fuzz::write_file(path, rest);
  fuzz::expect_success_or_input_error([&] {
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
  return 0;
}
