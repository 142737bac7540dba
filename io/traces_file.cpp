#include "io/traces_file.hpp"

#include "io/error.hpp"
#include "io/h5_columns.hpp"
#include "io/h5_matrix.hpp"
#include "io/plane_groups.hpp"

namespace apical {
namespace {

using h5::read_if_present;

void write_settings(h5::Group& g, const TracesPlaneSettings& s) {
  g.set_attribute("role", s.role);
  g.set_attribute("frame_rate_hz", s.frame_rate_hz);
  g.set_attribute("neuropil_mode", std::string(s.neuropil_estimated ? "estimate" : "fixed"));
  if (s.neuropil_estimated) {
    g.set_attribute("neuropil_coef_min", s.neuropil_coef_min);
    g.set_attribute("neuropil_coef_max", s.neuropil_coef_max);
  }
  g.set_attribute("neuropil_inner_gap_px", s.neuropil_inner_gap_px);
  g.set_attribute("neuropil_min_pixels", s.neuropil_min_pixels);
  g.set_attribute("baseline_method", s.baseline_method);
  g.set_attribute("baseline_sigma_s", s.baseline_sigma_s);
  g.set_attribute("baseline_window_s", s.baseline_window_s);
  g.set_attribute("baseline_percentile", s.baseline_percentile);
}

TracesPlaneSettings read_settings(const h5::Group& g) {
  TracesPlaneSettings s;
  auto number = [&](const char* name) { return g.number_attribute(name).value_or(0); };
  s.role = g.string_attribute("role").value_or("");
  s.frame_rate_hz = number("frame_rate_hz");
  s.neuropil_estimated = g.string_attribute("neuropil_mode").value_or("") == "estimate";
  s.neuropil_coef_min = number("neuropil_coef_min");
  s.neuropil_coef_max = number("neuropil_coef_max");
  s.neuropil_inner_gap_px = number("neuropil_inner_gap_px");
  s.neuropil_min_pixels = int32_t(number("neuropil_min_pixels"));
  s.baseline_method = g.string_attribute("baseline_method").value_or("");
  s.baseline_sigma_s = number("baseline_sigma_s");
  s.baseline_window_s = number("baseline_window_s");
  s.baseline_percentile = number("baseline_percentile");
  s.dff_source = g.string_attribute("dff_source").value_or("");
  return s;
}

void write_roi_table(h5::Group& g, const TracesRoiTable& t, bool neuropil_estimated) {
  g.write("neuropil_coef", t.neuropil_coef);
  if (neuropil_estimated) {
    g.write("neuropil_slope", t.neuropil_slope);
    g.write("neuropil_clipped", t.neuropil_clipped);
  }
  g.write("f0_flag", t.f0_flag);
  g.write("nan_frames", t.nan_frames);
  g.write("neuropil_pixels", t.neuropil_pixels);
  g.write("f_pixels", t.f_pixels);
  g.write("roi_kind", t.roi_kind);
}

TracesRoiTable read_roi_table(const h5::Group& g) {
  TracesRoiTable t;
  t.neuropil_coef = read_if_present<float>(g, "neuropil_coef");
  t.neuropil_slope = read_if_present<float>(g, "neuropil_slope");
  t.neuropil_clipped = read_if_present<uint8_t>(g, "neuropil_clipped");
  t.f0_flag = read_if_present<uint8_t>(g, "f0_flag");
  t.nan_frames = read_if_present<int32_t>(g, "nan_frames");
  t.neuropil_pixels = read_if_present<int32_t>(g, "neuropil_pixels");
  t.f_pixels = read_if_present<int32_t>(g, "f_pixels");
  t.roi_kind = read_if_present<uint8_t>(g, "roi_kind");
  return t;
}

void write_events(h5::Group& g, const TracesEventTable& e) {
  h5::Group ev = g.create_group("events");
  ev.write("roi", e.roi);
  ev.write("frame", e.frame);
  ev.write("base_frame", e.base_frame);
  ev.write("amplitude", e.amplitude);
  ev.write("prominence", e.prominence);
  ev.set_attribute("threshold_sigma", e.threshold_sigma);
  ev.set_attribute("min_interval_s", e.min_interval_s);
  ev.set_attribute("highpass_window_s", e.highpass_window_s);
  ev.set_attribute("smoothing_s", e.smoothing_s);
  ev.set_attribute("lookback_s", e.lookback_s);
}

TracesEventTable read_events(const h5::Group& g) {
  TracesEventTable e;
  if (!g.has("events")) return e;
  const h5::Group ev = g.group("events");
  e.roi = ev.read<int32_t>("roi");
  e.frame = ev.read<int64_t>("frame");
  e.base_frame = read_if_present<int64_t>(ev, "base_frame");
  e.amplitude = read_if_present<float>(ev, "amplitude");
  e.prominence = read_if_present<float>(ev, "prominence");
  if (e.frame.size() != e.roi.size())
    throw file_error(g.file(), ev.path() + ": roi and frame have different lengths");
  auto number = [&](const char* name) { return ev.number_attribute(name).value_or(0); };
  e.threshold_sigma = number("threshold_sigma");
  e.min_interval_s = number("min_interval_s");
  e.highpass_window_s = number("highpass_window_s");
  e.smoothing_s = number("smoothing_s");
  e.lookback_s = number("lookback_s");
  return e;
}

arma::fmat read_selected(const h5::Group& g, const char* name, bool selected) {
  if (!selected) return {};
  if (!g.has(name)) throw file_error(g.file(), g.path() + "/" + name + " is missing (run apical extract)");
  return h5::read_matrix<float>(g, name);
}

TracesPlane read_plane(const h5::Group& g, const TraceMatrixSelection& m) {
  TracesPlane p;
  p.settings = read_settings(g);
  if (g.has("dff")) {
    const h5::Dims dims = g.dataset("dff").dims();
    if (dims.size() != 2) throw file_error(g.file(), g.path() + "/dff is not [rois, frames]");
    p.rois = dims[0];
    p.frames = int64_t(dims[1]);
  }
  p.table = read_roi_table(g);
  p.events = read_events(g);
  p.f = read_selected(g, "F", m.f);
  p.fneu = read_selected(g, "Fneu", m.fneu);
  p.dff = read_selected(g, "dff", m.dff);
  p.f0 = read_selected(g, "f0", m.f0);
  return p;
}

template <typename T>
void write_if_present(h5::Group& g, const std::string& name, const std::vector<T>& values) {
  if (!values.empty()) g.write(name, values);
}

void write_whole_plane(h5::Group& g, const TracesPlane& p) {
  g.set_attribute("role", p.settings.role);
  g.set_attribute("frame_rate_hz", p.settings.frame_rate_hz);
  if (!p.settings.dff_source.empty()) g.set_attribute("dff_source", p.settings.dff_source);
  const std::pair<const char*, const arma::fmat*> matrices[] = {{"F", &p.f}, {"Fneu", &p.fneu}, {"f0", &p.f0}};
  for (const auto& [name, m] : matrices)
    if (!m->is_empty()) h5::write_matrix(g, name, *m);
  h5::write_matrix(g, "dff", p.dff);
  const TracesRoiTable& t = p.table;
  write_if_present(g, "neuropil_coef", t.neuropil_coef);
  write_if_present(g, "neuropil_slope", t.neuropil_slope);
  write_if_present(g, "neuropil_clipped", t.neuropil_clipped);
  write_if_present(g, "f0_flag", t.f0_flag);
  write_if_present(g, "nan_frames", t.nan_frames);
  write_if_present(g, "neuropil_pixels", t.neuropil_pixels);
  write_if_present(g, "f_pixels", t.f_pixels);
  write_if_present(g, "roi_kind", t.roi_kind);
  if (!p.events.roi.empty()) write_events(g, p.events);
}

}  // namespace

void write_traces_file(const std::string& path, const std::vector<TracesPlane>& planes, const Provenance& provenance,
                       const Timebase& timebase) {
  h5::File file = h5::File::create(path);
  h5::Group root = file.root();
  write_provenance(root, provenance);
  root.set_attribute("planes", int32_t(planes.size()));
  root.set_attribute("frames", int64_t(timebase.frames));
  for (size_t k = 0; k < planes.size(); ++k) {
    h5::Group g = root.create_group(plane_group_name(k));
    write_whole_plane(g, planes[k]);
  }
  describe_output(root, traces_schema(), timebase);
  file.close();
}

TracesWriter::TracesWriter(const std::string& path, const Provenance& provenance, int planes, int64_t frames)
    : file_(h5::File::create(path)), root_(file_.root()), frames_(frames) {
  write_provenance(root_, provenance);
  root_.set_attribute("planes", int32_t(planes));
  root_.set_attribute("frames", int64_t(frames));
}

TraceMatrixDatasets TracesWriter::begin_plane(int plane, const TracesPlaneSettings& settings, uint64_t rois,
                                              uint64_t chunk_rows, uint64_t chunk_frames) {
  h5::Group g = root_.create_group(plane_group_name(size_t(plane)));
  write_settings(g, settings);
  neuropil_estimated_[plane] = settings.neuropil_estimated;
  const uint64_t T = uint64_t(frames_);
  h5::DatasetOptions chunked;
  if (rois > 0 && T > 0) chunked.chunk = {std::min(rois, chunk_rows), std::min(T, chunk_frames)};
  auto matrix = [&](const char* name) { return g.create_dataset<float>(name, {rois, T}, chunked); };
  return {matrix("F"), matrix("Fneu"), matrix("dff"), matrix("f0")};
}

void TracesWriter::finish_plane(int plane, const TracesRoiTable& table, const TracesEventTable& events) {
  h5::Group g = root_.group(plane_group_name(size_t(plane)));
  write_roi_table(g, table, neuropil_estimated_[plane]);
  write_events(g, events);
}

void TracesWriter::finish(const Timebase& timebase) {
  describe_output(root_, traces_schema(), timebase);
  file_.close();
}

std::vector<TracesPlane> read_traces(const std::string& path, const TraceMatrixSelection& matrices) {
  const h5::File file = h5::File::open_read(path);
  const h5::Group root = file.root();
  std::vector<TracesPlane> planes;
  for (const h5::Group& g : plane_groups(root)) planes.push_back(read_plane(g, matrices));
  if (planes.empty()) throw file_error(path, "holds no /plane0 traces (is it an apical traces.h5?)");
  return planes;
}

}  // namespace apical
