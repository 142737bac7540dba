#include "pipeline/segment/segment_stream.hpp"

#include "io/schema.hpp"

#include <oneapi/tbb/parallel_pipeline.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <mutex>
#include <sstream>

#include "io/error.hpp"
#include "io/h5.hpp"
#include "pipeline/segment/segment_anatomy.hpp"

namespace apical {

namespace {

// Reads plane `plane` in batches (in order) and hands each to `consume` (in order), with
// two batches in flight so reading overlaps the accumulation. The two batch buffers are
// reused: allocating (and page-faulting) a fresh 50 MB buffer per batch costs more than
// the accumulation itself.
template <typename Consume>
void stream_plane(const Movie& movie, int plane, int batch_size, Consume consume) {
  const int64_t T = movie.frames();
  const std::string source = movie.files().empty() ? "movie" : movie.files()[0];
  constexpr int kInFlight = 2;
  std::vector<FrameStack> buffers(kInFlight);
  std::mutex free_mutex;
  std::vector<FrameStack*> free_buffers;
  for (auto& b : buffers) free_buffers.push_back(&b);
  int64_t next = 0;
  oneapi::tbb::parallel_pipeline(
      kInFlight,
      oneapi::tbb::make_filter<void, FrameStack*>(
          oneapi::tbb::filter_mode::serial_in_order,
          [&](oneapi::tbb::flow_control& fc) -> FrameStack* {
            if (next >= T) {
              fc.stop();
              return nullptr;
            }
            FrameStack* b = nullptr;
            {
              std::lock_guard<std::mutex> lock(free_mutex);
              b = free_buffers.back();  // never empty: at most kInFlight batches are out
              free_buffers.pop_back();
            }
            const int count = int(std::min<int64_t>(batch_size, T - next));
            movie.read(plane, next, count, *b);
            movie.require_finite(*b, plane, source);
            next += count;
            return b;
          }) &
          oneapi::tbb::make_filter<FrameStack*, void>(oneapi::tbb::filter_mode::serial_in_order, [&](FrameStack* b) {
            consume(*b);
            std::lock_guard<std::mutex> lock(free_mutex);
            free_buffers.push_back(b);
          }));
}

int choose_temporal_bin(int requested, double frame_rate_hz, int64_t frames) {
  if (requested > 0) return requested;
  int bin = frame_rate_hz > 0 ? std::max(1, int(std::lround(frame_rate_hz / 3.0))) : 10;
  // Short movies: keep at least ~100 bins for the correlation image.
  bin = std::min<int64_t>(bin, std::max<int64_t>(1, frames / 100));
  return bin;
}

int first_plane_with_role(const Segmentation& s, const std::string& role) {
  for (const auto& p : s.planes)
    if (p.role == role) return p.plane;
  return -1;
}

// The accepted ROIs (they come first).
std::vector<Roi> accepted_prefix(const std::vector<Roi>& rois) {
  return {rois.begin(), std::find_if(rois.begin(), rois.end(), [](const Roi& r) { return !r.accepted(); })};
}

// Soma planes: the given diameter, or the estimate from this plane's summary images. The
// dendrite plane's detection uses fixed small scales and does not need it.
void resolve_soma_diameter(PlaneSegmentation& plane, SegmentParams& params) {
  if (plane.role != "soma") return;
  if (params.soma_diameter_px > 0) {
    plane.diameter_method = "given";
  } else {
    const DiameterEstimate estimate = estimate_soma_diameter(plane.mean, plane.correlation);
    params.soma_diameter_px = estimate.diameter_px;
    plane.diameter_method = estimate.method;
  }
  plane.soma_diameter_px = params.soma_diameter_px;
  plane.template_score = soma_template_score(plane.mean, plane.correlation, params.soma_diameter_px, params.soma_model);
}

}  // namespace

std::vector<std::string> resolve_roles(const Movie& movie, const std::vector<std::string>& given,
                                       std::vector<std::string>& notes) {
  const int planes = movie.planes();
  if (!given.empty() && int(given.size()) != planes)
    throw InputError("--roles: " + std::to_string(given.size()) + " role(s) given for " + std::to_string(planes) +
                     " plane(s)");
  std::vector<std::string> roles(static_cast<size_t>(planes));
  const auto& stored = movie.acquisition().roles;
  for (int k = 0; k < planes; ++k) {
    std::string role = !given.empty() ? given[size_t(k)] : (size_t(k) < stored.size() ? stored[size_t(k)] : "");
    if (role != "soma" && role != "dendrite") {
      if (!given.empty()) throw InputError("--roles: '" + role + "' is not soma or dendrite");
      notes.push_back("plane " + std::to_string(k) + " has no known role ('" + role +
                      "'): segmenting it as a soma plane (set --roles soma,dendrite if that is wrong)");
      role = "soma";
    }
    roles[size_t(k)] = role;
  }
  return roles;
}

void set_soma_diameter(SegmentOptions& options, const std::string& text) {
  options.soma.soma_diameter_px = 0;
  options.soma_diameter_um = 0;
  if (text == "auto") return;
  size_t used = 0;
  float value = 0;
  try {
    value = std::stof(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  const std::string unit = text.substr(used);
  const bool um = unit == "um" || unit == "\u00b5m";
  if (used == 0 || !(value > 2 || (um && value > 0)) || !(unit.empty() || unit == "px" || um))
    throw InputError("--soma-diameter: '" + text + "' is not 'auto', a diameter in px above 2 (e.g. 9) or in um (e.g. 12um)");
  (um ? options.soma_diameter_um : options.soma.soma_diameter_px) = value;
}

Segmentation segment_movie(const Movie& movie, const SegmentOptions& options_in, const SegmentProgress& progress) {
  SegmentOptions options = options_in;
  if (options.soma_diameter_um > 0) {
    const double pixel_um = movie.acquisition().pixel_size_um;
    if (!(pixel_um > 0))
      throw InputError("--soma-diameter " + std::to_string(options.soma_diameter_um) +
                       "um: the pixel size is unknown (set pixel_size_um in apical.ini or give the diameter in px)");
    options.soma.soma_diameter_px = float(options.soma_diameter_um / pixel_um);
    if (!(options.soma.soma_diameter_px > 2))
      throw InputError("--soma-diameter: " + std::to_string(options.soma_diameter_um) + " um is " +
                       std::to_string(options.soma.soma_diameter_px) + " px at " + std::to_string(pixel_um) +
                       " um/px; it must be above 2 px");
  }
  if (options.batch_size < 1) throw InputError("segment: batch size must be at least 1 frame");
  const int64_t T = movie.frames();
  const int H = movie.height(), W = movie.width();
  Segmentation result;
  result.frames = T;
  result.height = H;
  result.width = W;
  const std::vector<std::string> roles = resolve_roles(movie, options.roles, result.notes);
  result.temporal_bin = choose_temporal_bin(options.temporal_bin, movie.acquisition().frame_rate_hz, T);
  const int64_t bins = T / result.temporal_bin;
  if (bins < 10)
    throw InputError("segment: " + std::to_string(T) + " frames give only " + std::to_string(bins) +
                     " bins of " + std::to_string(result.temporal_bin) + " frames; at least 10 are needed");

  SummaryParams summary = options.summary;
  summary.temporal_bin = result.temporal_bin;
  // The running baseline's warm-up bins are not correlated: keep it a fifth of short movies.
  summary.baseline_tau_bins = std::clamp(float(bins) / 5.0f, 1.0f, options.summary.baseline_tau_bins);
  TraceParams trace_params = options.traces;
  trace_params.temporal_bin = result.temporal_bin;

  const int64_t total = 2 * T * movie.planes();
  int64_t done = 0;
  auto advance = [&](int count) {
    done += count;
    if (progress) progress(done, total);
  };

  // Pass 1 per plane: summary images -> ROIs.
  for (int k = 0; k < movie.planes(); ++k) {
    PlaneSegmentation plane;
    plane.plane = k;
    plane.role = roles[size_t(k)];
    SummaryImageAccumulator acc(H, W, summary);
    stream_plane(movie, k, options.batch_size, [&](const FrameStack& b) {
      acc.add(b);
      advance(b.count);
    });
    plane.mean = acc.mean();
    plane.max = acc.max();
    plane.correlation = acc.correlation();
    SegmentParams params = plane.role == "soma" ? options.soma : options.dendrite;
    params.role = plane.role;
    resolve_soma_diameter(plane, params);
    plane.rois = detect_rois(plane.mean, plane.max, plane.correlation, params);
    result.planes.push_back(std::move(plane));
  }
  // Pass 2 per plane: binned traces -> refined ROIs and their statistics. Accepted ROIs
  // only (they come first): rejected candidates keep their detection features, and their
  // trace statistics stay NaN (tracing hundreds of candidates would double the pass).
  for (PlaneSegmentation& plane : result.planes) {
    const auto first_rejected =
        std::find_if(plane.rois.begin(), plane.rois.end(), [](const Roi& r) { return !r.accepted(); });
    std::vector<Roi> rejected(std::make_move_iterator(first_rejected), std::make_move_iterator(plane.rois.end()));
    plane.rois.erase(first_rejected, plane.rois.end());
    for (Roi& r : rejected) r.stats.snr = r.stats.skewness = std::numeric_limits<float>::quiet_NaN();
    RoiTraceAccumulator acc(plane.rois, H, W, trace_params);
    stream_plane(movie, plane.plane, options.batch_size, [&](const FrameStack& b) {
      acc.add(b);
      advance(b.count);
    });
    plane.traces = acc.traces();
    SegmentParams params = plane.role == "soma" ? options.soma : options.dendrite;
    params.role = plane.role;
    refine_rois(plane.rois, plane.traces, params, W);
    plane.shared = shared_pixel_mask(plane.rois, H, W);
    plane.rois.insert(plane.rois.end(), std::make_move_iterator(rejected.begin()), std::make_move_iterator(rejected.end()));
  }

  // Pairing: every dendrite plane against the first soma plane.
  const int soma_plane = first_plane_with_role(result, "soma");
  const int dendrite_plane = first_plane_with_role(result, "dendrite");
  if (options.manual_pairs) {
    result.pairing = "manual";
    if (soma_plane < 0 || dendrite_plane < 0)
      throw InputError("--pairs: needs a soma plane and a dendrite plane (see --roles)");
    const std::vector<Roi> somata = accepted_prefix(result.planes[size_t(soma_plane)].rois);
    const std::vector<Roi> dendrites = accepted_prefix(result.planes[size_t(dendrite_plane)].rois);
    for (const auto& [s, d] : options.pairs) {
      if (s < 0 || size_t(s) >= somata.size() || d < 0 || size_t(d) >= dendrites.size())
        throw InputError("--pairs: pair (" + std::to_string(s) + ", " + std::to_string(d) + ") names an ROI that " +
                         "does not exist (" + std::to_string(somata.size()) + " somata, " +
                         std::to_string(dendrites.size()) + " dendrites found)");
      result.pairs.push_back(RoiPair{soma_plane, s, dendrite_plane, d, 1.0f});
    }
  } else if (soma_plane >= 0) {
    const PlaneSegmentation& s = result.planes[size_t(soma_plane)];
    const std::vector<Roi> somata = accepted_prefix(s.rois);
    for (const PlaneSegmentation& d : result.planes) {
      if (d.role != "dendrite") continue;
      for (const Pair& p : pair_dendrites(somata, s.traces, accepted_prefix(d.rois), d.traces, options.pairing))
        result.pairs.push_back(RoiPair{soma_plane, p.soma_roi, d.plane, p.dendrite_roi, p.confidence});
    }
  }
  return result;
}

RoiFile to_roi_file(const Segmentation& segmentation) {
  RoiFile file;
  for (const PlaneSegmentation& p : segmentation.planes) {
    RoiPlane plane;
    plane.role = p.role;
    plane.masks.height = segmentation.height;
    plane.masks.width = segmentation.width;
    RoiFeatures& st = plane.features.emplace();
    if (p.role == "soma") {
      plane.rejection_labels = kRejectionLabels;
      plane.source_labels = kSourceLabels;
      plane.soma_diameter_px = p.soma_diameter_px;
      plane.diameter_method = p.diameter_method;
    }
    for (const Roi& roi : p.rois) {
      plane.masks.add(roi.pixels, roi.weights, uint8_t(roi.kind));
      plane.rejection.push_back(uint8_t(roi.rejection));
      if (p.role == "soma") plane.source.push_back(uint8_t(roi.source));
      st.template_score.push_back(roi.template_score);
      st.centroid_y.push_back(roi.stats.cy);
      st.centroid_x.push_back(roi.stats.cx);
      st.area.push_back(roi.stats.area);
      st.compactness.push_back(roi.stats.compactness);
      st.eccentricity.push_back(roi.stats.eccentricity);
      st.snr.push_back(roi.stats.snr);
      st.skewness.push_back(roi.stats.skewness);
      st.quality.push_back(roi.stats.quality);
    }
    plane.shared_pixels = p.shared;
    plane.mean_image = p.mean;
    plane.max_image = p.max;
    plane.correlation_image = p.correlation;
    plane.soma_template_image = p.template_score;
    plane.temporal_bin_frames = segmentation.temporal_bin;
    file.planes.push_back(std::move(plane));
  }
  file.pairs = segmentation.pairs;
  file.frames = segmentation.frames;
  file.pairing = segmentation.pairing;
  return file;
}

void write_segmentation(const std::string& path, const Segmentation& segmentation, const Provenance& provenance) {
  write_rois_file(path, to_roi_file(segmentation), provenance, timebase_of_inputs(provenance.inputs));
}

std::vector<std::pair<int, int>> read_pairs_csv(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw file_error(path, "cannot be opened");
  std::vector<std::pair<int, int>> pairs;
  std::string line;
  int number = 0;
  bool header_seen = false;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    if (!header_seen) {
      header_seen = true;
      std::string h = line;
      h.erase(std::remove_if(h.begin(), h.end(), [](char c) { return c == ' ' || c == '\t'; }), h.end());
      if (h != "soma_roi,dendrite_roi")
        throw file_error(path, "line 1 must be the header 'soma_roi,dendrite_roi', got '" + line + "'");
      continue;
    }
    std::stringstream s(line);
    std::string a, b, extra;
    std::getline(s, a, ',');
    std::getline(s, b, ',');
    if (std::getline(s, extra, ',') && extra.find_first_not_of(" \t") != std::string::npos)
      throw file_error(path, "line " + std::to_string(number) + " has more than two columns");
    try {
      size_t ua = 0, ub = 0;
      const int sa = std::stoi(a, &ua), sb = std::stoi(b, &ub);
      if (a.find_first_not_of(" \t", ua) != std::string::npos || b.find_first_not_of(" \t", ub) != std::string::npos)
        throw std::invalid_argument("trailing");
      if (sa < 0 || sb < 0) throw std::invalid_argument("negative");
      pairs.emplace_back(sa, sb);
    } catch (const std::exception&) {
      throw file_error(path, "line " + std::to_string(number) + " is not two non-negative ROI indices: '" + line + "'");
    }
  }
  if (!header_seen) throw file_error(path, "is empty (expected a header 'soma_roi,dendrite_roi')");
  std::vector<int> dendrites;
  for (auto& p : pairs) dendrites.push_back(p.second);
  std::sort(dendrites.begin(), dendrites.end());
  if (std::adjacent_find(dendrites.begin(), dendrites.end()) != dendrites.end())
    throw file_error(path, "pairs a dendrite ROI with more than one soma");
  return pairs;
}

}  // namespace apical
