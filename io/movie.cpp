#include "io/movie.hpp"

#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <optional>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <sstream>

#include "io/error.hpp"
#include "io/h5.hpp"
#include "io/h5_chunks.hpp"
#include "io/page_cache.hpp"
#include "io/scanimage.hpp"
#include "io/tiff.hpp"

namespace apical {

namespace fs = std::filesystem;

void PageSource::read_pages(int64_t first, int64_t stride, int count, float* out) const {
  constexpr int ahead = 8;  // pages in flight: enough to hide the disk's latency
  const size_t frame = size_t(height()) * width();
  read_ahead(
      count, ahead, [&](int i) { prefetch_page(first + i * stride); },
      [&](int i) { read_page(first + i * stride, out + size_t(i) * frame); });
}

void Movie::require_finite(const FrameStack& batch, int plane, const std::string& source) const {
  const std::string d = dtype();
  for (const char* integer : {"uint8", "int8", "uint16", "int16", "uint32", "int32", "uint64", "int64"})
    if (d == integer) return;
  check_finite(batch, plane, source);
}

void Movie::check_finite(const FrameStack& batch, int plane, const std::string& source) {
  const size_t n = batch.frame_size();
  for (int t = 0; t < batch.count; ++t) {
    const float* f = batch.frame_data(t);
    // Branch-free scan of the exponent bits (vectorizes); the slow search only on a hit.
    uint32_t all_ones_exponent = 0;
    for (size_t i = 0; i < n; ++i) {
      uint32_t bits;
      std::memcpy(&bits, f + i, 4);
      all_ones_exponent |= uint32_t((bits & 0x7f800000u) == 0x7f800000u);
    }
    if (!all_ones_exponent) continue;
    for (size_t i = 0; i < n; ++i)
      if (!std::isfinite(f[i]))
        throw file_error(source, "plane " + std::to_string(plane) + " frame " +
                                     std::to_string(batch.first_frame + t) + " contains NaN or Inf at pixel (" +
                                     std::to_string(i / batch.width) + ", " + std::to_string(i % batch.width) + ")");
  }
}

namespace {

// Natural order: "file2.tif" before "file10.tif".
bool natural_less(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit((unsigned char)a[i]) && std::isdigit((unsigned char)b[j])) {
      size_t i2 = i, j2 = j;
      while (i2 < a.size() && std::isdigit((unsigned char)a[i2])) ++i2;
      while (j2 < b.size() && std::isdigit((unsigned char)b[j2])) ++j2;
      std::string na = a.substr(i, i2 - i), nb = b.substr(j, j2 - j);
      na.erase(0, std::min(na.find_first_not_of('0'), na.size()));
      nb.erase(0, std::min(nb.find_first_not_of('0'), nb.size()));
      if (na.size() != nb.size()) return na.size() < nb.size();
      if (na != nb) return na < nb;
      i = i2;
      j = j2;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

bool has_extension(const std::string& path, std::initializer_list<const char*> exts) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
  for (const char* e : exts)
    if (ext == e) return true;
  return false;
}

bool is_tiff_path(const std::string& p) { return has_extension(p, {".tif", ".tiff"}); }
bool is_hdf5_path(const std::string& p) { return has_extension(p, {".h5", ".hdf5", ".hdf"}); }

// ----------------------------------------------------------------- TIFF pages, many files

class TiffPages : public PageSource {
 public:
  explicit TiffPages(const std::vector<std::string>& files) {
    int64_t total = 0;
    for (const auto& f : files) {
      readers_.push_back(std::make_unique<TiffReader>(f));
      const TiffReader& r = *readers_.back();
      const TiffReader& first = *readers_.front();
      if (r.height() != first.height() || r.width() != first.width() ||
          r.sample_type() != first.sample_type())
        throw file_error(f, "pages are " + std::to_string(r.width()) + "x" + std::to_string(r.height()) +
                                " " + sample_type_name(r.sample_type()) + " but " + first.path() + " has " +
                                std::to_string(first.width()) + "x" + std::to_string(first.height()) + " " +
                                sample_type_name(first.sample_type()));
      starts_.push_back(total);
      total += r.pages();
    }
    total_ = total;
  }
  int64_t pages() const override { return total_; }
  int height() const override { return readers_[0]->height(); }
  int width() const override { return readers_[0]->width(); }
  std::string dtype() const override { return sample_type_name(readers_[0]->sample_type()); }
  void read_page(int64_t index, float* out) const override {
    const size_t file = file_of(index);
    readers_[file]->read_page(index - starts_[file], out);
  }
  void check_unchanged() const override {
    for (const auto& reader : readers_) reader->check_unchanged();
  }
  void prefetch_page(int64_t index) const override {
    if (index < 0 || index >= total_) return;
    const size_t file = file_of(index);
    readers_[file]->prefetch_page(index - starts_[file]);
  }
  std::vector<std::string> files() const override {
    std::vector<std::string> out;
    for (const auto& r : readers_) out.push_back(r->path());
    return out;
  }
  Acquisition metadata() const override {
    const TiffReader& r = *readers_[0];
    for (const std::string* text : {&r.scanimage_header(), &r.first_description(), &r.software()}) {
      bool found = false;
      try {
        Acquisition a = scanimage_acquisition(*text, found);
        if (found) return a;
      } catch (const InputError& e) {
        throw file_error(r.path(), e.what());
      }
    }
    return {};
  }

 private:
  size_t file_of(int64_t index) const {
    return size_t(std::upper_bound(starts_.begin(), starts_.end(), index) - starts_.begin()) - 1;
  }
  std::vector<std::unique_ptr<TiffReader>> readers_;
  std::vector<int64_t> starts_;
  int64_t total_ = 0;
};

// ----------------------------------------------------------------- frame sizes

// Frames beyond this side are not microscope frames but a damaged header; reading one
// would allocate gigabytes before anything else could notice.
constexpr uint64_t kMaxFrameSide = 65536;

void check_frame_size(const std::string& file, uint64_t height, uint64_t width) {
  if (height == 0 || width == 0 || height > kMaxFrameSide || width > kMaxFrameSide)
    throw file_error(file, "frames of " + std::to_string(height) + "x" + std::to_string(width) +
                               " px are not plausible (each side 1.." + std::to_string(kMaxFrameSide) + ")");
}

// ----------------------------------------------------------------- axis orders

struct AxisOrder {
  int t = 0, y = 1, x = 2;  // position of each axis in the stored array
};

AxisOrder parse_axes(const std::string& axes, const std::string& file) {
  std::string a = axes;
  std::transform(a.begin(), a.end(), a.begin(), ::tolower);
  if (a.size() != 3 || std::count(a.begin(), a.end(), 't') != 1 ||
      std::count(a.begin(), a.end(), 'y') != 1 || std::count(a.begin(), a.end(), 'x') != 1)
    throw file_error(file, "axis order '" + axes + "' must be a permutation of t, y and x (e.g. tyx, yxt)");
  return AxisOrder{int(a.find('t')), int(a.find('y')), int(a.find('x'))};
}

// Copies frames from a box read in stored order into [T][H][W].
void reorder_to_tyx(const std::vector<float>& box, const std::vector<uint64_t>& count,
                    const AxisOrder& order, int frames, int height, int width, float* out) {
  std::vector<uint64_t> stride(3);
  stride[2] = 1;
  stride[1] = count[2];
  stride[0] = count[1] * count[2];
  for (int t = 0; t < frames; ++t)
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x)
        out[(size_t(t) * height + y) * width + x] =
            box[t * stride[order.t] + y * stride[order.y] + x * stride[order.x]];
}

// ----------------------------------------------------------------- HDF5 dataset pages

class Hdf5Pages : public PageSource {
 public:
  Hdf5Pages(const std::string& path, std::string dataset, const std::string& axes)
      : path_(path), file_(h5::File::open_read(path)), order_(parse_axes(axes, path)) {
    if (dataset.empty()) dataset = find_only_3d_dataset();
    std::optional<h5::Dataset> ds(file_.root().dataset(dataset));
    dataset_ = dataset;
    dims_ = ds->dims();
    dtype_ = ds->type_name();
    if (dims_.size() != 3)
      throw file_error(path, "dataset " + dataset + " has " + std::to_string(dims_.size()) +
                                 " dimensions; a movie needs 3 (" + axes + ")");
    if (dtype_ == "string" || dtype_ == "compound" || dtype_ == "other")
      throw file_error(path, "dataset " + dataset + " is not numeric");
    for (auto d : dims_)
      if (d == 0) throw file_error(path, "dataset " + dataset + " is empty");
    check_frame_size(path, dims_[size_t(order_.y)], dims_[size_t(order_.x)]);
    if (dims_[size_t(order_.t)] > uint64_t(INT64_MAX))
      throw file_error(path, "dataset " + dataset + " has an implausible frame count");
    // HDF5 shares one chunk cache among all open handles of a dataset, sized at the first
    // open: the probing handle must be closed before the reading one opens with its cache.
    // Deflate(+Shuffle) chunks are inflated by apical in parallel and cached inflated; HDF5's
    // own cache then only needs its default size. Other filters go through H5Dread's cache.
    const size_t cache_bytes = chunk_cache_bytes(*ds);
    inflating_ = h5::InflatingChunkReader::open(*ds, cache_bytes);
    ds.reset();
    reader_.emplace(file_.root().dataset(dataset_, inflating_ ? size_t(1) << 20 : cache_bytes));
  }
  int64_t pages() const override { return int64_t(dims_[size_t(order_.t)]); }
  int height() const override { return int(dims_[size_t(order_.y)]); }
  int width() const override { return int(dims_[size_t(order_.x)]); }
  std::string dtype() const override { return dtype_; }
  void read_page(int64_t index, float* out) const override { read_pages(index, 1, 1, out); }
  void read_pages(int64_t first, int64_t stride, int count, float* out) const override {
    if (stride != 1) {
      PageSource::read_pages(first, stride, count, out);
      return;
    }
    std::lock_guard<std::mutex> lock(read_mutex_);
    const h5::Dataset& ds = *reader_;
    std::vector<uint64_t> offset(3, 0), box = dims_;
    offset[size_t(order_.t)] = uint64_t(first);
    box[size_t(order_.t)] = uint64_t(count);
    // No drop-behind here: a user's HDF5 may be chunked across time or stored in another
    // axis order, so a batch of frames can share chunks with the next; the cache keeps those.
    if (order_.t == 0) {
      read_box(ds, offset, box, out);
      if (order_.y == 2) {  // "txy": transpose each frame
        std::vector<float> copy(out, out + size_t(count) * height() * width());
        reorder_to_tyx(copy, box, order_, count, height(), width(), out);
      }
      return;
    }
    std::vector<float> buffer(size_t(count) * height() * width());
    read_box(ds, offset, box, buffer.data());
    reorder_to_tyx(buffer, box, order_, count, height(), width(), out);
  }
  std::vector<std::string> files() const override { return {path_}; }

 private:
  void read_box(const h5::Dataset& ds, const h5::Dims& offset, const h5::Dims& box, float* out) const {
    if (inflating_) inflating_->read_box(ds, offset, box, out);
    else ds.read_box<float>(offset, box, out);
  }
  // Enough chunk cache for every chunk a run of frames touches, twice over along time, so
  // each compressed chunk is decompressed once however the frames are batched (HDF5's
  // default 1 MiB holds less than one chunk of most movies); and at least 256 MiB, so the
  // frames registration samples across the movie for its reference hit cached chunks of a
  // short movie too. At most 1 GiB (it fills only as chunks are read).
  size_t chunk_cache_bytes(const h5::Dataset& ds) const {
    const std::vector<uint64_t> chunk = ds.chunk_dims();
    if (chunk.size() != 3) return size_t(1) << 20;
    double bytes = double(ds.element_bytes());
    for (size_t axis = 0; axis < 3; ++axis) {
      const double across = std::ceil(double(dims_[axis]) / double(chunk[axis]));
      bytes *= double(chunk[axis]) * (int(axis) == order_.t ? 2.0 : across);
    }
    return size_t(std::clamp(bytes, double(size_t(256) << 20), double(size_t(1) << 30)));
  }
  std::string find_only_3d_dataset() const {
    std::vector<std::string> found;
    collect_3d(file_.root(), found);
    if (found.size() == 1) return found[0];
    if (found.empty()) throw file_error(path_, "holds no 3-D dataset; name one with --dataset");
    std::string list;
    for (auto& f : found) list += " " + f;
    throw file_error(path_, "holds several 3-D datasets (" + list + " ); choose one with --dataset");
  }
  void collect_3d(const h5::Group& group, std::vector<std::string>& found) const {
    for (const auto& name : group.children()) {
      std::string full = group.path() == "/" ? "/" + name : group.path() + "/" + name;
      H5O_info_t info;
      if (H5Oget_info_by_name(group.id(), name.c_str(), &info, H5P_DEFAULT) < 0) continue;
      if (info.type == H5O_TYPE_GROUP) collect_3d(group.group(name), found);
      else if (info.type == H5O_TYPE_DATASET && group.dataset(name).dims().size() == 3)
        found.push_back(full);
    }
  }
  std::string path_;
  h5::File file_;
  AxisOrder order_;
  std::string dataset_;
  std::vector<uint64_t> dims_;
  std::string dtype_;
  std::optional<h5::Dataset> reader_;  // kept open: its chunk cache lives as long as it does
  mutable std::optional<h5::InflatingChunkReader> inflating_;  // Deflate chunks (under read_mutex_)
  mutable std::mutex read_mutex_;
};

// ----------------------------------------------------------------- raw binary pages

SampleType parse_dtype(const std::string& name, const std::string& file) {
  for (SampleType t : {SampleType::uint8, SampleType::uint16, SampleType::int16, SampleType::uint32,
                       SampleType::int32, SampleType::float32})
    if (sample_type_name(t) == name) return t;
  throw file_error(file, "raw dtype '" + name + "' unknown (uint8, uint16, int16, uint32, int32, float32)");
}

class RawPages : public PageSource {
 public:
  RawPages(const std::string& path, const std::vector<int64_t>& shape, const std::string& axes,
           const std::string& dtype)
      : path_(path), type_(parse_dtype(dtype, path)) {
    AxisOrder order = parse_axes(axes, path);
    if (order.t != 0 || order.y != 1)
      throw file_error(path, "raw files must be stored frame by frame (axes tyx)");
    if (shape.size() != 3) throw file_error(path, "raw files need --raw-shape T,H,W");
    if (shape[0] < 1) throw file_error(path, "--raw-shape: the frame count must be at least 1");
    check_frame_size(path, uint64_t(std::max<int64_t>(shape[1], 0)), uint64_t(std::max<int64_t>(shape[2], 0)));
    frames_ = shape[0];
    height_ = int(shape[1]);
    width_ = int(shape[2]);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw file_error(path, std::string("cannot open: ") + std::strerror(errno));
    fd_ = FileDescriptor(fd);
    struct stat st {};
    ::fstat(fd, &st);
    const uint64_t frame_bytes = uint64_t(height_) * uint64_t(width_) * sample_type_bytes(type_);
    // Compared by division: frames x frame_bytes may not fit in 64 bits.
    const uint64_t size = uint64_t(st.st_size);
    if (size % frame_bytes != 0 || size / frame_bytes != uint64_t(frames_))
      throw file_error(path, "has " + std::to_string(size) + " bytes (" + std::to_string(size / frame_bytes) +
                                 " frames of " + std::to_string(frame_bytes) + " bytes) but shape " +
                                 std::to_string(frames_) + "x" + std::to_string(height_) + "x" +
                                 std::to_string(width_) + " " + dtype + " needs " + std::to_string(frames_) + " frames");
  }
  int64_t pages() const override { return frames_; }
  int height() const override { return height_; }
  int width() const override { return width_; }
  std::string dtype() const override { return sample_type_name(type_); }
  void read_page(int64_t index, float* out) const override {
    size_t n = size_t(height_) * width_;
    size_t bytes = n * sample_type_bytes(type_);
    thread_local std::vector<unsigned char> buffer;
    buffer.resize(bytes);
    size_t done = 0;
    while (done < bytes) {
      ssize_t r = ::pread(fd_.get(), buffer.data() + done, bytes - done, off_t(index * bytes + done));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) throw file_error(path_, "truncated while reading frame " + std::to_string(index));
      done += size_t(r);
    }
    DropBehind(fd_.get()).after_read(uint64_t(index) * bytes, bytes);
    for (size_t i = 0; i < n; ++i) {
      const unsigned char* p = buffer.data() + i * sample_type_bytes(type_);
      switch (type_) {
        case SampleType::uint8: out[i] = p[0]; break;
        case SampleType::uint16: { uint16_t v; std::memcpy(&v, p, 2); out[i] = v; break; }
        case SampleType::int16: { int16_t v; std::memcpy(&v, p, 2); out[i] = v; break; }
        case SampleType::uint32: { uint32_t v; std::memcpy(&v, p, 4); out[i] = float(v); break; }
        case SampleType::int32: { int32_t v; std::memcpy(&v, p, 4); out[i] = float(v); break; }
        case SampleType::float32: std::memcpy(&out[i], p, 4); break;
      }
    }
  }
  std::vector<std::string> files() const override { return {path_}; }

 private:
  std::string path_;
  SampleType type_;
  FileDescriptor fd_;
  int64_t frames_ = 0;
  int height_ = 0, width_ = 0;
};

// ----------------------------------------------------------------- interleaved planes

class InterleavedMovie : public Movie {
 public:
  InterleavedMovie(std::unique_ptr<PageSource> pages, Acquisition acquisition, int channel)
      : pages_(std::move(pages)), acquisition_(std::move(acquisition)), channel_(channel) {
    const auto& a = acquisition_;
    std::string file = pages_->files().empty() ? "input" : pages_->files()[0];
    if (a.planes < 1 || a.channels < 1 || a.flyback_frames < 0)
      throw file_error(file, "planes and channels must be at least 1");
    if (channel_ < 0 || channel_ >= a.channels)
      throw file_error(file, "channel " + std::to_string(channel_) + " requested but the file has " +
                                 std::to_string(a.channels) + " channel(s)");
    if (!a.roles.empty() && int(a.roles.size()) != a.planes)
      throw file_error(file, std::to_string(a.roles.size()) + " plane roles given for " +
                                 std::to_string(a.planes) + " planes");
    volume_pages_ = int64_t(a.planes + a.flyback_frames) * a.channels;
    frames_ = pages_->pages() / volume_pages_;
    if (frames_ == 0)
      throw file_error(file, "holds " + std::to_string(pages_->pages()) + " pages, fewer than one volume (" +
                                 std::to_string(volume_pages_) + " pages)");
  }
  int planes() const override { return acquisition_.planes; }
  int64_t frames() const override { return frames_; }
  int height() const override { return pages_->height(); }
  int width() const override { return pages_->width(); }
  std::string dtype() const override { return pages_->dtype(); }
  const Acquisition& acquisition() const override { return acquisition_; }
  std::vector<std::string> files() const override { return pages_->files(); }
  void check_unchanged() const override { pages_->check_unchanged(); }
  int64_t leftover_pages() const { return pages_->pages() - frames_ * volume_pages_; }
  void read(int plane, int64_t first, int count, FrameStack& out) const override {
    if (plane < 0 || plane >= planes() || first < 0 || first + count > frames_)
      throw InputError("read outside the movie: plane " + std::to_string(plane) + " frames " +
                       std::to_string(first) + ".." + std::to_string(first + count));
    out.reshape(first, count, height(), width());
    pages_->read_pages(page_of(plane, first), volume_pages_, count, out.pixels.data());
  }
  void prefetch(int plane, int64_t frame) const override {
    if (plane >= 0 && plane < planes() && frame >= 0 && frame < frames_) pages_->prefetch_page(page_of(plane, frame));
  }

 private:
  int64_t page_of(int plane, int64_t frame) const {
    return frame * volume_pages_ + int64_t(plane) * acquisition_.channels + channel_;
  }
  std::unique_ptr<PageSource> pages_;
  Acquisition acquisition_;
  int channel_;
  int64_t volume_pages_ = 1;
  int64_t frames_ = 0;
};

Acquisition apply_overrides(Acquisition a, const AcquisitionOverrides& o) {
  bool changed = false;
  if (o.planes > 0) { a.planes = o.planes; changed = true; }
  if (o.channels > 0) { a.channels = o.channels; changed = true; }
  if (o.flyback_frames >= 0) { a.flyback_frames = o.flyback_frames; changed = true; }
  if (o.frame_rate_hz > 0) { a.frame_rate_hz = o.frame_rate_hz; changed = true; }
  if (o.pixel_size_um > 0) { a.pixel_size_um = o.pixel_size_um; changed = true; }
  if (!o.roles.empty()) { a.roles = o.roles; changed = true; }
  if (changed) a.source = a.source.empty() ? "apical.ini/flags" : a.source + " + apical.ini/flags";
  return a;
}

}  // namespace

std::vector<std::string> expand_movie_paths(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const auto& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> found;
      for (const auto& entry : fs::directory_iterator(p))
        if (entry.is_regular_file() && (is_tiff_path(entry.path().string()) || is_hdf5_path(entry.path().string())))
          found.push_back(entry.path().string());
      std::sort(found.begin(), found.end(), natural_less);
      if (found.empty()) throw file_error(p, "folder holds no .tif/.tiff/.h5 movie files");
      out.insert(out.end(), found.begin(), found.end());
    } else if (p.find_first_of("*?[") != std::string::npos) {
      glob_t g{};
      std::vector<std::string> found;
      if (::glob(p.c_str(), 0, nullptr, &g) == 0)
        for (size_t i = 0; i < g.gl_pathc; ++i) found.push_back(g.gl_pathv[i]);
      globfree(&g);
      std::sort(found.begin(), found.end(), natural_less);
      if (found.empty()) throw file_error(p, "pattern matches no file");
      out.insert(out.end(), found.begin(), found.end());
    } else {
      if (!fs::exists(p, ec)) throw file_error(p, "does not exist");
      out.push_back(p);
    }
  }
  if (out.empty()) throw InputError("no input movie given");
  return out;
}

std::vector<int64_t> parse_raw_shape(const std::string& text) {
  std::vector<int64_t> shape;
  std::stringstream s(text);
  std::string part;
  while (std::getline(s, part, ',')) {
    size_t used = 0;
    int64_t value = 0;
    try {
      value = std::stoll(part, &used);
    } catch (...) {
      used = 0;
    }
    if (used == 0 || used != part.size() || value < 1)
      throw InputError("--raw-shape: '" + part + "' is not a positive whole number (expected T,H,W)");
    shape.push_back(value);
  }
  return shape;
}

std::unique_ptr<PageSource> open_pages(const MovieSpec& spec) {
  std::vector<std::string> files = expand_movie_paths(spec.paths);
  bool all_tiff = std::all_of(files.begin(), files.end(), is_tiff_path);
  if (all_tiff) return std::make_unique<TiffPages>(files);
  if (files.size() != 1)
    throw file_error(files[0], "several inputs must all be TIFF files; HDF5 and raw take one file");
  if (is_hdf5_path(files[0]) || H5Fis_hdf5(files[0].c_str()) > 0)
    return std::make_unique<Hdf5Pages>(files[0], spec.dataset, spec.axes);
  if (!spec.raw_dtype.empty() || !spec.raw_shape.empty())
    return std::make_unique<RawPages>(files[0], spec.raw_shape, spec.axes, spec.raw_dtype);
  // Unknown extension: try TIFF, whose header check gives a clear message.
  return std::make_unique<TiffPages>(files);
}

std::unique_ptr<Movie> open_movie(const MovieSpec& spec, const AcquisitionOverrides& overrides) {
  std::unique_ptr<PageSource> pages = open_pages(spec);
  Acquisition acquisition = apply_overrides(pages->metadata(), overrides);
  return std::make_unique<InterleavedMovie>(std::move(pages), acquisition, spec.channel);
}

}  // namespace apical
