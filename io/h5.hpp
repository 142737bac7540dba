#pragma once
// Small RAII layer over the HDF5 C API. Stages never call H5* functions directly:
// they read and write through these types, so every handle is closed on every path.
#include <hdf5.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace apical::h5 {

// One owned hid_t; closes with the right H5*close on destruction.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  Handle(Handle&& other) noexcept : id_(other.id_), closer_(other.closer_) { other.id_ = -1; }
  Handle& operator=(Handle&& other) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }
  void reset();
  hid_t release() {  // gives up ownership without closing
    hid_t id = id_;
    id_ = -1;
    return id;
  }
  hid_t id() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  hid_t id_ = -1;
  Closer closer_ = nullptr;
};

// Element types apical stores, mapped to HDF5 native types.
template <typename T> hid_t native_type();

// Shape of a dataset, slowest axis first.
using Dims = std::vector<uint64_t>;

class Group;

// A dataset handle with typed whole-array and hyperslab access.
class Dataset {
 public:
  Dataset(Handle handle, std::string path, std::string file)
      : handle_(std::move(handle)), path_(std::move(path)), file_(std::move(file)) {}
  Dataset(Dataset&&) = default;
  Dataset& operator=(Dataset&&) = default;
  // Closing a dataset writes the chunks it still caches. That write can fail (a full disk)
  // where nothing can be thrown: the failure is recorded (record_write_failure) so that the
  // AtomicOutput holding the file refuses to commit it.
  ~Dataset();
  Dims dims() const;
  // Chunk shape; empty for contiguous storage.
  Dims chunk_dims() const;
  // Bytes per stored element.
  size_t element_bytes() const;
  // "uint16", "int16", "float32", ... of the stored element type.
  std::string type_name() const;
  const std::string& path() const { return path_; }
  const std::string& file() const { return file_; }
  hid_t id() const { return handle_.id(); }  // for io's direct chunk reads (io/h5_chunks)

  template <typename T> std::vector<T> read() const;
  // Reads the box [offset, offset+count) (one entry per axis) into out (size = product of count).
  template <typename T> void read_box(const Dims& offset, const Dims& count, T* out) const;
  // Writes a box; for extendable datasets, extend() first.
  template <typename T> void write_box(const Dims& offset, const Dims& count, const T* data);
  void extend(const Dims& new_dims);
  // The POSIX descriptor HDF5 reads and writes the file through (for page-cache hints).
  int file_descriptor() const;

  template <typename T> void set_attribute(const std::string& name, const T& value);
  void set_attribute(const std::string& name, const std::string& value);
  std::optional<std::string> string_attribute(const std::string& name) const;
  // Names of the dimensions, slowest first (HDF5 dimension labels, h5py's ds.dims[i].label).
  void set_dimension_labels(const std::vector<std::string>& labels);
  bool dimension_labels_complete() const;  // every dimension has a non-empty label

 private:
  void read_box_raw(const Dims& offset, const Dims& count, hid_t mem_type, void* out) const;
  void write_box_raw(const Dims& offset, const Dims& count, hid_t mem_type, const void* data);
  Handle handle_;
  std::string path_;
  std::string file_;
};

// Options for creating a dataset.
struct DatasetOptions {
  Dims chunk;             // empty: contiguous (or automatic for extendable)
  int deflate_level = 0;  // 0: no compression
  bool extendable_first_axis = false;  // unlimited along axis 0 (streamed movies)
};

// A group (or the file root); creates and opens datasets and subgroups by relative path.
class Group {
 public:
  Group(Handle handle, std::string path, std::string file)
      : handle_(std::move(handle)), path_(std::move(path)), file_(std::move(file)) {}
  bool has(const std::string& name) const;
  Group group(const std::string& name) const;            // opens; InputError if absent
  Group create_group(const std::string& name);           // creates (or opens if present)
  Dataset dataset(const std::string& name) const;        // opens; InputError if absent
  // Opens with a chunk cache of this many bytes (HDF5's default is 1 MiB per dataset, less
  // than one chunk of most movies: every read would decompress its chunks again).
  Dataset dataset(const std::string& name, size_t chunk_cache_bytes) const;
  Dataset create_dataset(const std::string& name, hid_t type, const Dims& dims,
                         const DatasetOptions& options = {});
  template <typename T> Dataset create_dataset(const std::string& name, const Dims& dims,
                                               const DatasetOptions& options = {}) {
    return create_dataset(name, native_type<T>(), dims, options);
  }
  template <typename T> void write(const std::string& name, const std::vector<T>& values,
                                   const Dims& dims = {});
  template <typename T> std::vector<T> read(const std::string& name) const {
    return dataset(name).read<T>();
  }
  std::vector<std::string> children() const;
  // Paths (relative to this group) of every dataset below it, in name order.
  std::vector<std::string> dataset_paths() const;

  template <typename T> void set_attribute(const std::string& name, const T& value);
  void set_attribute(const std::string& name, const std::string& value);
  void set_attribute(const std::string& name, const char* value) {
    set_attribute(name, std::string(value));
  }
  std::optional<std::string> string_attribute(const std::string& name) const;
  std::optional<double> number_attribute(const std::string& name) const;
  // An integer attribute read exactly (a double loses integers above 2^53); nullopt when absent,
  // not an integer, or negative.
  std::optional<uint64_t> unsigned_attribute(const std::string& name) const;
  std::map<std::string, std::string> attributes_as_text() const;
  const std::string& path() const { return path_; }
  const std::string& file() const { return file_; }
  hid_t id() const { return handle_.id(); }
  int file_descriptor() const;

 private:
  Handle handle_;
  std::string path_;
  std::string file_;
};

// An open HDF5 file. open() fails with an InputError naming the file when it is not HDF5.
class File {
 public:
  static File open_read(const std::string& path);
  static File create(const std::string& path);  // truncates
  File(File&&) = default;
  File& operator=(File&&) = default;
  // A file being written that was not close()d records any failure of its final flush
  // (record_write_failure), so the AtomicOutput holding it refuses to commit.
  ~File();
  // Flushes and closes a file being written: every cached chunk and all metadata reach the
  // file now, so a full disk is an InputError naming it (write_error) instead of a silently
  // short file. Groups and datasets still open stay usable for reading until they close.
  void close();
  Group root() const;
  const std::string& path() const { return path_; }

 private:
  File(Handle handle, std::string path, bool writable)
      : handle_(std::move(handle)), path_(std::move(path)), writable_(writable) {}
  // 0 when the flush and close succeeded, else the errno (EIO when HDF5 names none).
  int flush_and_close();
  Handle handle_;
  std::string path_;
  bool writable_ = false;
};

// Turns HDF5's own error printing off for the process (apical reports its own messages).
void silence_library_errors();
// Call first in main(), before any HDF5 call. HDF5's exit-time cleanup closes files left
// open, and crashes (1.10.8) on one whose writes failed (a full disk). apical closes every
// file it wrote itself, and a temporary whose flush failed is deleted, so nothing is lost.
void skip_library_cleanup_at_exit();

}  // namespace apical::h5
