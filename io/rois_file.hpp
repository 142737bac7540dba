#pragma once
// rois.h5 (DESIGN §3): per plane the ROI masks as sparse ragged arrays with a kind each,
// per-ROI statistics as parallel 1-D arrays, and the soma<->dendrite pairs.
#include <map>
#include <string>
#include <vector>

#include "io/h5.hpp"
#include "io/masks.hpp"

namespace apical {

struct RoiPlane {
  std::string role;  // "soma" | "dendrite"
  SparseMasks masks;
  // Per-ROI statistics, one value per ROI each (e.g. centroid_y, area, snr, quality).
  std::map<std::string, std::vector<float>> stats;
};

struct RoiPair {
  int soma_plane = 0, soma_roi = 0, dendrite_plane = 1, dendrite_roi = 0;
  float confidence = 1;
};

struct RoiFile {
  std::vector<RoiPlane> planes;
  std::vector<RoiPair> pairs;
};

// Writes /plane{k}/roi_* (+ /plane{k}/stats/<name>) and /pairs/* into an open file's root.
void write_rois(h5::Group& root, const RoiFile& rois);
// Writes /pairs/{soma_plane, soma_roi, dendrite_plane, dendrite_roi, confidence}.
void write_pairs(h5::Group& root, const std::vector<RoiPair>& pairs);
// Reads a rois.h5; InputError naming the file for anything missing or inconsistent.
RoiFile read_rois(const std::string& path);

}  // namespace apical
