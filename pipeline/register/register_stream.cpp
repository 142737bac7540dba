#include "pipeline/register/register_stream.hpp"

#include "io/schema.hpp"

#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/parallel_pipeline.h>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <type_traits>

#include "io/error.hpp"
#include "io/h5.hpp"
#include "io/page_cache.hpp"
#include "io/round_clip.hpp"

namespace apical {

namespace {

// Frames spread evenly over the movie: the reference should not depend on one episode.
FrameStack sample_frames(const Movie& movie, int plane, int wanted) {
  int64_t T = movie.frames();
  int n = int(std::min<int64_t>(std::max(wanted, 1), T));
  FrameStack sample(0, n, movie.height(), movie.width());
  FrameStack one;
  auto frame_at = [&](int i) { return n == 1 ? 0 : int64_t(std::llround(double(i) * double(T - 1) / double(n - 1))); };
  constexpr int ahead = 16;  // frames far apart: each is its own disk read, so keep several in flight
  read_ahead(
      n, ahead, [&](int i) { movie.prefetch(plane, frame_at(i)); },
      [&](int i) {
        movie.read(plane, frame_at(i), 1, one);
        movie.require_finite(one, plane, movie.files().empty() ? "movie" : movie.files()[0]);
        std::copy(one.pixels.begin(), one.pixels.end(), sample.frame_data(i));
      });
  return sample;
}

cv::Mat mean_of(const FrameStack& stack) {
  cv::Mat sum = cv::Mat::zeros(stack.height, stack.width, CV_64F);
  for (int t = 0; t < stack.count; ++t) cv::accumulate(stack.frame(t), sum);
  cv::Mat mean;
  sum.convertTo(mean, CV_32F, 1.0 / std::max(1, stack.count));
  return mean;
}

float choose_bidi_offset(const std::string& bidi, const FrameStack& sample, const RegisterParams& p) {
  if (bidi == "off") return 0.0f;
  if (bidi == "auto") return estimate_bidi_offset(mean_of(sample), p.max_bidi_offset_px);
  try {
    size_t used = 0;
    float value = std::stof(bidi, &used);
    if (used == bidi.size() && std::isfinite(value)) return value;
  } catch (...) {
  }
  throw InputError("--bidi: '" + bidi + "' is not auto, off or an offset in px");
}

std::string output_type(const RegisterOptions& o, const std::string& input_dtype) {
  if (o.output_dtype != "auto") {
    if (o.output_dtype != "float32" && o.output_dtype != "int16" && o.output_dtype != "uint16")
      throw InputError("--output-dtype: '" + o.output_dtype + "' is not auto, float32, int16 or uint16");
    return o.output_dtype;
  }
  return input_dtype == "int16" || input_dtype == "uint16" ? input_dtype : "float32";
}

hid_t h5_type_of(const std::string& dtype) {
  if (dtype == "int16") return H5T_NATIVE_INT16;
  if (dtype == "uint16") return H5T_NATIVE_UINT16;
  return H5T_NATIVE_FLOAT;
}

// Runs body(y0, y1) over bands of rows in parallel. A band of each frame is one contiguous
// stretch of memory, which the hardware prefetches; single rows a frame apart are not.
template <typename Body> void for_row_bands(int height, const Body& body) {
  constexpr int band = 16;
  oneapi::tbb::parallel_for(0, (height + band - 1) / band,
                            [&](int b) { body(b * band, std::min(height, (b + 1) * band)); });
}

// One pass over a registered batch (parallel over row bands): adds every frame into `sum`
// (CV_64F) and the running `max` (CV_32F), and rounds it into `stored` when the movie is
// stored as integers. Each pixel sums its frames in order, so any thread count gives the
// same result.
template <typename T> void finish_batch(const FrameStack& batch, cv::Mat& sum, cv::Mat& max, std::vector<T>* stored) {
  const size_t W = size_t(batch.width);
  if (stored) stored->resize(batch.pixels.size());
  for_row_bands(batch.height, [&](int y0, int y1) {
    for (int t = 0; t < batch.count; ++t)
      for (int y = y0; y < y1; ++y) {
        const size_t at = size_t(t) * batch.frame_size() + size_t(y) * W;
        const float* row = batch.pixels.data() + at;
        double* s = sum.ptr<double>(y);
        float* m = max.ptr<float>(y);
        for (size_t x = 0; x < W; ++x) s[x] += row[x];
        for (size_t x = 0; x < W; ++x) m[x] = std::max(m[x], row[x]);
        if constexpr (!std::is_same_v<T, float>)
          if (stored) round_clip(row, W, stored->data() + at);
      }
  });
}

// Adds every frame of the batch into `sum` (CV_64F), parallel over row bands; each pixel
// still sums its frames in order, so the result is the same at any thread count.
void accumulate_batch(const FrameStack& batch, cv::Mat& sum) {
  const size_t W = size_t(batch.width);
  for_row_bands(batch.height, [&](int y0, int y1) {
    for (int t = 0; t < batch.count; ++t)
      for (int y = y0; y < y1; ++y) {
        const float* row = batch.frame_data(t) + size_t(y) * W;
        double* s = sum.ptr<double>(y);
        for (size_t x = 0; x < W; ++x) s[x] += row[x];
      }
  });
}

void write_image(h5::Group& g, const std::string& name, const cv::Mat& image) {
  cv::Mat m = image.isContinuous() ? image : image.clone();
  g.write(name, std::vector<float>(m.ptr<float>(), m.ptr<float>() + m.total()),
          {uint64_t(m.rows), uint64_t(m.cols)});
}

struct Batch {
  FrameStack frames;
  BatchRegistration registration;
};

// Batches are recycled: refilling a buffer costs nothing, faulting in 200 MB of fresh pages
// per batch costs as much as reading it.
class BatchPool {
 public:
  std::shared_ptr<Batch> take() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (free_.empty()) return std::make_shared<Batch>();
    auto b = std::move(free_.back());
    free_.pop_back();
    return b;
  }
  void give_back(std::shared_ptr<Batch> b) {
    std::lock_guard<std::mutex> lock(mutex_);
    free_.push_back(std::move(b));
  }

 private:
  std::mutex mutex_;
  std::vector<std::shared_ptr<Batch>> free_;
};

// Everything about one plane that the streaming pass accumulates.
struct PlaneAccumulators {
  cv::Mat raw_sum, registered_sum, registered_max;
  std::vector<Shift> shifts;
  std::vector<float> correlation;
  std::vector<std::vector<Shift>> block_shifts;
};

void register_plane(const Movie& movie, int plane, const RegisterOptions& options, h5::Group& group,
                    const std::optional<std::vector<Shift>>& given_shifts,
                    const std::vector<std::vector<Shift>>* given_blocks, PlaneAccumulators& acc,
                    PlaneRegistrationSummary& summary, int64_t progress_offset, const ProgressCallback& progress) {
  const RegisterParams& p = options.params;
  const int64_t T = movie.frames();
  const int H = movie.height(), W = movie.width();
  const std::string source = movie.files().empty() ? "movie" : movie.files()[0];

  float bidi = 0;
  cv::Mat reference;
  {  // the sample (300 frames) is freed before the streaming pass needs its memory
    FrameStack sample = sample_frames(movie, plane, p.reference_frames);
    bidi = choose_bidi_offset(options.bidi, sample, p);
    for (int t = 0; t < sample.count; ++t) {
      cv::Mat f = sample.frame(t);
      if (bidi != 0) correct_bidi_offset(f, bidi);
    }
    reference = compute_reference(sample, p);
  }
  RigidAligner rigid(reference, p);
  std::unique_ptr<BlockAligner> blocks;
  if (p.nonrigid || given_blocks) blocks = std::make_unique<BlockAligner>(reference, p);

  const std::string dtype = output_type(options, movie.dtype());
  h5::DatasetOptions movie_options;
  movie_options.chunk = {uint64_t(std::min<int64_t>(8, T)), uint64_t(H), uint64_t(W)};
  movie_options.deflate_level = options.compression;
  h5::Dataset movie_ds = group.create_dataset("movie", h5_type_of(dtype), {uint64_t(T), uint64_t(H), uint64_t(W)},
                                              movie_options);

  acc.raw_sum = cv::Mat::zeros(H, W, CV_64F);
  acc.registered_sum = cv::Mat::zeros(H, W, CV_64F);
  acc.registered_max = cv::Mat(H, W, CV_32F, cv::Scalar(-std::numeric_limits<float>::infinity()));
  acc.shifts.assign(size_t(T), Shift{});
  acc.correlation.assign(size_t(T), 0.0f);
  if (blocks) acc.block_shifts.assign(size_t(T), {});

  DropBehind drop_behind(movie_ds.file_descriptor(), group.file());
  const int batch = std::max(1, options.batch_size);
  int64_t next = 0;
  BatchPool pool;
  std::vector<int16_t> int16_buffer;
  std::vector<uint16_t> uint16_buffer;
  // Read (in order) -> register (parallel inside) -> write (in order); three batches in
  // flight bound the memory whatever the movie length.
  oneapi::tbb::parallel_pipeline(
      3,
      oneapi::tbb::make_filter<void, std::shared_ptr<Batch>>(
          oneapi::tbb::filter_mode::serial_in_order,
          [&](oneapi::tbb::flow_control& fc) -> std::shared_ptr<Batch> {
            if (next >= T) {
              fc.stop();
              return nullptr;
            }
            auto b = pool.take();
            int count = int(std::min<int64_t>(batch, T - next));
            movie.read(plane, next, count, b->frames);
            movie.require_finite(b->frames, plane, source);
            next += count;
            return b;
          }) &
          oneapi::tbb::make_filter<std::shared_ptr<Batch>, std::shared_ptr<Batch>>(
              oneapi::tbb::filter_mode::serial_in_order,
              [&](std::shared_ptr<Batch> b) {
                // Raw sums before registration changes the frames in place.
                accumulate_batch(b->frames, acc.raw_sum);
                std::optional<std::vector<Shift>> given;
                const std::vector<std::vector<Shift>>* given_b = nullptr;
                std::vector<std::vector<Shift>> block_slice;
                size_t first = size_t(b->frames.first_frame), n = size_t(b->frames.count);
                if (given_shifts)
                  given = std::vector<Shift>(given_shifts->begin() + long(first), given_shifts->begin() + long(first + n));
                if (given_blocks) {
                  block_slice.assign(given_blocks->begin() + long(first), given_blocks->begin() + long(first + n));
                  given_b = &block_slice;
                }
                b->registration = register_batch(b->frames, rigid, blocks.get(), bidi, given, given_b);
                return b;
              }) &
          oneapi::tbb::make_filter<std::shared_ptr<Batch>, void>(
              oneapi::tbb::filter_mode::serial_in_order, [&](std::shared_ptr<Batch> b) {
                const FrameStack& f = b->frames;
                size_t first = size_t(f.first_frame);
                for (int t = 0; t < f.count; ++t) {
                  acc.shifts[first + size_t(t)] = b->registration.shifts[size_t(t)];
                  acc.correlation[first + size_t(t)] = b->registration.correlation[size_t(t)];
                  if (blocks) acc.block_shifts[first + size_t(t)] = b->registration.block_shifts[size_t(t)];
                }
                h5::Dims offset{first, 0, 0}, count{uint64_t(f.count), uint64_t(H), uint64_t(W)};
                if (dtype == "int16") {
                  finish_batch(f, acc.registered_sum, acc.registered_max, &int16_buffer);
                  movie_ds.write_box(offset, count, int16_buffer.data());
                } else if (dtype == "uint16") {
                  finish_batch(f, acc.registered_sum, acc.registered_max, &uint16_buffer);
                  movie_ds.write_box(offset, count, uint16_buffer.data());
                } else {
                  finish_batch<float>(f, acc.registered_sum, acc.registered_max, nullptr);
                  movie_ds.write_box(offset, count, f.pixels.data());
                }
                drop_behind.after_write();
                if (progress) progress(progress_offset + int64_t(first) + f.count, 0);
                pool.give_back(std::move(b));
              }));

  cv::Mat raw_mean, registered_mean;
  acc.raw_sum.convertTo(raw_mean, CV_32F, 1.0 / double(T));
  acc.registered_sum.convertTo(registered_mean, CV_32F, 1.0 / double(T));

  std::vector<float> shift_rows;
  double max_shift = 0, correlation_sum = 0;
  for (size_t t = 0; t < acc.shifts.size(); ++t) {
    shift_rows.push_back(acc.shifts[t].dy);
    shift_rows.push_back(acc.shifts[t].dx);
    max_shift = std::max({max_shift, double(std::abs(acc.shifts[t].dy)), double(std::abs(acc.shifts[t].dx))});
    correlation_sum += acc.correlation[t];
  }
  group.write("shifts", shift_rows, {uint64_t(T), 2});
  group.dataset("shifts").set_attribute(
      "units", std::string("px (dy, dx): reference content at (y,x) appears in the raw frame at (y+dy, x+dx)"));
  group.write("frame_correlation", acc.correlation);
  write_image(group, "reference", reference);
  write_image(group, "mean_image", registered_mean);
  write_image(group, "max_image", acc.registered_max);
  write_image(group, "raw_mean_image", raw_mean);
  if (blocks) {
    const BlockGrid& grid = blocks->grid();
    std::vector<float> rows;
    rows.reserve(size_t(T) * grid.blocks.size() * 2);
    for (const auto& frame_blocks : acc.block_shifts)
      for (const auto& s : frame_blocks) {
        rows.push_back(s.dy);
        rows.push_back(s.dx);
      }
    group.write("block_shifts", rows, {uint64_t(T), uint64_t(grid.blocks.size()), 2});
    group.dataset("block_shifts").set_attribute(
        "units", std::string("px (dy, dx) residual after the rigid shift, per block, row-major grid"));
    group.write("block_centres_y", grid.centres_y);
    group.write("block_centres_x", grid.centres_x);
  }
  summary.plane = plane;
  summary.bidi_offset_px = bidi;
  summary.crispness_before = crispness(raw_mean, p.max_shift_px);
  summary.crispness_after = crispness(registered_mean, p.max_shift_px);
  summary.mean_correlation = correlation_sum / double(std::max<int64_t>(T, 1));
  summary.max_abs_shift_px = max_shift;
  group.set_attribute("bidi_offset_px", double(bidi));
  group.set_attribute("crispness_raw", summary.crispness_before);
  group.set_attribute("crispness_registered", summary.crispness_after);
  group.set_attribute("mean_frame_correlation", summary.mean_correlation);
  group.set_attribute("nonrigid", int32_t(blocks ? 1 : 0));
  group.set_attribute("shifts_from_plane", int32_t(given_shifts ? options.shifts_from_plane : -1));
}

}  // namespace

RegistrationSummary register_movie(const Movie& movie, const RegisterOptions& options,
                                   const std::string& output_path, const Provenance& provenance,
                                   const ProgressCallback& progress) {
  options.params.validate();
  const int planes = movie.planes();
  if (options.shifts_from_plane >= planes)
    throw InputError("--shifts-from " + std::to_string(options.shifts_from_plane) + ": the movie has only " +
                     std::to_string(planes) + " plane(s)");
  const Acquisition& a = movie.acquisition();
  h5::File file = h5::File::create(output_path);
  h5::Group root = file.root();
  write_provenance(root, provenance);
  RegistrationSummary summary;
  summary.frames = movie.frames();
  summary.planes = planes;
  summary.per_plane.resize(size_t(planes));

  // The source plane first, so its shifts exist when the others borrow them.
  std::vector<int> order(static_cast<size_t>(planes));
  for (int k = 0; k < planes; ++k) order[size_t(k)] = k;
  if (options.shifts_from_plane >= 0)
    std::stable_partition(order.begin(), order.end(), [&](int k) { return k == options.shifts_from_plane; });

  std::optional<std::vector<Shift>> source_shifts;
  std::vector<std::vector<Shift>> source_blocks;
  int64_t done = 0;
  for (int k : order) {
    h5::Group g = root.create_group("plane" + std::to_string(k));
    g.set_attribute("role", a.roles.size() > size_t(k) ? a.roles[size_t(k)] : std::string("unknown"));
    g.set_attribute("frame_rate_hz", a.frame_rate_hz);
    bool borrow = options.shifts_from_plane >= 0 && k != options.shifts_from_plane;
    PlaneAccumulators acc;
    register_plane(movie, k, options, g, borrow ? source_shifts : std::nullopt,
                   borrow && !source_blocks.empty() ? &source_blocks : nullptr, acc,
                   summary.per_plane[size_t(k)], done,
                   progress ? ProgressCallback([&](int64_t d, int64_t) { progress(d, movie.frames() * planes); })
                            : ProgressCallback());
    if (k == options.shifts_from_plane) {
      source_shifts = acc.shifts;
      source_blocks = acc.block_shifts;
    }
    done += movie.frames();
  }
  root.set_attribute("planes", int32_t(planes));
  root.set_attribute("frames", int64_t(movie.frames()));
  movie.check_unchanged();  // frames read from a file rewritten meanwhile would be a silent mix
  describe_output(root, registered_schema(), Timebase{movie.frames(), a.frame_rate_hz, a.pixel_size_um, {}});
  file.close();
  return summary;
}

}  // namespace apical
