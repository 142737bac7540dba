// apical extract driver: one streaming pass over the registered movie (F, Fneu of every ROI
// of every plane), then per-ROI row blocks (neuropil coefficient, baseline, dF/F, events).
#include "pipeline/extract/extract_stream.hpp"

#include "io/schema.hpp"

#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/parallel_pipeline.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <mutex>
#include <string>

#include "io/error.hpp"
#include "io/h5.hpp"
#include "io/movie.hpp"
#include "io/rois_file.hpp"

namespace apical {

namespace {

void require(bool ok, const std::string& message) {
  if (!ok) throw InputError(message);
}

// What registered.h5 says about each plane (role, frame rate), read before streaming.
struct PlaneFacts {
  std::string role;
  double frame_rate_hz = 0;
};

std::vector<PlaneFacts> read_plane_facts(const std::string& registered_path) {
  h5::File file = h5::File::open_read(registered_path);
  h5::Group root = file.root();
  std::vector<PlaneFacts> facts;
  for (int k = 0; root.has("plane" + std::to_string(k)); ++k) {
    h5::Group g = root.group("plane" + std::to_string(k));
    facts.push_back({g.string_attribute("role").value_or(""), g.number_attribute("frame_rate_hz").value_or(0)});
  }
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

struct PlaneOutput {
  h5::Group group;
  h5::Dataset f, fneu, dff, f0;
};

h5::Dataset create_traces(h5::Group& g, const std::string& name, uint64_t n, uint64_t T, const ExtractOptions& o,
                          const std::string& units) {
  h5::DatasetOptions chunked;
  // Time chunk = batch: pass-1 column blocks and pass-2 row blocks both cover whole chunks.
  if (n > 0 && T > 0)
    chunked.chunk = {std::min<uint64_t>(n, uint64_t(o.row_block)), std::min<uint64_t>(T, uint64_t(o.batch_size))};
  h5::Dataset ds = g.create_dataset<float>(name, {n, T}, chunked);
  ds.set_attribute("units", units);
  return ds;
}

// Pass 1: F and Fneu of every ROI of every plane, streamed into the [N, T] datasets.
void stream_fluorescence(const Movie& movie, const std::vector<TraceExtractor>& extractors,
                         std::vector<PlaneOutput>& outputs, const ExtractOptions& o, const std::string& source,
                         const ExtractProgress& progress) {
  const int64_t T = movie.frames();
  const int planes = int(extractors.size());
  std::vector<int> active;  // planes with ROIs: the others are not read at all
  for (int k = 0; k < planes; ++k)
    if (extractors[size_t(k)].rois() > 0) active.push_back(k);
  if (active.empty()) return;
  const int64_t total = T * int64_t(active.size());
  std::mutex h5_mutex;  // reads (filter 1) and writes (filter 3) may overlap in time
  // Reads are split into pieces of <= ~16 MB: buffers that size are recycled by malloc, while
  // each fresh batch-sized buffer would cost page faults on every read. Pieces never straddle
  // a batch boundary, so the [N, T] datasets are written one whole chunk column at a time.
  const int64_t frame_bytes = int64_t(movie.height()) * movie.width() * 4;
  const int piece = int(std::clamp<int64_t>((16 << 20) / std::max<int64_t>(frame_bytes, 1), 1, o.batch_size));
  struct Staging {
    std::vector<float> f, fneu;  // [N, batch] row-major
    int64_t first = 0;
  };
  std::vector<Staging> staging(static_cast<size_t>(planes));
  // Frame buffers are recycled, so at most one per pipeline token ever exists: pass 1 then
  // holds a fixed 4 pieces (freed pieces would linger in each thread's malloc arena instead).
  std::mutex pool_mutex;
  std::vector<FrameStack> free_frames;
  auto take_frames = [&] {
    std::lock_guard<std::mutex> lock(pool_mutex);
    if (free_frames.empty()) return FrameStack();
    FrameStack frames = std::move(free_frames.back());
    free_frames.pop_back();
    return frames;
  };
  int64_t next_frame = 0, done = 0;
  size_t next_plane = 0;
  oneapi::tbb::parallel_pipeline(
      4,
      oneapi::tbb::make_filter<void, std::shared_ptr<PlaneBatch>>(
          oneapi::tbb::filter_mode::serial_in_order,
          [&](oneapi::tbb::flow_control& fc) -> std::shared_ptr<PlaneBatch> {
            if (next_frame >= T) {
              fc.stop();
              return nullptr;
            }
            auto b = std::make_shared<PlaneBatch>();
            b->frames = take_frames();
            b->plane = active[next_plane];
            const int64_t batch_end = std::min<int64_t>(T, (next_frame / o.batch_size + 1) * o.batch_size);
            const int count = int(std::min<int64_t>(piece, batch_end - next_frame));
            {
              std::lock_guard<std::mutex> lock(h5_mutex);
              movie.read(b->plane, next_frame, count, b->frames);
            }
            movie.require_finite(b->frames, b->plane, source);
            b->first_frame = next_frame;
            // Time-major over planes: frames t..t+piece of every plane before the next piece.
            if (++next_plane == active.size()) next_plane = 0, next_frame += count;
            return b;
          }) &
          oneapi::tbb::make_filter<std::shared_ptr<PlaneBatch>, std::shared_ptr<PlaneBatch>>(
              oneapi::tbb::filter_mode::serial_in_order,
              [&](std::shared_ptr<PlaneBatch> b) {
                const TraceExtractor& ex = extractors[size_t(b->plane)];
                const size_t cells = size_t(ex.rois()) * size_t(b->frames.count);
                b->f.resize(cells);
                b->fneu.resize(cells);
                ex.extract(b->frames, b->f.data(), b->fneu.data());
                std::lock_guard<std::mutex> lock(pool_mutex);  // back to the pool before the write waits
                free_frames.push_back(std::move(b->frames));
                b->frames = FrameStack();
                return b;
              }) &
          oneapi::tbb::make_filter<std::shared_ptr<PlaneBatch>, void>(
              oneapi::tbb::filter_mode::serial_in_order, [&](std::shared_ptr<PlaneBatch> b) {
                const size_t n = size_t(extractors[size_t(b->plane)].rois());
                const size_t count = b->f.size() / n, batch = size_t(o.batch_size);
                Staging& st = staging[size_t(b->plane)];
                if (st.f.empty()) st.f.resize(n * batch), st.fneu.resize(n * batch);
                if (b->first_frame % o.batch_size == 0) st.first = b->first_frame;
                const size_t column = size_t(b->first_frame - st.first);
                for (size_t i = 0; i < n; ++i) {
                  std::copy_n(b->f.data() + i * count, count, st.f.data() + i * batch + column);
                  std::copy_n(b->fneu.data() + i * count, count, st.fneu.data() + i * batch + column);
                }
                const int64_t end = b->first_frame + int64_t(count);
                if (end % o.batch_size == 0 || end == T) {
                  // A whole batch (chunk column) is staged: compact to [n, width] and write.
                  const size_t width = size_t(end - st.first);
                  std::vector<float> f(n * width), fneu(n * width);
                  for (size_t i = 0; i < n; ++i) {
                    std::copy_n(st.f.data() + i * batch, width, f.data() + i * width);
                    std::copy_n(st.fneu.data() + i * batch, width, fneu.data() + i * width);
                  }
                  const h5::Dims offset{0, uint64_t(st.first)}, box{uint64_t(n), uint64_t(width)};
                  std::lock_guard<std::mutex> lock(h5_mutex);
                  PlaneOutput& out = outputs[size_t(b->plane)];
                  out.f.write_box(offset, box, f.data());
                  out.fneu.write_box(offset, box, fneu.data());
                }
                done += int64_t(count);
                if (progress) progress("reading frames", done, total);
              }));
}

// Everything pass 2 produces for one ROI besides its dF/F and F0 rows.
struct RoiResult {
  NeuropilCoefEstimate coef;
  bool f0_flag = false;
  std::vector<stats::Event> events;
};

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
      if (o.estimate_neuropil) res.coef = estimate_neuropil_coef(fj, nj, o.coef);
      else res.coef.coef = o.neuropil_coef;
      DffResult d = compute_dff(fj, nj, res.coef.coef, baseline);
      res.f0_flag = d.f0_nonpositive;
      res.events = stats::detect_events(arma::fvec(d.dff), event_params);
      std::copy(d.dff.begin(), d.dff.end(), dff.begin() + long(row));
      std::copy(d.f0.begin(), d.f0.end(), f0.begin() + long(row));
      float* bins = raster.values.data() + size_t(r0 + j) * size_t(raster.bins);
      for (int b = 0; b < raster.bins; ++b) {
        const int64_t t0 = int64_t(b) * T / raster.bins, t1 = int64_t(b + 1) * T / raster.bins;
        double sum = 0;
        for (int64_t t = t0; t < t1; ++t) sum += d.dff[size_t(t)];
        bins[b] = float(sum / double(std::max<int64_t>(1, t1 - t0)));
      }
    });
    out.dff.write_box(offset, box, dff.data());
    out.f0.write_box(offset, box, f0.data());
    done += rows;
    if (progress) progress("dF/F and events", done, total);
  }
}

void write_roi_tables(h5::Group& g, const TraceExtractor& ex, const std::vector<RoiResult>& results,
                      const SparseMasks& masks, const ExtractOptions& o, PlaneExtractionSummary& s) {
  const int n = ex.rois();
  const size_t count = size_t(n);
  std::vector<float> coef(count), slope(count);
  std::vector<uint8_t> clipped(count), flag(count);
  std::vector<int32_t> ring(count), fpx(count);
  std::vector<int32_t> ev_roi;
  std::vector<int64_t> ev_frame, ev_base;
  std::vector<float> ev_amp, ev_prom;
  double coef_sum = 0;
  for (int i = 0; i < n; ++i) {
    const RoiResult& r = results[size_t(i)];
    coef[size_t(i)] = r.coef.coef;
    slope[size_t(i)] = float(r.coef.slope);
    clipped[size_t(i)] = r.coef.clipped;
    flag[size_t(i)] = r.f0_flag;
    ring[size_t(i)] = ex.info(i).neuropil_pixels;
    fpx[size_t(i)] = ex.info(i).f_pixels;
    coef_sum += r.coef.coef;
    s.neuropil_short += ex.info(i).neuropil_short;
    s.coef_clipped += r.coef.clipped;
    s.coef_fallback += r.coef.fallback;
    if (r.f0_flag) s.f0_flagged.push_back(i);
    for (const stats::Event& e : r.events) {
      ev_roi.push_back(i);
      ev_frame.push_back(e.frame);
      ev_base.push_back(e.base_frame);
      ev_amp.push_back(e.amplitude);
      ev_prom.push_back(e.prominence);
    }
  }
  s.mean_coef = n > 0 ? coef_sum / n : 0;
  s.events = int64_t(ev_roi.size());
  g.write("neuropil_coef", coef);
  g.dataset("neuropil_coef").set_attribute("units", std::string("dimensionless: corrected F = F - coef * Fneu"));
  if (o.estimate_neuropil) {
    g.write("neuropil_slope", slope);
    g.dataset("neuropil_slope")
        .set_attribute("description", std::string("fitted lower-envelope slope of F on Fneu before clipping"));
    g.write("neuropil_clipped", clipped);
  }
  g.write("f0_flag", flag);
  g.dataset("f0_flag").set_attribute(
      "description", std::string("1: the baseline fell to <= the floor (1% of median |F|) somewhere; dF/F there "
                                 "uses the floor and is not meaningful"));
  g.write("neuropil_pixels", ring);
  g.write("f_pixels", fpx);
  g.write("roi_kind", std::vector<uint8_t>(masks.kind.begin(), masks.kind.end()));
  h5::Group ev = g.create_group("events");
  ev.write("roi", ev_roi);
  ev.write("frame", ev_frame);
  ev.write("base_frame", ev_base);
  ev.write("amplitude", ev_amp);
  ev.write("prominence", ev_prom);
  ev.dataset("frame").set_attribute("description", std::string("frame of the event peak"));
  ev.dataset("base_frame").set_attribute("description", std::string("frame of the preceding minimum (rise start)"));
  ev.dataset("amplitude").set_attribute("units", std::string("dF/F: peak minus the preceding minimum"));
  ev.dataset("prominence").set_attribute("units", std::string("dF/F"));
  ev.set_attribute("threshold_sigma", o.events.threshold_sigma);
  ev.set_attribute("min_interval_s", o.events.min_interval_s);
  ev.set_attribute("highpass_window_s", o.events.highpass_window_s);
  ev.set_attribute("smoothing_s", o.events.smoothing_s);
  ev.set_attribute("lookback_s", o.events.lookback_s);
}

const char* method_name(BaselineMethod m) {
  switch (m) {
    case BaselineMethod::maximin: return "maximin";
    case BaselineMethod::percentile: return "percentile";
    case BaselineMethod::constant: return "constant";
  }
  return "?";
}

void set_plane_attributes(h5::Group& g, const ExtractOptions& o, const std::string& role, double rate) {
  g.set_attribute("role", role);
  g.set_attribute("frame_rate_hz", rate);
  g.set_attribute("neuropil_mode", std::string(o.estimate_neuropil ? "estimate" : "fixed"));
  if (o.estimate_neuropil) {
    g.set_attribute("neuropil_coef_min", double(o.coef.min_coef));
    g.set_attribute("neuropil_coef_max", double(o.coef.max_coef));
  }
  g.set_attribute("neuropil_inner_gap_px", double(o.masks.neuropil_inner_gap_px));
  g.set_attribute("neuropil_min_pixels", int32_t(o.masks.neuropil_min_pixels));
  g.set_attribute("baseline_method", std::string(method_name(o.baseline.method)));
  g.set_attribute("baseline_sigma_s", o.baseline.sigma_s);
  g.set_attribute("baseline_window_s", o.baseline.window_s);
  g.set_attribute("baseline_percentile", o.baseline.percentile);
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

  h5::File file = h5::File::create(output_path);
  h5::Group root = file.root();
  write_provenance(root, provenance);
  root.set_attribute("planes", int32_t(planes));
  root.set_attribute("frames", int64_t(T));
  std::vector<PlaneOutput> outputs;
  ExtractionSummary summary;
  summary.frames = T;
  summary.planes = planes;
  summary.per_plane.resize(size_t(planes));
  for (int k = 0; k < planes; ++k) {
    h5::Group g = root.create_group("plane" + std::to_string(k));
    std::string role = facts[size_t(k)].role;
    if (role.empty() || role == "unknown") role = rois.planes[size_t(k)].role;
    set_plane_attributes(g, options, role, rates[size_t(k)]);
    const uint64_t n = uint64_t(extractors[size_t(k)].rois());
    h5::Dataset f = create_traces(g, "F", n, uint64_t(T), options, "counts: weighted mask mean");
    h5::Dataset fneu = create_traces(g, "Fneu", n, uint64_t(T), options, "counts: neuropil ring mean");
    h5::Dataset dff = create_traces(g, "dff", n, uint64_t(T), options, "dimensionless: (F_corrected - f0) / f0");
    h5::Dataset f0 = create_traces(g, "f0", n, uint64_t(T), options, "counts: baseline of F_corrected = F - coef*Fneu");
    PlaneOutput out{std::move(g), std::move(f), std::move(fneu), std::move(dff), std::move(f0)};
    outputs.push_back(std::move(out));
    PlaneExtractionSummary& s = summary.per_plane[size_t(k)];
    s.plane = k;
    s.role = role;
    s.frame_rate_hz = rates[size_t(k)];
    s.rois = int(n);
    summary.rois += int(n);
  }

  stream_fluorescence(*movie, extractors, outputs, options, registered_path, progress);

  int64_t done = 0;
  for (int k = 0; k < planes; ++k) {
    PlaneExtractionSummary& s = summary.per_plane[size_t(k)];
    std::vector<RoiResult> results;
    s.raster.plane = k;
    s.raster.role = s.role;
    if (s.rois > 0)
      process_rows(outputs[size_t(k)], s.rois, T, options, rates[size_t(k)], results, s.raster, done, summary.rois,
                   progress);
    write_roi_tables(outputs[size_t(k)].group, extractors[size_t(k)], results, rois.planes[size_t(k)].masks, options,
                     s);
  }
  describe_output(root, traces_schema(), timebase_of_inputs(provenance.inputs));
  file.close();
  return summary;
}

}  // namespace apical
