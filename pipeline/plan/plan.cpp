#include "pipeline/plan/plan.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "io/error.hpp"
#include "io/rois_file.hpp"

namespace apical {

namespace {

constexpr double kMiB = 1024.0 * 1024.0;
// Process floor (libraries, HDF5, TBB's pool): `apical --version` peaks at 52 MiB, the
// smallest stages at 59-60 MiB on Debian 12.
constexpr double kFloorMiB = 60;
// Added to every bound: malloc arenas and thread stacks, which vary from run to run.
constexpr double kSlackMiB = 8;
// segment: two batches of float frames in flight (segment_stream.hpp).
constexpr int kSegmentBatchesInFlight = 2;
// extract: pieces of <= 16 MiB of float frames, up to 4 in its pipeline (extract_stream.cpp),
// each buffer reused.
constexpr double kExtractPieceBytes = 16 * kMiB;
constexpr int kExtractPiecesInFlight = 4;
constexpr int kExtractRowBlock = 16;
constexpr int kExtractRasterBins = 1000;
// register: three batches in its read -> register -> write pipeline (register_stream.cpp).
constexpr int kRegisterBatchesInFlight = 3;
constexpr int kRegisterBlockSize = 128;
// Fixed working memory beyond the floor, measured at 128x128 where the batches are small:
// register's FFTW plans and pipeline, segment's detection.
constexpr double kRegisterFixedMiB = 12;
constexpr double kSegmentFixedMiB = 6;

double pixels(const SessionShape& s) { return double(s.height) * double(s.width); }

int64_t total_rois(const SessionShape& s) {
  return std::accumulate(s.rois_per_plane.begin(), s.rois_per_plane.end(), int64_t(0));
}

StageEstimate finish(const std::string& stage, double bytes, int threads, const std::string& bound) {
  return {stage, int64_t(std::ceil(kFloorMiB + bytes / kMiB + kSlackMiB)), threads, bound};
}

// Streaming pass: batches of float frames in flight, the raw samples read for one of them,
// the integer output buffer, and FFT and accumulator images (~140 B per pixel).
double register_stream_bytes(const SessionShape& s, const RunSettings& r) {
  const int64_t batch = std::min<int64_t>(r.batch_size, std::max<int64_t>(s.frames, 1));
  const int64_t batches = (s.frames + batch - 1) / batch;
  // One worker moves one batch at a time; two or more fill the pipeline.
  const int64_t in_flight =
      r.threads <= 1 ? 1 : std::clamp<int64_t>(batches, 1, kRegisterBatchesInFlight);
  const double output_sample = s.sample_bytes < 4 ? 2 : 0;  // integer movies are stored as integers
  return double(batch) * pixels(s) * (double(in_flight) * 4 + s.sample_bytes + output_sample) +
         pixels(s) * 140;
}

// Reference: the sample of frames, its 2x2-binned copies and working images.
double register_reference_bytes(const SessionShape& s, const RunSettings& r) {
  const double sample = double(std::min<int64_t>(r.reference_frames, s.frames));
  return sample * pixels(s) * 4 * 1.25 + pixels(s) * 150;
}

int blocks_along(int side) {
  const int step = kRegisterBlockSize / 2;
  return side <= kRegisterBlockSize ? 1 : (side - kRegisterBlockSize + step - 1) / step + 1;
}

// Per-frame results kept for every plane until written: shifts, correlation, block shifts.
double register_per_frame_bytes(const SessionShape& s, const RunSettings& r) {
  double per_frame = 12 + 8;
  if (r.nonrigid) per_frame += double(blocks_along(s.height)) * blocks_along(s.width) * 8 * 2 + 48;
  return double(s.planes) * double(s.frames) * per_frame;
}

StageEstimate register_estimate(const SessionShape& s, const RunSettings& r) {
  const double stream = register_stream_bytes(s, r), reference = register_reference_bytes(s, r);
  const double bytes = std::max(stream, reference) + register_per_frame_bytes(s, r) + kRegisterFixedMiB * kMiB;
  return finish("register", bytes, r.threads,
                stream >= reference ? "batches in flight x batch size x frame size"
                                    : "the reference sample: reference frames x frame size");
}

// segment's default temporal bin (choose_temporal_bin in segment_stream.cpp): ~3 Hz bins,
// 10 frames when the rate is unknown, at least 100 bins.
double segment_temporal_bin(const SessionShape& s) {
  double bin = s.frame_rate_hz > 0 ? std::max(1.0, std::round(s.frame_rate_hz / 3.0)) : 10.0;
  return std::max(1.0, std::min(bin, std::floor(double(s.frames) / 100)));
}

// Two batches of frames, ~200 B of accumulators and detection images per pixel, binned traces.
StageEstimate segment_estimate(const SessionShape& s, const RunSettings& r) {
  const double batch = double(std::min<int64_t>(r.segment_batch_size, std::max<int64_t>(s.frames, 1)));
  const double traces = double(total_rois(s)) * double(s.frames) / segment_temporal_bin(s) * 4 * 2;
  // Its batch buffers are reused last-in first-out: one worker only ever touches one.
  const int in_flight = r.threads <= 1 ? 1 : kSegmentBatchesInFlight;
  const double bytes = in_flight * batch * pixels(s) * 4 + pixels(s) * 200 + traces + kSegmentFixedMiB * kMiB;
  return finish("segment", bytes, r.threads, "batches in flight x segment batch size x frame size");
}

// Pass 1: pieces of frames in flight (plus the integer piece being read), staged F/Fneu
// columns and each plane's masks; pass 2: row blocks of [rows, T] and per-thread rows.
StageEstimate extract_estimate(const SessionShape& s, const RunSettings& r) {
  const double frame_bytes = pixels(s) * 4;
  const double piece = std::clamp(std::floor(kExtractPieceBytes / frame_bytes), 1.0, double(r.batch_size));
  // One worker carries a piece through the whole pipeline before it reads the next (a second
  // buffer allowed for); two or more fill it.
  const int in_flight = r.threads <= 1 ? 2 : kExtractPiecesInFlight;
  const double pass1 = in_flight * piece * frame_bytes + piece * pixels(s) * s.sample_bytes +
                       double(total_rois(s)) * r.batch_size * 16 + double(s.planes) * pixels(s) * 16;
  const double T = double(s.frames), rois = double(total_rois(s));
  const double pass2 = kExtractRowBlock * T * 16 + double(r.threads) * T * 100 +
                       rois * std::min(T, double(kExtractRasterBins)) * 4;
  return finish("extract", pass1 + pass2, r.threads, "pieces of <= 16 MiB of frames in flight, then [16 ROIs, T] row blocks");
}

// Every plane's dF/F [N, T] in memory, read once more as it is converted.
StageEstimate regress_estimate(const SessionShape& s, const RunSettings& r) {
  return finish("regress", double(total_rois(s)) * double(s.frames) * 8 + 4 * kMiB, r.threads,
                "dF/F of all ROIs: N x T x 4 B, twice while read");
}

// Tables of regress.h5 and one rendered panel at a time.
StageEstimate figures_estimate(const SessionShape& s, const RunSettings&) {
  return finish("figures", double(total_rois(s)) * double(s.frames) + 8 * kMiB, 1, "panel rendering");
}

// Per-plane images and per-frame series of every output, rendered one picture at a time.
StageEstimate qc_estimate(const SessionShape& s, const RunSettings&) {
  return finish("qc", double(s.planes) * (pixels(s) * 16 + double(s.frames) * 8) + 12 * kMiB, 1,
                "per-plane images and per-frame series");
}

}  // namespace

int64_t process_floor_mb() { return int64_t(kFloorMiB + kSlackMiB); }

std::vector<StageEstimate> estimate_stages(const SessionShape& shape, const RunSettings& settings) {
  RunSettings r = settings;
  r.threads = std::max(1, r.threads);
  return {register_estimate(shape, r), segment_estimate(shape, r), extract_estimate(shape, r),
          regress_estimate(shape, r), figures_estimate(shape, r), qc_estimate(shape, r)};
}

std::vector<int64_t> count_rois(const std::string& rois_path, int planes) {
  std::vector<int64_t> counts;
  try {
    const RoiFile rois = read_rois(rois_path);
    for (int k = 0; k < planes; ++k)
      counts.push_back(size_t(k) < rois.planes.size() ? int64_t(rois.planes[size_t(k)].masks.count()) : 0);
  } catch (const InputError&) {
    throw;
  } catch (const std::exception& e) {
    throw file_error(rois_path, std::string("cannot count ROIs: ") + e.what());
  }
  return counts;
}

}  // namespace apical
