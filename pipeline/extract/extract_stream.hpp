#pragma once
// Streaming driver of `apical extract` (docs/DESIGN.md §2, §3, §4.1): rois.h5 + registered.h5 ->
// traces.h5.
//
// Pass 1 reads the registered movie ONCE, batch by batch in time order (every plane's batch
// of frames t..t+B before the next), gathers F and Fneu of every ROI of every plane and writes
// them column-block by column-block into chunked [N, T] datasets. Pass 2 then walks the ROIs
// in blocks of rows (read rows of F/Fneu, neuropil coefficient, baseline, dF/F, events, write
// rows). Memory is bounded whatever the session length:
//   pass 1: 4 pieces of <= 16 MB of frames in flight + N x batch_size x 16 B per plane
//           (staged F/Fneu columns, written one chunk column at a time);
//   pass 2: row_block x T x 16 B (F, Fneu, dff, f0 rows) + ~100 B x T per worker thread.
// e.g. 512x512, 1000 ROIs, batch 200: ~64 MB + 3.2 MB per plane; 1 h at 30 Hz (T = 108k),
// row_block 16: ~28 MB + ~11 MB per thread. The QC raster is N x raster_bins floats.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "io/provenance.hpp"
#include "pipeline/extract/extract.hpp"
#include "stats/events.hpp"

namespace apical {

struct ExtractOptions {
  ExtractParams masks;                 // F pixels and neuropil rings
  bool estimate_neuropil = false;      // per-ROI estimate instead of neuropil_coef
  float neuropil_coef = 0.7f;          // r in F - r * Fneu when not estimated
  NeuropilCoefParams coef;             // estimate: quantile regression, clip range
  BaselineParams baseline;             // frame_rate_hz is filled per plane
  stats::EventParams events;           // frame_rate_hz is filled per plane
  double frame_rate_hz = 0;            // > 0 overrides registered.h5; 0: use its plane attribute
  int batch_size = 200;                // frames per chunk column of the [N,T] datasets (pass 1)
  int row_block = 16;                  // ROIs per block (pass 2) = chunk rows of the [N,T] datasets
  int raster_bins = 1000;              // time bins of the QC raster
};

// Throws InputError naming the offending option.
void validate(const ExtractOptions& options);

// Mean dF/F of every ROI per time bin, for the QC raster (rows = ROIs in rois.h5 order).
struct TracesRaster {
  int plane = 0;
  std::string role;
  int rows = 0, bins = 0;
  std::vector<float> values;  // [rows, bins] row-major
  double duration_s = 0;
};

struct PlaneExtractionSummary {
  int plane = 0;
  std::string role;
  double frame_rate_hz = 0;
  int rois = 0;
  int64_t events = 0;
  std::vector<int> f0_flagged;        // ROIs whose baseline fell to <= the floor
  int neuropil_short = 0;             // rings below the minimum pixel count
  int coef_clipped = 0, coef_fallback = 0;  // estimate only
  double mean_coef = 0;               // mean neuropil coefficient used
  TracesRaster raster;
};

struct ExtractionSummary {
  int64_t frames = 0;
  int planes = 0;
  int rois = 0;
  std::vector<PlaneExtractionSummary> per_plane;
};

// progress(done, total) in units of plane-frames (pass 1) then ROIs (pass 2) — both passes
// report against their own total.
using ExtractProgress = std::function<void(const char* phase, int64_t done, int64_t total)>;

// Writes traces.h5 to `output_path` (a temporary path the caller renames) with provenance.
// InputError for bad input: planes or frame sizes that differ between the two files, a
// missing frame rate, NaN/Inf in the movie (names plane and frame).
ExtractionSummary extract_traces(const std::string& registered_path, const std::string& rois_path,
                                 const ExtractOptions& options, const std::string& output_path,
                                 const Provenance& provenance, const ExtractProgress& progress = {});

// traces.h5 layout, per plane /plane{k} (attributes role, frame_rate_hz, neuropil_mode,
// baseline_method, ...):
//   F, Fneu, dff, f0          float32 [N, T]
//   neuropil_coef             float32 [N]  coefficient used
//   neuropil_slope            float32 [N]  estimate before clipping (estimate mode only)
//   neuropil_clipped          uint8 [N]    (estimate mode only)
//   neuropil_pixels, f_pixels int32 [N]
//   f0_flag                   uint8 [N]    1: F0 <= floor somewhere (dF/F there not meaningful)
//   events/roi int32, events/frame int64, events/base_frame int64,
//   events/amplitude, events/prominence float32 [E] (sorted by roi, then frame)

}  // namespace apical
