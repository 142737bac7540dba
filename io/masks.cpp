#include "io/masks.hpp"

#include "io/error.hpp"

namespace apical {

void SparseMasks::add(const std::vector<uint32_t>& roi_pixels, const std::vector<float>& roi_weights,
                      uint8_t roi_kind) {
  pixels.insert(pixels.end(), roi_pixels.begin(), roi_pixels.end());
  if (roi_weights.empty()) weights.insert(weights.end(), roi_pixels.size(), 1.0f);
  else weights.insert(weights.end(), roi_weights.begin(), roi_weights.end());
  offsets.push_back(pixels.size());
  kind.push_back(roi_kind);
}

void write_masks(h5::Group& group, const SparseMasks& masks) {
  group.write("roi_pixels", masks.pixels);
  group.write("roi_weights", masks.weights);
  group.write("roi_offsets", masks.offsets);
  group.write("roi_kind", masks.kind);
  group.set_attribute("height", int32_t(masks.height));
  group.set_attribute("width", int32_t(masks.width));
}

SparseMasks read_masks(const h5::Group& group) {
  SparseMasks m;
  m.pixels = group.read<uint32_t>("roi_pixels");
  m.weights = group.read<float>("roi_weights");
  m.offsets = group.read<uint64_t>("roi_offsets");
  m.kind = group.read<uint8_t>("roi_kind");
  m.height = int(group.number_attribute("height").value_or(0));
  m.width = int(group.number_attribute("width").value_or(0));
  bool consistent = !m.offsets.empty() && m.offsets.front() == 0 && m.offsets.back() == m.pixels.size() &&
                    m.weights.size() == m.pixels.size() && m.kind.size() + 1 == m.offsets.size();
  for (size_t i = 1; consistent && i < m.offsets.size(); ++i) consistent = m.offsets[i] >= m.offsets[i - 1];
  if (!consistent) throw file_error(group.file(), group.path() + ": ROI mask arrays are inconsistent");
  return m;
}

}  // namespace apical
