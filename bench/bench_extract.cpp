// Benchmark of the whole `apical extract` (I/O included): 500 soma-sized ROIs on 512 x 512
// frames. Writes a registered.h5-like file (int16 movie, chunked as register writes it) and a
// rois.h5 first, then times extract_traces (read movie -> F/Fneu -> dF/F, events -> traces.h5).
// Usage: bench_extract [frames=2000] [folder=/tmp]. Prints frames/s and peak RSS.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "io/h5.hpp"
#include "io/rois_file.hpp"
#include "pipeline/extract/extract_stream.hpp"
#include "bench/bench_support.hpp"

using namespace apical;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

void write_movie(const std::string& path, int size, int frames) {
  h5::File f = h5::File::create(path);
  h5::Group g = f.root().create_group("plane0");
  g.set_attribute("role", std::string("soma"));
  g.set_attribute("frame_rate_hz", 30.0);
  h5::DatasetOptions o;
  o.chunk = {8, uint64_t(size), uint64_t(size)};
  h5::Dataset ds = g.create_dataset<int16_t>("movie", {uint64_t(frames), uint64_t(size), uint64_t(size)}, o);
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> value(200, 1200);
  std::vector<int16_t> batch(size_t(100) * size * size);
  for (int t0 = 0; t0 < frames; t0 += 100) {
    const int n = std::min(100, frames - t0);
    for (size_t i = 0; i < size_t(n) * size * size; ++i) batch[i] = int16_t(value(rng));
    ds.write_box<int16_t>({uint64_t(t0), 0, 0}, {uint64_t(n), uint64_t(size), uint64_t(size)}, batch.data());
  }
}

// As after `apical register` (which streams its output past the page cache): the movie is on
// disk, not in memory, when extract starts.
void evict_from_page_cache(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return;
  ::fdatasync(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  const int size = 512, rois = 500;
  const int frames = argc > 1 ? std::atoi(argv[1]) : 2000;
  const fs::path dir = fs::path(argc > 2 ? argv[2] : "/tmp") / ("apical_bench_extract_" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string movie = (dir / "registered.h5").string(), roi_path = (dir / "rois.h5").string(),
                    out = (dir / "traces.h5").string();
  write_movie(movie, size, frames);
  evict_from_page_cache(movie);
  {
    RoiFile r;
    RoiPlane plane;
    plane.role = "soma";
    plane.masks = bench::random_disc_masks(size, rois, 1);
    r.planes.push_back(std::move(plane));
    write_rois_file(roi_path, r, Provenance{"bench", {}, {}}, Timebase{});
  }
  const double rss_before = bench::peak_rss_mb();
  ExtractOptions options;
  const auto start = Clock::now();
  double pass1_end = 0;  // seconds at the first pass-2 progress report
  ExtractionSummary s = extract_traces(movie, roi_path, options, out, Provenance{"bench_extract", {}, {movie, roi_path}},
                                       [&](const char* phase, int64_t, int64_t) {
                                         if (pass1_end == 0 && std::string(phase) != "reading frames")
                                           pass1_end = std::chrono::duration<double>(Clock::now() - start).count();
                                       });
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("pass 1 (build + read + F/Fneu) ~%.2f s, pass 2 (dF/F, events, writes) ~%.2f s\n", pass1_end,
              seconds - pass1_end);
  std::printf("extract (I/O included): %d ROIs, %d frames of %dx%d int16: %.2f s = %.0f frames/s; %lld events\n",
              s.rois, frames, size, size, seconds, frames / seconds, (long long)s.per_plane[0].events);
  std::printf("peak RSS %.0f MB (%.0f MB before extract, while writing the input)\n", bench::peak_rss_mb(), rss_before);
  fs::remove_all(dir);
  return 0;
}
