#pragma once
// ROI masks as sparse ragged arrays (docs/DESIGN.md §3): pixel index y*W+x, weight, and offsets
// so ROI i owns entries offsets[i]..offsets[i+1]. Used by rois.h5 and truth.h5.
#include <cstdint>
#include <vector>

#include "io/h5.hpp"

namespace apical {

struct SparseMasks {
  int height = 0;
  int width = 0;
  std::vector<uint32_t> pixels;
  std::vector<float> weights;
  std::vector<uint64_t> offsets{0};
  std::vector<uint8_t> kind;  // 0 soma, 1 dendrite

  size_t count() const { return offsets.size() - 1; }
  void add(const std::vector<uint32_t>& roi_pixels, const std::vector<float>& roi_weights, uint8_t roi_kind);
  // Pixels and weights of ROI i.
  std::vector<uint32_t> roi_pixels(size_t i) const {
    return {pixels.begin() + long(offsets[i]), pixels.begin() + long(offsets[i + 1])};
  }
  std::vector<float> roi_weights(size_t i) const {
    return {weights.begin() + long(offsets[i]), weights.begin() + long(offsets[i + 1])};
  }
};

// Writes roi_pixels, roi_weights, roi_offsets, roi_kind into `group` (attributes height, width).
void write_masks(h5::Group& group, const SparseMasks& masks);
// Reads them back; InputError naming the file when absent or inconsistent.
SparseMasks read_masks(const h5::Group& group);

}  // namespace apical
