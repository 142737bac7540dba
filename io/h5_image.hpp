#pragma once
// 2-D float images (cv::Mat CV_32F) <-> [y, x] float32 datasets: the summary images of
// registered.h5 and rois.h5.
#include <string>

#include <opencv2/core.hpp>

#include "io/h5.hpp"

namespace apical::h5 {

void write_image(Group& group, const std::string& name, const cv::Mat& image);
// InputError naming the file when the dataset is absent or not 2-D.
cv::Mat read_image(const Group& group, const std::string& name);

}  // namespace apical::h5
