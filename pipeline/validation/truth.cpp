#include "pipeline/validation/truth.hpp"

#include "io/schema.hpp"

#include <cmath>

#include "io/error.hpp"
#include "io/h5.hpp"
#include "io/h5_matrix.hpp"
#include "io/rois_file.hpp"
#include "pipeline/validation/simulate.hpp"

namespace apical {

namespace {

std::vector<float> shifts_as_rows(const std::vector<Shift>& shifts) {
  std::vector<float> rows;
  rows.reserve(shifts.size() * 2);
  for (const auto& s : shifts) {
    rows.push_back(s.dy);
    rows.push_back(s.dx);
  }
  return rows;
}

void describe(h5::Group& g, const std::string& name, const std::string& units, const std::string& description) {
  h5::Dataset d = g.dataset(name);
  d.set_attribute("units", units);
  d.set_attribute("description", description);
}

// /opto: which frames and trials were stimulated, the gain factor, and per event the
// condition and the dendritic amplitude change the stimulation caused.
void write_opto_truth(h5::Group& root, const SimulatedSession& s) {
  h5::Group g = root.create_group("opto");
  g.set_attribute("trial_fraction", s.params.opto_trial_fraction);
  g.set_attribute("dendrite_gain", s.params.opto_dendrite_gain);
  g.write("stimulated", s.stimulated);
  describe(g, "stimulated", "1", "1 on frames where the opto light was on (frames of stimulated trials)");
  std::vector<uint8_t> trial_stimulated;
  for (const BciTrial& t : s.trials) trial_stimulated.push_back(t.stimulated ? 1 : 0);
  g.write("trial_stimulated", trial_stimulated);
  describe(g, "trial_stimulated", "1", "1 for each stimulated trial, in trials.csv order");
  std::vector<uint8_t> event_opto;
  std::vector<float> shift;
  for (const SimulatedEvent& e : s.events) {
    event_opto.push_back(uint8_t(e.opto));
    shift.push_back(e.opto_shift);
  }
  g.write("event_opto", event_opto);
  describe(g, "event_opto", "1", "1 for each /events row whose onset frame was stimulated");
  g.write("event_shift", shift);
  describe(g, "event_shift", "dF/F",
           "per /events row: dendritic amplitude minus the amplitude it would have had unstimulated");
}

}  // namespace

void write_truth(const std::string& path, const SimulatedSession& s, const Provenance& provenance) {
  h5::File file = h5::File::create(path);
  h5::Group root = file.root();
  write_provenance(root, provenance);
  const SimulationParams& p = s.params;
  root.set_attribute("frame_rate_hz", p.frame_rate_hz);
  root.set_attribute("height", int32_t(p.height));
  root.set_attribute("width", int32_t(p.width));
  root.set_attribute("frames", int64_t(p.frames));
  root.set_attribute("c_reward", p.c_reward);
  root.set_attribute("c_derr", p.c_derr);
  root.set_attribute("residual_noise", p.residual_noise);
  root.set_attribute("seed", uint64_t(p.seed));
  for (size_t k = 0; k < s.planes.size(); ++k) {
    const SimulatedPlane& plane = s.planes[k];
    h5::Group g = root.create_group("plane" + std::to_string(k));
    g.set_attribute("role", plane.role);
    g.set_attribute("frame_rate_hz", p.frame_rate_hz);
    g.set_attribute("bidi_offset_px", double(plane.bidi_offset_px));
    g.write("shifts", shifts_as_rows(plane.shifts), {plane.shifts.size(), 2});
    g.dataset("shifts").set_attribute("units", std::string("px (dy, dx): reference content at (y,x) appears in the raw frame at (y+dy, x+dx)"));
    SparseMasks masks;
    masks.height = p.height;
    masks.width = p.width;
    for (const auto& roi : plane.rois) masks.add(roi.pixels, roi.weights, uint8_t(roi.kind));
    write_masks(g, masks);
    h5::write_matrix(g, "dff", plane.dff);
    g.write("baseline_f0", plane.baseline_f0);
    g.write("neuropil_coef", plane.neuropil_coef);
    cv::Mat image = plane.static_image.isContinuous() ? plane.static_image : plane.static_image.clone();
    g.write("static_image", std::vector<float>(image.ptr<float>(), image.ptr<float>() + image.total()),
            {uint64_t(image.rows), uint64_t(image.cols)});
    arma::fmat basis(plane.nonrigid_basis.size(), 4);
    for (size_t b = 0; b < plane.nonrigid_basis.size(); ++b) {
      const auto& nb = plane.nonrigid_basis[b];
      basis.row(b) = arma::frowvec({nb.ky, nb.kx, nb.phase_y, nb.phase_x});
    }
    h5::write_matrix(g, "nonrigid_basis", basis);
    h5::write_matrix(g, "nonrigid_coef", plane.nonrigid_coef);
  }
  std::vector<RoiPair> pairs;
  for (auto [soma, dendrite] : soma_dendrite_pairs(s)) pairs.push_back({0, soma, 1, dendrite, 1.0f});
  write_pairs(root, pairs);
  h5::Group neurons = root.create_group("neurons");
  std::vector<int32_t> soma_roi;
  std::vector<int8_t> role;
  std::vector<float> beta_reward, beta_derr, gain;
  for (const auto& n : s.neurons) {
    soma_roi.push_back(n.soma_roi);
    role.push_back(int8_t(n.role));
    beta_reward.push_back(n.beta_reward);
    beta_derr.push_back(n.beta_derr);
    gain.push_back(n.sd_gain);
  }
  neurons.write("soma_roi", soma_roi);
  neurons.write("role", role);
  neurons.write("beta_reward", beta_reward);
  neurons.write("beta_derr", beta_derr);
  neurons.write("sd_gain", gain);
  h5::Group events = root.create_group("events");
  std::vector<int32_t> neuron;
  std::vector<int64_t> frame;
  std::vector<float> a, b, r, d;
  std::vector<int8_t> reward;
  for (const auto& e : s.events) {
    neuron.push_back(e.neuron);
    frame.push_back(e.frame);
    a.push_back(e.soma_amplitude);
    b.push_back(e.dendrite_amplitude);
    r.push_back(e.residual);
    d.push_back(e.d_error);
    reward.push_back(int8_t(e.reward));
  }
  events.write("neuron", neuron);
  events.write("frame", frame);
  events.write("soma_amplitude", a);
  events.write("dendrite_amplitude", b);
  events.write("residual", r);
  events.write("d_error", d);
  events.write("reward", reward);
  if (p.opto) write_opto_truth(root, s);
  describe_output(root, truth_schema(), Timebase{int64_t(p.frames), p.frame_rate_hz, p.pixel_size_um, {}});
}

BciLog simulated_bci_log(const SimulatedSession& s) {
  BciLog log;
  const auto& f = s.bci_frames;
  for (size_t t = 0; t < f.cursor.size(); ++t)
    log.frames.push_back({int64_t(t), f.time_s[t], f.control[t], f.cursor[t], f.target[t], f.trial[t], {}});
  if (s.params.opto) {  // the rig logs the light per frame
    log.extra_columns = {"opto"};
    for (size_t t = 0; t < log.frames.size(); ++t) log.frames[t].extra = {double(s.stimulated.at(t))};
  }
  for (const auto& t : s.trials) log.trials.push_back({t.trial, t.start_frame, t.end_frame, t.hit, t.reward_frame});
  for (const auto& e : s.ensemble) log.ensemble.push_back({e.neuron, e.role, e.y, e.x});
  return log;
}

Shift TruthPlane::nonrigid_at(int64_t t, double y, double x) const {
  Shift out;
  // Same field as the simulator: basis k evaluated at (y, x) in frame-height/width units.
  for (arma::uword k = 0; k < nonrigid_basis.n_rows; ++k) {
    double ky = nonrigid_basis(k, 0), kx = nonrigid_basis(k, 1);
    double arg = 2 * M_PI * (ky * y / double(masks.height) + kx * x / double(masks.width));
    double c = nonrigid_coef(k, arma::uword(t));
    out.dy += float(c * std::sin(arg + nonrigid_basis(k, 2)));
    out.dx += float(c * std::sin(arg + nonrigid_basis(k, 3)));
  }
  return out;
}

Truth read_truth(const std::string& path) {
  h5::File file = h5::File::open_read(path);
  h5::Group root = file.root();
  if (!root.has("plane0/shifts") || !root.has("neurons"))
    throw file_error(path, "is not an apical simulate truth file (no /plane0/shifts or /neurons)");
  Truth truth;
  truth.path = path;
  truth.frame_rate_hz = root.number_attribute("frame_rate_hz").value_or(0);
  truth.height = int(root.number_attribute("height").value_or(0));
  truth.width = int(root.number_attribute("width").value_or(0));
  for (int k = 0; root.has("plane" + std::to_string(k)); ++k) {
    h5::Group g = root.group("plane" + std::to_string(k));
    TruthPlane plane;
    plane.role = g.string_attribute("role").value_or("");
    plane.bidi_offset_px = float(g.number_attribute("bidi_offset_px").value_or(0));
    std::vector<float> rows = g.read<float>("shifts");
    for (size_t i = 0; i + 1 < rows.size(); i += 2) plane.shifts.push_back({rows[i], rows[i + 1]});
    plane.masks = read_masks(g);
    plane.dff = h5::read_matrix<float>(g, "dff");
    plane.neuropil_coef = g.read<float>("neuropil_coef");
    plane.nonrigid_basis = h5::read_matrix<float>(g, "nonrigid_basis");
    plane.nonrigid_coef = h5::read_matrix<float>(g, "nonrigid_coef");
    truth.planes.push_back(std::move(plane));
  }
  h5::Group pairs = root.group("pairs");
  truth.pair_soma_roi = pairs.read<int32_t>("soma_roi");
  truth.pair_dendrite_roi = pairs.read<int32_t>("dendrite_roi");
  h5::Group neurons = root.group("neurons");
  truth.neuron_soma_roi = neurons.read<int32_t>("soma_roi");
  for (int8_t r : neurons.read<int8_t>("role")) truth.neuron_role.push_back(r);
  truth.beta_reward = neurons.read<float>("beta_reward");
  truth.beta_derr = neurons.read<float>("beta_derr");
  truth.sd_gain = neurons.read<float>("sd_gain");
  h5::Group events = root.group("events");
  auto neuron = events.read<int32_t>("neuron");
  auto frame = events.read<int64_t>("frame");
  auto a = events.read<float>("soma_amplitude"), b = events.read<float>("dendrite_amplitude"),
       r = events.read<float>("residual"), d = events.read<float>("d_error");
  auto reward = events.read<int8_t>("reward");
  for (size_t i = 0; i < neuron.size(); ++i)
    truth.events.push_back({neuron[i], frame[i], a[i], b[i], r[i], d[i], reward[i]});
  return truth;
}

void write_truth_rois(const Truth& truth, const std::string& path, const Provenance& provenance) {
  RoiFile rois;
  for (const auto& plane : truth.planes) {
    RoiPlane p;
    p.role = plane.role;
    p.masks = plane.masks;
    rois.planes.push_back(std::move(p));
  }
  for (size_t i = 0; i < truth.pair_soma_roi.size(); ++i)
    rois.pairs.push_back({0, truth.pair_soma_roi[i], 1, truth.pair_dendrite_roi[i], 1.0f});
  write_rois_file(path, rois, provenance,
                  Timebase{truth.planes.empty() ? 0 : int64_t(truth.planes[0].shifts.size()), truth.frame_rate_hz, 0, {}});
}

}  // namespace apical
