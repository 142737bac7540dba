#pragma once
// The HDF5 side of NWB that apical's h5 layer does not cover: variable-length UTF-8 text
// (what NWB readers expect for every string), scalar datasets, typed objects (neurodata_type,
// namespace, object_id), object references, soft and external links, and the pixel_mask
// compound. Used by io/nwb_export.cpp and io/nwb_import.cpp only.
#include <cstdint>
#include <string>
#include <vector>

#include "io/h5.hpp"

namespace apical::nwb {

// Namespaces of the types apical writes.
inline constexpr const char* kCore = "core";
inline constexpr const char* kCommon = "hdmf-common";

// Object ids derived from the file's identifier and the object's path: a UUID-shaped text
// that is the same every time the same session is exported (outputs reproduce bit for bit).
class ObjectIds {
 public:
  explicit ObjectIds(std::string seed) : seed_(std::move(seed)) {}
  std::string id_for(const std::string& path) const;

 private:
  std::string seed_;
};

void text_attribute(hid_t object, const std::string& name, const std::string& value);
void text_array_attribute(hid_t object, const std::string& name, const std::vector<std::string>& values);
// Marks an object as an NWB type.
void mark_type(hid_t object, const std::string& type, const std::string& ns, const std::string& object_id);

void text_dataset(hid_t group, const std::string& name, const std::string& value);
void text_column(hid_t group, const std::string& name, const std::vector<std::string>& values);
template <typename T> void scalar_dataset(hid_t group, const std::string& name, T value);
// An attribute holding an object reference to `target` (an absolute path in the same file).
void reference_attribute(hid_t object, const std::string& name, const std::string& target);
void soft_link(hid_t group, const std::string& name, const std::string& target);
void external_link(hid_t group, const std::string& name, const std::string& file, const std::string& object);
template <typename T> void number_attribute(hid_t object, const std::string& name, T value);

// One pixel of a pixel_mask (NWB's compound x, y, weight).
struct MaskPixel {
  uint32_t x = 0, y = 0;
  float weight = 0;
};
void write_pixel_mask(hid_t group, const std::string& name, const std::vector<MaskPixel>& pixels);

// Reading (import).
std::vector<MaskPixel> read_pixel_mask(hid_t dataset, const std::string& file);
// Vlen or fixed-length text of a 1-D dataset.
std::vector<std::string> read_text_column(hid_t dataset);
// The absolute path of the object an object-reference attribute points to; "" if none.
std::string referenced_path(hid_t object, const std::string& name);

}  // namespace apical::nwb
