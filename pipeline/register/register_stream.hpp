#pragma once
// Streaming motion correction of a whole movie into registered.h5 (docs/DESIGN.md §3 contract):
// read, register and write overlap in a TBB pipeline; memory is set by the batch size.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "io/movie.hpp"
#include "io/provenance.hpp"
#include "pipeline/register/register.hpp"

namespace apical {

struct RegisterOptions {
  RegisterParams params;
  std::string bidi = "auto";        // "auto" | "off" | offset in px
  int shifts_from_plane = -1;       // apply this plane's shifts to the others (-1: estimate each)
  std::string output_dtype = "auto";  // auto (input integer type, else float32) | float32 | int16 | uint16
  int batch_size = 200;
  int compression = 0;              // deflate level of the movie (0: none, fastest)
};

// Per-plane outcome, for the summary line and tests.
struct PlaneRegistrationSummary {
  int plane = 0;
  float bidi_offset_px = 0;
  double crispness_before = 0;  // of the raw mean image
  double crispness_after = 0;   // of the registered mean image
  double mean_correlation = 0;
  double max_abs_shift_px = 0;
};

struct RegistrationSummary {
  int64_t frames = 0;
  int planes = 0;
  std::vector<PlaneRegistrationSummary> per_plane;
};

// progress(done_frames, total_frames) across all planes.
using ProgressCallback = std::function<void(int64_t, int64_t)>;

// Registers every plane of `movie` and writes the result to `output_path` (a temporary
// path the caller renames), with provenance. Throws InputError for bad input (NaN frames).
RegistrationSummary register_movie(const Movie& movie, const RegisterOptions& options,
                                   const std::string& output_path, const Provenance& provenance,
                                   const ProgressCallback& progress = {});

}  // namespace apical
