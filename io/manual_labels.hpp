#pragma once
// Manual ROI labels, as labs draw them: neurofinder JSON (a list of
// {"coordinates": [[row, col], ...]}) or an integer label image (0 = background, k > 0 =
// ROI k), stored as a TIFF (page 0) or a 2-D HDF5 dataset.
#include <cstdint>
#include <string>
#include <vector>

namespace apical {

struct ManualLabels {
  std::string format;                        // "neurofinder JSON" | "TIFF label image" | "HDF5 label image"
  std::vector<std::vector<uint32_t>> rois;   // per ROI, pixel indices y*width+x, ascending, unique
};

// By extension: .json, .tif/.tiff, .h5/.hdf5 (dataset: `dataset`, or the only 2-D dataset).
// The labels must fit a height x width image. InputError naming the file and the problem
// (a pixel outside the image, a label image of another size, no ROI at all, ...).
ManualLabels read_manual_labels(const std::string& path, int height, int width, const std::string& dataset = "");

}  // namespace apical
