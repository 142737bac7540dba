#include "io/rois_file.hpp"

#include "io/error.hpp"
#include "io/h5_image.hpp"
#include "io/plane_groups.hpp"

namespace apical {
namespace {

void write_summary_images(h5::Group& g, const RoiPlane& plane) {
  if (!plane.shared_pixels.empty())
    g.write("shared_pixels", plane.shared_pixels, {uint64_t(plane.masks.height), uint64_t(plane.masks.width)});
  const std::pair<const char*, const cv::Mat*> images[] = {{"mean_image", &plane.mean_image},
                                                           {"max_image", &plane.max_image},
                                                           {"correlation_image", &plane.correlation_image},
                                                           {"soma_template_image", &plane.soma_template_image}};
  for (const auto& [name, image] : images)
    if (!image->empty()) h5::write_image(g, name, *image);
  if (plane.temporal_bin_frames > 0) g.set_attribute("temporal_bin_frames", int32_t(plane.temporal_bin_frames));
}

void write_rois(h5::Group& root, const RoiFile& rois) {
  for (size_t k = 0; k < rois.planes.size(); ++k) {
    const RoiPlane& plane = rois.planes[k];
    h5::Group g = root.create_group(plane_group_name(k));
    g.set_attribute("role", plane.role);
    write_masks(g, plane.masks);
    if (!plane.rejection.empty()) {
      std::vector<uint8_t> accepted(plane.rejection.size());
      for (size_t i = 0; i < accepted.size(); ++i) accepted[i] = plane.rejection[i] == 0;
      g.write("accepted", accepted);
      g.write("rejection", plane.rejection);
      // The writer's codes (an import's differ from segment's); none given: the schema's.
      if (!plane.rejection_labels.empty()) g.dataset("rejection").set_attribute("labels", plane.rejection_labels);
    }
    if (!plane.source.empty()) {
      g.write("source", plane.source);
      if (!plane.source_labels.empty()) g.dataset("source").set_attribute("labels", plane.source_labels);
    }
    if (!plane.curated.empty()) g.write("curated", plane.curated);
    if (plane.soma_diameter_px > 0) {
      g.set_attribute("soma_diameter_px", plane.soma_diameter_px);
      g.set_attribute("soma_diameter_method", plane.diameter_method);
    }
    if (plane.features) {
      h5::Group stats = g.create_group("stats");
      for (const auto& [name, values] : plane.features->columns()) stats.write(name, *values);
    }
    write_summary_images(g, plane);
  }
  write_pairs(root, rois.pairs);
  if (rois.frames > 0) root.set_attribute("frames", int64_t(rois.frames));
  if (!rois.pairing.empty()) root.set_attribute("pairing", rois.pairing);
  if (rois.curated_from) {
    root.set_attribute("curated_from_command_line", rois.curated_from->command_line);
    root.set_attribute("curated_from_parameters", rois.curated_from->parameters);
    root.set_attribute("curated_from_input_provenance", rois.curated_from->input_provenance);
  }
}

}  // namespace

void write_rois_file(const std::string& path, const RoiFile& rois, const Provenance& provenance,
                     const Timebase& timebase) {
  h5::File file = h5::File::create(path);
  h5::Group root = file.root();
  write_provenance(root, provenance);
  write_rois(root, rois);
  describe_output(root, rois_schema(), timebase);
  file.close();
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
  for (int k = 0; root.has(plane_group_name(size_t(k))); ++k) {
    h5::Group g = root.group(plane_group_name(size_t(k)));
    RoiPlane plane;
    plane.role = g.string_attribute("role").value_or("");
    plane.masks = read_masks(g);
    if (g.has("rejection")) {
      plane.rejection = g.read<uint8_t>("rejection");
      plane.rejection_labels = g.dataset("rejection").string_attribute("labels").value_or("");
      if (plane.rejection.size() != plane.masks.count())
        throw file_error(path, "/plane" + std::to_string(k) + "/rejection has " + std::to_string(plane.rejection.size()) +
                                   " values for " + std::to_string(plane.masks.count()) + " ROIs");
    }
    if (g.has("source")) {
      plane.source = g.read<uint8_t>("source");
      plane.source_labels = g.dataset("source").string_attribute("labels").value_or("");
    }
    if (g.has("curated")) plane.curated = g.read<uint8_t>("curated");
    plane.soma_diameter_px = float(g.number_attribute("soma_diameter_px").value_or(0.0));
    plane.diameter_method = g.string_attribute("soma_diameter_method").value_or("");
    plane.temporal_bin_frames = int(g.number_attribute("temporal_bin_frames").value_or(0));
    if (g.has("stats")) {
      const h5::Group stats = g.group("stats");
      plane.features.emplace();
      for (auto& [name, values] : plane.features->columns())
        if (stats.has(name)) *values = stats.read<float>(name);
    }
    rois.planes.push_back(std::move(plane));
  }
  if (rois.planes.empty()) throw file_error(path, "has no /plane0 ROI masks; is it an apical rois.h5?");
  rois.frames = int64_t(root.number_attribute("frames").value_or(0));
  rois.pairing = root.string_attribute("pairing").value_or("");
  if (auto parameters = root.string_attribute("curated_from_parameters"))
    rois.curated_from = CuratedFrom{root.string_attribute("curated_from_command_line").value_or(""), *parameters,
                                    root.string_attribute("curated_from_input_provenance").value_or("")};
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

cv::Mat read_roi_image(const std::string& path, int plane, RoiImage image) {
  const char* name = image == RoiImage::mean          ? "mean_image"
                     : image == RoiImage::max         ? "max_image"
                     : image == RoiImage::correlation ? "correlation_image"
                                                      : "soma_template_image";
  const h5::File file = h5::File::open_read(path);
  const std::string group = plane_group_name(size_t(plane));
  if (!file.root().has(group)) throw file_error(path, "has no /" + group);
  return h5::read_image(file.root().group(group), name);
}

void read_roi_images(const std::string& path, RoiFile& rois) {
  const h5::File file = h5::File::open_read(path);
  for (size_t k = 0; k < rois.planes.size(); ++k) {
    const h5::Group g = file.root().group(plane_group_name(k));
    RoiPlane& plane = rois.planes[k];
    const std::pair<const char*, cv::Mat*> images[] = {{"mean_image", &plane.mean_image},
                                                       {"max_image", &plane.max_image},
                                                       {"correlation_image", &plane.correlation_image},
                                                       {"soma_template_image", &plane.soma_template_image}};
    for (const auto& [name, image] : images)
      if (g.has(name)) *image = h5::read_image(g, name);
    if (g.has("shared_pixels")) plane.shared_pixels = g.read<uint8_t>("shared_pixels");
  }
}

namespace {

// One list of the feature columns for the const and non-const views.
template <typename Features>
auto feature_columns(Features& f) {
  using Column = decltype(&f.area);
  return std::vector<std::pair<const char*, Column>>{
      {"centroid_y", &f.centroid_y}, {"centroid_x", &f.centroid_x},     {"area", &f.area},
      {"compactness", &f.compactness}, {"eccentricity", &f.eccentricity}, {"snr", &f.snr},
      {"skewness", &f.skewness},     {"quality", &f.quality},           {"template_score", &f.template_score}};
}

}  // namespace

std::vector<std::pair<const char*, std::vector<float>*>> RoiFeatures::columns() { return feature_columns(*this); }

std::vector<std::pair<const char*, const std::vector<float>*>> RoiFeatures::columns() const {
  return feature_columns(*this);
}

size_t RoiPlane::accepted_count() const {
  size_t n = 0;
  while (n < rejection.size() && rejection[n] == 0) ++n;
  return rejection.empty() ? masks.count() : n;
}

RoiFile accepted_rois(const RoiFile& rois, const std::string& path) {
  RoiFile out;
  out.pairs = rois.pairs;
  for (size_t k = 0; k < rois.planes.size(); ++k) {
    const RoiPlane& plane = rois.planes[k];
    const size_t n = plane.accepted_count();
    for (size_t i = n; i < plane.rejection.size(); ++i)
      if (plane.rejection[i] == 0)
        throw file_error(path, "/plane" + std::to_string(k) + ": accepted ROI " + std::to_string(i) +
                                   " follows a rejected candidate (accepted ROIs must come first)");
    RoiPlane kept;
    kept.role = plane.role;
    kept.soma_diameter_px = plane.soma_diameter_px;
    kept.diameter_method = plane.diameter_method;
    kept.masks.height = plane.masks.height;
    kept.masks.width = plane.masks.width;
    for (size_t i = 0; i < n; ++i) kept.masks.add(plane.masks.roi_pixels(i), plane.masks.roi_weights(i), plane.masks.kind[i]);
    if (plane.features) {
      kept.features = plane.features;
      for (auto& [name, values] : kept.features->columns()) values->resize(std::min(n, values->size()));
    }
    if (!plane.rejection.empty()) kept.rejection.assign(n, 0), kept.rejection_labels = plane.rejection_labels;
    if (!plane.source.empty()) {
      kept.source.assign(plane.source.begin(), plane.source.begin() + std::ptrdiff_t(std::min(n, plane.source.size())));
      kept.source_labels = plane.source_labels;
    }
    out.planes.push_back(std::move(kept));
  }
  for (const RoiPair& p : out.pairs)
    if (size_t(p.soma_roi) >= out.planes[size_t(p.soma_plane)].masks.count() ||
        size_t(p.dendrite_roi) >= out.planes[size_t(p.dendrite_plane)].masks.count())
      throw file_error(path, "pairs a rejected candidate ROI");
  return out;
}

}  // namespace apical
