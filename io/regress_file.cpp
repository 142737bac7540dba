#include "io/regress_file.hpp"

#include <algorithm>
#include <limits>
#include <sstream>

#include "io/error.hpp"
#include "io/h5.hpp"
#include "io/h5_columns.hpp"
#include "io/h5_matrix.hpp"
#include "io/schema.hpp"

namespace apical {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

using h5::column_of;
using h5::converted;

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

std::vector<double> to_vector(const arma::vec& v) { return std::vector<double>(v.begin(), v.end()); }

template <typename T>
std::vector<T> resized(std::vector<T> values, size_t n, T fill) {
  values.resize(n, fill);
  return values;
}

// ------------------------------------------------------------------ writing, one group each

void write_root_attributes(h5::Group& root, const RegressResult& R, const RegressParams& p, const RegressInputRecord& in) {
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
  root.set_attribute("event_method", R.event_method);
  root.set_attribute("sd_fit", R.sd_fit);
}

// Issue 14 §3 added the SD model of each neuron and the coincidence counts.
void write_neurons(h5::Group& root, const RegressResult& R, const RegressInputRecord& in) {
  const size_t N = R.soma_roi.size();
  h5::Group neurons = root.create_group("neurons");
  h5::write_columns(neurons, {{"soma_roi", R.soma_roi},
                              {"dendrite_roi", R.dendrite_roi},
                              {"role", R.role},
                              {"ensemble_neuron", resized(converted<int32_t>(in.ensemble_neuron), N, -1)},
                              {"sd_slope", R.sd_slope},
                              {"sd_intercept", R.sd_intercept},
                              {"sd_r2", R.sd_r2},
                              {"noise_sigma", R.noise_sigma},
                              {"centroid_y", resized(in.centroid_y, N, kNaN)},
                              {"centroid_x", resized(in.centroid_x, N, kNaN)},
                              {"n_events", R.n_events},
                              {"sd_model", R.sd_model},
                              {"sd_param_a", R.sd_param_a},
                              {"sd_param_b", R.sd_param_b}});
  h5::write_matrix(neurons, "sd_aic", R.sd_aic);
  h5::write_columns(neurons, {{"sd_reference_events", R.sd_reference_events},
                              {"n_soma_only", R.n_soma_only},
                              {"n_dendrite_only", R.n_dendrite_only},
                              {"n_coincident", R.n_coincident}});
}

void write_glm(h5::Group& root, const RegressResult& R) {
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
  h5::write_columns(glm, {{"n", R.glm_n}});

  h5::Group pooled = root.create_group("pooled");
  pooled.set_attribute("terms", join(R.pooled_terms));
  pooled.set_attribute("n", R.pooled_n);
  pooled.set_attribute("r2", R.pooled_r2);
  h5::write_columns(pooled, {{"beta", to_vector(R.pooled_beta)},
                             {"se", to_vector(R.pooled_se)},
                             {"t", to_vector(R.pooled_t)},
                             {"p", to_vector(R.pooled_p)},
                             {"perm_p", to_vector(R.pooled_perm_p)}});
}

// The event table, with each extra frames.csv column (issue 14 §1) by its name.
void write_events(h5::Group& root, const RegressResult& R) {
  const EventTable& ev = R.events;
  h5::Group events = root.create_group("events");
  h5::write_columns(events, {{"neuron", ev.neuron},
                             {"frame", ev.frame},
                             {"soma_amplitude", ev.soma_amplitude},
                             {"dendrite_amplitude", ev.dendrite_amplitude},
                             {"residual", ev.residual},
                             {"error", ev.error},
                             {"d_error", ev.d_error},
                             {"reward", ev.reward},
                             {"trial", ev.trial},
                             {"outcome", ev.outcome},
                             {"coincident", ev.coincident}});
  for (size_t c = 0; c < R.column_names.size(); ++c) events.write(R.column_names[c], ev.columns[c]);
}

// Issue 14 §1: residuals by condition and their tests.
void write_conditions(h5::Group& root, const RegressResult& R) {
  const auto& C = R.conditions;
  if (C.column.empty()) return;
  h5::Group g = root.create_group("conditions");
  g.set_attribute("column", C.column);
  g.set_attribute("reference", C.reference);
  g.set_attribute("permutations", int32_t(C.permutations));
  g.set_attribute("description", std::string("SD residuals (relative to each neuron's fit on the reference events) "
                                             "by value of the frames.csv column"));
  h5::write_columns(g, {{"values", C.values}});
  h5::write_matrix(g, "mean_residual", C.mean_residual);
  h5::write_matrix(g, "n_events", C.n_events);
  h5::write_columns(g, {{"test_value", C.test_value},
                        {"mean_difference", C.mean_difference},
                        {"n_neurons", C.n_neurons},
                        {"paired_t", C.paired_t},
                        {"paired_p", C.paired_p},
                        {"permutation_p", C.permutation_p}});
  h5::write_matrix(g, "neuron_difference", C.neuron_difference);
}

// Issue 14 §4: the pooled role x task interactions over the sensitivity grid.
void write_sensitivity(h5::Group& root, const RegressResult& R) {
  const auto& S = R.sensitivity;
  if (S.window_s.empty()) return;
  h5::Group g = root.create_group("sensitivity");
  g.set_attribute("description", std::string("pooled model re-fitted over event threshold x {0.7, 1, 1.3} and "
                                             "analysis window {0.5, 1, 2} s; one row per setting"));
  h5::write_columns(g, {{"threshold_scale", S.threshold_scale},
                        {"threshold", S.threshold},
                        {"window_s", S.window_s},
                        {"n_events", S.n_events},
                        {"beta_role_d_error", S.beta_role_d_error},
                        {"p_role_d_error", S.p_role_d_error},
                        {"perm_p_role_d_error", S.perm_p_role_d_error},
                        {"beta_role_reward", S.beta_role_reward},
                        {"p_role_reward", S.p_role_reward},
                        {"perm_p_role_reward", S.perm_p_role_reward}});
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
  h5::write_columns(g, {{"bin_start_s", D.bin_start_s}, {"bin_end_s", D.bin_end_s}, {"trials_with_events", D.trials_with_events}});
  h5::write_matrix(g, "balanced_accuracy", D.balanced_accuracy);
  h5::write_matrix(g, "shuffle_mean", D.shuffle_mean);
  h5::write_matrix(g, "shuffle_lo", D.shuffle_lo);
  h5::write_matrix(g, "shuffle_hi", D.shuffle_hi);
  h5::write_matrix(g, "p", D.p);
  const auto& E = R.error_reducing;
  h5::Group e = root.create_group("error_reducing");
  e.set_attribute("description", std::string("residual ~ 1 + d_error over each role's events with d_error < 0"));
  h5::write_columns(e, {{"role", E.role}, {"n", E.n}, {"beta", E.beta}, {"se", E.se}, {"p", E.p}});
}

void write_network(h5::Group& root, const RegressResult& R) {
  h5::Group network = root.create_group("network");
  network.set_attribute("shuffles", int32_t(R.network_shuffles));
  h5::write_columns(network, {{"r2", R.network_r2},
                              {"shuffle_mean", R.network_shuffle_mean},
                              {"shuffle_p95", R.network_shuffle_p95},
                              {"p", R.network_p}});
}

void write_learning(h5::Group& root, const RegressResult& R) {
  using Role = RegressResult::LearningByRole;
  h5::Group learning = root.create_group("learning");
  h5::write_columns(learning, {{"early_residual", R.early_residual},
                               {"rate_early", R.rate_early},
                               {"rate_late", R.rate_late},
                               {"amplitude_early", R.amplitude_early},
                               {"amplitude_late", R.amplitude_late}});
  h5::Group by_role = learning.create_group("by_role");
  const auto& rows = R.learning_by_role;
  h5::write_columns(by_role, {{"role", column_of<int8_t>(rows, &Role::role)},
                              {"n", column_of<int32_t>(rows, &Role::n)},
                              {"r_rate", column_of<double>(rows, &Role::r_rate)},
                              {"p_rate", column_of<double>(rows, &Role::p_rate)},
                              {"r_amplitude", column_of<double>(rows, &Role::r_amplitude)},
                              {"p_amplitude", column_of<double>(rows, &Role::p_amplitude)}});
}

void write_decoding(h5::Group& root, const RegressResult& R) {
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
  h5::write_columns(decoding, {{"shuffle_accuracy", D.shuffle_accuracy}});
}

void write_learning_curve(h5::Group& root, const RegressResult& R) {
  using Block = RegressResult::Block;
  const auto& rows = R.learning_curve;
  h5::Group curve = root.create_group("learning_curve");
  h5::write_columns(curve, {{"first_trial", column_of<int32_t>(rows, &Block::first_trial)},
                            {"last_trial", column_of<int32_t>(rows, &Block::last_trial)},
                            {"trials", column_of<int32_t>(rows, &Block::trials)},
                            {"hits", column_of<int32_t>(rows, &Block::hits)},
                            {"start_frame", column_of<int64_t>(rows, &Block::start_frame)},
                            {"end_frame", column_of<int64_t>(rows, &Block::end_frame)},
                            {"hits_per_min", column_of<double>(rows, &Block::hits_per_min)}});
}

void write_ensemble(h5::Group& root, const EnsembleMatch& m) {
  h5::Group ensemble = root.create_group("ensemble");
  h5::write_columns(ensemble, {{"neuron", converted<int32_t>(m.neuron)},
                               {"soma_roi", converted<int32_t>(m.soma_roi)},
                               {"role", converted<int8_t>(m.role)},
                               {"y", m.y},
                               {"x", m.x},
                               {"distance_px", m.distance_px}});
}

// ------------------------------------------------------------------ reading, one group each

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

void read_neurons(const h5::Group& root, RegressResult& R) {
  const h5::Group neurons = root.group("neurons");
  R.soma_roi = read_column<int32_t>(neurons, "soma_roi");
  R.dendrite_roi = read_column<int32_t>(neurons, "dendrite_roi");
  R.role = read_column<int8_t>(neurons, "role");
  R.sd_slope = read_column<double>(neurons, "sd_slope");
  R.sd_intercept = read_column<double>(neurons, "sd_intercept");
  R.sd_r2 = read_column<double>(neurons, "sd_r2");
  R.noise_sigma = read_column<double>(neurons, "noise_sigma");
  R.n_events = read_column<int32_t>(neurons, "n_events");
  if (neurons.has("sd_model")) {
    R.sd_model = read_column<int8_t>(neurons, "sd_model");
    R.sd_param_a = read_column<double>(neurons, "sd_param_a");
    R.sd_param_b = read_column<double>(neurons, "sd_param_b");
  }
}

void read_glm(const h5::Group& root, RegressResult& R) {
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
}

void read_events(const h5::Group& root, RegressResult& R) {
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
    if (n < 0 || size_t(n) >= R.soma_roi.size())
      throw file_error(root.file(), "/events/neuron names a neuron that does not exist");
}

// The reference condition's summary and its per-event column (for the condition figures).
void read_conditions(const h5::Group& root, RegressResult& R) {
  if (!root.has("conditions")) return;
  const h5::Group g = root.group("conditions");
  const h5::Group events = root.group("events");
  const std::string& path = root.file();
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

void read_network(const h5::Group& root, RegressResult& R) {
  const h5::Group network = root.group("network");
  R.network_shuffles = int(attribute(network, "shuffles"));
  R.network_r2 = read_column<double>(network, "r2");
  R.network_shuffle_mean = read_column<double>(network, "shuffle_mean");
  R.network_shuffle_p95 = read_column<double>(network, "shuffle_p95");
  R.network_p = read_column<double>(network, "p");
}

void read_learning(const h5::Group& root, RegressResult& R) {
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
}

void read_decoding(const h5::Group& root, RegressResult& R) {
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
}

void read_learning_curve(const h5::Group& root, RegressResult& R) {
  const h5::Group curve = root.group("learning_curve");
  const auto first = read_column<int32_t>(curve, "first_trial"), last = read_column<int32_t>(curve, "last_trial");
  const auto trials = read_column<int32_t>(curve, "trials"), hits = read_column<int32_t>(curve, "hits");
  const auto start = read_column<int64_t>(curve, "start_frame"), end = read_column<int64_t>(curve, "end_frame");
  const auto rate = read_column<double>(curve, "hits_per_min");
  for (size_t i = 0; i < first.size(); ++i)
    R.learning_curve.push_back({first[i], last.at(i), trials.at(i), hits.at(i), start.at(i), end.at(i), rate.at(i)});
}

void read_input_record(const h5::Group& root, RegressInputRecord& in) {
  in.soma_plane = int(root.number_attribute("soma_plane").value_or(0));
  in.dendrite_plane = int(root.number_attribute("dendrite_plane").value_or(-1));
  const h5::Group neurons = root.group("neurons");
  in.ensemble_neuron = read_column<int32_t>(neurons, "ensemble_neuron");
  in.centroid_y = read_column<double>(neurons, "centroid_y");
  in.centroid_x = read_column<double>(neurons, "centroid_x");
  if (root.has("timestamps")) in.frame_times_s = read_column<double>(root, "timestamps");
  if (!root.has("ensemble")) return;
  const h5::Group ensemble = root.group("ensemble");
  EnsembleMatch& m = in.ensemble;
  m.neuron = read_column<int32_t>(ensemble, "neuron");
  m.soma_roi = read_column<int32_t>(ensemble, "soma_roi");
  m.role = converted<int>(read_column<int8_t>(ensemble, "role"));
  m.y = read_column<double>(ensemble, "y");
  m.x = read_column<double>(ensemble, "x");
  m.distance_px = read_column<double>(ensemble, "distance_px");
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

void write_regress(const std::string& path, const RegressResult& R, const RegressParams& p,
                   const RegressInputRecord& in, const Provenance& provenance) {
  h5::File file = h5::File::create(path);
  h5::Group root = file.root();
  write_provenance(root, provenance);
  write_root_attributes(root, R, p, in);
  write_neurons(root, R, in);
  write_glm(root, R);
  write_events(root, R);
  write_conditions(root, R);
  write_sensitivity(root, R);
  write_decoding_over_time(root, R);
  write_network(root, R);
  write_learning(root, R);
  write_decoding(root, R);
  write_learning_curve(root, R);
  write_ensemble(root, in.ensemble);
  Timebase timebase = timebase_of_inputs(provenance.inputs);
  timebase.frames = R.frames;
  timebase.frame_rate_hz = p.frame_rate_hz;
  timebase.times_s = in.frame_times_s;
  describe_output(root, regress_schema(), timebase);
  file.close();
}

RegressFile read_regress(const std::string& path) {
  RegressFile f;
  f.path = path;
  h5::File file = h5::File::open_read(path);
  const h5::Group root = file.root();
  if (!root.has("neurons") || !root.has("glm")) throw file_error(path, "is not a regress.h5 (no /neurons or /glm)");
  f.frame_rate_hz = attribute(root, "frame_rate_hz");
  RegressResult& R = f.result;
  R.frames = int64_t(attribute(root, "frames"));
  R.window_frames = int64_t(attribute(root, "window_frames"));
  read_neurons(root, R);
  read_glm(root, R);
  read_events(root, R);
  read_conditions(root, R);
  read_sensitivity(root, R);
  read_network(root, R);
  read_learning(root, R);
  read_decoding(root, R);
  read_learning_curve(root, R);
  read_input_record(root, f.inputs);
  const size_t N = R.soma_roi.size();
  for (size_t size : {R.role.size(), R.sd_slope.size(), R.network_r2.size(), R.early_residual.size(),
                      size_t(R.glm_beta.n_rows), f.inputs.centroid_y.size(), f.inputs.centroid_x.size()})
    if (size != N) throw file_error(path, "per-neuron tables have different lengths");
  return f;
}

namespace {

// Columns [N, terms] of /glm as one column per statistic and term (e.g. beta_reward).
void add_glm_columns(const h5::Group& glm, size_t n, RegressNeuronTable& table) {
  const std::vector<std::string> terms = split(glm.string_attribute("terms").value_or(""));
  for (const std::string& name : glm.children()) {
    const h5::Dims dims = glm.dataset(name).dims();
    if (dims.size() != 2 || dims[0] != n || dims[1] != terms.size()) continue;
    const std::vector<double> values = glm.read<double>(name);
    for (size_t j = 0; j < terms.size(); ++j) {
      std::vector<double> column(n);
      for (size_t i = 0; i < n; ++i) column[i] = values[i * terms.size() + j];
      table.columns.push_back({name + "_" + terms[j], "regress.h5 /glm/" + name + ", term " + terms[j], column});
    }
  }
}

}  // namespace

RegressNeuronTable read_regress_neuron_table(const std::string& path) {
  const h5::File file = h5::File::open_read(path);
  const h5::Group neurons = file.root().group("neurons");
  RegressNeuronTable table;
  table.soma_roi = neurons.read<int32_t>("soma_roi");
  const size_t n = table.soma_roi.size();
  for (const std::string& name : neurons.children()) {
    if (name == "soma_roi" || neurons.dataset(name).dims() != h5::Dims{n}) continue;
    table.columns.push_back({name, "regress.h5 /neurons/" + name, neurons.read<double>(name)});
  }
  if (file.root().has("glm")) add_glm_columns(file.root().group("glm"), n, table);
  return table;
}

}  // namespace apical
