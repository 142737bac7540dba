#pragma once
// Pieces the benchmark programs share: synthetic ROI masks and the process's peak memory.
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "io/masks.hpp"

namespace apical::bench {

// Disc ROIs of radius 5-7 px (~80-150 px each) at random positions; overlaps allowed
// (shared pixels are excluded from F by the extractor).
inline SparseMasks random_disc_masks(int size, int count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> pos(8, size - 8), radius(5, 7);
  SparseMasks m;
  m.height = size;
  m.width = size;
  for (int i = 0; i < count; ++i) {
    const double cy = pos(rng), cx = pos(rng), r = radius(rng);
    std::vector<uint32_t> px;
    for (int y = int(cy - r); y <= int(cy + r) + 1; ++y)
      for (int x = int(cx - r); x <= int(cx + r) + 1; ++x)
        if ((y - cy) * (y - cy) + (x - cx) * (x - cx) <= r * r) px.push_back(uint32_t(y * size + x));
    m.add(px, {}, 0);
  }
  return m;
}

// Peak resident memory of this process, MB (VmHWM).
inline double peak_rss_mb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::atof(line.c_str() + 6) / 1024.0;
  return 0;
}

}  // namespace apical::bench
