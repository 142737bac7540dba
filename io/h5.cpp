#include "io/h5.hpp"

#include <hdf5_hl.h>

#include <sys/statvfs.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <numeric>

#include "io/atomic_output.hpp"
#include "io/error.hpp"

namespace apical::h5 {

Handle& Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    reset();
    id_ = other.id_;
    closer_ = other.closer_;
    other.id_ = -1;
  }
  return *this;
}

void Handle::reset() {
  if (id_ >= 0 && closer_) closer_(id_);
  id_ = -1;
}

void skip_library_cleanup_at_exit() { H5dont_atexit(); }

void silence_library_errors() {
  static std::once_flag once;
  std::call_once(once, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
}

template <> hid_t native_type<float>() { return H5T_NATIVE_FLOAT; }
template <> hid_t native_type<double>() { return H5T_NATIVE_DOUBLE; }
template <> hid_t native_type<int8_t>() { return H5T_NATIVE_INT8; }
template <> hid_t native_type<uint8_t>() { return H5T_NATIVE_UINT8; }
template <> hid_t native_type<int16_t>() { return H5T_NATIVE_INT16; }
template <> hid_t native_type<uint16_t>() { return H5T_NATIVE_UINT16; }
template <> hid_t native_type<int32_t>() { return H5T_NATIVE_INT32; }
template <> hid_t native_type<uint32_t>() { return H5T_NATIVE_UINT32; }
template <> hid_t native_type<int64_t>() { return H5T_NATIVE_INT64; }
template <> hid_t native_type<uint64_t>() { return H5T_NATIVE_UINT64; }

namespace {

// The errno HDF5's error stack quotes for a failed system call ("errno = 28, ..."), or 0.
int errno_on_error_stack() {
  int found = 0;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_DOWNWARD,
      [](unsigned, const H5E_error2_t* entry, void* data) -> herr_t {
        const char* quoted = entry->desc ? std::strstr(entry->desc, "errno = ") : nullptr;
        if (quoted && *static_cast<int*>(data) == 0) *static_cast<int*>(data) = std::atoi(quoted + 8);
        return 0;
      },
      &found);
  return found;
}

bool disk_is_full_under(const std::string& file) {
  std::filesystem::path folder = std::filesystem::path(file).parent_path();
  struct statvfs st {};
  return ::statvfs(folder.empty() ? "." : folder.c_str(), &st) == 0 && st.f_bavail == 0;
}

// Why a write through HDF5 just failed: the errno it saw, ENOSPC when the disk is full
// (HDF5 does not always quote the errno), else 0.
int write_failure_errno(const std::string& file) {
  int error_number = errno_on_error_stack();
  if (error_number == 0 && disk_is_full_under(file)) error_number = ENOSPC;
  H5Eclear2(H5E_DEFAULT);
  return error_number;
}

int write_failure_errno_or_eio(const std::string& file) {
  const int error_number = write_failure_errno(file);
  return error_number ? error_number : EIO;  // HDF5 named no cause
}

// Write calls: a failed system call (a full disk) is the user's to fix (write_error, exit 1);
// any other failure is apical's (exit 2).
void check(herr_t status, const std::string& file, const std::string& what) {
  if (status >= 0) return;
  if (int error_number = write_failure_errno(file)) throw write_error(file, error_number);
  throw std::runtime_error(file + ": HDF5 failed to " + what);
}

hid_t check_id(hid_t id, const std::string& file, const std::string& what) {
  check(id < 0 ? -1 : 0, file, what);
  return id;
}

Handle make_simple_space(const Dims& dims, const Dims& max_dims = {}) {
  std::vector<hsize_t> d(dims.begin(), dims.end());
  std::vector<hsize_t> m(max_dims.begin(), max_dims.end());
  hid_t id = H5Screate_simple(int(d.size()), d.data(), m.empty() ? nullptr : m.data());
  if (id < 0) throw std::runtime_error("HDF5 failed to create a dataspace");
  return Handle(id, H5Sclose);
}

Handle string_type(size_t length) {
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, length == 0 ? 1 : length);
  H5Tset_strpad(type, H5T_STR_NULLTERM);
  H5Tset_cset(type, H5T_CSET_UTF8);
  return Handle(type, H5Tclose);
}

void write_string_attribute(hid_t object, const std::string& name, const std::string& value,
                            const std::string& file) {
  // Variable-length UTF-8: h5py reads it as str (a fixed-length one comes back as bytes),
  // MATLAB's h5readatt as char.
  if (H5Aexists(object, name.c_str()) > 0) H5Adelete(object, name.c_str());
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.id(), H5T_VARIABLE);
  H5Tset_cset(type.id(), H5T_CSET_UTF8);
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attr(check_id(H5Acreate2(object, name.c_str(), type.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT),
                       file, "create attribute " + name),
              H5Aclose);
  const char* text = value.c_str();
  check(H5Awrite(attr.id(), type.id(), &text), file, "write attribute " + name);
}

template <typename T>
void write_number_attribute(hid_t object, const std::string& name, const T& value,
                            const std::string& file) {
  if (H5Aexists(object, name.c_str()) > 0) H5Adelete(object, name.c_str());
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attr(check_id(H5Acreate2(object, name.c_str(), native_type<T>(), space.id(), H5P_DEFAULT,
                                  H5P_DEFAULT),
                       file, "create attribute " + name),
              H5Aclose);
  check(H5Awrite(attr.id(), native_type<T>(), &value), file, "write attribute " + name);
}

std::optional<std::string> read_string_attribute(hid_t object, const std::string& name) {
  if (H5Aexists(object, name.c_str()) <= 0) return std::nullopt;
  Handle attr(H5Aopen(object, name.c_str(), H5P_DEFAULT), H5Aclose);
  Handle type(H5Aget_type(attr.id()), H5Tclose);
  if (H5Tget_class(type.id()) != H5T_STRING) return std::nullopt;
  if (H5Tis_variable_str(type.id()) > 0) {
    char* text = nullptr;
    Handle mem = Handle(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem.id(), H5T_VARIABLE);
    H5Tset_cset(mem.id(), H5Tget_cset(type.id()));  // HDF5 converts no ASCII <-> UTF-8
    if (H5Aread(attr.id(), mem.id(), &text) < 0 || !text) return std::nullopt;
    std::string value(text);
    H5free_memory(text);
    return value;
  }
  size_t size = H5Tget_size(type.id());
  std::string buffer(size, '\0');
  Handle mem = string_type(size);
  H5Tset_cset(mem.id(), H5Tget_cset(type.id()));
  if (H5Aread(attr.id(), mem.id(), buffer.data()) < 0) return std::nullopt;
  buffer.resize(std::strlen(buffer.c_str()));
  return buffer;
}

std::string type_name_of(hid_t type) {
  H5T_class_t cls = H5Tget_class(type);
  size_t size = H5Tget_size(type);
  if (cls == H5T_FLOAT) return size == 4 ? "float32" : "float64";
  if (cls == H5T_INTEGER) {
    bool is_signed = H5Tget_sign(type) == H5T_SGN_2;
    return std::string(is_signed ? "int" : "uint") + std::to_string(size * 8);
  }
  if (cls == H5T_STRING) return "string";
  if (cls == H5T_COMPOUND) return "compound";
  return "other";
}

}  // namespace

Dims Dataset::chunk_dims() const {
  Handle plist(H5Dget_create_plist(handle_.id()), H5Pclose);
  if (H5Pget_layout(plist.id()) != H5D_CHUNKED) return {};
  const int rank = H5Pget_chunk(plist.id(), 0, nullptr);
  if (rank <= 0) return {};
  std::vector<hsize_t> chunk(size_t(rank), 0);
  H5Pget_chunk(plist.id(), rank, chunk.data());
  return Dims(chunk.begin(), chunk.end());
}

size_t Dataset::element_bytes() const {
  Handle type(H5Dget_type(handle_.id()), H5Tclose);
  return H5Tget_size(type.id());
}

Dataset::~Dataset() {
  if (!handle_.valid()) return;
  H5Eclear2(H5E_DEFAULT);
  if (H5Dclose(handle_.release()) < 0) record_write_failure(file_, write_failure_errno_or_eio(file_));
}

Dims Dataset::dims() const {
  Handle space(H5Dget_space(handle_.id()), H5Sclose);
  int rank = H5Sget_simple_extent_ndims(space.id());
  std::vector<hsize_t> d(rank > 0 ? rank : 0);
  if (rank > 0) H5Sget_simple_extent_dims(space.id(), d.data(), nullptr);
  return Dims(d.begin(), d.end());
}

std::string Dataset::type_name() const {
  Handle type(H5Dget_type(handle_.id()), H5Tclose);
  return type_name_of(type.id());
}

void Dataset::read_box_raw(const Dims& offset, const Dims& count, hid_t mem_type,
                           void* out) const {
  Dims full = dims();
  if (offset.size() != full.size() || count.size() != full.size())
    throw std::runtime_error(file_ + ":" + path_ + ": box rank does not match dataset rank");
  for (size_t i = 0; i < full.size(); ++i)
    if (offset[i] + count[i] > full[i])
      throw file_error(file_, "dataset " + path_ + " is smaller than expected along axis " +
                                  std::to_string(i) + " (" + std::to_string(full[i]) + " < " +
                                  std::to_string(offset[i] + count[i]) + ")");
  Handle file_space(H5Dget_space(handle_.id()), H5Sclose);
  std::vector<hsize_t> o(offset.begin(), offset.end()), c(count.begin(), count.end());
  if (!full.empty())
    check(H5Sselect_hyperslab(file_space.id(), H5S_SELECT_SET, o.data(), nullptr, c.data(),
                              nullptr),
          file_, "select a box in " + path_);
  Handle mem_space = full.empty() ? Handle(H5Screate(H5S_SCALAR), H5Sclose) : make_simple_space(count);
  if (H5Dread(handle_.id(), mem_type, mem_space.id(), file_space.id(), H5P_DEFAULT, out) < 0)
    throw file_error(file_, "cannot read dataset " + path_ + " (corrupt or truncated file?)");
}

void Dataset::write_box_raw(const Dims& offset, const Dims& count, hid_t mem_type,
                            const void* data) {
  Handle file_space(H5Dget_space(handle_.id()), H5Sclose);
  std::vector<hsize_t> o(offset.begin(), offset.end()), c(count.begin(), count.end());
  check(H5Sselect_hyperslab(file_space.id(), H5S_SELECT_SET, o.data(), nullptr, c.data(), nullptr),
        file_, "select a box in " + path_);
  Handle mem_space = make_simple_space(count);
  check(H5Dwrite(handle_.id(), mem_type, mem_space.id(), file_space.id(), H5P_DEFAULT, data),
        file_, "write dataset " + path_);
}

template <typename T> std::vector<T> Dataset::read() const {
  Dims d = dims();
  size_t n = std::accumulate(d.begin(), d.end(), size_t(1), std::multiplies<size_t>());
  std::vector<T> out(n);
  if (n == 0) return out;
  Dims zero(d.size(), 0);
  read_box_raw(zero, d, native_type<T>(), out.data());
  return out;
}

template <typename T>
void Dataset::read_box(const Dims& offset, const Dims& count, T* out) const {
  read_box_raw(offset, count, native_type<T>(), out);
}

template <typename T>
void Dataset::write_box(const Dims& offset, const Dims& count, const T* data) {
  write_box_raw(offset, count, native_type<T>(), data);
}

void Dataset::extend(const Dims& new_dims) {
  std::vector<hsize_t> d(new_dims.begin(), new_dims.end());
  check(H5Dset_extent(handle_.id(), d.data()), file_, "extend dataset " + path_);
}

template <typename T> void Dataset::set_attribute(const std::string& name, const T& value) {
  write_number_attribute(handle_.id(), name, value, file_);
}
void Dataset::set_attribute(const std::string& name, const std::string& value) {
  write_string_attribute(handle_.id(), name, value, file_);
}
void Dataset::set_dimension_labels(const std::vector<std::string>& labels) {
  const size_t rank = dims().size();
  for (size_t i = 0; i < rank && i < labels.size(); ++i)
    check(H5DSset_label(handle_.id(), unsigned(i), labels[i].c_str()), file_, "label dimension of " + path_);
}

bool Dataset::dimension_labels_complete() const {
  const size_t rank = dims().size();
  for (size_t i = 0; i < rank; ++i) {
    char label[256] = {0};
    if (H5DSget_label(handle_.id(), unsigned(i), label, sizeof label) <= 0) return false;
  }
  return true;
}

std::optional<std::string> Dataset::string_attribute(const std::string& name) const {
  return read_string_attribute(handle_.id(), name);
}

bool Group::has(const std::string& name) const {
  // Check each path component so that a missing intermediate group is not an HDF5 error.
  std::string partial;
  size_t start = 0;
  while (start <= name.size()) {
    size_t slash = name.find('/', start);
    std::string part = name.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (!part.empty()) {
      partial += (partial.empty() ? "" : "/") + part;
      if (H5Lexists(handle_.id(), partial.c_str(), H5P_DEFAULT) <= 0) return false;
    }
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return true;
}

static std::string join_path(const std::string& base, const std::string& name) {
  if (!name.empty() && name[0] == '/') return name;
  return base == "/" ? "/" + name : base + "/" + name;
}

Group Group::group(const std::string& name) const {
  if (!has(name)) throw file_error(file_, "has no group " + join_path(path_, name));
  hid_t id = H5Gopen2(handle_.id(), name.c_str(), H5P_DEFAULT);
  if (id < 0) throw file_error(file_, join_path(path_, name) + " is not a group");
  return Group(Handle(id, H5Gclose), join_path(path_, name), file_);
}

Group Group::create_group(const std::string& name) {
  if (has(name)) return group(name);
  Handle lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  H5Pset_create_intermediate_group(lcpl.id(), 1);
  hid_t id = check_id(H5Gcreate2(handle_.id(), name.c_str(), lcpl.id(), H5P_DEFAULT, H5P_DEFAULT), file_,
                      "create group " + name);
  return Group(Handle(id, H5Gclose), join_path(path_, name), file_);
}

Dataset Group::dataset(const std::string& name) const {
  if (!has(name)) throw file_error(file_, "has no dataset " + join_path(path_, name));
  hid_t id = H5Dopen2(handle_.id(), name.c_str(), H5P_DEFAULT);
  if (id < 0) throw file_error(file_, join_path(path_, name) + " is not a dataset");
  return Dataset(Handle(id, H5Dclose), join_path(path_, name), file_);
}

Dataset Group::dataset(const std::string& name, size_t chunk_cache_bytes) const {
  if (!has(name)) throw file_error(file_, "has no dataset " + join_path(path_, name));
  Handle access(H5Pcreate(H5P_DATASET_ACCESS), H5Pclose);
  // A prime number of hash slots, well above the number of chunks the cache can hold; w0 = 0:
  // evict the least recently used chunk, even if fully read (a batch may end inside it).
  H5Pset_chunk_cache(access.id(), 100003, chunk_cache_bytes, 0.0);
  hid_t id = H5Dopen2(handle_.id(), name.c_str(), access.id());
  if (id < 0) throw file_error(file_, join_path(path_, name) + " is not a dataset");
  return Dataset(Handle(id, H5Dclose), join_path(path_, name), file_);
}

Dataset Group::create_dataset(const std::string& name, hid_t type, const Dims& dims,
                              const DatasetOptions& options) {
  Dims max_dims;
  Dims chunk = options.chunk;
  if (options.extendable_first_axis) {
    max_dims = dims;
    max_dims[0] = H5S_UNLIMITED;
    if (chunk.empty()) {
      chunk = dims;
      chunk[0] = 1;
      for (auto& c : chunk) c = std::max<uint64_t>(c, 1);
    }
  }
  Handle space = make_simple_space(dims, max_dims);
  Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  // apical writes every element it creates: skip HDF5's fill-value pass over each new chunk.
  H5Pset_fill_time(dcpl.id(), H5D_FILL_TIME_NEVER);
  if (!chunk.empty()) {
    std::vector<hsize_t> c(chunk.begin(), chunk.end());
    check(H5Pset_chunk(dcpl.id(), int(c.size()), c.data()), file_, "set chunking for " + name);
    if (options.deflate_level > 0) {
      H5Pset_shuffle(dcpl.id());
      H5Pset_deflate(dcpl.id(), unsigned(options.deflate_level));
    }
  }
  Handle lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  H5Pset_create_intermediate_group(lcpl.id(), 1);
  hid_t id = check_id(H5Dcreate2(handle_.id(), name.c_str(), type, space.id(), lcpl.id(), dcpl.id(),
                                 H5P_DEFAULT),
                      file_, "create dataset " + name);
  return Dataset(Handle(id, H5Dclose), join_path(path_, name), file_);
}

template <typename T>
void Group::write(const std::string& name, const std::vector<T>& values, const Dims& dims) {
  Dims shape = dims.empty() ? Dims{values.size()} : dims;
  size_t n = std::accumulate(shape.begin(), shape.end(), size_t(1), std::multiplies<size_t>());
  if (n != values.size())
    throw std::runtime_error(file_ + ": shape does not match data size for " + name);
  Dataset ds = create_dataset<T>(name, shape);
  if (n > 0) ds.write_box(Dims(shape.size(), 0), shape, values.data());
}

std::vector<std::string> Group::children() const {
  std::vector<std::string> names;
  H5Literate(
      handle_.id(), H5_INDEX_NAME, H5_ITER_INC, nullptr,
      [](hid_t, const char* name, const H5L_info_t*, void* data) -> herr_t {
        static_cast<std::vector<std::string>*>(data)->push_back(name);
        return 0;
      },
      &names);
  return names;
}

std::vector<std::string> Group::dataset_paths() const {
  std::vector<std::string> paths;
  H5Ovisit(
      handle_.id(), H5_INDEX_NAME, H5_ITER_INC,
      [](hid_t, const char* name, const H5O_info_t* info, void* data) -> herr_t {
        if (info->type == H5O_TYPE_DATASET) static_cast<std::vector<std::string>*>(data)->push_back(name);
        return 0;
      },
      &paths);
  return paths;
}

template <typename T> void Group::set_attribute(const std::string& name, const T& value) {
  write_number_attribute(handle_.id(), name, value, file_);
}
void Group::set_attribute(const std::string& name, const std::string& value) {
  write_string_attribute(handle_.id(), name, value, file_);
}
std::optional<std::string> Group::string_attribute(const std::string& name) const {
  return read_string_attribute(handle_.id(), name);
}

std::optional<double> Group::number_attribute(const std::string& name) const {
  if (H5Aexists(handle_.id(), name.c_str()) <= 0) return std::nullopt;
  Handle attr(H5Aopen(handle_.id(), name.c_str(), H5P_DEFAULT), H5Aclose);
  Handle space(H5Aget_space(attr.id()), H5Sclose);
  Handle type(H5Aget_type(attr.id()), H5Tclose);
  H5T_class_t cls = H5Tget_class(type.id());
  if ((cls != H5T_INTEGER && cls != H5T_FLOAT) || H5Sget_simple_extent_npoints(space.id()) < 1)
    return std::nullopt;
  std::vector<double> values(size_t(H5Sget_simple_extent_npoints(space.id())));
  if (H5Aread(attr.id(), H5T_NATIVE_DOUBLE, values.data()) < 0) return std::nullopt;
  return values[0];
}

std::optional<uint64_t> Group::unsigned_attribute(const std::string& name) const {
  if (H5Aexists(handle_.id(), name.c_str()) <= 0) return std::nullopt;
  Handle attr(H5Aopen(handle_.id(), name.c_str(), H5P_DEFAULT), H5Aclose);
  Handle space(H5Aget_space(attr.id()), H5Sclose);
  Handle type(H5Aget_type(attr.id()), H5Tclose);
  if (H5Tget_class(type.id()) != H5T_INTEGER || H5Sget_simple_extent_npoints(space.id()) != 1) return std::nullopt;
  if (H5Tget_sign(type.id()) == H5T_SGN_2) {
    int64_t value = 0;
    if (H5Aread(attr.id(), H5T_NATIVE_INT64, &value) < 0 || value < 0) return std::nullopt;
    return uint64_t(value);
  }
  uint64_t value = 0;
  if (H5Aread(attr.id(), H5T_NATIVE_UINT64, &value) < 0) return std::nullopt;
  return value;
}

std::map<std::string, std::string> Group::attributes_as_text() const {
  std::map<std::string, std::string> out;
  int count = H5Aget_num_attrs(handle_.id());
  for (int i = 0; i < count; ++i) {
    Handle attr(H5Aopen_idx(handle_.id(), unsigned(i)), H5Aclose);
    char name[256] = {0};
    H5Aget_name(attr.id(), sizeof(name), name);
    if (auto text = string_attribute(name)) {
      out[name] = *text;
    } else if (auto number = number_attribute(name)) {
      std::string s = std::to_string(*number);
      out[name] = s;
    }
  }
  return out;
}

namespace {

int descriptor_of(hid_t object) {
  Handle file(H5Iget_file_id(object), H5Fclose);
  if (!file.valid()) return -1;
  // apical opens every file with the default (sec2) driver, which hands out its POSIX
  // descriptor. HDF5 1.14+ lets HDF5_DRIVER choose another, whose handle is something else:
  // then no descriptor, no page-cache hints. (Asking the access property list instead made
  // `apical register` ~8 % slower.)
  if (std::getenv("HDF5_DRIVER")) return -1;
  void* vfd = nullptr;
  if (H5Fget_vfd_handle(file.id(), H5P_DEFAULT, &vfd) < 0 || !vfd) return -1;
  return *static_cast<int*>(vfd);
}

}  // namespace

int Dataset::file_descriptor() const { return descriptor_of(handle_.id()); }
int Group::file_descriptor() const { return descriptor_of(handle_.id()); }

File File::open_read(const std::string& path) {
  silence_library_errors();
  htri_t is_hdf5 = H5Fis_hdf5(path.c_str());
  if (is_hdf5 <= 0) throw file_error(path, "is not an HDF5 file (or cannot be read)");
  hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0) throw file_error(path, "cannot open as HDF5 (corrupt or truncated?)");
  return File(Handle(id, H5Fclose), path, false);
}

File File::create(const std::string& path) {
  silence_library_errors();
  hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (id < 0) throw file_error(path, "cannot create HDF5 file (is the folder writable?)");
  return File(Handle(id, H5Fclose), path, true);
}

int File::flush_and_close() {
  H5Eclear2(H5E_DEFAULT);
  const hid_t id = handle_.release();
  // A file whose flush failed is left open: HDF5 1.10 can crash closing it (and at exit,
  // hence skip_library_cleanup_at_exit). The process is about to fail anyway.
  if (H5Fflush(id, H5F_SCOPE_LOCAL) < 0) return write_failure_errno_or_eio(path_);
  if (H5Fclose(id) < 0) return write_failure_errno_or_eio(path_);
  return 0;
}

void File::close() {
  if (!handle_.valid()) return;
  if (!writable_) {
    handle_.reset();
    return;
  }
  if (int error_number = flush_and_close()) throw write_error(path_, error_number);
}

File::~File() {
  if (!handle_.valid()) return;
  if (!writable_) return;  // the handle closes itself
  if (int error_number = flush_and_close()) record_write_failure(path_, error_number);
}

Group File::root() const {
  hid_t id = H5Gopen2(handle_.id(), "/", H5P_DEFAULT);
  return Group(Handle(id, H5Gclose), "/", path_);
}

#define APICAL_H5_INSTANTIATE(T)                                                             \
  template std::vector<T> Dataset::read<T>() const;                                          \
  template void Dataset::read_box<T>(const Dims&, const Dims&, T*) const;                    \
  template void Dataset::write_box<T>(const Dims&, const Dims&, const T*);                   \
  template void Dataset::set_attribute<T>(const std::string&, const T&);                     \
  template void Group::write<T>(const std::string&, const std::vector<T>&, const Dims&);     \
  template void Group::set_attribute<T>(const std::string&, const T&);
APICAL_H5_INSTANTIATE(float)
APICAL_H5_INSTANTIATE(double)
APICAL_H5_INSTANTIATE(int8_t)
APICAL_H5_INSTANTIATE(uint8_t)
APICAL_H5_INSTANTIATE(int16_t)
APICAL_H5_INSTANTIATE(uint16_t)
APICAL_H5_INSTANTIATE(int32_t)
APICAL_H5_INSTANTIATE(uint32_t)
APICAL_H5_INSTANTIATE(int64_t)
APICAL_H5_INSTANTIATE(uint64_t)
#undef APICAL_H5_INSTANTIATE

}  // namespace apical::h5
