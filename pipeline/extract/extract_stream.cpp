// apical extract driver: one streaming pass over the registered movie (F, Fneu of every ROI
// of every plane), then per-ROI row blocks (neuropil coefficient, baseline, dF/F, events).
#include "pipeline/extract/extract_stream.hpp"

#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/parallel_pipeline.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <mutex>
#include <string>

#include "io/error.hpp"
#include "io/movie.hpp"
#include "io/registered_file.hpp"
#include "io/rois_file.hpp"
#include "io/traces_file.hpp"

namespace apical {

namespace {

void require(bool ok, const std::string& message) {
  if (!ok) throw InputError(message);
}

// What registered.h5 says about each plane (role, frame rate), read before streaming.
struct PlaneFacts {
  std::string role;
  double frame_rate_hz = 0;
  // Per frame: top rows of the registered frame without signal (blanked rows; the frame
  // height for frames without signal). Empty when registered.h5 predates them.
  std::vector<int> skip_rows;
};

std::vector<int> skip_rows_of(const RegisteredPlane& p) {
  std::vector<int> skip(p.blank_rows_registered.begin(), p.blank_rows_registered.end());
  if (std::all_of(skip.begin(), skip.end(), [](int r) { return r == 0; })) return {};
  return skip;
}

std::vector<PlaneFacts> read_plane_facts(const std::string& registered_path) {
  std::vector<PlaneFacts> facts;
  for (const RegisteredPlane& p : read_registered(registered_path, {.images = false, .block_shifts = false}))
    facts.push_back({p.role, p.frame_rate_hz, skip_rows_of(p)});
  return facts;
}

double plane_frame_rate(const ExtractOptions& o, const PlaneFacts& facts, int plane, const std::string& path) {
  if (o.frame_rate_hz > 0) return o.frame_rate_hz;
  if (std::isfinite(facts.frame_rate_hz) && facts.frame_rate_hz > 0) return facts.frame_rate_hz;
  throw file_error(path, "plane" + std::to_string(plane) +
                             " has no frame_rate_hz attribute (or it is 0): give --frame-rate in Hz");
}

// One plane's batch of frames moving through the pass-1 pipeline.
struct PlaneBatch {
  int plane = 0;
  int64_t first_frame = 0;
  FrameStack frames;
  std::vector<float> f, fneu;  // [N, count] row-major
};

using PlaneOutput = TraceMatrixDatasets;

// Pass 1: F and Fneu of every ROI of every plane, streamed into the [N, T] datasets. A TBB
// pipeline of three serial stages: read a piece of one plane's frames, extract its traces,
// stage them and write each whole batch (one chunk column of the [N, T] datasets).
class FluorescencePass {
 public:
  FluorescencePass(const Movie& movie, const std::vector<TraceExtractor>& extractors,
                   const std::vector<PlaneFacts>& facts, std::vector<PlaneOutput>& outputs, const ExtractOptions& o,
                   const std::string& source, const ExtractProgress& progress)
      : movie_(movie), extractors_(extractors), facts_(facts), outputs_(outputs), batch_size_(o.batch_size),
        source_(source), progress_(progress), staging_(extractors.size()) {
    for (int k = 0; k < int(extractors.size()); ++k)
      if (extractors[size_t(k)].rois() > 0) active_.push_back(k);  // the others are not read at all
    // Reads are split into pieces of <= ~16 MB: buffers that size are recycled by malloc, while
    // each fresh batch-sized buffer would cost page faults on every read. Pieces never straddle
    // a batch boundary, so the [N, T] datasets are written one whole chunk column at a time.
    const int64_t frame_bytes = int64_t(movie.height()) * movie.width() * 4;
    piece_ = int(std::clamp<int64_t>((16 << 20) / std::max<int64_t>(frame_bytes, 1), 1, batch_size_));
  }

  void run() {
    if (active_.empty()) return;
    using Batch = std::shared_ptr<PlaneBatch>;
    namespace tbb = oneapi::tbb;
    tbb::parallel_pipeline(
        4,
        tbb::make_filter<void, Batch>(tbb::filter_mode::serial_in_order,
                                      [this](tbb::flow_control& fc) { return read_piece(fc); }) &
            tbb::make_filter<Batch, Batch>(tbb::filter_mode::serial_in_order,
                                           [this](Batch b) { return extract(std::move(b)); }) &
            tbb::make_filter<Batch, void>(tbb::filter_mode::serial_in_order,
                                          [this](Batch b) { stage_and_write(*b); }));
  }

 private:
  struct Staging {
    std::vector<float> f, fneu;  // [N, batch] row-major
    int64_t first = 0;
  };

  // Frame buffers are recycled, so at most one per pipeline token ever exists: pass 1 then
  // holds a fixed 4 pieces (freed pieces would linger in each thread's malloc arena instead).
  FrameStack take_frames() {
    std::lock_guard<std::mutex> lock(pool_mutex_);
    if (free_frames_.empty()) return FrameStack();
    FrameStack frames = std::move(free_frames_.back());
    free_frames_.pop_back();
    return frames;
  }

  std::shared_ptr<PlaneBatch> read_piece(oneapi::tbb::flow_control& fc) {
    if (next_frame_ >= movie_.frames()) {
      fc.stop();
      return nullptr;
    }
    auto b = std::make_shared<PlaneBatch>();
    b->frames = take_frames();
    b->plane = active_[next_plane_];
    const int64_t batch_end = std::min<int64_t>(movie_.frames(), (next_frame_ / batch_size_ + 1) * batch_size_);
    const int count = int(std::min<int64_t>(piece_, batch_end - next_frame_));
    {
      std::lock_guard<std::mutex> lock(h5_mutex_);  // reads and writes may overlap in time
      movie_.read(b->plane, next_frame_, count, b->frames);
    }
    movie_.require_finite(b->frames, b->plane, source_);
    b->first_frame = next_frame_;
    // Time-major over planes: frames t..t+piece of every plane before the next piece.
    if (++next_plane_ == active_.size()) next_plane_ = 0, next_frame_ += count;
    return b;
  }

  std::shared_ptr<PlaneBatch> extract(std::shared_ptr<PlaneBatch> b) {
    const TraceExtractor& ex = extractors_[size_t(b->plane)];
    const size_t cells = size_t(ex.rois()) * size_t(b->frames.count);
    b->f.resize(cells);
    b->fneu.resize(cells);
    const std::vector<int>& skip = facts_[size_t(b->plane)].skip_rows;
    ex.extract(b->frames, b->f.data(), b->fneu.data(), 0, skip.empty() ? nullptr : skip.data() + b->first_frame);
    std::lock_guard<std::mutex> lock(pool_mutex_);  // back to the pool before the write waits
    free_frames_.push_back(std::move(b->frames));
    b->frames = FrameStack();
    return b;
  }

  void stage_and_write(const PlaneBatch& b) {
    const size_t n = size_t(extractors_[size_t(b.plane)].rois());
    const size_t count = b.f.size() / n, batch = size_t(batch_size_);
    Staging& st = staging_[size_t(b.plane)];
    if (st.f.empty()) st.f.resize(n * batch), st.fneu.resize(n * batch);
    if (b.first_frame % batch_size_ == 0) st.first = b.first_frame;
    const size_t column = size_t(b.first_frame - st.first);
    for (size_t i = 0; i < n; ++i) {
      std::copy_n(b.f.data() + i * count, count, st.f.data() + i * batch + column);
      std::copy_n(b.fneu.data() + i * count, count, st.fneu.data() + i * batch + column);
    }
    const int64_t end = b.first_frame + int64_t(count);
    if (end % batch_size_ == 0 || end == movie_.frames()) write_batch(b.plane, st, n, size_t(end - st.first));
    done_ += int64_t(count);
    if (progress_) progress_("reading frames", done_, movie_.frames() * int64_t(active_.size()));
  }

  // A whole batch (chunk column) is staged: compact to [n, width] and write.
  void write_batch(int plane, const Staging& st, size_t n, size_t width) {
    const size_t batch = size_t(batch_size_);
    std::vector<float> f(n * width), fneu(n * width);
    for (size_t i = 0; i < n; ++i) {
      std::copy_n(st.f.data() + i * batch, width, f.data() + i * width);
      std::copy_n(st.fneu.data() + i * batch, width, fneu.data() + i * width);
    }
    const h5::Dims offset{0, uint64_t(st.first)}, box{uint64_t(n), uint64_t(width)};
    std::lock_guard<std::mutex> lock(h5_mutex_);
    PlaneOutput& out = outputs_[size_t(plane)];
    out.f.write_box(offset, box, f.data());
    out.fneu.write_box(offset, box, fneu.data());
  }

  const Movie& movie_;
  const std::vector<TraceExtractor>& extractors_;
  const std::vector<PlaneFacts>& facts_;
  std::vector<PlaneOutput>& outputs_;
  const int64_t batch_size_;
  const std::string& source_;
  const ExtractProgress& progress_;
  std::vector<int> active_;  // planes with ROIs
  int piece_ = 1;
  std::vector<Staging> staging_;
  std::mutex h5_mutex_, pool_mutex_;
  std::vector<FrameStack> free_frames_;
  int64_t next_frame_ = 0, done_ = 0;
  size_t next_plane_ = 0;
};

// Everything pass 2 produces for one ROI besides its dF/F and F0 rows.
struct RoiResult {
  NeuropilCoefEstimate coef;
  bool f0_flag = false;
  std::vector<stats::Event> events;
  int32_t nan_frames = 0;  // frames without a value (blanked rows covered the ROI, or no signal)
};

// Coefficient, F0, dF/F and events of one ROI. Frames where F or Fneu has no value are left
// out: everything runs over the frames with a value (events cannot start, peak or end in a
// gap), and dF/F and F0 are NaN at the others. A ROI with every frame valued takes the
// plain path.
DffResult roi_dff(const std::vector<float>& f, const std::vector<float>& fneu, const ExtractOptions& o,
                  const BaselineParams& baseline, const stats::EventParams& event_params, RoiResult& res) {
  std::vector<size_t> valued;
  for (size_t t = 0; t < f.size(); ++t)
    if (std::isfinite(f[t]) && std::isfinite(fneu[t])) valued.push_back(t);
  const bool gaps = valued.size() < f.size();
  res.nan_frames = int32_t(f.size() - valued.size());
  std::vector<float> fv, nv;
  if (gaps) {
    for (size_t t : valued) {
      fv.push_back(f[t]);
      nv.push_back(fneu[t]);
    }
  }
  const std::vector<float>& fu = gaps ? fv : f;
  const std::vector<float>& nu = gaps ? nv : fneu;
  if (fu.empty()) {
    res.coef.coef = o.estimate_neuropil ? o.coef.fallback : o.neuropil_coef;
    DffResult none;
    none.dff.assign(f.size(), std::numeric_limits<float>::quiet_NaN());
    none.f0 = none.dff;
    return none;
  }
  if (o.estimate_neuropil) res.coef = estimate_neuropil_coef(fu, nu, o.coef);
  else res.coef.coef = o.neuropil_coef;
  DffResult d = compute_dff(fu, nu, res.coef.coef, baseline);
  res.f0_flag = d.f0_nonpositive;
  res.events = stats::detect_events(arma::fvec(d.dff), event_params);
  if (!gaps) return d;
  for (stats::Event& e : res.events) {  // back to frame numbers of the movie
    e.frame = int64_t(valued[size_t(e.frame)]);
    e.base_frame = int64_t(valued[size_t(e.base_frame)]);
  }
  DffResult full;
  full.dff.assign(f.size(), std::numeric_limits<float>::quiet_NaN());
  full.f0 = full.dff;
  for (size_t i = 0; i < valued.size(); ++i) {
    full.dff[valued[i]] = d.dff[i];
    full.f0[valued[i]] = d.f0[i];
  }
  return full;
}

// Pass 2 for one plane: row blocks of F/Fneu -> coefficient, F0, dF/F, events, raster.
void process_rows(PlaneOutput& out, int rois, int64_t T, const ExtractOptions& o, double rate,
                  std::vector<RoiResult>& results, TracesRaster& raster, int64_t& done, int64_t total,
                  const ExtractProgress& progress) {
  BaselineParams baseline = o.baseline;
  baseline.frame_rate_hz = rate;
  stats::EventParams event_params = o.events;
  event_params.frame_rate_hz = rate;
  const size_t t_len = size_t(T);
  raster.rows = rois;
  raster.bins = int(std::min<int64_t>(o.raster_bins, T));
  raster.values.assign(size_t(rois) * size_t(raster.bins), 0.0f);
  raster.duration_s = double(T) / rate;
  results.assign(size_t(rois), {});
  std::vector<float> f, fneu, dff, f0;
  for (int r0 = 0; r0 < rois; r0 += o.row_block) {
    const int rows = std::min(o.row_block, rois - r0);
    const h5::Dims offset{uint64_t(r0), 0}, box{uint64_t(rows), uint64_t(T)};
    f.resize(size_t(rows) * t_len);
    fneu.resize(f.size());
    dff.resize(f.size());
    f0.resize(f.size());
    out.f.read_box(offset, box, f.data());
    out.fneu.read_box(offset, box, fneu.data());
    // Each ROI's row is independent and written to its own slot: thread-count independent.
    oneapi::tbb::parallel_for(0, rows, [&](int j) {
      const size_t row = size_t(j) * t_len;
      const std::vector<float> fj(f.begin() + long(row), f.begin() + long(row + t_len));
      const std::vector<float> nj(fneu.begin() + long(row), fneu.begin() + long(row + t_len));
      RoiResult& res = results[size_t(r0 + j)];
      const DffResult d = roi_dff(fj, nj, o, baseline, event_params, res);
      std::copy(d.dff.begin(), d.dff.end(), dff.begin() + long(row));
      std::copy(d.f0.begin(), d.f0.end(), f0.begin() + long(row));
      float* bins = raster.values.data() + size_t(r0 + j) * size_t(raster.bins);
      for (int b = 0; b < raster.bins; ++b) {
        const int64_t t0 = int64_t(b) * T / raster.bins, t1 = int64_t(b + 1) * T / raster.bins;
        double sum = 0;
        int64_t valued = 0;
        for (int64_t t = t0; t < t1; ++t)
          if (std::isfinite(d.dff[size_t(t)])) sum += d.dff[size_t(t)], ++valued;
        bins[b] = valued == t1 - t0 ? float(sum / double(std::max<int64_t>(1, t1 - t0)))
                  : valued > 0      ? float(sum / double(valued))
                                    : std::numeric_limits<float>::quiet_NaN();
      }
    });
    out.dff.write_box(offset, box, dff.data());
    out.f0.write_box(offset, box, f0.data());
    done += rows;
    if (progress) progress("dF/F and events", done, total);
  }
}

TracesRoiTable roi_table(const TraceExtractor& ex, const std::vector<RoiResult>& results, const SparseMasks& masks,
                         const ExtractOptions& o, PlaneExtractionSummary& s) {
  const int n = ex.rois();
  TracesRoiTable t;
  double coef_sum = 0;
  for (int i = 0; i < n; ++i) {
    const RoiResult& r = results[size_t(i)];
    t.neuropil_coef.push_back(r.coef.coef);
    if (o.estimate_neuropil) {
      t.neuropil_slope.push_back(float(r.coef.slope));
      t.neuropil_clipped.push_back(r.coef.clipped);
    }
    t.f0_flag.push_back(r.f0_flag);
    t.nan_frames.push_back(r.nan_frames);
    t.neuropil_pixels.push_back(ex.info(i).neuropil_pixels);
    t.f_pixels.push_back(ex.info(i).f_pixels);
    if (r.nan_frames > 0) s.nan_rois.push_back(i);
    if (r.f0_flag) s.f0_flagged.push_back(i);
    coef_sum += r.coef.coef;
    s.neuropil_short += ex.info(i).neuropil_short;
    s.coef_clipped += r.coef.clipped;
    s.coef_fallback += r.coef.fallback;
  }
  t.roi_kind.assign(masks.kind.begin(), masks.kind.end());
  s.mean_coef = n > 0 ? coef_sum / n : 0;
  return t;
}

TracesEventTable event_table(const std::vector<RoiResult>& results, const stats::EventParams& p) {
  TracesEventTable t;
  for (size_t i = 0; i < results.size(); ++i)
    for (const stats::Event& e : results[i].events) {
      t.roi.push_back(int32_t(i));
      t.frame.push_back(e.frame);
      t.base_frame.push_back(e.base_frame);
      t.amplitude.push_back(e.amplitude);
      t.prominence.push_back(e.prominence);
    }
  t.threshold_sigma = p.threshold_sigma;
  t.min_interval_s = p.min_interval_s;
  t.highpass_window_s = p.highpass_window_s;
  t.smoothing_s = p.smoothing_s;
  t.lookback_s = p.lookback_s;
  return t;
}

const char* method_name(BaselineMethod m) {
  switch (m) {
    case BaselineMethod::maximin: return "maximin";
    case BaselineMethod::percentile: return "percentile";
    case BaselineMethod::constant: return "constant";
  }
  return "?";
}

TracesPlaneSettings plane_settings(const ExtractOptions& o, const std::string& role, double rate) {
  TracesPlaneSettings s;
  s.role = role;
  s.frame_rate_hz = rate;
  s.neuropil_estimated = o.estimate_neuropil;
  s.neuropil_coef_min = double(o.coef.min_coef);
  s.neuropil_coef_max = double(o.coef.max_coef);
  s.neuropil_inner_gap_px = double(o.masks.neuropil_inner_gap_px);
  s.neuropil_min_pixels = int32_t(o.masks.neuropil_min_pixels);
  s.baseline_method = method_name(o.baseline.method);
  s.baseline_sigma_s = o.baseline.sigma_s;
  s.baseline_window_s = o.baseline.window_s;
  s.baseline_percentile = o.baseline.percentile;
  return s;
}

}  // namespace

void validate(const ExtractOptions& o) {
  validate(o.masks);
  require(std::isfinite(o.neuropil_coef) && o.neuropil_coef >= 0 && o.neuropil_coef <= 2,
          "--neuropil-coef must be in [0, 2] or 'estimate'");
  require(std::isfinite(o.coef.min_coef) && std::isfinite(o.coef.max_coef) && o.coef.min_coef <= o.coef.max_coef,
          "--neuropil-coef-range: min must be <= max");
  require(std::isfinite(o.frame_rate_hz) && o.frame_rate_hz >= 0, "--frame-rate must be > 0 Hz");
  require(o.batch_size >= 1, "--batch-size must be >= 1");
  require(o.row_block >= 1, "extract: row block must be >= 1");
  require(o.raster_bins >= 1, "extract: raster bins must be >= 1");
  BaselineParams b = o.baseline;
  b.frame_rate_hz = 1;  // checked per plane
  validate(b);
  stats::EventParams e = o.events;
  e.frame_rate_hz = 1;
  stats::validate(e);
}

ExtractionSummary extract_traces(const std::string& registered_path, const std::string& rois_path,
                                 const ExtractOptions& options, const std::string& output_path,
                                 const Provenance& provenance, const ExtractProgress& progress) {
  validate(options);
  const std::vector<PlaneFacts> facts = read_plane_facts(registered_path);
  std::unique_ptr<Movie> movie = open_registered(registered_path);
  const RoiFile rois = accepted_rois(read_rois(rois_path), rois_path);
  const int planes = movie->planes();
  const int64_t T = movie->frames();
  require(T > 0, registered_path + ": the registered movie has no frames");
  if (int(rois.planes.size()) != planes)
    throw file_error(rois_path, "has " + std::to_string(rois.planes.size()) + " plane(s) but " + registered_path +
                                    " has " + std::to_string(planes));
  std::vector<double> rates(static_cast<size_t>(planes));
  std::vector<TraceExtractor> extractors;
  for (int k = 0; k < planes; ++k) {
    const SparseMasks& m = rois.planes[size_t(k)].masks;
    if (m.height != movie->height() || m.width != movie->width())
      throw file_error(rois_path, "plane" + std::to_string(k) + " masks are " + std::to_string(m.height) + "x" +
                                      std::to_string(m.width) + " px but the registered frames are " +
                                      std::to_string(movie->height()) + "x" + std::to_string(movie->width()));
    rates[size_t(k)] = plane_frame_rate(options, facts[size_t(k)], k, registered_path);
    extractors.push_back(TraceExtractor::build(m, options.masks));
  }

  TracesWriter writer(output_path, provenance, planes, T);
  std::vector<PlaneOutput> outputs;
  ExtractionSummary summary;
  summary.frames = T;
  summary.planes = planes;
  summary.per_plane.resize(size_t(planes));
  for (int k = 0; k < planes; ++k) {
    std::string role = facts[size_t(k)].role;
    if (role.empty() || role == "unknown") role = rois.planes[size_t(k)].role;
    const uint64_t n = uint64_t(extractors[size_t(k)].rois());
    // Time chunk = batch: pass-1 column blocks and pass-2 row blocks both cover whole chunks.
    outputs.push_back(writer.begin_plane(k, plane_settings(options, role, rates[size_t(k)]), n,
                                         uint64_t(options.row_block), uint64_t(options.batch_size)));
    PlaneExtractionSummary& s = summary.per_plane[size_t(k)];
    s.plane = k;
    s.role = role;
    s.frame_rate_hz = rates[size_t(k)];
    s.rois = int(n);
    summary.rois += int(n);
  }

  FluorescencePass(*movie, extractors, facts, outputs, options, registered_path, progress).run();

  int64_t done = 0;
  for (int k = 0; k < planes; ++k) {
    PlaneExtractionSummary& s = summary.per_plane[size_t(k)];
    std::vector<RoiResult> results;
    s.raster.plane = k;
    s.raster.role = s.role;
    if (s.rois > 0)
      process_rows(outputs[size_t(k)], s.rois, T, options, rates[size_t(k)], results, s.raster, done, summary.rois,
                   progress);
    const TracesEventTable events = event_table(results, options.events);
    s.events = int64_t(events.roi.size());
    writer.finish_plane(k, roi_table(extractors[size_t(k)], results, rois.planes[size_t(k)].masks, options, s),
                        events);
  }
  outputs.clear();  // the matrices close (and flush) before the file does
  writer.finish(timebase_of_inputs(provenance.inputs));
  return summary;
}

}  // namespace apical
