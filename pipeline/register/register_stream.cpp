#include "pipeline/register/register_stream.hpp"

#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/parallel_pipeline.h>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <type_traits>

#include "io/error.hpp"
#include "io/page_cache.hpp"
#include "io/registered_file.hpp"
#include "io/round_clip.hpp"
#include "pipeline/register/register_blank.hpp"

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
// Rows y < skip_rows[t] of frame t (blanked or without signal) stay out of the sums; rows[y]
// counts the frames each row summed.
template <typename T>
void finish_batch(const FrameStack& batch, const std::vector<int>& skip_rows, cv::Mat& sum, cv::Mat& max,
                  std::vector<int64_t>& rows, std::vector<T>* stored) {
  const size_t W = size_t(batch.width);
  if (stored) stored->resize(batch.pixels.size());
  for_row_bands(batch.height, [&](int y0, int y1) {
    for (int t = 0; t < batch.count; ++t)
      for (int y = y0; y < y1; ++y) {
        const size_t at = size_t(t) * batch.frame_size() + size_t(y) * W;
        const float* row = batch.pixels.data() + at;
        if constexpr (!std::is_same_v<T, float>)
          if (stored) round_clip(row, W, stored->data() + at);
        if (y < skip_rows[size_t(t)]) continue;
        ++rows[size_t(y)];
        double* s = sum.ptr<double>(y);
        float* m = max.ptr<float>(y);
        for (size_t x = 0; x < W; ++x) s[x] += row[x];
        for (size_t x = 0; x < W; ++x) m[x] = std::max(m[x], row[x]);
      }
  });
}

// Adds every frame of the batch into `sum` (CV_64F), parallel over row bands; each pixel
// still sums its frames in order, so the result is the same at any thread count.
void accumulate_batch(const FrameStack& batch, const std::vector<FrameSignal>& signal, cv::Mat& sum,
                      std::vector<int64_t>& rows) {
  const size_t W = size_t(batch.width);
  for_row_bands(batch.height, [&](int y0, int y1) {
    for (int t = 0; t < batch.count; ++t)
      for (int y = y0; y < y1; ++y) {
        if (y < signal[size_t(t)].blank_rows) continue;
        ++rows[size_t(y)];
        const float* row = batch.frame_data(t) + size_t(y) * W;
        double* s = sum.ptr<double>(y);
        for (size_t x = 0; x < W; ++x) s[x] += row[x];
      }
  });
}

struct Batch {
  FrameStack frames;
  std::vector<FrameSignal> signal;  // per frame, detected on the raw frame
  BatchRegistration registration;
};

// Sum / frames per row; a row no frame imaged (every frame blanked there) keeps `fallback`.
cv::Mat mean_by_row(const cv::Mat& sum, const std::vector<int64_t>& rows, const cv::Mat& fallback) {
  cv::Mat mean(sum.rows, sum.cols, CV_32F);
  for (int y = 0; y < sum.rows; ++y) {
    if (rows[size_t(y)] > 0) sum.row(y).convertTo(mean.row(y), CV_32F, 1.0 / double(rows[size_t(y)]));
    else fallback.row(y).copyTo(mean.row(y));
  }
  return mean;
}

// The reference sample without stimulated frames and frames without signal, when enough
// frames are left (a tenth of the sample, at least 2); else without the frames without signal.
void drop_blanked_frames(FrameStack& sample, const SignalReference& reference, const BlankRowsSetting& setting) {
  std::vector<int> clean, lit;
  for (int t = 0; t < sample.count; ++t) {
    const FrameSignal s = detect_frame_signal(sample.frame(t), reference, setting);
    if (!s.no_signal) lit.push_back(t);
    if (!s.no_signal && s.blank_rows == 0) clean.push_back(t);
  }
  const std::vector<int>& keep = int(clean.size()) >= std::max(2, sample.count / 10) ? clean : lit;
  if (int(keep.size()) == sample.count || keep.empty()) return;
  FrameStack kept(0, int(keep.size()), sample.height, sample.width);
  for (size_t i = 0; i < keep.size(); ++i)
    std::copy_n(sample.frame_data(keep[i]), sample.frame_size(), kept.frame_data(int(i)));
  sample = std::move(kept);
}

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
  std::vector<int64_t> raw_rows, registered_rows;  // frames summed per row
  std::vector<uint16_t> blank_rows, blank_rows_registered;
  std::vector<uint8_t> no_signal;
  std::vector<Shift> shifts;
  std::vector<float> correlation;
  std::vector<std::vector<Shift>> block_shifts;
};

// Frames with blank rows and frames without signal (issue 14 §2), for the summary line.
void count_frame_signal(const PlaneAccumulators& acc, PlaneRegistrationSummary& summary) {
  summary.min_blank_rows = 0;
  for (size_t t = 0; t < acc.blank_rows.size(); ++t) {
    if (acc.no_signal[t]) {
      ++summary.no_signal_frames;
    } else if (acc.blank_rows[t] > 0) {
      const int b = acc.blank_rows[t];
      summary.min_blank_rows = summary.blanked_frames == 0 ? b : std::min(summary.min_blank_rows, b);
      summary.max_blank_rows = std::max(summary.max_blank_rows, b);
      ++summary.blanked_frames;
    }
  }
}

// What the sample of frames gives before the streaming pass: bidi offset, reference image
// and the signal level that tells blanked rows and frames without signal.
struct PlaneReference {
  float bidi = 0;
  cv::Mat image;
  SignalReference signal;
};

PlaneReference prepare_reference(const Movie& movie, int plane, const RegisterOptions& options,
                                 const BlankRowsSetting& blank_setting) {
  const RegisterParams& p = options.params;
  PlaneReference ref;
  // The sample (300 frames) is freed on return, before the streaming pass needs its memory.
  FrameStack sample = sample_frames(movie, plane, p.reference_frames);
  ref.signal = signal_reference(sample);
  drop_blanked_frames(sample, ref.signal, blank_setting);
  ref.bidi = choose_bidi_offset(options.bidi, sample, p);
  for (int t = 0; t < sample.count; ++t) {
    cv::Mat f = sample.frame(t);
    if (ref.bidi != 0) correct_bidi_offset(f, ref.bidi);
  }
  ref.image = compute_reference(sample, p);
  return ref;
}

// The plane's measurements for registered.h5, and the summary line's figures.
RegisteredPlane plane_result(PlaneAccumulators& acc, const PlaneReference& ref, const BlockAligner* blocks,
                             const RegisterParams& p, int shifts_from_plane, PlaneRegistrationSummary& summary) {
  const int H = acc.raw_sum.rows, W = acc.raw_sum.cols;
  const cv::Mat zeros = cv::Mat::zeros(H, W, CV_32F);
  const cv::Mat raw_mean = mean_by_row(acc.raw_sum, acc.raw_rows, zeros);
  const cv::Mat registered_mean = mean_by_row(acc.registered_sum, acc.registered_rows, zeros);
  for (int y = 0; y < H; ++y)
    if (acc.registered_rows[size_t(y)] == 0) registered_mean.row(y).copyTo(acc.registered_max.row(y));

  double max_shift = 0, correlation_sum = 0;
  int64_t registered_frames = 0;
  for (size_t t = 0; t < acc.shifts.size(); ++t) {
    if (acc.no_signal[t] || !std::isfinite(acc.shifts[t].dy) || !std::isfinite(acc.correlation[t])) continue;
    max_shift = std::max({max_shift, double(std::abs(acc.shifts[t].dy)), double(std::abs(acc.shifts[t].dx))});
    correlation_sum += acc.correlation[t];
    ++registered_frames;
  }
  count_frame_signal(acc, summary);
  summary.bidi_offset_px = ref.bidi;
  summary.crispness_before = crispness(raw_mean, p.max_shift_px);
  summary.crispness_after = crispness(registered_mean, p.max_shift_px);
  summary.mean_correlation = correlation_sum / double(std::max<int64_t>(registered_frames, 1));
  summary.max_abs_shift_px = max_shift;

  RegisteredPlane result;
  result.shifts = acc.shifts;
  result.frame_correlation = acc.correlation;
  result.blank_rows = acc.blank_rows;
  result.blank_rows_registered = acc.blank_rows_registered;
  result.no_signal = acc.no_signal;
  result.reference = ref.image;
  result.mean_image = registered_mean;
  result.max_image = acc.registered_max;
  result.raw_mean_image = raw_mean;
  result.bidi_offset_px = double(ref.bidi);
  result.crispness_raw = summary.crispness_before;
  result.crispness_registered = summary.crispness_after;
  result.mean_frame_correlation = summary.mean_correlation;
  result.shifts_from_plane = shifts_from_plane;
  if (blocks) {
    result.block_shifts = acc.block_shifts;
    result.block_centres_y = blocks->grid().centres_y;
    result.block_centres_x = blocks->grid().centres_x;
  }
  return result;
}

void reset_accumulators(PlaneAccumulators& acc, int64_t T, int H, int W, bool with_blocks) {
  acc.raw_sum = cv::Mat::zeros(H, W, CV_64F);
  acc.registered_sum = cv::Mat::zeros(H, W, CV_64F);
  acc.registered_max = cv::Mat(H, W, CV_32F, cv::Scalar(-std::numeric_limits<float>::infinity()));
  acc.shifts.assign(size_t(T), Shift{});
  acc.correlation.assign(size_t(T), 0.0f);
  acc.raw_rows.assign(size_t(H), 0);
  acc.registered_rows.assign(size_t(H), 0);
  acc.blank_rows.assign(size_t(T), 0);
  acc.blank_rows_registered.assign(size_t(T), 0);
  acc.no_signal.assign(size_t(T), 0);
  if (with_blocks) acc.block_shifts.assign(size_t(T), {});
}

// What registers one plane's batches: the aligners made from its reference, and the shifts
// given by another plane (--shifts-from-plane), if any.
struct PlaneAligner {
  const PlaneReference& ref;
  const BlankRowsSetting& blank_setting;
  RigidAligner rigid;
  std::unique_ptr<BlockAligner> blocks;
  const std::optional<std::vector<Shift>>& given_shifts;
  const std::vector<std::vector<Shift>>* given_blocks;
};

// Detects each frame's signal, adds the raw frames to the raw sums, then registers them in place.
void register_in_place(Batch& b, PlaneAligner& aligner, PlaneAccumulators& acc) {
  b.signal.resize(size_t(b.frames.count));
  oneapi::tbb::parallel_for(0, b.frames.count, [&](int t) {
    b.signal[size_t(t)] = detect_frame_signal(b.frames.frame(t), aligner.ref.signal, aligner.blank_setting);
  });
  accumulate_batch(b.frames, b.signal, acc.raw_sum, acc.raw_rows);  // before registration changes them
  const size_t first = size_t(b.frames.first_frame), n = size_t(b.frames.count);
  std::optional<std::vector<Shift>> given;
  if (aligner.given_shifts)
    given = std::vector<Shift>(aligner.given_shifts->begin() + long(first),
                               aligner.given_shifts->begin() + long(first + n));
  std::vector<std::vector<Shift>> block_slice;
  if (aligner.given_blocks)
    block_slice.assign(aligner.given_blocks->begin() + long(first), aligner.given_blocks->begin() + long(first + n));
  b.registration = register_batch(b.frames, aligner.rigid, aligner.blocks.get(), aligner.ref.bidi, given,
                                  aligner.given_blocks ? &block_slice : nullptr, &b.signal);
}

// The batch's per-frame measurements into the plane's tables.
void record_frames(const Batch& b, PlaneAccumulators& acc, bool with_blocks) {
  const size_t first = size_t(b.frames.first_frame);
  for (size_t t = 0; t < size_t(b.frames.count); ++t) {
    acc.shifts[first + t] = b.registration.shifts[t];
    acc.correlation[first + t] = b.registration.correlation[t];
    if (with_blocks) acc.block_shifts[first + t] = b.registration.block_shifts[t];
    acc.blank_rows[first + t] = uint16_t(b.signal[t].blank_rows);
    acc.blank_rows_registered[first + t] = uint16_t(b.registration.blank_rows_registered[t]);
    acc.no_signal[first + t] = uint8_t(b.signal[t].no_signal);
  }
}

// The registered frames into the registered sums and the movie dataset, converted to its type.
class RegisteredFramesWriter {
 public:
  RegisteredFramesWriter(h5::Dataset& movie_ds, std::string dtype)
      : movie_ds_(movie_ds), dtype_(std::move(dtype)), drop_behind_(movie_ds.file_descriptor(), movie_ds.file()) {}

  void write(const Batch& b, PlaneAccumulators& acc) {
    const FrameStack& f = b.frames;
    const std::vector<int>& skip = b.registration.blank_rows_registered;
    const h5::Dims offset{uint64_t(f.first_frame), 0, 0}, count{uint64_t(f.count), uint64_t(f.height), uint64_t(f.width)};
    if (dtype_ == "int16") {
      finish_batch(f, skip, acc.registered_sum, acc.registered_max, acc.registered_rows, &int16_buffer_);
      movie_ds_.write_box(offset, count, int16_buffer_.data());
    } else if (dtype_ == "uint16") {
      finish_batch(f, skip, acc.registered_sum, acc.registered_max, acc.registered_rows, &uint16_buffer_);
      movie_ds_.write_box(offset, count, uint16_buffer_.data());
    } else {
      finish_batch<float>(f, skip, acc.registered_sum, acc.registered_max, acc.registered_rows, nullptr);
      movie_ds_.write_box(offset, count, f.pixels.data());
    }
    drop_behind_.after_write();
  }

 private:
  h5::Dataset& movie_ds_;
  const std::string dtype_;
  DropBehind drop_behind_;
  std::vector<int16_t> int16_buffer_;
  std::vector<uint16_t> uint16_buffer_;
};

void register_plane(const Movie& movie, int plane, const RegisterOptions& options, RegisteredWriter& writer,
                    const std::optional<std::vector<Shift>>& given_shifts,
                    const std::vector<std::vector<Shift>>* given_blocks, PlaneAccumulators& acc,
                    PlaneRegistrationSummary& summary, int64_t progress_offset, const ProgressCallback& progress) {
  const RegisterParams& p = options.params;
  const int64_t T = movie.frames();
  const std::string source = movie.files().empty() ? "movie" : movie.files()[0];
  const BlankRowsSetting blank_setting = parse_blank_rows(options.blank_rows);
  const PlaneReference ref = prepare_reference(movie, plane, options, blank_setting);
  PlaneAligner aligner{ref, blank_setting, RigidAligner(ref.image, p), nullptr, given_shifts, given_blocks};
  if (p.nonrigid || given_blocks) aligner.blocks = std::make_unique<BlockAligner>(ref.image, p);
  const bool with_blocks = aligner.blocks != nullptr;

  const std::string dtype = output_type(options, movie.dtype());
  const Acquisition& a = movie.acquisition();
  h5::Dataset& movie_ds = writer.begin_plane(
      plane, a.roles.size() > size_t(plane) ? a.roles[size_t(plane)] : std::string("unknown"), a.frame_rate_hz, dtype,
      RegisteredMovieShape{T, movie.height(), movie.width()}, options.compression);
  RegisteredFramesWriter frames_writer(movie_ds, dtype);
  reset_accumulators(acc, T, movie.height(), movie.width(), with_blocks);

  const int batch = std::max(1, options.batch_size);
  int64_t next = 0;
  BatchPool pool;
  using BatchPtr = std::shared_ptr<Batch>;
  namespace tbb = oneapi::tbb;
  // Read (in order) -> register (parallel inside) -> write (in order); three batches in
  // flight bound the memory whatever the movie length.
  tbb::parallel_pipeline(
      3,
      tbb::make_filter<void, BatchPtr>(tbb::filter_mode::serial_in_order,
                                       [&](tbb::flow_control& fc) -> BatchPtr {
                                         if (next >= T) {
                                           fc.stop();
                                           return nullptr;
                                         }
                                         auto b = pool.take();
                                         const int count = int(std::min<int64_t>(batch, T - next));
                                         movie.read(plane, next, count, b->frames);
                                         movie.require_finite(b->frames, plane, source);
                                         next += count;
                                         return b;
                                       }) &
          tbb::make_filter<BatchPtr, BatchPtr>(tbb::filter_mode::serial_in_order,
                                               [&](BatchPtr b) {
                                                 register_in_place(*b, aligner, acc);
                                                 return b;
                                               }) &
          tbb::make_filter<BatchPtr, void>(tbb::filter_mode::serial_in_order, [&](BatchPtr b) {
            record_frames(*b, acc, with_blocks);
            frames_writer.write(*b, acc);
            if (progress) progress(progress_offset + b->frames.first_frame + b->frames.count, 0);
            pool.give_back(std::move(b));
          }));

  summary.plane = plane;
  const RegisteredPlane result =
      plane_result(acc, ref, aligner.blocks.get(), p, given_shifts ? options.shifts_from_plane : -1, summary);
  writer.finish_plane(result);
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
  RegisteredWriter writer(output_path, provenance);
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
    bool borrow = options.shifts_from_plane >= 0 && k != options.shifts_from_plane;
    PlaneAccumulators acc;
    register_plane(movie, k, options, writer, borrow ? source_shifts : std::nullopt,
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
  movie.check_unchanged();  // frames read from a file rewritten meanwhile would be a silent mix
  writer.finish(planes, Timebase{movie.frames(), a.frame_rate_hz, a.pixel_size_um, {}});
  return summary;
}

}  // namespace apical
