// Movie reading speed: `bench_io write DIR [frames]` writes a 512x512 int16 movie as TIFF and
// as HDF5; `bench_io read FILE [dataset]` streams it through apical's reader in batches and
// prints frames/s and this process's peak RSS. bench/io.sh runs both against `cat`.
// `bench_io decompress FILE DATASET OUT` writes a dataset's values uncompressed and
// contiguous (for bench/compressed_hdf5.sh).
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include "io/h5.hpp"
#include "io/movie.hpp"
#include "io/tiff.hpp"
#include "bench/bench_support.hpp"

using namespace apical;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_io write DIR [frames] | bench_io read FILE [dataset] | bench_io decompress FILE DATASET OUT\n");
    return 1;
  }
  std::string mode = argv[1];
  const int H = 512, W = 512;
  if (mode == "decompress" && argc > 4) {
    const h5::File in = h5::File::open_read(argv[2]);
    const h5::Dataset d = in.root().dataset(argv[3]);
    h5::File out = h5::File::create(argv[4]);
    h5::Group root = out.root();
    // The stored type, so both files hold the same bytes before compression.
    if (d.type_name() == "uint16") root.write(argv[3], d.read<uint16_t>(), d.dims());
    else root.write(argv[3], d.read<float>(), d.dims());
    return 0;
  }
  if (mode == "write") {
    std::string dir = argv[2];
    int frames = argc > 3 ? std::stoi(argv[3]) : 2000;
    std::vector<float> frame(size_t(H) * W);
    TiffWriter tiff(dir + "/movie.tif", H, W, SampleType::int16, false);
    h5::File file = h5::File::create(dir + "/movie.h5");
    h5::Group root = file.root();
    h5::DatasetOptions options;
    options.chunk = {8, uint64_t(H), uint64_t(W)};
    h5::Dataset ds = root.create_dataset<int16_t>("movie", {uint64_t(frames), uint64_t(H), uint64_t(W)}, options);
    std::vector<int16_t> block(size_t(8) * H * W);
    for (int t = 0; t < frames; ++t) {
      for (size_t i = 0; i < frame.size(); ++i) frame[i] = float((i * 2654435761u + size_t(t) * 40503u) % 4000);
      tiff.write_page(frame.data());
      for (size_t i = 0; i < frame.size(); ++i) block[size_t(t % 8) * H * W + i] = int16_t(frame[i]);
      if (t % 8 == 7 || t == frames - 1) {
        uint64_t n = uint64_t(t % 8 + 1);
        ds.write_box<int16_t>({uint64_t(t + 1) - n, 0, 0}, {n, uint64_t(H), uint64_t(W)}, block.data());
      }
    }
    tiff.close();
    return 0;
  }
  MovieSpec spec;
  spec.paths = {argv[2]};
  if (argc > 3) spec.dataset = argv[3];
  auto movie = open_movie(spec, {});
  auto start = std::chrono::steady_clock::now();
  FrameStack batch;
  double checksum = 0;
  for (int64_t first = 0; first < movie->frames(); first += 200) {
    int count = int(std::min<int64_t>(200, movie->frames() - first));
    movie->read(0, first, count, batch);
    checksum += batch.pixels[0];
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s: %lld frames in %.2f s = %.0f frames/s (%.0f MB/s of int16), peak RSS %.0f MB (checksum %.0f)\n",
              argv[2], (long long)movie->frames(), seconds, double(movie->frames()) / seconds,
              double(movie->frames()) * H * W * 2 / seconds / 1e6, bench::peak_rss_mb(), checksum);
  return 0;
}
