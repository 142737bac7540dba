#include "io/nwb_import.hpp"

#include <algorithm>
#include <cctype>
#include <map>

#include "io/error.hpp"
#include "io/h5.hpp"
#include "io/nwb_h5.hpp"

namespace apical {

namespace {

using h5::Handle;

std::string parent_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return text;
}

// neurodata_type of every group in the file (links are not followed), by absolute path.
std::map<std::string, std::string> typed_groups(const h5::File& file) {
  struct Visit {
    const h5::File* file;
    std::map<std::string, std::string> types;
  } visit{&file, {}};
  auto callback = [](hid_t object, const char* name, const H5O_info_t* info, void* data) -> herr_t {
    auto* v = static_cast<Visit*>(data);
    if (info->type != H5O_TYPE_GROUP || std::string(name) == ".") return 0;
    Handle group(H5Gopen2(object, name, H5P_DEFAULT), H5Gclose);
    if (!group.valid()) return 0;
    const h5::Group g(std::move(group), "/" + std::string(name), v->file->path());
    if (auto type = g.string_attribute("neurodata_type")) v->types["/" + std::string(name)] = *type;
    return 0;
  };
  Handle root(H5Gopen2(file.root().id(), "/", H5P_DEFAULT), H5Gclose);
  H5Ovisit2(root.id(), H5_INDEX_NAME, H5_ITER_INC, callback, &visit, H5O_INFO_BASIC);
  return visit.types;
}

h5::Group open_group(const h5::File& file, const std::string& path) { return file.root().group(path); }

// Where an object lives in the file (links followed): the same address is the same object.
haddr_t object_address(const h5::File& file, const std::string& path) {
  H5O_info_t info;
  if (H5Lexists(file.root().id(), path.c_str(), H5P_DEFAULT) <= 0 ||
      H5Oget_info_by_name2(file.root().id(), path.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0)
    return HADDR_UNDEF;
  return info.addr;
}

// (height, width) of the frames of a plane, from a TwoPhotonSeries imaging that plane.
std::pair<int, int> frame_size_from_series(const h5::File& file, const std::map<std::string, std::string>& types,
                                           haddr_t imaging_plane) {
  for (const auto& [path, type] : types) {
    if (type != "TwoPhotonSeries" && type != "ImageSeries" && type != "OnePhotonSeries") continue;
    if (imaging_plane == HADDR_UNDEF || object_address(file, path + "/imaging_plane") != imaging_plane) continue;
    const h5::Group series = file.root().group(path);
    if (series.has("data")) {  // may be an external link to a file that is not here
      Handle data(H5Dopen2(series.id(), "data", H5P_DEFAULT), H5Dclose);
      Handle space(data.valid() ? H5Dget_space(data.id()) : -1, H5Sclose);
      hsize_t dims[4] = {0};
      if (space.valid() && H5Sget_simple_extent_ndims(space.id()) == 3 &&
          H5Sget_simple_extent_dims(space.id(), dims, nullptr) == 3 && dims[1] > 0 && dims[2] > 0)
        return {int(dims[1]), int(dims[2])};
    }
    // Movies kept outside the file (format "external"): suite2p writes `dimension` as [Ly, Lx].
    if (series.has("dimension")) {
      const std::vector<int64_t> dimension = series.read<int64_t>("dimension");
      if (dimension.size() == 2 && dimension[0] > 0 && dimension[1] > 0) return {int(dimension[0]), int(dimension[1])};
    }
  }
  return {0, 0};
}

}  // namespace

namespace {

// Ragged pixel_mask + pixel_mask_index (ends) into sparse masks of a frame of height x width.
void read_pixel_masks(const h5::Group& table, const std::string& file, SparseMasks& masks) {
  const std::vector<nwb::MaskPixel> pixels = nwb::read_pixel_mask(table.dataset("pixel_mask").id(), file);
  std::vector<uint64_t> ends = table.has("pixel_mask_index") ? table.read<uint64_t>("pixel_mask_index")
                                                             : std::vector<uint64_t>{pixels.size()};
  uint64_t start = 0;
  for (size_t roi = 0; roi < ends.size(); ++roi) {
    if (ends[roi] < start || ends[roi] > pixels.size())
      throw file_error(file, table.path() + "/pixel_mask_index is not increasing or points past pixel_mask");
    std::vector<uint32_t> index;
    std::vector<float> weights;
    for (uint64_t i = start; i < ends[roi]; ++i) {
      const nwb::MaskPixel& p = pixels[i];
      if (p.x >= uint32_t(masks.width) || p.y >= uint32_t(masks.height))
        throw file_error(file, table.path() + ": ROI " + std::to_string(roi) + " has pixel (x " + std::to_string(p.x) +
                                   ", y " + std::to_string(p.y) + ") outside the " + std::to_string(masks.height) + "x" +
                                   std::to_string(masks.width) + " frame");
      index.push_back(p.y * uint32_t(masks.width) + p.x);
      weights.push_back(p.weight);
    }
    masks.add(index, weights, 0);
    start = ends[roi];
  }
}

// image_mask [N, H, W]: every non-zero pixel, weighted by its value.
void read_image_masks(const h5::Group& table, const std::string& file, SparseMasks& masks) {
  const h5::Dataset ds = table.dataset("image_mask");
  const h5::Dims dims = ds.dims();
  if (dims.size() != 3 || int(dims[1]) != masks.height || int(dims[2]) != masks.width)
    throw file_error(file, table.path() + "/image_mask is not [ROIs, " + std::to_string(masks.height) + ", " +
                               std::to_string(masks.width) + "]");
  const size_t frame = dims[1] * dims[2];
  std::vector<float> one(frame);
  for (uint64_t roi = 0; roi < dims[0]; ++roi) {
    ds.read_box<float>({roi, 0, 0}, {1, dims[1], dims[2]}, one.data());
    std::vector<uint32_t> index;
    std::vector<float> weights;
    for (size_t i = 0; i < frame; ++i)
      if (one[i] != 0) index.push_back(uint32_t(i)), weights.push_back(one[i]);
    masks.add(index, weights, 0);
  }
}

std::pair<int, int> frame_size_of(const h5::File& file, const std::map<std::string, std::string>& types,
                                  const h5::Group& table, std::pair<int, int> given) {
  std::pair<int, int> size = frame_size_from_series(file, types, object_address(file, table.path() + "/imaging_plane"));
  if (size.first <= 0 && table.has("image_mask")) {
    const h5::Dims dims = table.dataset("image_mask").dims();
    if (dims.size() == 3) size = {int(dims[1]), int(dims[2])};
  }
  if (size.first <= 0) size = given;
  if (size.first <= 0 || size.second <= 0)
    throw file_error(file.path(), table.path() + ": the frame size is not in the file (no TwoPhotonSeries data of its "
                                                 "imaging plane); give it with --frame-size HEIGHTxWIDTH");
  return size;
}

// 0/1 per ROI from a numeric column (suite2p's iscell is [N, 2]: the first column).
std::vector<uint8_t> flag_column(const h5::Group& table, const std::string& name, size_t rois, const std::string& file) {
  const h5::Dataset ds = table.dataset(name);
  const h5::Dims dims = ds.dims();
  const std::vector<double> values = ds.read<double>();
  const size_t stride = dims.size() == 2 ? dims[1] : 1;
  if (dims.empty() || dims[0] != rois) throw file_error(file, table.path() + "/" + name + " has a length other than the ROI count");
  std::vector<uint8_t> out(rois);
  for (size_t i = 0; i < rois; ++i) out[i] = values[i * stride] > 0.5;
  return out;
}

NwbPlane read_plane(const h5::File& file, const std::map<std::string, std::string>& types, const std::string& path,
                    std::pair<int, int> given_size) {
  const h5::Group table = open_group(file, path);
  NwbPlane plane;
  plane.table_path = path;
  if (!table.has("pixel_mask") && !table.has("image_mask"))
    throw file_error(file.path(), path + " has an unknown mask type: apical reads pixel_mask or image_mask" +
                                      std::string(table.has("voxel_mask") ? " (voxel_mask: 3-D ROIs)" : " (it has none)"));
  std::tie(plane.masks.height, plane.masks.width) = frame_size_of(file, types, table, given_size);
  if (table.has("pixel_mask")) read_pixel_masks(table, file.path(), plane.masks);
  else read_image_masks(table, file.path(), plane.masks);
  const size_t n = plane.masks.count();
  if (n == 0) throw file_error(file.path(), path + " holds no ROIs");
  if (table.has("kind")) {
    const std::vector<std::string> kinds = nwb::read_text_column(table.dataset("kind").id());
    if (kinds.size() != n) throw file_error(file.path(), path + "/kind has a length other than the ROI count");
    for (size_t i = 0; i < n; ++i) plane.masks.kind[i] = kinds[i] == "dendrite" ? 1 : 0;
    plane.has_kind = true;
  }
  if (table.has("accepted")) plane.accepted = flag_column(table, "accepted", n, file.path());
  else if (table.has("iscell")) plane.accepted = flag_column(table, "iscell", n, file.path());
  else plane.accepted.assign(n, 1);
  return plane;
}

double series_rate(const h5::Group& series) {
  if (series.has("starting_time")) {
    const h5::Dataset start = series.dataset("starting_time");
    Handle attr(H5Aopen(start.id(), "rate", H5P_DEFAULT), H5Aclose);
    double rate = 0;
    if (attr.valid() && H5Aread(attr.id(), H5T_NATIVE_DOUBLE, &rate) >= 0) return rate;
  }
  if (series.has("timestamps")) {
    const std::vector<double> t = series.read<double>("timestamps");
    if (t.size() > 1 && t.back() > t.front()) return double(t.size() - 1) / (t.back() - t.front());
  }
  return 0;
}

NwbTraceSeries read_series(const h5::File& file, const std::string& path, size_t table_rows) {
  const h5::Group series = open_group(file, path);
  NwbTraceSeries out;
  out.path = path;
  out.rows = series.read<int32_t>("rois");
  const h5::Dataset data = series.dataset("data");
  const h5::Dims dims = data.dims();
  const uint64_t columns = dims.size() == 2 ? dims[1] : 1;
  if (dims.empty() || dims.size() > 2 || columns != out.rows.size())
    throw file_error(file.path(), path + ": data holds traces of " + std::to_string(columns) +
                                      " ROIs but its rois region names " + std::to_string(out.rows.size()));
  for (int32_t row : out.rows)
    if (row < 0 || size_t(row) >= table_rows)
      throw file_error(file.path(), path + ": rois names row " + std::to_string(row) + " but its table has " +
                                        std::to_string(table_rows) + " ROIs");
  std::vector<float> values = data.read<float>();  // [T, N] row-major = arma's [N, T] column-major
  out.traces = arma::fmat(values.data(), arma::uword(columns), arma::uword(dims[0]));
  out.rate_hz = series_rate(series);
  return out;
}

void attach_series(const h5::File& file, const std::map<std::string, std::string>& types, NwbImaging& imaging) {
  for (const auto& [path, type] : types) {
    if (type != "RoiResponseSeries") continue;
    const h5::Group series = open_group(file, path);
    const std::string table = series.has("rois") ? nwb::referenced_path(series.dataset("rois").id(), "table") : "";
    auto plane = std::find_if(imaging.planes.begin(), imaging.planes.end(),
                              [&](const NwbPlane& p) { return p.table_path == table; });
    if (plane == imaging.planes.end()) continue;  // traces of a table apical does not read
    const auto parent = types.find(parent_of(path));
    const std::string container = parent == types.end() ? "" : parent->second;
    const std::string name = lower(path.substr(path.find_last_of('/') + 1));
    std::optional<NwbTraceSeries>& slot =
        container == "DfOverF" ? plane->dff : name.find("neuropil") != std::string::npos ? plane->fneu : plane->f;
    if (slot) throw file_error(file.path(), "both " + slot->path + " and " + path + " hold the same traces of " + table);
    slot = read_series(file, path, plane->masks.count());
  }
}

// A pairs table as apical export writes it (soma_plane, soma_roi, dendrite_plane, dendrite_roi).
void read_pairs(const h5::File& file, const std::map<std::string, std::string>& types, NwbImaging& imaging) {
  for (const auto& [path, type] : types) {
    if (type != "DynamicTable") continue;
    const h5::Group table = open_group(file, path);
    if (!(table.has("soma_plane") && table.has("soma_roi") && table.has("dendrite_plane") && table.has("dendrite_roi")))
      continue;
    const auto soma_plane = table.read<int32_t>("soma_plane"), soma_roi = table.read<int32_t>("soma_roi"),
               dendrite_plane = table.read<int32_t>("dendrite_plane"), dendrite_roi = table.read<int32_t>("dendrite_roi");
    const auto confidence = table.has("confidence") ? table.read<float>("confidence") : std::vector<float>(soma_roi.size(), 1);
    for (size_t i = 0; i < soma_roi.size(); ++i)
      imaging.pairs.push_back(RoiPair{soma_plane[i], soma_roi[i], dendrite_plane[i], dendrite_roi[i], confidence[i]});
  }
}

}  // namespace

NwbImaging read_nwb_imaging(const std::string& path, std::pair<int, int> frame_size) {
  const h5::File file = h5::File::open_read(path);
  const std::map<std::string, std::string> types = typed_groups(file);
  if (file.root().string_attribute("neurodata_type").value_or("") != "NWBFile")
    throw file_error(path, "is not an NWB file (its root has no neurodata_type NWBFile)");
  NwbImaging imaging;
  for (const auto& [group, type] : types)
    if (type == "PlaneSegmentation") imaging.planes.push_back(read_plane(file, types, group, frame_size));
  if (imaging.planes.empty()) throw file_error(path, "holds no PlaneSegmentation: no ROIs to import");
  attach_series(file, types, imaging);
  read_pairs(file, types, imaging);
  return imaging;
}

}  // namespace apical
