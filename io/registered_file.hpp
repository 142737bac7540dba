#pragma once
// registered.h5 (docs/DESIGN.md §3), written by `apical register`. Its one door: the writer
// streams each plane's movie and then stores what registration measured; the reader gives
// those measurements back, and open_registered streams the registered frames as a Movie.
//
// Layout (schema: registered_schema() in io/schema.cpp):
//   root attrs: provenance, planes, frames, frame_rate_hz, pixel_size_um; /timestamps
//   /plane{k}  attrs role, frame_rate_hz, bidi_offset_px, crispness_raw, crispness_registered,
//              mean_frame_correlation, nonrigid, shifts_from_plane
//      movie [T,H,W] (input integer type or float32), shifts [T,2] (dy,dx) float32,
//      frame_correlation [T], blank_rows / blank_rows_registered [T] uint16, no_signal [T]
//      uint8, reference / mean_image / max_image / raw_mean_image [H,W] float32,
//      non-rigid only: block_shifts [T,B,2], block_centres_y, block_centres_x
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "core/image.hpp"
#include "io/h5.hpp"
#include "io/movie.hpp"
#include "io/provenance.hpp"
#include "io/schema.hpp"

namespace apical {

// The shape of a plane's registered movie.
struct RegisteredMovieShape {
  int64_t frames = 0;
  int height = 0, width = 0;
};

// What registration measured on one plane (everything of /plane{k} but the movie's frames).
struct RegisteredPlane {
  RegisteredMovieShape movie;              // read from the movie's dimensions (not written)
  std::string role;
  double frame_rate_hz = 0;
  std::vector<Shift> shifts;               // per frame, rigid; NaN for frames without signal
  std::vector<float> frame_correlation;    // per frame, with the reference
  std::vector<uint16_t> blank_rows;        // per frame, of the raw frame
  std::vector<uint16_t> blank_rows_registered;  // per frame, of the registered frame
  std::vector<uint8_t> no_signal;          // per frame, 1 = not registered
  cv::Mat reference, mean_image, max_image, raw_mean_image;  // CV_32F
  double bidi_offset_px = 0, crispness_raw = 0, crispness_registered = 0, mean_frame_correlation = 0;
  int shifts_from_plane = -1;              // -1: estimated on this plane
  // Non-rigid only (empty otherwise): per frame, per block (row-major grid) residual shift.
  std::vector<std::vector<Shift>> block_shifts;
  std::vector<float> block_centres_y, block_centres_x;
  bool nonrigid() const { return !block_centres_y.empty(); }
};

// Writes registered.h5 at `path` (the caller's temporary name): begin_plane() gives the
// plane's movie dataset to stream the frames into, finish_plane() stores the rest; finish()
// annotates the file from its schema and closes it (a late write error is an InputError
// naming the file).
class RegisteredWriter {
 public:
  RegisteredWriter(const std::string& path, const Provenance& provenance);
  // Creates /plane{k} and its [frames, height, width] movie of `dtype` ("float32",
  // "int16", "uint16"); chunks of up to 8 frames, deflate `compression` (0: none).
  h5::Dataset& begin_plane(int plane, const std::string& role, double frame_rate_hz, const std::string& dtype,
                           const RegisteredMovieShape& shape, int compression);
  void finish_plane(const RegisteredPlane& plane);
  void finish(int planes, const Timebase& timebase);

 private:
  h5::File file_;
  h5::Group root_;
  std::optional<h5::Group> plane_group_;
  std::optional<h5::Dataset> movie_;
};

// What read_registered loads besides the attributes and the per-frame tables: the summary
// images (4 x H x W) and the non-rigid block shifts (frames x blocks) are large next to what
// extract, the NWB export and summaries need.
struct RegisteredSelection {
  bool images = true;
  bool block_shifts = true;
};
// Every plane's measurements; what the file lacks, or what is not selected, stays empty
// (only /plane{k} groups are required). InputError naming the file when it has no /plane0.
std::vector<RegisteredPlane> read_registered(const std::string& path, const RegisteredSelection& selection = {});
// The registered frames of every plane as a Movie (roles and frame rate from the file).
// InputError naming the file when it has no /plane0/movie or the planes' shapes differ.
std::unique_ptr<Movie> open_registered(const std::string& path);
// Path of a plane's movie within registered.h5 (for HDF5 external links, e.g. NWB export).
std::string registered_movie_dataset(int plane);

}  // namespace apical
