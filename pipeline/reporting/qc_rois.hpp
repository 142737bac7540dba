#pragma once
// qc/rois.png: every plane's mean image side by side with its ROI outlines (somata and
// dendrites in different colours) and the soma-dendrite pairs linked centroid to centroid.
// On the dendrite panel each paired soma's centroid is drawn too (a small cross), so the
// lateral offset of every pair is visible on both panels.
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "io/rois_file.hpp"

namespace apical {

// mean_images[k] is plane k's mean image (CV_32F, the masks' size). Returns a BGR image.
// Throws InputError when the counts or sizes disagree.
cv::Mat render_roi_overlay(const RoiFile& rois, const std::vector<cv::Mat>& mean_images);

// Renders and writes the PNG (atomically, creating the folder).
void write_roi_overlay(const std::string& path, const RoiFile& rois, const std::vector<cv::Mat>& mean_images);

}  // namespace apical
