#include "io/nwb_export.hpp"

#include <algorithm>
#include <filesystem>
#include <numeric>
#include <optional>
#include <sstream>

#include "io/bci_log.hpp"
#include "io/error.hpp"
#include "io/h5.hpp"
#include "io/h5_columns.hpp"
#include "io/h5_matrix.hpp"
#include "io/nwb_h5.hpp"
#include "io/plane_groups.hpp"
#include "io/registered_file.hpp"
#include "io/regress_file.hpp"
#include "io/rois_file.hpp"
#include "io/traces_file.hpp"

namespace apical {

namespace fs = std::filesystem;
using namespace nwb;

namespace {

constexpr const char* kOphys = "/processing/ophys";

// Every piece read, checked against the others before anything is written.
struct SessionData {
  RoiFile rois;
  std::vector<TracesPlane> traces;  // rows: the accepted ROIs of rois.h5
  std::vector<RegisteredPlane> registered;
  std::optional<BciLog> log;
};

void check_consistent(const SessionData& s, const NwbExportInputs& in) {
  if (s.traces.size() != s.rois.planes.size() || s.registered.size() != s.rois.planes.size())
    throw file_error(in.traces, std::to_string(s.traces.size()) + " planes of traces, but " + in.rois + " has " +
                                    std::to_string(s.rois.planes.size()) + " and " + in.registered + " " +
                                    std::to_string(s.registered.size()));
  size_t total = 0;
  for (size_t k = 0; k < s.traces.size(); ++k) {
    const size_t accepted = s.rois.planes[k].accepted_count();
    total += accepted;
    if (s.traces[k].f.n_rows != accepted || s.traces[k].dff.n_rows != accepted)
      throw file_error(in.traces, plane_group_name(k) + " has traces of " + std::to_string(s.traces[k].f.n_rows) +
                                      " ROIs but " + in.rois + " has " + std::to_string(accepted) + " accepted ROIs");
    if (!(s.traces[k].settings.frame_rate_hz > 0)) throw file_error(in.traces, plane_group_name(k) + " has no frame_rate_hz");
  }
  if (total == 0) throw file_error(in.rois, "holds no accepted ROIs: nothing to export");
}

// ------------------------------------------------------------------ file and imaging metadata

void write_file_header(h5::Group& root, const NwbSessionFacts& facts, const ObjectIds& ids, const std::string& now) {
  mark_type(root.id(), "NWBFile", kCore, ids.id_for("/"));
  text_attribute(root.id(), "nwb_version", "2.6.0");
  text_column(root.id(), "file_create_date", {now});
  text_dataset(root.id(), "identifier", facts.identifier);
  text_dataset(root.id(), "session_description", facts.session_description);
  text_dataset(root.id(), "session_start_time", facts.session_start_time);
  text_dataset(root.id(), "timestamps_reference_time", facts.session_start_time);
  for (const char* g : {"acquisition", "analysis", "processing", "stimulus", "stimulus/presentation",
                        "stimulus/templates", "general", "general/devices", "general/optophysiology", "intervals"})
    root.create_group(g);
  h5::Group general = root.group("general");
  if (!facts.experimenter.empty()) text_column(general.id(), "experimenter", {facts.experimenter});
  h5::Group subject = general.create_group("subject");
  mark_type(subject.id(), "Subject", kCore, ids.id_for("/general/subject"));
  text_dataset(subject.id(), "subject_id", facts.subject_id);
  text_dataset(subject.id(), "species", facts.species);
  h5::Group device = root.group("general/devices").create_group("Microscope");
  mark_type(device.id(), "Device", kCore, ids.id_for("/general/devices/Microscope"));
  text_attribute(device.id(), "description", "two-photon microscope");
}

std::string imaging_plane_path(size_t k) { return "/general/optophysiology/ImagingPlane_" + plane_group_name(k); }

void write_imaging_plane(h5::Group& root, size_t k, const std::string& role, double rate, const NwbSessionFacts& facts,
                         const ObjectIds& ids) {
  h5::Group plane = root.group("general/optophysiology").create_group("ImagingPlane_" + plane_group_name(k));
  mark_type(plane.id(), "ImagingPlane", kCore, ids.id_for(imaging_plane_path(k)));
  text_dataset(plane.id(), "description", "apical " + plane_group_name(k) + ", role " + role);
  scalar_dataset<float>(plane.id(), "excitation_lambda", float(facts.excitation_lambda_nm));
  scalar_dataset<float>(plane.id(), "imaging_rate", float(rate));
  text_dataset(plane.id(), "indicator", facts.indicator);
  text_dataset(plane.id(), "location", facts.location);
  if (facts.pixel_size_um > 0) {
    const float metres = float(facts.pixel_size_um * 1e-6);
    plane.write<float>("grid_spacing", {metres, metres});
    text_attribute(plane.dataset("grid_spacing").id(), "unit", "meters");
    text_dataset(plane.id(), "reference_frame", "x along image columns, y along image rows, origin at pixel (0, 0)");
  }
  h5::Group channel = plane.create_group("OpticalChannel");
  mark_type(channel.id(), "OpticalChannel", kCore, ids.id_for(imaging_plane_path(k) + "/OpticalChannel"));
  text_dataset(channel.id(), "description", "functional channel");
  scalar_dataset<float>(channel.id(), "emission_lambda", float(facts.emission_lambda_nm));
  soft_link(plane.id(), "device", "/general/devices/Microscope");
}

// starting_time 0 and the sampling rate: frames are evenly spaced.
void write_regular_time(hid_t series, double rate) {
  scalar_dataset<double>(series, "starting_time", 0.0);
  h5::Handle start(H5Dopen2(series, "starting_time", H5P_DEFAULT), H5Dclose);
  number_attribute<float>(start.id(), "rate", float(rate));
  text_attribute(start.id(), "unit", "seconds");
}

// ------------------------------------------------------------------ movie and motion

void copy_movie(const std::string& registered, size_t k, h5::Group& series) {
  const h5::File file = h5::File::open_read(registered);
  const h5::Dataset movie = file.root().dataset(registered_movie_dataset(int(k)));
  const h5::Dims dims = movie.dims();
  h5::Handle type(H5Dget_type(movie.id()), H5Tclose);
  h5::DatasetOptions options;
  options.chunk = {std::min<uint64_t>(dims[0], 50), dims[1], dims[2]};
  h5::Dataset copy = series.create_dataset("data", type.id(), dims, options);
  std::vector<float> batch;
  for (uint64_t first = 0; first < dims[0]; first += 200) {  // bounded memory: 200 frames at a time
    const h5::Dims offset = {first, 0, 0}, count = {std::min<uint64_t>(200, dims[0] - first), dims[1], dims[2]};
    batch.resize(count[0] * count[1] * count[2]);
    movie.read_box<float>(offset, count, batch.data());
    copy.write_box<float>(offset, count, batch.data());
  }
}

void write_two_photon_series(h5::Group& root, size_t k, double rate, const NwbExportInputs& in, bool include_movie,
                             const std::string& final_path, const ObjectIds& ids) {
  const std::string name = "TwoPhotonSeries_" + plane_group_name(k);
  h5::Group series = root.group("acquisition").create_group(name);
  mark_type(series.id(), "TwoPhotonSeries", kCore, ids.id_for("/acquisition/" + name));
  text_attribute(series.id(), "description", "registered (motion-corrected) movie of apical " + plane_group_name(k));
  if (include_movie) {
    copy_movie(in.registered, k, series);
    text_attribute(series.dataset("data").id(), "unit", "a.u.");
  } else {
    // An HDF5 external link: readers open registered.h5 through it, nothing is copied.
    const fs::path folder = fs::absolute(final_path).parent_path();
    const fs::path target = fs::relative(fs::absolute(in.registered), folder);
    external_link(series.id(), "data", target.empty() ? fs::absolute(in.registered).string() : target.string(),
                  registered_movie_dataset(int(k)));
  }
  write_regular_time(series.id(), rate);
  soft_link(series.id(), "imaging_plane", imaging_plane_path(k));
}

void write_motion_shifts(h5::Group& ophys, size_t k, const RegisteredPlane& plane, const ObjectIds& ids) {
  const std::string name = "MotionShifts_" + plane_group_name(k);
  h5::Group series = ophys.create_group(name);
  mark_type(series.id(), "TimeSeries", kCore, ids.id_for(std::string(kOphys) + "/" + name));
  text_attribute(series.id(), "description",
                 "rigid shift (dy, dx) of each raw frame's content relative to the reference: content at reference "
                 "(y, x) appears in the raw frame at (y + dy, x + dx)");
  series.write<float>("data", h5::shift_rows(plane.shifts), {plane.shifts.size(), 2});
  text_attribute(series.dataset("data").id(), "unit", "pixels");
  write_regular_time(series.id(), plane.frame_rate_hz);
}

}  // namespace

namespace {

// ------------------------------------------------------------------ DynamicTable

// A DynamicTable (hdmf-common) built column by column: each column a VectorData with a
// description, the id column and the colnames attribute written by finish().
class TableWriter {
 public:
  TableWriter(h5::Group group, std::string path, size_t rows, const ObjectIds& ids)
      : group_(std::move(group)), path_(std::move(path)), rows_(rows), ids_(ids) {}

  template <typename T> void column(const std::string& name, const std::string& description, const std::vector<T>& values) {
    check_rows(name, values.size());
    group_.write<T>(name, values);
    mark(name, "VectorData", description);
  }
  void text(const std::string& name, const std::string& description, const std::vector<std::string>& values) {
    check_rows(name, values.size());
    text_column(group_.id(), name, values);
    mark(name, "VectorData", description);
  }
  // Rows of another table (a DynamicTableRegion).
  void region(const std::string& name, const std::string& description, const std::vector<int32_t>& rows,
              const std::string& table_path) {
    check_rows(name, rows.size());
    group_.write<int32_t>(name, rows);
    mark(name, "DynamicTableRegion", description);
    reference_attribute(group_.dataset(name).id(), "table", table_path);
  }
  // A ragged column: `name` (the values, already written and marked) and name_index.
  void index_of(const std::string& name, const std::vector<uint64_t>& ends) {
    check_rows(name + "_index", ends.size());
    group_.write<uint64_t>(name + "_index", ends);
    const h5::Dataset index = group_.dataset(name + "_index");
    mark_type(index.id(), "VectorIndex", kCommon, ids_.id_for(path_ + "/" + name + "_index"));
    text_attribute(index.id(), "description", "index into " + name);
    reference_attribute(index.id(), "target", path_ + "/" + name);
  }
  void mark(const std::string& name, const std::string& type, const std::string& description) {
    const h5::Dataset ds = group_.dataset(name);
    mark_type(ds.id(), type, kCommon, ids_.id_for(path_ + "/" + name));
    text_attribute(ds.id(), "description", description);
    if (std::find(columns_.begin(), columns_.end(), name) == columns_.end()) columns_.push_back(name);
  }
  void finish(const std::string& description) {
    std::vector<int64_t> ids(rows_);
    std::iota(ids.begin(), ids.end(), 0);
    group_.write<int64_t>("id", ids);
    mark_type(group_.dataset("id").id(), "ElementIdentifiers", kCommon, ids_.id_for(path_ + "/id"));
    text_array_attribute(group_.id(), "colnames", columns_);
    text_attribute(group_.id(), "description", description);
  }
  h5::Group& group() { return group_; }

 private:
  void check_rows(const std::string& name, size_t n) const {
    if (n != rows_) throw std::logic_error("NWB table " + path_ + ": column " + name + " has " + std::to_string(n) + " rows");
  }
  h5::Group group_;
  std::string path_;
  size_t rows_;
  const ObjectIds& ids_;
  std::vector<std::string> columns_;
};

std::string segmentation_path(size_t k) { return std::string(kOphys) + "/ImageSegmentation/PlaneSegmentation_" + plane_group_name(k); }

void write_plane_segmentation(h5::Group& segmentation, size_t k, const RoiPlane& plane, const ObjectIds& ids) {
  const SparseMasks& m = plane.masks;
  const std::string path = segmentation_path(k);
  h5::Group group = segmentation.create_group("PlaneSegmentation_" + plane_group_name(k));
  mark_type(group.id(), "PlaneSegmentation", kCore, ids.id_for(path));
  TableWriter table(std::move(group), path, m.count(), ids);
  std::vector<MaskPixel> pixels(m.pixels.size());
  for (size_t i = 0; i < m.pixels.size(); ++i)
    pixels[i] = MaskPixel{m.pixels[i] % uint32_t(m.width), m.pixels[i] / uint32_t(m.width), m.weights[i]};
  write_pixel_mask(table.group().id(), "pixel_mask", pixels);
  table.mark("pixel_mask", "VectorData", "pixels (x = column, y = row) and weights of each ROI");
  table.index_of("pixel_mask", std::vector<uint64_t>(m.offsets.begin() + 1, m.offsets.end()));
  std::vector<std::string> kind(m.count());
  std::vector<uint8_t> accepted(m.count());
  for (size_t i = 0; i < m.count(); ++i) {
    kind[i] = m.kind[i] == 0 ? "soma" : "dendrite";
    accepted[i] = plane.rejection.empty() || plane.rejection[i] == 0;
  }
  table.text("kind", "soma or dendrite", kind);
  table.column<uint8_t>("accepted", "1 accepted ROI, 0 rejected candidate (as suite2p's iscell)", accepted);
  soft_link(table.group().id(), "imaging_plane", imaging_plane_path(k));
  table.finish("ROIs of apical " + plane_group_name(k) + " (" + plane.role + " plane), accepted ROIs first");
}

void write_roi_response(h5::Group& parent, const std::string& name, const arma::fmat& traces, const std::string& unit,
                        size_t k, double rate, const std::string& parent_path, const ObjectIds& ids) {
  h5::Group series = parent.create_group(name);
  mark_type(series.id(), "RoiResponseSeries", kCore, ids.id_for(parent_path + "/" + name));
  // arma is column-major: the [N, T] matrix's memory is the [T, N] array NWB wants.
  series.write<float>("data", std::vector<float>(traces.begin(), traces.end()), {traces.n_cols, traces.n_rows});
  text_attribute(series.dataset("data").id(), "unit", unit);
  std::vector<int32_t> rows(traces.n_rows);
  std::iota(rows.begin(), rows.end(), 0);  // accepted ROIs are the table's first rows
  series.write<int32_t>("rois", rows);
  const h5::Dataset rois = series.dataset("rois");
  mark_type(rois.id(), "DynamicTableRegion", kCommon, ids.id_for(parent_path + "/" + name + "/rois"));
  text_attribute(rois.id(), "description", "the accepted ROIs of " + plane_group_name(k));
  reference_attribute(rois.id(), "table", segmentation_path(k));
  write_regular_time(series.id(), rate);
}

void write_traces(h5::Group& ophys, const std::vector<TracesPlane>& traces, const ObjectIds& ids) {
  h5::Group fluorescence = ophys.create_group("Fluorescence");
  mark_type(fluorescence.id(), "Fluorescence", kCore, ids.id_for(std::string(kOphys) + "/Fluorescence"));
  h5::Group dff = ophys.create_group("DfOverF");
  mark_type(dff.id(), "DfOverF", kCore, ids.id_for(std::string(kOphys) + "/DfOverF"));
  for (size_t k = 0; k < traces.size(); ++k) {
    const TracesPlane& t = traces[k];
    const double rate = t.settings.frame_rate_hz;
    const std::string f_path = std::string(kOphys) + "/Fluorescence";
    write_roi_response(fluorescence, "F_" + plane_group_name(k), t.f, "a.u.", k, rate, f_path, ids);
    if (!t.fneu.empty())
      write_roi_response(fluorescence, "Neuropil_" + plane_group_name(k), t.fneu, "a.u.", k, rate, f_path, ids);
    write_roi_response(dff, "DfOverF_" + plane_group_name(k), t.dff, "dimensionless", k, rate,
                       std::string(kOphys) + "/DfOverF", ids);
  }
}

}  // namespace

namespace {

// ------------------------------------------------------------------ BCI log, pairs, regression

h5::Group processing_module(h5::Group& root, const std::string& name, const std::string& description,
                            const ObjectIds& ids) {
  h5::Group module = root.group("processing").create_group(name);
  mark_type(module.id(), "ProcessingModule", kCore, ids.id_for("/processing/" + name));
  text_attribute(module.id(), "description", description);
  return module;
}

// Seconds of a frame on the rig's clock (frames.csv), or frame / rate beyond the log.
double frame_time(const BciLog& log, int64_t frame, double rate) {
  if (frame >= 0 && size_t(frame) < log.frames.size()) return log.frames[size_t(frame)].time_s;
  return double(frame) / rate;
}

int write_trials(h5::Group& root, const BciLog& log, double rate, const ObjectIds& ids) {
  const size_t n = log.trials.size();
  std::vector<double> start(n), stop(n), reward(n);
  std::vector<std::string> outcome(n);
  for (size_t i = 0; i < n; ++i) {
    const BciTrialRow& t = log.trials[i];
    start[i] = frame_time(log, t.start_frame, rate);
    stop[i] = frame_time(log, t.end_frame, rate);
    outcome[i] = t.hit ? "hit" : "miss";
    reward[i] = t.hit ? frame_time(log, t.reward_frame, rate) : std::nan("");
  }
  h5::Group group = root.group("intervals").create_group("trials");
  mark_type(group.id(), "TimeIntervals", kCore, ids.id_for("/intervals/trials"));
  TableWriter table(std::move(group), "/intervals/trials", n, ids);
  table.column<double>("start_time", "start of the trial, s (bci/trials.csv start_frame)", start);
  table.column<double>("stop_time", "end of the trial, s (end_frame)", stop);
  table.text("outcome", "hit (target reached, reward) or miss (timeout)", outcome);
  table.column<double>("reward_time", "time of the reward, s (NaN for a miss)", reward);
  table.finish("BCI trials from bci/trials.csv");
  return int(n);
}

void write_behaviour(h5::Group& root, const BciLog& log, const ObjectIds& ids) {
  h5::Group module = processing_module(root, "behavior", "closed-loop BCI: cursor, target and control per frame", ids);
  h5::Group series_group = module.create_group("BehavioralTimeSeries");
  mark_type(series_group.id(), "BehavioralTimeSeries", kCore, ids.id_for("/processing/behavior/BehavioralTimeSeries"));
  std::vector<double> times;
  std::vector<float> cursor, target, control;
  for (const BciFrameRow& row : log.frames) {
    times.push_back(row.time_s);
    cursor.push_back(float(row.cursor));
    target.push_back(float(row.target));
    control.push_back(float(row.control));
  }
  const std::pair<const char*, const std::vector<float>*> series[] = {{"cursor", &cursor}, {"target", &target}, {"control", &control}};
  for (const auto& [name, values] : series) {
    h5::Group s = series_group.create_group(name);
    mark_type(s.id(), "TimeSeries", kCore, ids.id_for(std::string("/processing/behavior/BehavioralTimeSeries/") + name));
    text_attribute(s.id(), "description", std::string(name) + " per imaging frame (bci/frames.csv)");
    s.write<float>("data", *values);
    text_attribute(s.dataset("data").id(), "unit", std::string(name) == "control" ? "a.u." : "position (0..6)");
    s.write<double>("timestamps", times);
    text_attribute(s.dataset("timestamps").id(), "unit", "seconds");
  }
}

int write_pairs(h5::Group& ophys, const RoiFile& rois, const ObjectIds& ids) {
  const size_t n = rois.pairs.size();
  std::vector<int32_t> soma_plane(n), soma_roi(n), dendrite_plane(n), dendrite_roi(n);
  std::vector<float> confidence(n);
  for (size_t i = 0; i < n; ++i) {
    const RoiPair& p = rois.pairs[i];
    soma_plane[i] = p.soma_plane, soma_roi[i] = p.soma_roi, dendrite_plane[i] = p.dendrite_plane;
    dendrite_roi[i] = p.dendrite_roi, confidence[i] = p.confidence;
  }
  const std::string path = std::string(kOphys) + "/SomaDendritePairs";
  h5::Group group = ophys.create_group("SomaDendritePairs");
  mark_type(group.id(), "DynamicTable", kCommon, ids.id_for(path));
  TableWriter table(std::move(group), path, n, ids);
  const auto one_plane = [](const std::vector<int32_t>& planes) {
    return !planes.empty() && std::all_of(planes.begin(), planes.end(), [&](int32_t p) { return p == planes[0]; });
  };
  table.column<int32_t>("soma_plane", "plane of the soma ROI", soma_plane);
  table.column<int32_t>("dendrite_plane", "plane of the dendrite ROI", dendrite_plane);
  // ROI references point into one PlaneSegmentation; pairs spanning several planes keep row numbers.
  if (one_plane(soma_plane) && one_plane(dendrite_plane)) {
    table.region("soma_roi", "the soma ROI (row of its plane's PlaneSegmentation)", soma_roi,
                 segmentation_path(size_t(soma_plane[0])));
    table.region("dendrite_roi", "the dendrite ROI (row of its plane's PlaneSegmentation)", dendrite_roi,
                 segmentation_path(size_t(dendrite_plane[0])));
  } else {
    table.column<int32_t>("soma_roi", "row of the soma plane's PlaneSegmentation", soma_roi);
    table.column<int32_t>("dendrite_roi", "row of the dendrite plane's PlaneSegmentation", dendrite_roi);
  }
  table.column<float>("confidence", "pairing confidence 0..1", confidence);
  table.finish("soma-dendrite pairs (apical segment)");
  return int(n);
}

// Per-neuron results of regress.h5 (its /neurons columns and /glm statistics per term).
int write_regression(h5::Group& root, const std::string& regress_path, size_t soma_plane, const ObjectIds& ids) {
  const RegressNeuronTable neurons = read_regress_neuron_table(regress_path);
  const size_t n = neurons.soma_roi.size();
  h5::Group module = processing_module(root, "regression", "apical regress: per-neuron somato-dendritic fit and GLM", ids);
  const std::string path = "/processing/regression/neurons";
  h5::Group group = module.create_group("neurons");
  mark_type(group.id(), "DynamicTable", kCommon, ids.id_for(path));
  TableWriter table(std::move(group), path, n, ids);
  table.region("soma_roi", "the neuron's soma ROI", neurons.soma_roi, segmentation_path(soma_plane));
  for (const RegressNeuronColumn& c : neurons.columns) table.column<double>(c.name, c.description, c.values);
  table.finish("per-neuron regression results (regress.h5)");
  return int(n);
}

}  // namespace

NwbExportSummary write_nwb_export(const NwbExportInputs& in, const NwbSessionFacts& facts, bool include_movie,
                                  const std::string& output_path, const std::string& final_path,
                                  const Provenance& provenance) {
  SessionData s;
  s.rois = read_rois(in.rois);
  TraceMatrixSelection exported;
  exported.f = exported.fneu = exported.dff = true;
  s.traces = read_traces(in.traces, exported);
  s.registered = read_registered(in.registered, {.images = false, .block_shifts = false});
  if (!in.bci_folder.empty()) s.log = read_bci_log(in.bci_folder);
  check_consistent(s, in);

  const ObjectIds ids(facts.identifier);
  h5::File file = h5::File::create(output_path);
  h5::Group root = file.root();
  write_file_header(root, facts, ids, utc_now_iso8601());
  write_provenance(root, provenance);
  h5::Group ophys = processing_module(root, "ophys", "apical: motion correction, ROIs, fluorescence and dF/F", ids);
  h5::Group segmentation = ophys.create_group("ImageSegmentation");
  mark_type(segmentation.id(), "ImageSegmentation", kCore, ids.id_for(std::string(kOphys) + "/ImageSegmentation"));
  NwbExportSummary summary;
  for (size_t k = 0; k < s.rois.planes.size(); ++k) {
    const double rate = s.traces[k].settings.frame_rate_hz;
    write_imaging_plane(root, k, s.traces[k].settings.role, rate, facts, ids);
    write_two_photon_series(root, k, rate, in, include_movie, final_path, ids);
    write_motion_shifts(ophys, k, s.registered[k], ids);
    write_plane_segmentation(segmentation, k, s.rois.planes[k], ids);
    summary.rois += int(s.rois.planes[k].accepted_count());
  }
  write_traces(ophys, s.traces, ids);
  summary.pairs = write_pairs(ophys, s.rois, ids);
  if (s.log) {
    summary.trials = write_trials(root, *s.log, s.traces[0].settings.frame_rate_hz, ids);
    write_behaviour(root, *s.log, ids);
  }
  if (!in.regress.empty()) {
    const auto soma = std::find_if(s.traces.begin(), s.traces.end(), [](const TracesPlane& t) { return t.settings.role == "soma"; });
    summary.neurons = write_regression(root, in.regress, size_t(soma == s.traces.end() ? 0 : soma - s.traces.begin()), ids);
  }
  summary.planes = int(s.rois.planes.size());
  summary.frames = int64_t(s.traces[0].f.n_cols);
  file.close();
  return summary;
}

}  // namespace apical
