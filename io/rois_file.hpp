#pragma once
// rois.h5 (docs/DESIGN.md §3): per plane the ROI masks as sparse ragged arrays with a kind each,
// per-ROI statistics as parallel 1-D arrays, and the soma<->dendrite pairs.
#include <optional>
#include <utility>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "io/h5.hpp"
#include "io/masks.hpp"
#include "io/provenance.hpp"
#include "io/schema.hpp"

namespace apical {

// Per-ROI features segment measured (/plane{k}/stats/<name>), one value per ROI each.
struct RoiFeatures {
  std::vector<float> centroid_y, centroid_x, area, compactness, eccentricity, snr, skewness, quality,
      template_score;
  // Every column with its dataset name (writing, reading and trimming go through this list).
  std::vector<std::pair<const char*, std::vector<float>*>> columns();
  std::vector<std::pair<const char*, const std::vector<float>*>> columns() const;
};

struct RoiPlane {
  std::string role;  // "soma" | "dendrite"
  SparseMasks masks;
  std::optional<RoiFeatures> features;  // absent in files segment did not write (imports)
  // Per ROI: 0 = accepted, else why the candidate was rejected (codes and labels in
  // rejection_labels). Accepted ROIs come first. Empty = every ROI accepted (older files).
  std::vector<uint8_t> rejection;
  std::string rejection_labels;
  // Per ROI: where it was found (codes and labels in source_labels); may be empty.
  std::vector<uint8_t> source;
  std::string source_labels;
  // Per ROI: 1 = a person decided its acceptance (apical curate), 0 = the detector did; may be empty.
  std::vector<uint8_t> curated;
  // Soma planes: the soma diameter used (px) and how it was found; 0 / "" if not recorded.
  float soma_diameter_px = 0;
  std::string diameter_method;
  // Summary images segment found the ROIs on (CV_32F; empty: not written, e.g. imports);
  // read back with read_roi_image.
  cv::Mat mean_image, max_image, correlation_image, soma_template_image;
  std::vector<uint8_t> shared_pixels;  // height x width: 1 where two or more ROIs own the pixel
  int temporal_bin_frames = 0;         // frames averaged per bin of the correlation image (0: none)

  size_t accepted_count() const;
};

struct RoiPair {
  int soma_plane = 0, soma_roi = 0, dendrite_plane = 1, dendrite_roi = 0;
  float confidence = 1;
};

// A curated rois.h5 (apical curate) keeps the provenance of the segmentation it was curated
// from, so `apical segment --update` can tell that its candidates are still current.
struct CuratedFrom {
  std::string command_line, parameters, input_provenance;
};

struct RoiFile {
  std::vector<RoiPlane> planes;
  std::vector<RoiPair> pairs;
  int64_t frames = 0;    // of the movie segmented (0: not recorded)
  std::string pairing;   // how pairs were made ("" : not recorded)
  std::optional<CuratedFrom> curated_from;  // root attributes curated_from_*
};

// Writes rois.h5 at `path` (the caller's temporary name): provenance, every plane, the pairs,
// then the schema's annotations and `timebase`. A late write error is an InputError.
void write_rois_file(const std::string& path, const RoiFile& rois, const Provenance& provenance,
                     const Timebase& timebase);
// Writes /pairs/{soma_plane, soma_roi, dendrite_plane, dendrite_roi, confidence}.
void write_pairs(h5::Group& root, const std::vector<RoiPair>& pairs);
// Reads a rois.h5; InputError naming the file for anything missing or inconsistent.
RoiFile read_rois(const std::string& path);
// A summary image of a rois.h5 plane as CV_32F. InputError naming the file when it is absent.
enum class RoiImage { mean, max, correlation, soma_template };
cv::Mat read_roi_image(const std::string& path, int plane, RoiImage image);
// Adds what read_rois leaves out (the summary images and shared_pixels of every plane, where
// present), so a file read with both can be written back whole.
void read_roi_images(const std::string& path, RoiFile& rois);

// The accepted ROIs only (what extract, regress and evaluate use): accepted ROIs are the
// first ones of each plane, so indices and pairs stay valid. InputError naming `path` if
// the file breaks that order or pairs a rejected candidate.
RoiFile accepted_rois(const RoiFile& rois, const std::string& path);

}  // namespace apical
