#include "io/manual_labels.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "io/error.hpp"
#include "io/h5.hpp"
#include "io/tiff.hpp"

namespace apical {
namespace {

std::string lower_extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return ext;
}

void sort_unique(std::vector<uint32_t>& pixels) {
  std::sort(pixels.begin(), pixels.end());
  pixels.erase(std::unique(pixels.begin(), pixels.end()), pixels.end());
}

std::vector<std::vector<uint32_t>> read_neurofinder_json(const std::string& path, int height, int width) {
  std::ifstream in(path);
  if (!in) throw file_error(path, "cannot be opened");
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw file_error(path, std::string("is not valid JSON: ") + e.what());
  }
  if (!doc.is_array()) throw file_error(path, "must hold a JSON list of regions ({\"coordinates\": [[row, col], ...]})");
  std::vector<std::vector<uint32_t>> rois;
  for (size_t i = 0; i < doc.size(); ++i) {
    const auto& region = doc[i];
    const std::string where = "region " + std::to_string(i);
    if (!region.is_object() || !region.contains("coordinates") || !region["coordinates"].is_array())
      throw file_error(path, where + " has no \"coordinates\" list");
    std::vector<uint32_t> pixels;
    for (const auto& point : region["coordinates"]) {
      if (!point.is_array() || point.size() != 2 || !point[0].is_number() || !point[1].is_number())
        throw file_error(path, where + ": a coordinate is not a [row, col] pair");
      const double row = point[0].get<double>(), col = point[1].get<double>();
      if (!(row >= 0 && row < height && col >= 0 && col < width) || row != std::floor(row) || col != std::floor(col))
        throw file_error(path, where + ": pixel [" + point[0].dump() + ", " + point[1].dump() + "] is not inside the " +
                                   std::to_string(height) + "x" + std::to_string(width) + " image");
      pixels.push_back(uint32_t(row) * uint32_t(width) + uint32_t(col));
    }
    sort_unique(pixels);
    if (pixels.empty()) throw file_error(path, where + " has no pixels");
    rois.push_back(std::move(pixels));
  }
  return rois;
}

// ROIs from label values (one per pixel, row-major): ascending label order.
std::vector<std::vector<uint32_t>> rois_from_label_image(const std::string& path, const std::vector<double>& labels) {
  std::map<int64_t, std::vector<uint32_t>> by_label;
  for (size_t i = 0; i < labels.size(); ++i) {
    const double v = labels[i];
    if (!(v >= 0) || v != std::floor(v)) throw file_error(path, "holds a value that is not a non-negative integer label");
    if (v > 0) by_label[int64_t(v)].push_back(uint32_t(i));
  }
  std::vector<std::vector<uint32_t>> rois;
  for (auto& [label, pixels] : by_label) rois.push_back(std::move(pixels));
  return rois;
}

void require_size(const std::string& path, int h, int w, int height, int width) {
  if (h != height || w != width)
    throw file_error(path, "is a " + std::to_string(h) + "x" + std::to_string(w) + " label image; the ROIs are on a " +
                               std::to_string(height) + "x" + std::to_string(width) + " image");
}

std::vector<std::vector<uint32_t>> read_tiff_labels(const std::string& path, int height, int width) {
  TiffReader tiff(path);
  require_size(path, tiff.height(), tiff.width(), height, width);
  std::vector<float> page(size_t(height) * width);
  tiff.read_page(0, page.data());
  return rois_from_label_image(path, std::vector<double>(page.begin(), page.end()));
}

std::vector<std::vector<uint32_t>> read_hdf5_labels(const std::string& path, const std::string& dataset, int height,
                                                    int width) {
  h5::File file = h5::File::open_read(path);
  h5::Group root = file.root();
  std::string name = dataset;
  if (name.empty()) {
    for (const std::string& child : root.children()) {
      size_t rank = 0;
      try {
        rank = root.dataset(child).dims().size();
      } catch (const InputError&) {
        continue;  // a group
      }
      if (rank != 2) continue;
      if (!name.empty()) throw file_error(path, "holds several 2-D datasets; name the label image (--manual-dataset)");
      name = child;
    }
    if (name.empty()) throw file_error(path, "holds no 2-D dataset (a label image)");
  }
  const h5::Dataset d = root.dataset(name);
  const h5::Dims shape = d.dims();
  if (shape.size() != 2) throw file_error(path, name + " is not 2-D");
  require_size(path, int(shape[0]), int(shape[1]), height, width);
  return rois_from_label_image(path, d.read<double>());
}

}  // namespace

ManualLabels read_manual_labels(const std::string& path, int height, int width, const std::string& dataset) {
  if (!std::filesystem::exists(path)) throw file_error(path, "not found");
  const std::string ext = lower_extension(path);
  ManualLabels labels;
  if (ext == ".json") {
    labels.format = "neurofinder JSON";
    labels.rois = read_neurofinder_json(path, height, width);
  } else if (ext == ".tif" || ext == ".tiff") {
    labels.format = "TIFF label image";
    labels.rois = read_tiff_labels(path, height, width);
  } else if (ext == ".h5" || ext == ".hdf5") {
    labels.format = "HDF5 label image";
    labels.rois = read_hdf5_labels(path, dataset, height, width);
  } else {
    throw file_error(path, "is not a manual label file apical reads (.json neurofinder regions, or a .tif/.h5 label image)");
  }
  if (labels.rois.empty()) throw file_error(path, "holds no ROI");
  return labels;
}

}  // namespace apical
