#pragma once
// apical import: the ROIs (PlaneSegmentation) and traces (Fluorescence, DfOverF) of an NWB
// file another tool wrote (suite2p, CaImAn, EXTRACT, or apical export); `apical import` writes
// them as rois.h5 and traces.h5 through io/rois_file.hpp and io/traces_file.hpp.
#include <armadillo>
#include <optional>
#include <string>
#include <vector>

#include "io/masks.hpp"
#include "io/provenance.hpp"
#include "io/rois_file.hpp"

namespace apical {

// One RoiResponseSeries: traces of some rows of its PlaneSegmentation.
struct NwbTraceSeries {
  std::string path;           // in the NWB file
  arma::fmat traces;          // [rows, T]
  std::vector<int32_t> rows;  // table row of each trace
  double rate_hz = 0;         // 0 when the file gives none
};

struct NwbPlane {
  std::string table_path;          // the PlaneSegmentation
  SparseMasks masks;               // kind filled only when has_kind
  bool has_kind = false;           // a 'kind' column (soma/dendrite) was present
  std::vector<uint8_t> accepted;   // 'accepted' or suite2p's 'iscell'; all 1 when absent
  std::optional<NwbTraceSeries> f, fneu, dff;
};

struct NwbImaging {
  std::vector<NwbPlane> planes;  // PlaneSegmentations in path order
  std::vector<RoiPair> pairs;    // an apical pairs table, when present
};

// Reads every PlaneSegmentation and the RoiResponseSeries that refer to it. `frame_size`
// (height, width) is used when the file does not tell a plane's frame size (no
// TwoPhotonSeries data or image_mask). InputError naming the file for: no
// PlaneSegmentation, a table without ROIs, an unknown mask type (voxel_mask, or none),
// mask pixels outside the frame, traces whose ROI count differs from their region or
// that name rows beyond the table.
NwbImaging read_nwb_imaging(const std::string& path, std::pair<int, int> frame_size = {0, 0});

}  // namespace apical
