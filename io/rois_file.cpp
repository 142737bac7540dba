#include "io/rois_file.hpp"

#include "io/error.hpp"

namespace apical {

void write_rois(h5::Group& root, const RoiFile& rois) {
  for (size_t k = 0; k < rois.planes.size(); ++k) {
    const RoiPlane& plane = rois.planes[k];
    h5::Group g = root.create_group("plane" + std::to_string(k));
    g.set_attribute("role", plane.role);
    write_masks(g, plane.masks);
    if (!plane.stats.empty()) {
      h5::Group stats = g.create_group("stats");
      for (const auto& [name, values] : plane.stats) stats.write(name, values);
    }
  }
  write_pairs(root, rois.pairs);
}

void write_pairs(h5::Group& root, const std::vector<RoiPair>& pair_list) {
  h5::Group pairs = root.create_group("pairs");
  std::vector<int32_t> soma_plane, soma_roi, dendrite_plane, dendrite_roi;
  std::vector<float> confidence;
  for (const auto& p : pair_list) {
    soma_plane.push_back(p.soma_plane);
    soma_roi.push_back(p.soma_roi);
    dendrite_plane.push_back(p.dendrite_plane);
    dendrite_roi.push_back(p.dendrite_roi);
    confidence.push_back(p.confidence);
  }
  pairs.write("soma_plane", soma_plane);
  pairs.write("soma_roi", soma_roi);
  pairs.write("dendrite_plane", dendrite_plane);
  pairs.write("dendrite_roi", dendrite_roi);
  pairs.write("confidence", confidence);
}

RoiFile read_rois(const std::string& path) {
  h5::File file = h5::File::open_read(path);
  h5::Group root = file.root();
  RoiFile rois;
  for (int k = 0; root.has("plane" + std::to_string(k)); ++k) {
    h5::Group g = root.group("plane" + std::to_string(k));
    RoiPlane plane;
    plane.role = g.string_attribute("role").value_or("");
    plane.masks = read_masks(g);
    if (g.has("stats")) {
      h5::Group stats = g.group("stats");
      for (const auto& name : stats.children()) plane.stats[name] = stats.read<float>(name);
    }
    rois.planes.push_back(std::move(plane));
  }
  if (rois.planes.empty()) throw file_error(path, "has no /plane0 ROI masks; is it an apical rois.h5?");
  if (root.has("pairs")) {
    h5::Group p = root.group("pairs");
    auto sp = p.read<int32_t>("soma_plane"), sr = p.read<int32_t>("soma_roi"), dp = p.read<int32_t>("dendrite_plane"),
         dr = p.read<int32_t>("dendrite_roi");
    auto conf = p.has("confidence") ? p.read<float>("confidence") : std::vector<float>(sp.size(), 1.0f);
    if (sr.size() != sp.size() || dp.size() != sp.size() || dr.size() != sp.size() || conf.size() != sp.size())
      throw file_error(path, "/pairs arrays have different lengths");
    for (size_t i = 0; i < sp.size(); ++i) {
      RoiPair pair{sp[i], sr[i], dp[i], dr[i], conf[i]};
      bool valid = pair.soma_plane >= 0 && pair.soma_plane < int(rois.planes.size()) && pair.dendrite_plane >= 0 &&
                   pair.dendrite_plane < int(rois.planes.size()) && pair.soma_roi >= 0 &&
                   size_t(pair.soma_roi) < rois.planes[size_t(pair.soma_plane)].masks.count() && pair.dendrite_roi >= 0 &&
                   size_t(pair.dendrite_roi) < rois.planes[size_t(pair.dendrite_plane)].masks.count();
      if (!valid) throw file_error(path, "pair " + std::to_string(i) + " names an ROI that does not exist");
      rois.pairs.push_back(pair);
    }
  }
  return rois;
}

}  // namespace apical
