#pragma once
// traces.h5 (docs/DESIGN.md §3), written by `apical extract`. Its one door: the writer
// creates each plane's [N, T] trace matrices for the stage to stream into, then stores the
// per-ROI and event tables; the reader gives them back, with the matrices asked for.
//
// Layout (schema: traces_schema() in io/schema.cpp):
//   root attrs: provenance, planes, frames, frame_rate_hz, pixel_size_um; /timestamps
//   /plane{k}  attrs role, frame_rate_hz, neuropil_mode, [neuropil_coef_min, _max],
//              neuropil_inner_gap_px, neuropil_min_pixels, baseline_method, baseline_sigma_s,
//              baseline_window_s, baseline_percentile
//      F, Fneu, dff, f0 [N,T] float32 (rows: the accepted ROIs of rois.h5)
//      neuropil_coef [N], [neuropil_slope, neuropil_clipped], f0_flag, nan_frames,
//      neuropil_pixels, f_pixels, roi_kind [N]
//      events/ roi, frame, base_frame, amplitude, prominence [E]; attrs: the event settings
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <armadillo>

#include "io/h5.hpp"
#include "io/provenance.hpp"
#include "io/schema.hpp"

namespace apical {

// How a plane's traces were made (the plane group's attributes).
struct TracesPlaneSettings {
  std::string role;
  double frame_rate_hz = 0;
  bool neuropil_estimated = false;           // neuropil_mode "estimate" (else "fixed")
  double neuropil_coef_min = 0, neuropil_coef_max = 0;  // estimated only
  double neuropil_inner_gap_px = 0;
  int32_t neuropil_min_pixels = 0;
  std::string baseline_method;
  double baseline_sigma_s = 0, baseline_window_s = 0, baseline_percentile = 0;
  std::string dff_source;  // traces made elsewhere (apical import): where dF/F came from
};

// One value per ROI.
struct TracesRoiTable {
  std::vector<float> neuropil_coef;
  std::vector<float> neuropil_slope;          // estimated neuropil only (else empty)
  std::vector<uint8_t> neuropil_clipped;      // estimated neuropil only (else empty)
  std::vector<uint8_t> f0_flag;
  std::vector<int32_t> nan_frames, neuropil_pixels, f_pixels;
  std::vector<uint8_t> roi_kind;
};

// The detected events of a plane, one row each, and the detector's settings.
struct TracesEventTable {
  std::vector<int32_t> roi;
  std::vector<int64_t> frame, base_frame;
  std::vector<float> amplitude, prominence;
  double threshold_sigma = 0, min_interval_s = 0, highpass_window_s = 0, smoothing_s = 0, lookback_s = 0;
};

// The [N, T] matrices of a plane, open for streaming (read_box / write_box).
struct TraceMatrixDatasets {
  h5::Dataset f, fneu, dff, f0;
};

// Writes traces.h5 at `path` (the caller's temporary name).
class TracesWriter {
 public:
  TracesWriter(const std::string& path, const Provenance& provenance, int planes, int64_t frames);
  // Creates /plane{k} with its settings and the four [rois, frames] float32 matrices,
  // chunked [chunk_rows, chunk_frames] (so whole chunks are written at once).
  TraceMatrixDatasets begin_plane(int plane, const TracesPlaneSettings& settings, uint64_t rois,
                                  uint64_t chunk_rows, uint64_t chunk_frames);
  void finish_plane(int plane, const TracesRoiTable& table, const TracesEventTable& events);
  // Annotates the file from its schema and closes it (a late write error is an InputError).
  void finish(const Timebase& timebase);

 private:
  h5::File file_;
  h5::Group root_;
  int64_t frames_ = 0;
  std::map<int, bool> neuropil_estimated_;  // per plane: the slope and clipped columns exist
};

// Which [N, T] matrices read_traces loads (each N x T floats: ask only for what is used).
struct TraceMatrixSelection {
  bool f = false, fneu = false, dff = false, f0 = false;
};

struct TracesPlane {
  TracesPlaneSettings settings;
  uint64_t rois = 0;
  int64_t frames = 0;
  TracesRoiTable table;
  TracesEventTable events;
  arma::fmat f, fneu, dff, f0;  // [N, T], empty unless selected
};

// Writes a whole traces.h5 from planes held in memory (apical import): per plane role,
// frame rate and dff_source, the matrices that are not empty (dff always), the per-ROI
// columns that are not empty, and events when there are any.
void write_traces_file(const std::string& path, const std::vector<TracesPlane>& planes, const Provenance& provenance,
                       const Timebase& timebase);

// Every plane of a traces.h5. InputError naming the file when it is not one, or a selected
// matrix is missing.
std::vector<TracesPlane> read_traces(const std::string& path, const TraceMatrixSelection& matrices = {});

}  // namespace apical
