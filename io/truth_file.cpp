#include "io/truth_file.hpp"

#include <cmath>

#include "io/error.hpp"
#include "io/h5.hpp"
#include "io/h5_columns.hpp"
#include "io/h5_matrix.hpp"
#include "io/plane_groups.hpp"
#include "io/rois_file.hpp"
#include "io/schema.hpp"

namespace apical {
namespace {

using h5::column_of;
using h5::converted;

void write_settings(h5::Group& root, const Truth& truth) {
  const TruthSettings& s = truth.settings;
  root.set_attribute("height", int32_t(truth.height));
  root.set_attribute("width", int32_t(truth.width));
  root.set_attribute("frames", s.frames);
  root.set_attribute("c_reward", s.c_reward);
  root.set_attribute("c_derr", s.c_derr);
  root.set_attribute("residual_noise", s.residual_noise);
  root.set_attribute("seed", s.seed);
}

void write_plane(h5::Group& root, size_t k, const TruthPlane& plane, double frame_rate_hz) {
  h5::Group g = root.create_group(plane_group_name(k));
  g.set_attribute("role", plane.role);
  g.set_attribute("frame_rate_hz", frame_rate_hz);
  g.set_attribute("bidi_offset_px", double(plane.bidi_offset_px));
  g.write("shifts", h5::shift_rows(plane.shifts), {plane.shifts.size(), 2});
  write_masks(g, plane.masks);
  h5::write_matrix(g, "dff", plane.dff);
  g.write("baseline_f0", plane.baseline_f0);
  g.write("neuropil_coef", plane.neuropil_coef);
  const cv::Mat image = plane.static_image.isContinuous() ? plane.static_image : plane.static_image.clone();
  g.write("static_image", std::vector<float>(image.ptr<float>(), image.ptr<float>() + image.total()),
          {uint64_t(image.rows), uint64_t(image.cols)});
  h5::write_matrix(g, "nonrigid_basis", plane.nonrigid_basis);
  h5::write_matrix(g, "nonrigid_coef", plane.nonrigid_coef);
}

void write_neurons_and_events(h5::Group& root, const Truth& truth) {
  h5::Group neurons = root.create_group("neurons");
  h5::write_columns(neurons, {{"soma_roi", converted<int32_t>(truth.neuron_soma_roi)},
                              {"role", converted<int8_t>(truth.neuron_role)},
                              {"beta_reward", truth.beta_reward},
                              {"beta_derr", truth.beta_derr},
                              {"sd_gain", truth.sd_gain}});
  const auto& rows = truth.events;
  h5::Group events = root.create_group("events");
  h5::write_columns(events, {{"neuron", column_of<int32_t>(rows, &TruthEvent::neuron)},
                             {"frame", column_of<int64_t>(rows, &TruthEvent::frame)},
                             {"soma_amplitude", column_of<float>(rows, &TruthEvent::soma_amplitude)},
                             {"dendrite_amplitude", column_of<float>(rows, &TruthEvent::dendrite_amplitude)},
                             {"residual", column_of<float>(rows, &TruthEvent::residual)},
                             {"d_error", column_of<float>(rows, &TruthEvent::d_error)},
                             {"reward", column_of<int8_t>(rows, &TruthEvent::reward)}});
}

void write_opto(h5::Group& root, const TruthOpto& opto) {
  h5::Group g = root.create_group("opto");
  g.set_attribute("trial_fraction", opto.trial_fraction);
  g.set_attribute("dendrite_gain", opto.dendrite_gain);
  h5::write_columns(g, {{"stimulated", opto.stimulated},
                        {"trial_stimulated", opto.trial_stimulated},
                        {"event_opto", opto.event_opto},
                        {"event_shift", opto.event_shift}});
}

TruthPlane read_plane(const h5::Group& g) {
  TruthPlane plane;
  plane.role = g.string_attribute("role").value_or("");
  plane.bidi_offset_px = float(g.number_attribute("bidi_offset_px").value_or(0));
  plane.shifts = h5::shifts_of_rows(g.read<float>("shifts"));
  plane.masks = read_masks(g);
  plane.dff = h5::read_matrix<float>(g, "dff");
  if (g.has("baseline_f0")) plane.baseline_f0 = g.read<float>("baseline_f0");
  plane.neuropil_coef = g.read<float>("neuropil_coef");
  if (g.has("static_image")) {
    const h5::Dims shape = g.dataset("static_image").dims();
    const std::vector<float> pixels = g.read<float>("static_image");
    if (shape.size() == 2 && pixels.size() == shape[0] * shape[1])
      plane.static_image = cv::Mat(int(shape[0]), int(shape[1]), CV_32F, const_cast<float*>(pixels.data())).clone();
  }
  plane.nonrigid_basis = h5::read_matrix<float>(g, "nonrigid_basis");
  plane.nonrigid_coef = h5::read_matrix<float>(g, "nonrigid_coef");
  return plane;
}

void read_neurons_and_events(const h5::Group& root, Truth& truth) {
  const h5::Group neurons = root.group("neurons");
  truth.neuron_soma_roi = neurons.read<int32_t>("soma_roi");
  truth.neuron_role = converted<int>(neurons.read<int8_t>("role"));
  truth.beta_reward = neurons.read<float>("beta_reward");
  truth.beta_derr = neurons.read<float>("beta_derr");
  truth.sd_gain = neurons.read<float>("sd_gain");
  const h5::Group events = root.group("events");
  const auto neuron = events.read<int32_t>("neuron");
  const auto frame = events.read<int64_t>("frame");
  const auto a = events.read<float>("soma_amplitude"), b = events.read<float>("dendrite_amplitude"),
             r = events.read<float>("residual"), d = events.read<float>("d_error");
  const auto reward = events.read<int8_t>("reward");
  for (size_t i = 0; i < neuron.size(); ++i)
    truth.events.push_back({neuron[i], frame[i], a[i], b[i], r[i], d[i], reward[i]});
}

TruthOpto read_opto(const h5::Group& g, const Truth& truth) {
  TruthOpto opto;
  opto.trial_fraction = g.number_attribute("trial_fraction").value_or(0);
  opto.dendrite_gain = g.number_attribute("dendrite_gain").value_or(0);
  opto.stimulated = g.read<uint8_t>("stimulated");
  opto.trial_stimulated = g.read<uint8_t>("trial_stimulated");
  opto.event_opto = g.read<uint8_t>("event_opto");
  opto.event_shift = g.read<float>("event_shift");
  if (opto.event_opto.size() != truth.events.size() || opto.event_shift.size() != truth.events.size())
    throw file_error(truth.path, "/opto/event_opto or event_shift does not have one entry per /events row");
  return opto;
}

}  // namespace

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

void write_truth(const std::string& path, const Truth& truth, const Provenance& provenance) {
  h5::File file = h5::File::create(path);
  h5::Group root = file.root();
  write_provenance(root, provenance);
  write_settings(root, truth);
  for (size_t k = 0; k < truth.planes.size(); ++k) write_plane(root, k, truth.planes[k], truth.frame_rate_hz);
  std::vector<RoiPair> pairs;
  for (size_t i = 0; i < truth.pair_soma_roi.size(); ++i)
    pairs.push_back({0, truth.pair_soma_roi[i], 1, truth.pair_dendrite_roi.at(i), 1.0f});
  write_pairs(root, pairs);
  write_neurons_and_events(root, truth);
  if (truth.opto) write_opto(root, *truth.opto);
  describe_output(root, truth_schema(),
                  Timebase{truth.settings.frames, truth.frame_rate_hz, truth.settings.pixel_size_um, {}});
}

Truth read_truth(const std::string& path) {
  h5::File file = h5::File::open_read(path);
  const h5::Group root = file.root();
  if (!root.has("plane0/shifts") || !root.has("neurons"))
    throw file_error(path, "is not an apical simulate truth file (no /plane0/shifts or /neurons)");
  Truth truth;
  truth.path = path;
  truth.frame_rate_hz = root.number_attribute("frame_rate_hz").value_or(0);
  truth.height = int(root.number_attribute("height").value_or(0));
  truth.width = int(root.number_attribute("width").value_or(0));
  TruthSettings& s = truth.settings;
  s.frames = int64_t(root.number_attribute("frames").value_or(0));
  s.pixel_size_um = root.number_attribute("pixel_size_um").value_or(0);
  s.c_reward = root.number_attribute("c_reward").value_or(0);
  s.c_derr = root.number_attribute("c_derr").value_or(0);
  s.residual_noise = root.number_attribute("residual_noise").value_or(0);
  s.seed = root.unsigned_attribute("seed").value_or(0);
  for (const h5::Group& g : plane_groups(root)) truth.planes.push_back(read_plane(g));
  const h5::Group pairs = root.group("pairs");
  truth.pair_soma_roi = pairs.read<int32_t>("soma_roi");
  truth.pair_dendrite_roi = pairs.read<int32_t>("dendrite_roi");
  read_neurons_and_events(root, truth);
  if (root.has("opto")) truth.opto = read_opto(root.group("opto"), truth);
  return truth;
}

}  // namespace apical
