#include "io/h5_image.hpp"

#include <algorithm>

#include "io/error.hpp"

namespace apical::h5 {

void write_image(Group& group, const std::string& name, const cv::Mat& image) {
  const cv::Mat m = image.isContinuous() ? image : image.clone();
  group.write(name, std::vector<float>(m.ptr<float>(), m.ptr<float>() + m.total()),
              {uint64_t(m.rows), uint64_t(m.cols)});
}

cv::Mat read_image(const Group& group, const std::string& name) {
  if (!group.has(name)) throw file_error(group.file(), "has no " + (group.path() == "/" ? "" : group.path()) + "/" + name);
  const Dataset d = group.dataset(name);
  const Dims shape = d.dims();
  if (shape.size() != 2) throw file_error(group.file(), d.path() + " is not a 2-D image");
  const std::vector<float> values = d.read<float>();
  cv::Mat image(static_cast<int>(shape[0]), static_cast<int>(shape[1]), CV_32F);
  std::copy(values.begin(), values.end(), image.ptr<float>());
  return image;
}

}  // namespace apical::h5
