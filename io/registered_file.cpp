#include "io/registered_file.hpp"

#include "io/error.hpp"
#include "io/h5_columns.hpp"
#include "io/h5_image.hpp"
#include "io/page_cache.hpp"
#include "io/plane_groups.hpp"

namespace apical {

std::string registered_movie_dataset(int plane) { return "/" + plane_group_name(size_t(plane)) + "/movie"; }

namespace {

using h5::read_if_present;
using h5::shift_rows;
using h5::shifts_of_rows;

hid_t movie_type(const std::string& dtype) {
  if (dtype == "int16") return H5T_NATIVE_INT16;
  if (dtype == "uint16") return H5T_NATIVE_UINT16;
  return H5T_NATIVE_FLOAT;
}

void write_block_shifts(h5::Group& g, const RegisteredPlane& p) {
  const size_t blocks = p.block_centres_y.size() * p.block_centres_x.size();
  std::vector<float> rows;
  rows.reserve(p.block_shifts.size() * blocks * 2);
  for (const auto& frame_blocks : p.block_shifts) {
    const std::vector<float> r = shift_rows(frame_blocks);
    rows.insert(rows.end(), r.begin(), r.end());
  }
  g.write("block_shifts", rows, {uint64_t(p.block_shifts.size()), uint64_t(blocks), 2});
  g.write("block_centres_y", p.block_centres_y);
  g.write("block_centres_x", p.block_centres_x);
}

void read_block_shifts(const h5::Group& g, RegisteredPlane& p) {
  if (!g.has("block_shifts")) return;
  p.block_centres_y = g.read<float>("block_centres_y");
  p.block_centres_x = g.read<float>("block_centres_x");
  const h5::Dataset d = g.dataset("block_shifts");
  const h5::Dims dims = d.dims();
  if (dims.size() != 3 || dims[1] != p.block_centres_y.size() * p.block_centres_x.size() || dims[2] != 2)
    throw file_error(g.file(), d.path() + " does not match the block grid of block_centres_y/x");
  const std::vector<Shift> all = shifts_of_rows(d.read<float>());
  for (size_t t = 0; t < dims[0]; ++t)
    p.block_shifts.emplace_back(all.begin() + long(t * dims[1]), all.begin() + long((t + 1) * dims[1]));
}

RegisteredMovieShape movie_shape(const h5::Group& g) {
  if (!g.has("movie")) return {};
  const h5::Dims dims = g.dataset("movie").dims();
  if (dims.size() != 3) throw file_error(g.file(), g.path() + "/movie is not [frames, y, x]");
  return {int64_t(dims[0]), int(dims[1]), int(dims[2])};
}

void read_images(const h5::Group& g, RegisteredPlane& p) {
  const std::pair<const char*, cv::Mat*> images[] = {{"reference", &p.reference},
                                                     {"mean_image", &p.mean_image},
                                                     {"max_image", &p.max_image},
                                                     {"raw_mean_image", &p.raw_mean_image}};
  for (const auto& [name, image] : images)
    if (g.has(name)) *image = h5::read_image(g, name);
}

RegisteredPlane read_plane(const h5::Group& g, const RegisteredSelection& selection) {
  RegisteredPlane p;
  p.movie = movie_shape(g);
  p.role = g.string_attribute("role").value_or("");
  p.frame_rate_hz = g.number_attribute("frame_rate_hz").value_or(0);
  // Only the movie is required: a registered.h5 written by other tools may hold nothing else.
  p.shifts = shifts_of_rows(read_if_present<float>(g, "shifts"));
  p.frame_correlation = read_if_present<float>(g, "frame_correlation");
  p.blank_rows = read_if_present<uint16_t>(g, "blank_rows");
  p.blank_rows_registered = read_if_present<uint16_t>(g, "blank_rows_registered");
  p.no_signal = read_if_present<uint8_t>(g, "no_signal");
  if (selection.images) read_images(g, p);
  p.bidi_offset_px = g.number_attribute("bidi_offset_px").value_or(0);
  p.crispness_raw = g.number_attribute("crispness_raw").value_or(0);
  p.crispness_registered = g.number_attribute("crispness_registered").value_or(0);
  p.mean_frame_correlation = g.number_attribute("mean_frame_correlation").value_or(0);
  p.shifts_from_plane = int(g.number_attribute("shifts_from_plane").value_or(-1));
  if (selection.block_shifts) read_block_shifts(g, p);
  return p;
}

// The registered frames of every plane, read as a Movie (segment and extract stream them).
class RegisteredMovie : public Movie {
 public:
  explicit RegisteredMovie(const std::string& path) : path_(path), file_(h5::File::open_read(path)) {
    h5::Group root = file_.root();
    for (int k = 0;; ++k) {
      const std::string name = plane_group_name(size_t(k));
      if (!root.has(name)) break;
      h5::Group g = root.group(name);
      h5::Dataset movie = g.dataset("movie");
      auto dims = movie.dims();
      if (dims.size() != 3) throw file_error(path, name + "/movie is not [T,H,W]");
      if (k > 0 && (dims[0] != uint64_t(frames_) || int(dims[1]) != height_ || int(dims[2]) != width_))
        throw file_error(path, name + "/movie has a different shape from plane0/movie");
      frames_ = int64_t(dims[0]);
      height_ = int(dims[1]);
      width_ = int(dims[2]);
      dtype_ = movie.type_name();
      acquisition_.roles.push_back(g.string_attribute("role").value_or(""));
      acquisition_.frame_rate_hz = g.number_attribute("frame_rate_hz").value_or(0);
      ++planes_;
    }
    if (planes_ == 0) throw file_error(path, "has no /plane0/movie; is it an apical registered.h5?");
    acquisition_.planes = planes_;
    acquisition_.source = "registered.h5";
  }
  int planes() const override { return planes_; }
  int64_t frames() const override { return frames_; }
  int height() const override { return height_; }
  int width() const override { return width_; }
  std::string dtype() const override { return dtype_; }
  const Acquisition& acquisition() const override { return acquisition_; }
  std::vector<std::string> files() const override { return {path_}; }
  void read(int plane, int64_t first, int count, FrameStack& out) const override {
    out.reshape(first, count, height_, width_);
    h5::Dataset ds = file_.root().dataset(registered_movie_dataset(plane));
    ds.read_box<float>({uint64_t(first), 0, 0}, {uint64_t(count), uint64_t(height_), uint64_t(width_)},
                       out.pixels.data());
    DropBehind(ds.file_descriptor()).after_read_anywhere();
  }

 private:
  std::string path_;
  h5::File file_;
  int planes_ = 0;
  int64_t frames_ = 0;
  int height_ = 0, width_ = 0;
  std::string dtype_;
  Acquisition acquisition_;
};

}  // namespace

RegisteredWriter::RegisteredWriter(const std::string& path, const Provenance& provenance)
    : file_(h5::File::create(path)), root_(file_.root()) {
  write_provenance(root_, provenance);
}

h5::Dataset& RegisteredWriter::begin_plane(int plane, const std::string& role, double frame_rate_hz,
                                           const std::string& dtype, const RegisteredMovieShape& shape,
                                           int compression) {
  plane_group_.emplace(root_.create_group(plane_group_name(size_t(plane))));
  plane_group_->set_attribute("role", role);
  plane_group_->set_attribute("frame_rate_hz", frame_rate_hz);
  const uint64_t T = uint64_t(shape.frames), H = uint64_t(shape.height), W = uint64_t(shape.width);
  h5::DatasetOptions options;
  options.chunk = {std::min<uint64_t>(8, T), H, W};
  options.deflate_level = compression;
  movie_.emplace(plane_group_->create_dataset("movie", movie_type(dtype), {T, H, W}, options));
  return *movie_;
}

void RegisteredWriter::finish_plane(const RegisteredPlane& p) {
  movie_.reset();  // closing the movie flushes its last chunks now, not at the next plane
  h5::Group& g = *plane_group_;
  g.write("blank_rows", p.blank_rows);
  g.write("blank_rows_registered", p.blank_rows_registered);
  g.write("no_signal", p.no_signal);
  g.write("shifts", shift_rows(p.shifts), {uint64_t(p.shifts.size()), 2});
  g.write("frame_correlation", p.frame_correlation);
  h5::write_image(g, "reference", p.reference);
  h5::write_image(g, "mean_image", p.mean_image);
  h5::write_image(g, "max_image", p.max_image);
  h5::write_image(g, "raw_mean_image", p.raw_mean_image);
  if (p.nonrigid()) write_block_shifts(g, p);
  g.set_attribute("bidi_offset_px", p.bidi_offset_px);
  g.set_attribute("crispness_raw", p.crispness_raw);
  g.set_attribute("crispness_registered", p.crispness_registered);
  g.set_attribute("mean_frame_correlation", p.mean_frame_correlation);
  g.set_attribute("nonrigid", int32_t(p.nonrigid() ? 1 : 0));
  g.set_attribute("shifts_from_plane", int32_t(p.shifts_from_plane));
  plane_group_.reset();
}

void RegisteredWriter::finish(int planes, const Timebase& timebase) {
  root_.set_attribute("planes", int32_t(planes));
  root_.set_attribute("frames", int64_t(timebase.frames));
  describe_output(root_, registered_schema(), timebase);
  file_.close();
}

std::vector<RegisteredPlane> read_registered(const std::string& path, const RegisteredSelection& selection) {
  const h5::File file = h5::File::open_read(path);
  const h5::Group root = file.root();
  std::vector<RegisteredPlane> planes;
  for (const h5::Group& g : plane_groups(root)) planes.push_back(read_plane(g, selection));
  if (planes.empty()) throw file_error(path, "has no /plane0 (is it an apical registered.h5?)");
  return planes;
}

std::unique_ptr<Movie> open_registered(const std::string& path) { return std::make_unique<RegisteredMovie>(path); }

}  // namespace apical
