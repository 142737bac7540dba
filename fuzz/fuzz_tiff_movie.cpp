// A TIFF/BigTIFF file as a user's movie: the directory index, the ScanImage metadata (3.x
// state.*, 2015+ SI.* in the description or Software tag, the 2016+ header block), the
// plane/channel de-interleaving, then the first and last frame of every plane.
#include "fuzz/fuzz_support.hpp"
#include "io/movie.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace apical;
  const auto path = fuzz::scratch("movie.tif");
  fuzz::write_file(path, std::string_view(reinterpret_cast<const char*>(data), size));
  fuzz::expect_success_or_input_error([&] {
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
  return 0;
}
