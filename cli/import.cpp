// apical import SESSION --nwb FILE.nwb: ROIs and traces another tool wrote (suite2p, CaImAn,
// EXTRACT, apical export) -> SESSION/apical/rois.h5 and traces.h5, for regress and figures.
#include <filesystem>
#include <numeric>

#include "cli/command.hpp"
#include "io/atomic_output.hpp"
#include "io/error.hpp"
#include "io/nwb_import.hpp"
#include "io/rois_file.hpp"
#include "io/traces_file.hpp"
#include "pipeline/extract/extract.hpp"

namespace apical::cli {

namespace fs = std::filesystem;

Usage import_usage() {
  Usage u;
  u.synopsis = "apical import [options] SESSION --nwb FILE.nwb";
  u.description =
      "Reads the ROIs (every PlaneSegmentation: pixel_mask or image_mask) and traces (Fluorescence: F\n"
      "and Neuropil; DfOverF) of an NWB file, as suite2p, CaImAn or apical export write them, and\n"
      "writes SESSION/apical/rois.h5 and traces.h5 with provenance naming the NWB file. Plane roles\n"
      "come from apical.ini ([acquisition] roles, one per PlaneSegmentation in path order). Without a\n"
      "DfOverF series, dF/F is computed as apical extract does (F - r*Fneu, baseline, (F-F0)/F0).\n"
      "ROIs marked rejected (an 'accepted' or suite2p 'iscell' column of 0) are kept as candidates.\n"
      "Then `apical run SESSION --from regress` runs the analysis on them.";
  const BaselineParams b;
  u.options.add_options()
      ("input", po::value<std::vector<std::string>>()->required(), "SESSION folder")
      ("nwb", po::value<std::string>()->default_value(""), "the NWB file to read")
      ("frame-size", po::value<std::string>()->default_value(""),
       "HEIGHTxWIDTH of the frames, px, when the file does not tell it (no TwoPhotonSeries data)")
      ("neuropil-coef", value_default<float>(0.7f), "r in F - r*Fneu for a dF/F computed here")
      ("baseline-window", value_default<double>(b.window_s), "baseline running window, s (dF/F computed here)")
      ("baseline-sigma", value_default<double>(b.sigma_s), "Gaussian smoothing before the baseline, s");
  add_acquisition_options(u.options);
  u.positional.add("input", 1);
  u.config_sections = {"acquisition"};
  return u;
}

namespace {

std::pair<int, int> parse_frame_size(const std::string& text) {
  if (text.empty()) return {0, 0};
  int height = 0, width = 0;
  char x = 0;
  std::istringstream in(text);
  if (!(in >> height >> x >> width) || x != 'x' || height <= 0 || width <= 0)
    throw InputError("--frame-size '" + text + "' is not HEIGHTxWIDTH (e.g. 512x512)");
  return {height, width};
}

// Accepted ROIs first (apical's order), keeping each group's order; returns old index per new.
std::vector<size_t> accepted_first(const NwbPlane& plane) {
  std::vector<size_t> order(plane.masks.count());
  std::iota(order.begin(), order.end(), 0);
  std::stable_partition(order.begin(), order.end(), [&](size_t i) { return plane.accepted[i] != 0; });
  return order;
}

RoiPlane roi_plane(const NwbPlane& in, const std::vector<size_t>& order, const std::string& role) {
  RoiPlane out;
  out.role = role;
  out.masks.height = in.masks.height;
  out.masks.width = in.masks.width;
  for (size_t i : order) {
    const uint8_t kind = in.has_kind ? in.masks.kind[i] : uint8_t(role == "dendrite");
    out.masks.add(in.masks.roi_pixels(i), in.masks.roi_weights(i), kind);
    out.rejection.push_back(in.accepted[i] ? 0 : 1);
  }
  out.rejection_labels = "0 accepted, 1 rejected by the tool that wrote the NWB file";
  return out;
}

// Rows of `series` for the accepted ROIs in apical's order; InputError when one has no trace.
arma::fmat accepted_rows(const NwbTraceSeries& series, const std::vector<size_t>& order, size_t accepted,
                         const std::string& nwb) {
  std::vector<int> row_of(*std::max_element(order.begin(), order.end()) + 1, -1);
  for (size_t r = 0; r < series.rows.size(); ++r) row_of[size_t(series.rows[r])] = int(r);
  arma::fmat out(accepted, series.traces.n_cols);
  for (size_t i = 0; i < accepted; ++i) {
    if (row_of[order[i]] < 0)
      throw file_error(nwb, series.path + " has no trace of ROI " + std::to_string(order[i]) + " (an accepted ROI)");
    out.row(i) = series.traces.row(arma::uword(row_of[order[i]]));
  }
  return out;
}

// One plane of traces.h5 (rows: the accepted ROIs), with dF/F from the file or computed here.
TracesPlane plane_traces(const NwbPlane& in, const std::vector<size_t>& order, size_t accepted, const std::string& role,
                         const Invocation& inv, const std::string& nwb) {
  if (!in.f && !in.dff) throw file_error(nwb, in.table_path + " has neither Fluorescence nor DfOverF traces");
  TracesPlane t;
  t.settings.role = role;
  const NwbTraceSeries& first = in.dff ? *in.dff : *in.f;
  double& rate = t.settings.frame_rate_hz;
  rate = first.rate_hz > 0 ? first.rate_hz : std::max(0.0, acquisition_overrides(inv).frame_rate_hz);
  if (!(rate > 0))
    throw file_error(nwb, first.path + " gives no sampling rate: set frame_rate_hz in [acquisition] of apical.ini");
  if (in.f) t.f = accepted_rows(*in.f, order, accepted, nwb);
  if (in.fneu) t.fneu = accepted_rows(*in.fneu, order, accepted, nwb);
  if (in.dff) {
    t.dff = accepted_rows(*in.dff, order, accepted, nwb);
    t.table.neuropil_coef.assign(t.dff.n_rows, std::nanf(""));
    t.settings.dff_source = in.dff->path;
    return t;
  }
  // No dF/F in the file: computed as apical extract does.
  BaselineParams baseline;
  baseline.frame_rate_hz = rate;
  baseline.window_s = inv.get<double>("baseline-window");
  baseline.sigma_s = inv.get<double>("baseline-sigma");
  const float coef = in.fneu ? inv.get<float>("neuropil-coef") : 0.0f;
  t.dff.set_size(t.f.n_rows, t.f.n_cols);
  t.f0.set_size(t.f.n_rows, t.f.n_cols);
  for (arma::uword i = 0; i < t.f.n_rows; ++i) {
    const arma::frowvec f = t.f.row(i);
    const arma::frowvec fneu = in.fneu ? arma::frowvec(t.fneu.row(i)) : arma::frowvec(t.f.n_cols, arma::fill::zeros);
    const DffResult r = compute_dff(std::vector<float>(f.begin(), f.end()), std::vector<float>(fneu.begin(), fneu.end()),
                                    coef, baseline);
    t.dff.row(i) = arma::frowvec(r.dff);
    t.f0.row(i) = arma::frowvec(r.f0);
  }
  t.table.neuropil_coef.assign(t.dff.n_rows, coef);
  t.settings.dff_source = "computed by apical import from " + in.f->path + (in.fneu ? " and " + in.fneu->path : "");
  return t;
}

}  // namespace

int import_run(const Invocation& inv) {
  Stopwatch clock;
  if (!inv.session) throw InputError("apical import needs a SESSION folder (with apical.ini naming the plane roles)");
  const std::string nwb = inv.get<std::string>("nwb");
  if (nwb.empty()) throw InputError("give the NWB file to read with --nwb FILE.nwb");
  const NwbImaging imaging = read_nwb_imaging(nwb, parse_frame_size(inv.get<std::string>("frame-size")));
  const AcquisitionOverrides acquisition = acquisition_overrides(inv);
  const std::vector<std::string>& roles = acquisition.roles;
  const std::string ini = (*inv.session / "apical.ini").string();
  if (roles.size() != imaging.planes.size())
    throw file_error(ini, "[acquisition] roles names " + std::to_string(roles.size()) + " plane role(s), but " + nwb +
                              " holds " + std::to_string(imaging.planes.size()) + " PlaneSegmentation(s): give one role "
                              "(soma or dendrite) per plane, e.g. roles = soma,dendrite");
  RoiFile rois;
  std::vector<TracesPlane> traces;
  std::vector<std::vector<size_t>> orders;
  for (size_t k = 0; k < imaging.planes.size(); ++k) {
    const NwbPlane& plane = imaging.planes[k];
    orders.push_back(accepted_first(plane));
    rois.planes.push_back(roi_plane(plane, orders.back(), roles[k]));
    traces.push_back(plane_traces(plane, orders.back(), rois.planes.back().accepted_count(), roles[k], inv, nwb));
  }
  for (RoiPair pair : imaging.pairs) {  // ROI numbers follow the reordering
    if (size_t(pair.soma_plane) >= orders.size() || size_t(pair.dendrite_plane) >= orders.size()) continue;
    const auto new_index = [&](int plane, int roi) {
      const auto& o = orders[size_t(plane)];
      return int(std::find(o.begin(), o.end(), size_t(roi)) - o.begin());
    };
    pair.soma_roi = new_index(pair.soma_plane, pair.soma_roi);
    pair.dendrite_roi = new_index(pair.dendrite_plane, pair.dendrite_roi);
    rois.pairs.push_back(pair);
  }
  const std::string rois_path = inv.session_path("apical/rois.h5").string();
  const std::string traces_path = inv.session_path("apical/traces.h5").string();
  fs::create_directories(fs::path(rois_path).parent_path());
  AtomicOutput rois_out(rois_path, inv.force), traces_out(traces_path, inv.force);
  const Provenance provenance{inv.command_line, inv.parameters(), {nwb}};
  const Timebase timebase{int64_t(traces[0].dff.n_cols), traces[0].settings.frame_rate_hz,
                          acquisition.pixel_size_um, {}};
  write_rois_file(rois_out.temp_path().string(), rois, provenance, timebase);
  write_traces_file(traces_out.temp_path().string(), traces, provenance, timebase);
  rois_out.commit();
  traces_out.commit();
  size_t total = 0;
  for (const RoiPlane& p : rois.planes) total += p.accepted_count();
  summary(inv,
          std::to_string(rois.planes.size()) + " planes, " + std::to_string(total) + " accepted ROIs, " +
              std::to_string(traces[0].dff.n_cols) + " frames, " + std::to_string(rois.pairs.size()) + " pairs from " +
              nwb + " -> " + rois_path + ", " + traces_path,
          clock.seconds());
  return kOk;
}

}  // namespace apical::cli
