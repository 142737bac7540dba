#include "io/nwb_h5.hpp"

#include <cstdio>
#include <cstring>
#include <functional>

#include "io/error.hpp"

namespace apical::nwb {

using h5::Handle;

namespace {

Handle vlen_text_type() {
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.id(), H5T_VARIABLE);
  H5Tset_cset(type.id(), H5T_CSET_UTF8);
  return type;
}

void check(herr_t status, const std::string& what) {
  if (status < 0) throw std::runtime_error("NWB: HDF5 failed to " + what);
}

hid_t checked(hid_t id, const std::string& what) {
  if (id < 0) throw std::runtime_error("NWB: HDF5 failed to " + what);
  return id;
}

std::vector<const char*> c_strings(const std::vector<std::string>& values) {
  std::vector<const char*> out;
  for (const auto& v : values) out.push_back(v.c_str());
  return out;
}

}  // namespace

std::string ObjectIds::id_for(const std::string& path) const {
  // Two 64-bit FNV-1a hashes (of seed+path and path+seed) give the 128 bits; version 4 and
  // variant bits set so NWB tools take it for the UUID it stands in for.
  auto fnv = [](const std::string& text) {
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
    return h;
  };
  const uint64_t a = fnv(seed_ + "|" + path), b = fnv(path + "|" + seed_);
  char text[40];
  std::snprintf(text, sizeof text, "%08x-%04x-4%03x-%04x-%012llx", unsigned(a >> 32), unsigned((a >> 16) & 0xffff),
                unsigned(a & 0x0fff), unsigned(0x8000 | ((b >> 48) & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffull));
  return text;
}

void text_attribute(hid_t object, const std::string& name, const std::string& value) {
  if (H5Aexists(object, name.c_str()) > 0) H5Adelete(object, name.c_str());
  Handle type = vlen_text_type();
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attr(checked(H5Acreate2(object, name.c_str(), type.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT),
                      "create attribute " + name), H5Aclose);
  const char* text = value.c_str();
  check(H5Awrite(attr.id(), type.id(), &text), "write attribute " + name);
}

void text_array_attribute(hid_t object, const std::string& name, const std::vector<std::string>& values) {
  Handle type = vlen_text_type();
  const hsize_t n = values.size();
  Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose);
  Handle attr(checked(H5Acreate2(object, name.c_str(), type.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT),
                      "create attribute " + name), H5Aclose);
  std::vector<const char*> texts = c_strings(values);
  if (n > 0) check(H5Awrite(attr.id(), type.id(), texts.data()), "write attribute " + name);
}

void mark_type(hid_t object, const std::string& type, const std::string& ns, const std::string& object_id) {
  text_attribute(object, "namespace", ns);
  text_attribute(object, "neurodata_type", type);
  text_attribute(object, "object_id", object_id);
}

void text_dataset(hid_t group, const std::string& name, const std::string& value) {
  Handle type = vlen_text_type();
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle ds(checked(H5Dcreate2(group, name.c_str(), type.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                    "create " + name), H5Dclose);
  const char* text = value.c_str();
  check(H5Dwrite(ds.id(), type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, &text), "write " + name);
}

void text_column(hid_t group, const std::string& name, const std::vector<std::string>& values) {
  Handle type = vlen_text_type();
  const hsize_t n = values.size();
  Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose);
  Handle ds(checked(H5Dcreate2(group, name.c_str(), type.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                    "create " + name), H5Dclose);
  std::vector<const char*> texts = c_strings(values);
  if (n > 0) check(H5Dwrite(ds.id(), type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, texts.data()), "write " + name);
}

template <typename T> void scalar_dataset(hid_t group, const std::string& name, T value) {
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle ds(checked(H5Dcreate2(group, name.c_str(), h5::native_type<T>(), space.id(), H5P_DEFAULT, H5P_DEFAULT,
                               H5P_DEFAULT), "create " + name), H5Dclose);
  check(H5Dwrite(ds.id(), h5::native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, &value), "write " + name);
}
template void scalar_dataset<float>(hid_t, const std::string&, float);
template void scalar_dataset<double>(hid_t, const std::string&, double);

template <typename T> void number_attribute(hid_t object, const std::string& name, T value) {
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attr(checked(H5Acreate2(object, name.c_str(), h5::native_type<T>(), space.id(), H5P_DEFAULT, H5P_DEFAULT),
                      "create attribute " + name), H5Aclose);
  check(H5Awrite(attr.id(), h5::native_type<T>(), &value), "write attribute " + name);
}
template void number_attribute<float>(hid_t, const std::string&, float);
template void number_attribute<double>(hid_t, const std::string&, double);

void reference_attribute(hid_t object, const std::string& name, const std::string& target) {
  hobj_ref_t reference;
  check(H5Rcreate(&reference, object, target.c_str(), H5R_OBJECT, -1), "reference " + target);
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attr(checked(H5Acreate2(object, name.c_str(), H5T_STD_REF_OBJ, space.id(), H5P_DEFAULT, H5P_DEFAULT),
                      "create attribute " + name), H5Aclose);
  check(H5Awrite(attr.id(), H5T_STD_REF_OBJ, &reference), "write attribute " + name);
}

void soft_link(hid_t group, const std::string& name, const std::string& target) {
  check(H5Lcreate_soft(target.c_str(), group, name.c_str(), H5P_DEFAULT, H5P_DEFAULT), "link " + name);
}

void external_link(hid_t group, const std::string& name, const std::string& file, const std::string& object) {
  check(H5Lcreate_external(file.c_str(), object.c_str(), group, name.c_str(), H5P_DEFAULT, H5P_DEFAULT),
        "link " + name + " to " + file);
}

namespace {
Handle pixel_mask_type() {
  Handle type(H5Tcreate(H5T_COMPOUND, sizeof(MaskPixel)), H5Tclose);
  H5Tinsert(type.id(), "x", HOFFSET(MaskPixel, x), H5T_NATIVE_UINT32);
  H5Tinsert(type.id(), "y", HOFFSET(MaskPixel, y), H5T_NATIVE_UINT32);
  H5Tinsert(type.id(), "weight", HOFFSET(MaskPixel, weight), H5T_NATIVE_FLOAT);
  return type;
}
}  // namespace

void write_pixel_mask(hid_t group, const std::string& name, const std::vector<MaskPixel>& pixels) {
  Handle type = pixel_mask_type();
  const hsize_t n = pixels.size();
  Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose);
  Handle ds(checked(H5Dcreate2(group, name.c_str(), type.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                    "create " + name), H5Dclose);
  if (n > 0) check(H5Dwrite(ds.id(), type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, pixels.data()), "write " + name);
}

std::vector<MaskPixel> read_pixel_mask(hid_t dataset, const std::string& file) {
  Handle stored(H5Dget_type(dataset), H5Tclose);
  if (H5Tget_class(stored.id()) != H5T_COMPOUND || H5Tget_member_index(stored.id(), "x") < 0 ||
      H5Tget_member_index(stored.id(), "y") < 0)
    throw file_error(file, "pixel_mask is not a compound of x, y (and weight)");
  Handle space(H5Dget_space(dataset), H5Sclose);
  std::vector<MaskPixel> pixels(size_t(std::max<hssize_t>(0, H5Sget_simple_extent_npoints(space.id()))));
  // Without weights (some writers leave them out) every pixel weighs 1.
  const bool weighted = H5Tget_member_index(stored.id(), "weight") >= 0;
  Handle memory(H5Tcreate(H5T_COMPOUND, sizeof(MaskPixel)), H5Tclose);
  H5Tinsert(memory.id(), "x", HOFFSET(MaskPixel, x), H5T_NATIVE_UINT32);
  H5Tinsert(memory.id(), "y", HOFFSET(MaskPixel, y), H5T_NATIVE_UINT32);
  if (weighted) H5Tinsert(memory.id(), "weight", HOFFSET(MaskPixel, weight), H5T_NATIVE_FLOAT);
  else for (MaskPixel& p : pixels) p.weight = 1;
  if (!pixels.empty() && H5Dread(dataset, memory.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, pixels.data()) < 0)
    throw file_error(file, "cannot read pixel_mask");
  return pixels;
}

std::vector<std::string> read_text_column(hid_t dataset) {
  Handle stored(H5Dget_type(dataset), H5Tclose);
  Handle space(H5Dget_space(dataset), H5Sclose);
  const size_t n = size_t(std::max<hssize_t>(0, H5Sget_simple_extent_npoints(space.id())));
  std::vector<std::string> out;
  if (H5Tget_class(stored.id()) != H5T_STRING || n == 0) return out;
  if (H5Tis_variable_str(stored.id()) > 0) {
    Handle memory = vlen_text_type();
    H5Tset_cset(memory.id(), H5Tget_cset(stored.id()));
    std::vector<char*> texts(n, nullptr);
    if (H5Dread(dataset, memory.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, texts.data()) < 0) return out;
    for (char* t : texts) out.emplace_back(t ? t : "");
    H5Dvlen_reclaim(memory.id(), space.id(), H5P_DEFAULT, texts.data());
    return out;
  }
  const size_t width = H5Tget_size(stored.id());
  std::vector<char> buffer(n * width);
  if (H5Dread(dataset, stored.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data()) < 0) return out;
  for (size_t i = 0; i < n; ++i) out.emplace_back(buffer.data() + i * width, strnlen(buffer.data() + i * width, width));
  return out;
}

std::string referenced_path(hid_t object, const std::string& name) {
  if (H5Aexists(object, name.c_str()) <= 0) return "";
  Handle attr(H5Aopen(object, name.c_str(), H5P_DEFAULT), H5Aclose);
  Handle type(H5Aget_type(attr.id()), H5Tclose);
  if (H5Tget_class(type.id()) != H5T_REFERENCE) return "";
  hobj_ref_t reference;
  if (H5Aread(attr.id(), H5T_STD_REF_OBJ, &reference) < 0) return "";
  Handle target(H5Rdereference2(object, H5P_DEFAULT, H5R_OBJECT, &reference), H5Oclose);
  if (!target.valid()) return "";
  const ssize_t length = H5Iget_name(target.id(), nullptr, 0);
  if (length <= 0) return "";
  std::string path(size_t(length) + 1, '\0');
  H5Iget_name(target.id(), path.data(), path.size());
  path.resize(size_t(length));
  return path;
}

}  // namespace apical::nwb
