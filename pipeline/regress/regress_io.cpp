#include "pipeline/regress/regress_io.hpp"

#include "io/schema.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <sstream>
#include <tuple>

#include "io/error.hpp"
#include "io/h5.hpp"
#include "io/h5_matrix.hpp"
#include "io/rois_file.hpp"

namespace apical {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string str(int64_t v) { return std::to_string(v); }

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) out += (i ? "," : "") + names[i];
  return out;
}

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream s(text);
  std::string item;
  while (std::getline(s, item, ',')) out.push_back(item);
  return out;
}

// ------------------------------------------------------------------ reading the inputs

struct TracePlane {
  std::string role;
  double frame_rate_hz = 0;
  arma::fmat dff;
};

std::vector<TracePlane> read_trace_planes(const std::string& path) {
  h5::File file = h5::File::open_read(path);
  h5::Group root = file.root();
  std::vector<TracePlane> planes;
  for (int k = 0; root.has("plane" + std::to_string(k)); ++k) {
    h5::Group g = root.group("plane" + std::to_string(k));
    TracePlane p;
    p.role = g.string_attribute("role").value_or("");
    p.frame_rate_hz = g.number_attribute("frame_rate_hz").value_or(0.0);
    if (!g.has("dff")) throw file_error(path, "/plane" + std::to_string(k) + "/dff is missing (run apical extract)");
    p.dff = h5::read_matrix<float>(g, "dff");
    planes.push_back(std::move(p));
  }
  if (planes.empty()) throw file_error(path, "holds no /plane0 (not a traces.h5?)");
  return planes;
}

int plane_with_role(const std::vector<TracePlane>& planes, const std::string& role) {
  for (size_t k = 0; k < planes.size(); ++k)
    if (planes[k].role == role) return int(k);
  return -1;
}

void mask_centroid(const SparseMasks& masks, size_t roi, double& cy, double& cx) {
  const std::vector<uint32_t> pixels = masks.roi_pixels(roi);
  const std::vector<float> weights = masks.roi_weights(roi);
  double sw = 0, sy = 0, sx = 0;
  for (size_t i = 0; i < pixels.size(); ++i) {
    const double w = i < weights.size() && weights[i] > 0 ? weights[i] : 0.0;
    sw += w;
    sy += w * double(pixels[i] / uint32_t(masks.width));
    sx += w * double(pixels[i] % uint32_t(masks.width));
  }
  if (!(sw > 0)) {  // all weights zero: plain mean of the pixels
    sw = double(pixels.size());
    sy = sx = 0;
    for (uint32_t p : pixels) {
      sy += double(p / uint32_t(masks.width));
      sx += double(p % uint32_t(masks.width));
    }
  }
  cy = sw > 0 ? sy / sw : kNaN;
  cx = sw > 0 ? sx / sw : kNaN;
}

// Per soma ROI, its best paired dendrite ROI (highest confidence, then lowest index), or -1.
std::vector<int> dendrite_of_soma(const RoiFile& rois, int soma_plane, int dendrite_plane, size_t n_soma,
                                  size_t n_dendrite, const std::string& rois_path) {
  std::vector<int> best(n_soma, -1);
  std::vector<float> confidence(n_soma, -std::numeric_limits<float>::infinity());
  for (const RoiPair& p : rois.pairs) {
    if (p.soma_plane != soma_plane || p.dendrite_plane != dendrite_plane) continue;
    if (p.soma_roi < 0 || size_t(p.soma_roi) >= n_soma || p.dendrite_roi < 0 || size_t(p.dendrite_roi) >= n_dendrite)
      throw file_error(rois_path, "pair (" + str(p.soma_roi) + ", " + str(p.dendrite_roi) + ") names an ROI that does not exist");
    int& b = best[size_t(p.soma_roi)];
    float& c = confidence[size_t(p.soma_roi)];
    if (p.confidence > c || (p.confidence == c && (b < 0 || p.dendrite_roi < b))) {
      b = p.dendrite_roi;
      c = p.confidence;
    }
  }
  return best;
}

// ------------------------------------------------------------------ writing helpers

template <typename T>
void write_column(h5::Group& g, const std::string& name, const std::vector<T>& values, const std::string& units = "") {
  g.write(name, values);
  if (!units.empty()) g.dataset(name).set_attribute("units", units);
}

std::vector<double> to_vector(const arma::vec& v) { return std::vector<double>(v.begin(), v.end()); }

template <typename T>
void write_described(h5::Group& g, const std::string& name, const std::vector<T>& values, const std::string& units,
                     const std::string& description) {
  g.write(name, values);
  h5::Dataset d = g.dataset(name);
  d.set_attribute("units", units);
  d.set_attribute("description", description);
}

void write_described_matrix(h5::Group& g, const std::string& name, const arma::mat& m, const std::string& units,
                            const std::string& description) {
  h5::write_matrix(g, name, m);
  h5::Dataset d = g.dataset(name);
  d.set_attribute("units", units);
  d.set_attribute("description", description);
}

// Issue 14 §3: the SD model of each neuron and the coincidence counts.
void write_sd_models_and_coincidence(h5::Group& neurons, const RegressResult& R) {
  write_described(neurons, "sd_model", R.sd_model, "1",
                  "SD model the residuals are relative to: 0 linear, 1 proportional (through the origin), "
                  "2 saturating (a x / (x + b)); -1 no fit");
  neurons.dataset("sd_model").set_attribute("labels", std::string("linear,proportional,saturating"));
  write_described(neurons, "sd_param_a", R.sd_param_a, "dF/F",
                  "SD model parameter a: linear intercept; 0 for proportional; saturating plateau");
  write_described(neurons, "sd_param_b", R.sd_param_b, "dF/F per dF/F (linear, proportional) or dF/F (saturating)",
                  "SD model parameter b: slope (linear, proportional); half-saturation somatic amplitude (saturating)");
  write_described_matrix(neurons, "sd_aic", R.sd_aic, "1",
                         "AIC of the linear, proportional and saturating SD models (columns), NaN unless --sd-fit aic");
  write_described(neurons, "sd_reference_events", R.sd_reference_events, "events",
                  "events the SD fit used (the reference condition's with --reference-condition)");
  write_described(neurons, "n_soma_only", R.n_soma_only, "events",
                  "somatic events without a dendritic event or threshold crossing in the window; -1 unpaired");
  write_described(neurons, "n_dendrite_only", R.n_dendrite_only, "events",
                  "dendritic events outside every somatic event's window; -1 unpaired");
  write_described(neurons, "n_coincident", R.n_coincident, "events",
                  "somatic events with a dendritic event, or the dendrite above its own threshold, in the window; -1 unpaired");
}

// Issue 14 §1: extra frames.csv columns per event, residuals by condition and their tests.
void write_conditions(h5::Group& root, h5::Group& events, const RegressResult& R) {
  for (size_t c = 0; c < R.column_names.size(); ++c)
    write_described(events, R.column_names[c], R.events.columns[c], "as in frames.csv",
                    "frames.csv column '" + R.column_names[c] + "' at the event's frame");
  const auto& C = R.conditions;
  if (C.column.empty()) return;
  h5::Group g = root.create_group("conditions");
  g.set_attribute("column", C.column);
  g.set_attribute("reference", C.reference);
  g.set_attribute("permutations", int32_t(C.permutations));
  g.set_attribute("description", std::string("SD residuals (relative to each neuron's fit on the reference events) "
                                             "by value of the frames.csv column"));
  write_described(g, "values", C.values, "as in frames.csv", "condition values (columns of the [N, C] tables)");
  write_described_matrix(g, "mean_residual", C.mean_residual, "dF/F", "mean SD residual per neuron and condition");
  write_described_matrix(g, "n_events", C.n_events, "events", "events per neuron and condition");
  write_described(g, "test_value", C.test_value, "as in frames.csv", "each non-reference value compared with the reference");
  write_described(g, "mean_difference", C.mean_difference, "dF/F",
                  "mean over neurons of (mean residual at test_value - mean residual at the reference)");
  write_described(g, "n_neurons", C.n_neurons, "neurons", "neurons with events in both conditions");
  write_described(g, "paired_t", C.paired_t, "1", "paired t statistic over neurons");
  write_described(g, "paired_p", C.paired_p, "1", "two-sided p of the paired t-test (Student t, n_neurons - 1 df)");
  write_described(g, "permutation_p", C.permutation_p, "1",
                  "two-sided p from shuffling condition labels among each neuron's events");
  write_described_matrix(g, "neuron_difference", C.neuron_difference, "dF/F",
                         "per neuron and test value: mean residual at test_value minus at the reference (NaN unless both)");
}

// Issue 14 §5: outcome decoded over time around the outcome; d_error in error-reducing epochs.
void write_decoding_over_time(h5::Group& root, const RegressResult& R) {
  const auto& D = R.decoding_time;
  h5::Group g = root.create_group("decoding_time");
  g.set_attribute("classifiers", std::string("logistic,linear_svm"));
  g.set_attribute("n_trials", int32_t(D.n_trials));
  g.set_attribute("n_features", int32_t(D.n_features));
  g.set_attribute("n_shuffles", int32_t(D.n_shuffles));
  g.set_attribute("description", std::string("trial outcome decoded from per-neuron mean SD residuals in time bins around "
                                             "each trial's outcome frame; cross-validated, balanced accuracy vs shuffled labels"));
  write_described(g, "bin_start_s", D.bin_start_s, "s", "bin start relative to the outcome frame");
  write_described(g, "bin_end_s", D.bin_end_s, "s", "bin end (exclusive) relative to the outcome frame");
  write_described(g, "trials_with_events", D.trials_with_events, "trials", "trials with at least one event in the bin");
  const char* both = " [bins, 2]: columns logistic, linear SVM";
  write_described_matrix(g, "balanced_accuracy", D.balanced_accuracy, "1", std::string("cross-validated balanced accuracy") + both);
  write_described_matrix(g, "shuffle_mean", D.shuffle_mean, "1", std::string("mean over label shuffles") + both);
  write_described_matrix(g, "shuffle_lo", D.shuffle_lo, "1", std::string("2.5 % quantile over label shuffles") + both);
  write_described_matrix(g, "shuffle_hi", D.shuffle_hi, "1", std::string("97.5 % quantile over label shuffles") + both);
  write_described_matrix(g, "p", D.p, "1", std::string("upper-tail shuffle p") + both);
  const auto& E = R.error_reducing;
  h5::Group e = root.create_group("error_reducing");
  e.set_attribute("description", std::string("residual ~ 1 + d_error over each role's events with d_error < 0"));
  write_described(e, "role", E.role, "1", "+1 P+, -1 P-, 0 other");
  write_described(e, "n", E.n, "events", "events with d_error < 0 and a residual");
  write_described(e, "beta", E.beta, "dF/F per position", "slope of the residual on d_error");
  write_described(e, "se", E.se, "dF/F per position", "its standard error");
  write_described(e, "p", E.p, "1", "its two-sided p (Student t)");
}

// Issue 14 §4: the pooled role x task interactions over the sensitivity grid.
void write_sensitivity(h5::Group& root, const RegressResult& R) {
  const auto& S = R.sensitivity;
  if (S.window_s.empty()) return;
  h5::Group g = root.create_group("sensitivity");
  g.set_attribute("description", std::string("pooled model re-fitted over event threshold x {0.7, 1, 1.3} and "
                                             "analysis window {0.5, 1, 2} s; one row per setting"));
  write_described(g, "threshold_scale", S.threshold_scale, "1", "event threshold relative to --threshold");
  write_described(g, "threshold", S.threshold, "noise SD (apical) or filtered-trace SD (paper)", "event threshold used");
  write_described(g, "window_s", S.window_s, "s", "window of d_error and reward");
  write_described(g, "n_events", S.n_events, "events", "events in the pooled model");
  write_described(g, "beta_role_d_error", S.beta_role_d_error, "dF/F per position", "pooled role:d_error coefficient");
  write_described(g, "p_role_d_error", S.p_role_d_error, "1", "its p (Student t)");
  write_described(g, "perm_p_role_d_error", S.perm_p_role_d_error, "1", "its circular-shift permutation p");
  write_described(g, "beta_role_reward", S.beta_role_reward, "dF/F", "pooled role:reward coefficient");
  write_described(g, "p_role_reward", S.p_role_reward, "1", "its p (Student t)");
  write_described(g, "perm_p_role_reward", S.perm_p_role_reward, "1", "its circular-shift permutation p");
}

// ------------------------------------------------------------------ reading helpers

template <typename T>
std::vector<T> read_column(const h5::Group& g, const std::string& name) {
  if (!g.has(name)) throw file_error(g.file(), g.path() + "/" + name + " is missing (not a regress.h5?)");
  const h5::Dims d = g.dataset(name).dims();
  uint64_t n = 1;
  for (uint64_t k : d) n *= k;
  if (n == 0) return {};
  return g.read<T>(name);
}

arma::mat read_table(const h5::Group& g, const std::string& name) {
  const h5::Dims d = g.dataset(name).dims();
  if (d.size() == 2 && (d[0] == 0 || d[1] == 0)) return arma::mat(d[0], d[1]);
  return h5::read_matrix<double>(g, name);
}

double attribute(const h5::Group& g, const std::string& name) { return g.number_attribute(name).value_or(kNaN); }

// The --sensitivity table (for its figure).
void read_sensitivity(const h5::Group& root, RegressResult& R) {
  if (!root.has("sensitivity")) return;
  const h5::Group g = root.group("sensitivity");
  auto& S = R.sensitivity;
  S.threshold_scale = read_column<double>(g, "threshold_scale");
  S.threshold = read_column<double>(g, "threshold");
  S.window_s = read_column<double>(g, "window_s");
  S.n_events = read_column<int64_t>(g, "n_events");
  S.beta_role_d_error = read_column<double>(g, "beta_role_d_error");
  S.p_role_d_error = read_column<double>(g, "p_role_d_error");
  S.perm_p_role_d_error = read_column<double>(g, "perm_p_role_d_error");
  S.beta_role_reward = read_column<double>(g, "beta_role_reward");
  S.p_role_reward = read_column<double>(g, "p_role_reward");
  S.perm_p_role_reward = read_column<double>(g, "perm_p_role_reward");
  for (size_t n : {S.threshold.size(), S.window_s.size(), S.n_events.size(), S.beta_role_d_error.size(),
                   S.p_role_d_error.size(), S.beta_role_reward.size(), S.p_role_reward.size()})
    if (n != S.threshold_scale.size()) throw file_error(g.file(), "/sensitivity columns have different lengths");
}

// The reference condition's summary and its per-event column (for the condition figures).
void read_conditions(const h5::Group& root, const h5::Group& events, RegressResult& R, const std::string& path) {
  if (!root.has("conditions")) return;
  const h5::Group g = root.group("conditions");
  auto& C = R.conditions;
  C.column = g.string_attribute("column").value_or("");
  C.reference = attribute(g, "reference");
  if (C.column.empty() || !events.has(C.column)) throw file_error(path, "/conditions names no /events column");
  R.column_names = {C.column};
  R.events.columns = {read_column<double>(events, C.column)};
  if (R.events.columns[0].size() != R.events.size()) throw file_error(path, "/events/" + C.column + " has the wrong length");
  C.values = read_column<double>(g, "values");
  C.mean_residual = read_table(g, "mean_residual");
  C.test_value = read_column<double>(g, "test_value");
  C.mean_difference = read_column<double>(g, "mean_difference");
  C.paired_p = read_column<double>(g, "paired_p");
  C.permutation_p = read_column<double>(g, "permutation_p");
}

}  // namespace

size_t EnsembleMatch::matched() const {
  return size_t(std::count_if(soma_roi.begin(), soma_roi.end(), [](int r) { return r >= 0; }));
}

std::vector<int> EnsembleMatch::unmatched_neurons() const {
  std::vector<int> out;
  for (size_t i = 0; i < soma_roi.size(); ++i)
    if (soma_roi[i] < 0) out.push_back(neuron[i]);
  return out;
}

EnsembleMatch match_ensemble(const std::vector<EnsembleRow>& ensemble, const std::vector<double>& roi_y,
                             const std::vector<double>& roi_x, double radius_px) {
  if (!(radius_px > 0)) throw InputError("regress: --match-radius must be > 0 px");
  EnsembleMatch m;
  for (const EnsembleRow& e : ensemble) {
    m.neuron.push_back(e.neuron);
    m.role.push_back(e.role);
    m.y.push_back(e.y);
    m.x.push_back(e.x);
  }
  m.soma_roi.assign(ensemble.size(), -1);
  m.distance_px.assign(ensemble.size(), kNaN);
  std::vector<std::tuple<double, size_t, size_t>> candidates;  // distance, ensemble row, ROI
  for (size_t e = 0; e < ensemble.size(); ++e)
    for (size_t r = 0; r < roi_y.size(); ++r) {
      const double d = std::hypot(roi_y[r] - ensemble[e].y, roi_x[r] - ensemble[e].x);
      if (d <= radius_px) candidates.emplace_back(d, e, r);
    }
  std::sort(candidates.begin(), candidates.end());
  std::vector<bool> roi_used(roi_y.size(), false);
  for (const auto& [d, e, r] : candidates) {
    if (m.soma_roi[e] >= 0 || roi_used[r]) continue;
    m.soma_roi[e] = int(r);
    m.distance_px[e] = d;
    roi_used[r] = true;
  }
  return m;
}

RegressInputs read_regress_inputs(const std::string& traces_path, const std::string& rois_path,
                                  const std::string& bci_folder, const RegressInputOptions& options) {
  std::vector<TracePlane> planes = read_trace_planes(traces_path);
  const RoiFile rois = accepted_rois(read_rois(rois_path), rois_path);
  if (rois.planes.size() != planes.size())
    throw file_error(traces_path, "has " + str(int64_t(planes.size())) + " planes but " + rois_path + " has " +
                                      str(int64_t(rois.planes.size())));
  for (size_t k = 0; k < planes.size(); ++k) {
    if (planes[k].role.empty()) planes[k].role = rois.planes[k].role;
    if (planes[k].dff.n_rows != rois.planes[k].masks.count())
      throw file_error(traces_path, "/plane" + str(int64_t(k)) + "/dff has " + str(int64_t(planes[k].dff.n_rows)) +
                                        " rows but " + rois_path + " has " + str(int64_t(rois.planes[k].masks.count())) +
                                        " ROIs in that plane");
  }
  RegressInputs in;
  in.soma_plane = plane_with_role(planes, "soma");
  in.dendrite_plane = plane_with_role(planes, "dendrite");
  if (in.soma_plane < 0) throw file_error(traces_path, "has no plane with role 'soma'");
  const TracePlane& soma = planes[size_t(in.soma_plane)];
  const int64_t T = int64_t(soma.dff.n_cols);
  for (size_t k = 0; k < planes.size(); ++k)
    if (int64_t(planes[k].dff.n_cols) != T)
      throw file_error(traces_path, "/plane" + str(int64_t(k)) + "/dff has " + str(int64_t(planes[k].dff.n_cols)) +
                                        " frames but the soma plane has " + str(T));
  in.frame_rate_hz = soma.frame_rate_hz > 0 ? soma.frame_rate_hz : options.frame_rate_hz;
  if (!(in.frame_rate_hz > 0))
    throw file_error(traces_path, "has no frame_rate_hz attribute on /plane" + str(in.soma_plane) +
                                      " (give --frame-rate, or frame-rate in the [regress] section of apical.ini)");

  const BciLog log = read_bci_log(bci_folder);
  if (int64_t(log.frames.size()) != T)
    throw file_error((std::filesystem::path(bci_folder) / "frames.csv").string(),
                     "has " + str(int64_t(log.frames.size())) + " frames but " + traces_path + " has " + str(T) +
                         ": the BCI log and the imaging disagree (check that they belong to the same session "
                         "and that no frames were dropped)");
  for (size_t t = 0; t < log.frames.size(); ++t)
    if (log.frames[t].frame != int64_t(t))
      throw file_error((std::filesystem::path(bci_folder) / "frames.csv").string(),
                       "row " + str(int64_t(t) + 2) + " has frame " + str(log.frames[t].frame) + "; expected " +
                           str(int64_t(t)) + " (one row per imaging frame, from 0)");
  in.log = behaviour_log(log);

  const SparseMasks& masks = rois.planes[size_t(in.soma_plane)].masks;
  check_bci_log_fits(log, T, masks.height, masks.width);
  const size_t n = masks.count();
  in.centroid_y.resize(n);
  in.centroid_x.resize(n);
  for (size_t r = 0; r < n; ++r) mask_centroid(masks, r, in.centroid_y[r], in.centroid_x[r]);
  in.ensemble = match_ensemble(log.ensemble, in.centroid_y, in.centroid_x, options.match_radius_px);

  const size_t n_dendrite = in.dendrite_plane >= 0 ? planes[size_t(in.dendrite_plane)].dff.n_rows : 0;
  const std::vector<int> dendrite = dendrite_of_soma(rois, in.soma_plane, in.dendrite_plane, n, n_dendrite, rois_path);
  in.ensemble_neuron.assign(n, -1);
  in.neurons.resize(n);
  for (size_t r = 0; r < n; ++r) {
    in.neurons[r].soma_roi = int(r);
    in.neurons[r].dendrite_roi = dendrite[r];
  }
  for (size_t e = 0; e < in.ensemble.soma_roi.size(); ++e) {
    const int r = in.ensemble.soma_roi[e];
    if (r < 0) continue;
    in.neurons[size_t(r)].role = in.ensemble.role[e];
    in.ensemble_neuron[size_t(r)] = in.ensemble.neuron[e];
  }
  in.soma_dff = std::move(planes[size_t(in.soma_plane)].dff);
  if (in.dendrite_plane >= 0) in.dendrite_dff = std::move(planes[size_t(in.dendrite_plane)].dff);
  return in;
}

void write_regress(const std::string& path, const RegressResult& R, const RegressInputs& in, const RegressParams& p,
                   const Provenance& provenance) {
  h5::File file = h5::File::create(path);
  h5::Group root = file.root();
  write_provenance(root, provenance);
  root.set_attribute("frame_rate_hz", p.frame_rate_hz);
  root.set_attribute("frames", R.frames);
  root.set_attribute("window_frames", R.window_frames);
  root.set_attribute("soma_plane", int32_t(in.soma_plane));
  root.set_attribute("dendrite_plane", int32_t(in.dendrite_plane));
  root.set_attribute("event_threshold_sigma", R.events_used.threshold_sigma);
  root.set_attribute("event_min_interval_s", R.events_used.min_interval_s);
  root.set_attribute("event_highpass_window_s", R.events_used.highpass_window_s);
  root.set_attribute("event_smoothing_s", R.events_used.smoothing_s);
  root.set_attribute("event_measure_smoothing_s", R.events_used.measure_smoothing_s);
  root.set_attribute("event_lookback_s", R.events_used.lookback_s);
  root.set_attribute("permutations", int32_t(p.permutations));
  root.set_attribute("seed", p.seed);
  root.set_attribute("cv_folds", int32_t(p.cv_folds));
  root.set_attribute("ridge_lambda", p.ridge_lambda);
  root.set_attribute("window_s", p.window_s);
  root.set_attribute("min_events", int32_t(p.min_events));
  root.set_attribute("trials_per_block", int32_t(p.trials_per_block));
  root.set_attribute("description",
                     "apical regress: somato-dendritic (SD) residuals of dendritic event amplitudes and their "
                     "regression on reward, error and d_error by BCI role (role +1 P+, -1 P-, 0 other)");

  const size_t N = R.soma_roi.size();
  h5::Group neurons = root.create_group("neurons");
  write_column(neurons, "soma_roi", R.soma_roi);
  write_column(neurons, "dendrite_roi", R.dendrite_roi);
  write_column(neurons, "role", R.role);
  std::vector<int32_t> ensemble_neuron(in.ensemble_neuron.begin(), in.ensemble_neuron.end());
  ensemble_neuron.resize(N, -1);
  write_column(neurons, "ensemble_neuron", ensemble_neuron);
  write_column(neurons, "sd_slope", R.sd_slope, "dF/F per dF/F");
  write_column(neurons, "sd_intercept", R.sd_intercept, "dF/F");
  write_column(neurons, "sd_r2", R.sd_r2);
  write_column(neurons, "noise_sigma", R.noise_sigma, "dF/F");
  std::vector<double> cy = in.centroid_y, cx = in.centroid_x;
  cy.resize(N, kNaN);
  cx.resize(N, kNaN);
  write_column(neurons, "centroid_y", cy, "px");
  write_column(neurons, "centroid_x", cx, "px");
  write_column(neurons, "n_events", R.n_events);
  write_sd_models_and_coincidence(neurons, R);
  root.set_attribute("event_method", R.event_method);
  root.set_attribute("sd_fit", R.sd_fit);

  h5::Group glm = root.create_group("glm");
  glm.set_attribute("terms", join(R.glm_terms));
  glm.set_attribute("model", "per neuron OLS: residual ~ " + join(R.glm_terms));
  h5::write_matrix(glm, "beta", R.glm_beta);
  h5::write_matrix(glm, "se", R.glm_se);
  h5::write_matrix(glm, "t", R.glm_t);
  h5::write_matrix(glm, "p", R.glm_p);
  h5::write_matrix(glm, "perm_p", R.glm_perm_p);
  h5::write_matrix(glm, "p_bh", R.glm_p_bh);
  h5::write_matrix(glm, "perm_p_bh", R.glm_perm_p_bh);
  write_column(glm, "n", R.glm_n);

  h5::Group pooled = root.create_group("pooled");
  pooled.set_attribute("terms", join(R.pooled_terms));
  pooled.set_attribute("n", R.pooled_n);
  pooled.set_attribute("r2", R.pooled_r2);
  write_column(pooled, "beta", to_vector(R.pooled_beta));
  write_column(pooled, "se", to_vector(R.pooled_se));
  write_column(pooled, "t", to_vector(R.pooled_t));
  write_column(pooled, "p", to_vector(R.pooled_p));
  write_column(pooled, "perm_p", to_vector(R.pooled_perm_p));

  const EventTable& ev = R.events;
  h5::Group events = root.create_group("events");
  write_column(events, "neuron", ev.neuron);
  write_column(events, "frame", ev.frame);
  write_column(events, "soma_amplitude", ev.soma_amplitude, "dF/F");
  write_column(events, "dendrite_amplitude", ev.dendrite_amplitude, "dF/F");
  write_column(events, "residual", ev.residual, "dF/F");
  write_column(events, "error", ev.error, "positions");
  write_column(events, "d_error", ev.d_error, "positions");
  write_column(events, "reward", ev.reward);
  write_column(events, "trial", ev.trial);
  write_column(events, "outcome", ev.outcome);
  write_described(events, "coincident", ev.coincident, "1",
                  "1 coincident somato-dendritic event, 0 soma-only, -1 no paired dendrite");
  write_conditions(root, events, R);
  write_sensitivity(root, R);
  write_decoding_over_time(root, R);

  h5::Group network = root.create_group("network");
  network.set_attribute("shuffles", int32_t(R.network_shuffles));
  write_column(network, "r2", R.network_r2);
  write_column(network, "shuffle_mean", R.network_shuffle_mean);
  write_column(network, "shuffle_p95", R.network_shuffle_p95);
  write_column(network, "p", R.network_p);

  h5::Group learning = root.create_group("learning");
  write_column(learning, "early_residual", R.early_residual, "dF/F");
  write_column(learning, "rate_early", R.rate_early, "events/min");
  write_column(learning, "rate_late", R.rate_late, "events/min");
  write_column(learning, "amplitude_early", R.amplitude_early, "dF/F");
  write_column(learning, "amplitude_late", R.amplitude_late, "dF/F");
  h5::Group by_role = learning.create_group("by_role");
  std::vector<int8_t> role;
  std::vector<int32_t> count;
  std::vector<double> r_rate, p_rate, r_amp, p_amp;
  for (const auto& s : R.learning_by_role) {
    role.push_back(int8_t(s.role));
    count.push_back(s.n);
    r_rate.push_back(s.r_rate);
    p_rate.push_back(s.p_rate);
    r_amp.push_back(s.r_amplitude);
    p_amp.push_back(s.p_amplitude);
  }
  write_column(by_role, "role", role);
  write_column(by_role, "n", count);
  write_column(by_role, "r_rate", r_rate);
  write_column(by_role, "p_rate", p_rate);
  write_column(by_role, "r_amplitude", r_amp);
  write_column(by_role, "p_amplitude", p_amp);

  const auto& D = R.decoding;
  h5::Group decoding = root.create_group("decoding");
  decoding.set_attribute("n_trials", int32_t(D.n_trials));
  decoding.set_attribute("n_features", int32_t(D.n_features));
  decoding.set_attribute("n_shuffles", int32_t(D.n_shuffles));
  decoding.set_attribute("accuracy", D.accuracy);
  decoding.set_attribute("chance", D.chance);
  decoding.set_attribute("shuffle_mean", D.shuffle_mean);
  decoding.set_attribute("shuffle_p95", D.shuffle_p95);
  decoding.set_attribute("p", D.p);
  write_column(decoding, "shuffle_accuracy", D.shuffle_accuracy);

  h5::Group curve = root.create_group("learning_curve");
  std::vector<int32_t> first, last, trials, hits;
  std::vector<int64_t> start, end;
  std::vector<double> rate;
  for (const auto& b : R.learning_curve) {
    first.push_back(b.first_trial);
    last.push_back(b.last_trial);
    trials.push_back(b.trials);
    hits.push_back(b.hits);
    start.push_back(b.start_frame);
    end.push_back(b.end_frame);
    rate.push_back(b.hits_per_min);
  }
  write_column(curve, "first_trial", first);
  write_column(curve, "last_trial", last);
  write_column(curve, "trials", trials);
  write_column(curve, "hits", hits);
  write_column(curve, "start_frame", start);
  write_column(curve, "end_frame", end);
  write_column(curve, "hits_per_min", rate, "hits/min");

  const EnsembleMatch& m = in.ensemble;
  h5::Group ensemble = root.create_group("ensemble");
  write_column(ensemble, "neuron", std::vector<int32_t>(m.neuron.begin(), m.neuron.end()));
  write_column(ensemble, "soma_roi", std::vector<int32_t>(m.soma_roi.begin(), m.soma_roi.end()));
  std::vector<int8_t> ensemble_role(m.role.begin(), m.role.end());
  write_column(ensemble, "role", ensemble_role);
  write_column(ensemble, "y", m.y, "px");
  write_column(ensemble, "x", m.x, "px");
  write_column(ensemble, "distance_px", m.distance_px, "px");
  Timebase timebase = timebase_of_inputs(provenance.inputs);
  timebase.frames = R.frames;
  timebase.frame_rate_hz = p.frame_rate_hz;
  timebase.times_s = in.log.time_s;
  describe_output(root, regress_schema(), timebase);
  file.close();
}

RegressFile read_regress(const std::string& path) {
  RegressFile f;
  f.path = path;
  h5::File file = h5::File::open_read(path);
  h5::Group root = file.root();
  if (!root.has("neurons") || !root.has("glm")) throw file_error(path, "is not a regress.h5 (no /neurons or /glm)");
  f.frame_rate_hz = attribute(root, "frame_rate_hz");
  RegressResult& R = f.result;
  R.frames = int64_t(attribute(root, "frames"));
  R.window_frames = int64_t(attribute(root, "window_frames"));

  const h5::Group neurons = root.group("neurons");
  R.soma_roi = read_column<int32_t>(neurons, "soma_roi");
  R.dendrite_roi = read_column<int32_t>(neurons, "dendrite_roi");
  R.role = read_column<int8_t>(neurons, "role");
  R.sd_slope = read_column<double>(neurons, "sd_slope");
  R.sd_intercept = read_column<double>(neurons, "sd_intercept");
  R.sd_r2 = read_column<double>(neurons, "sd_r2");
  R.noise_sigma = read_column<double>(neurons, "noise_sigma");
  R.n_events = read_column<int32_t>(neurons, "n_events");

  const h5::Group glm = root.group("glm");
  R.glm_terms = split(glm.string_attribute("terms").value_or(""));
  R.glm_beta = read_table(glm, "beta");
  R.glm_se = read_table(glm, "se");
  R.glm_t = read_table(glm, "t");
  R.glm_p = read_table(glm, "p");
  R.glm_perm_p = read_table(glm, "perm_p");
  R.glm_p_bh = read_table(glm, "p_bh");
  R.glm_perm_p_bh = read_table(glm, "perm_p_bh");
  R.glm_n = read_column<int32_t>(glm, "n");

  const h5::Group pooled = root.group("pooled");
  R.pooled_terms = split(pooled.string_attribute("terms").value_or(""));
  R.pooled_n = int64_t(attribute(pooled, "n"));
  R.pooled_r2 = attribute(pooled, "r2");
  R.pooled_beta = arma::vec(read_column<double>(pooled, "beta"));
  R.pooled_se = arma::vec(read_column<double>(pooled, "se"));
  R.pooled_t = arma::vec(read_column<double>(pooled, "t"));
  R.pooled_p = arma::vec(read_column<double>(pooled, "p"));
  R.pooled_perm_p = arma::vec(read_column<double>(pooled, "perm_p"));

  const h5::Group events = root.group("events");
  EventTable& ev = R.events;
  ev.neuron = read_column<int32_t>(events, "neuron");
  ev.frame = read_column<int64_t>(events, "frame");
  ev.soma_amplitude = read_column<double>(events, "soma_amplitude");
  ev.dendrite_amplitude = read_column<double>(events, "dendrite_amplitude");
  ev.residual = read_column<double>(events, "residual");
  ev.error = read_column<double>(events, "error");
  ev.d_error = read_column<double>(events, "d_error");
  ev.reward = read_column<uint8_t>(events, "reward");
  ev.trial = read_column<int32_t>(events, "trial");
  ev.outcome = read_column<int8_t>(events, "outcome");
  for (int32_t n : ev.neuron)
    if (n < 0 || size_t(n) >= R.soma_roi.size()) throw file_error(path, "/events/neuron names a neuron that does not exist");
  read_conditions(root, events, R, path);
  read_sensitivity(root, R);
  if (neurons.has("sd_model")) {
    R.sd_model = read_column<int8_t>(neurons, "sd_model");
    R.sd_param_a = read_column<double>(neurons, "sd_param_a");
    R.sd_param_b = read_column<double>(neurons, "sd_param_b");
  }

  const h5::Group network = root.group("network");
  R.network_shuffles = int(attribute(network, "shuffles"));
  R.network_r2 = read_column<double>(network, "r2");
  R.network_shuffle_mean = read_column<double>(network, "shuffle_mean");
  R.network_shuffle_p95 = read_column<double>(network, "shuffle_p95");
  R.network_p = read_column<double>(network, "p");

  const h5::Group learning = root.group("learning");
  R.early_residual = read_column<double>(learning, "early_residual");
  R.rate_early = read_column<double>(learning, "rate_early");
  R.rate_late = read_column<double>(learning, "rate_late");
  R.amplitude_early = read_column<double>(learning, "amplitude_early");
  R.amplitude_late = read_column<double>(learning, "amplitude_late");
  const h5::Group by_role = learning.group("by_role");
  const auto role = read_column<int8_t>(by_role, "role");
  const auto count = read_column<int32_t>(by_role, "n");
  const auto r_rate = read_column<double>(by_role, "r_rate"), p_rate = read_column<double>(by_role, "p_rate");
  const auto r_amp = read_column<double>(by_role, "r_amplitude"), p_amp = read_column<double>(by_role, "p_amplitude");
  for (size_t i = 0; i < role.size(); ++i)
    R.learning_by_role.push_back({role[i], count.at(i), r_rate.at(i), p_rate.at(i), r_amp.at(i), p_amp.at(i)});

  const h5::Group decoding = root.group("decoding");
  auto& D = R.decoding;
  D.n_trials = int(attribute(decoding, "n_trials"));
  D.n_features = int(attribute(decoding, "n_features"));
  D.n_shuffles = int(attribute(decoding, "n_shuffles"));
  D.accuracy = attribute(decoding, "accuracy");
  D.chance = attribute(decoding, "chance");
  D.shuffle_mean = attribute(decoding, "shuffle_mean");
  D.shuffle_p95 = attribute(decoding, "shuffle_p95");
  D.p = attribute(decoding, "p");
  D.shuffle_accuracy = read_column<double>(decoding, "shuffle_accuracy");

  const h5::Group curve = root.group("learning_curve");
  const auto first = read_column<int32_t>(curve, "first_trial"), last = read_column<int32_t>(curve, "last_trial");
  const auto trials = read_column<int32_t>(curve, "trials"), hits = read_column<int32_t>(curve, "hits");
  const auto start = read_column<int64_t>(curve, "start_frame"), end = read_column<int64_t>(curve, "end_frame");
  const auto rate = read_column<double>(curve, "hits_per_min");
  for (size_t i = 0; i < first.size(); ++i) {
    RegressResult::Block b;
    b.first_trial = first[i];
    b.last_trial = last.at(i);
    b.trials = trials.at(i);
    b.hits = hits.at(i);
    b.start_frame = start.at(i);
    b.end_frame = end.at(i);
    b.hits_per_min = rate.at(i);
    R.learning_curve.push_back(b);
  }
  const size_t N = R.soma_roi.size();
  for (size_t size : {R.role.size(), R.sd_slope.size(), R.network_r2.size(), R.early_residual.size(),
                      size_t(R.glm_beta.n_rows)})
    if (size != N) throw file_error(path, "per-neuron tables have different lengths");
  return f;
}

}  // namespace apical
