#pragma once
// Every apical file (registered, rois, traces, truth) keeps one group per imaging plane:
// /plane0, /plane1, ... The doors name and find them here.
#include <string>
#include <vector>

#include "io/h5.hpp"

namespace apical {

inline std::string plane_group_name(size_t k) { return "plane" + std::to_string(k); }

// root's plane groups in order, up to the first one missing.
inline std::vector<h5::Group> plane_groups(const h5::Group& root) {
  std::vector<h5::Group> groups;
  for (size_t k = 0; root.has(plane_group_name(k)); ++k) groups.push_back(root.group(plane_group_name(k)));
  return groups;
}

}  // namespace apical
