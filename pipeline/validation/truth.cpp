#include "pipeline/validation/truth.hpp"

#include "io/h5.hpp"
#include "io/rois_file.hpp"
#include "io/schema.hpp"
#include "pipeline/validation/simulate.hpp"

namespace apical {

namespace {

TruthPlane truth_plane(const SimulatedPlane& plane, const SimulationParams& p) {
  TruthPlane out;
  out.role = plane.role;
  out.shifts = plane.shifts;
  out.bidi_offset_px = plane.bidi_offset_px;
  out.masks.height = p.height;
  out.masks.width = p.width;
  for (const auto& roi : plane.rois) out.masks.add(roi.pixels, roi.weights, uint8_t(roi.kind));
  out.dff = plane.dff;
  out.baseline_f0 = plane.baseline_f0;
  out.neuropil_coef = plane.neuropil_coef;
  out.static_image = plane.static_image;
  out.nonrigid_basis.set_size(plane.nonrigid_basis.size(), 4);
  for (size_t b = 0; b < plane.nonrigid_basis.size(); ++b) {
    const NonrigidBasis& nb = plane.nonrigid_basis[b];
    out.nonrigid_basis.row(b) = arma::frowvec({nb.ky, nb.kx, nb.phase_y, nb.phase_x});
  }
  out.nonrigid_coef = plane.nonrigid_coef;
  return out;
}

// Which frames and trials were stimulated, the gain factor, and per event whether its onset
// was stimulated and the dendritic amplitude change the stimulation caused.
TruthOpto truth_opto(const SimulatedSession& s) {
  TruthOpto opto;
  opto.trial_fraction = s.params.opto_trial_fraction;
  opto.dendrite_gain = s.params.opto_dendrite_gain;
  opto.stimulated = s.stimulated;
  for (const BciTrial& t : s.trials) opto.trial_stimulated.push_back(t.stimulated ? 1 : 0);
  for (const SimulatedEvent& e : s.events) {
    opto.event_opto.push_back(uint8_t(e.opto));
    opto.event_shift.push_back(e.opto_shift);
  }
  return opto;
}

}  // namespace

Truth simulated_truth(const SimulatedSession& s) {
  const SimulationParams& p = s.params;
  Truth truth;
  truth.frame_rate_hz = p.frame_rate_hz;
  truth.height = p.height;
  truth.width = p.width;
  truth.settings = {int64_t(p.frames), p.pixel_size_um, p.c_reward, p.c_derr, p.residual_noise, uint64_t(p.seed)};
  for (const SimulatedPlane& plane : s.planes) truth.planes.push_back(truth_plane(plane, p));
  for (auto [soma, dendrite] : soma_dendrite_pairs(s)) {
    truth.pair_soma_roi.push_back(soma);
    truth.pair_dendrite_roi.push_back(dendrite);
  }
  for (const SimulatedNeuron& n : s.neurons) {
    truth.neuron_soma_roi.push_back(n.soma_roi);
    truth.neuron_role.push_back(n.role);
    truth.beta_reward.push_back(n.beta_reward);
    truth.beta_derr.push_back(n.beta_derr);
    truth.sd_gain.push_back(n.sd_gain);
  }
  for (const SimulatedEvent& e : s.events)
    truth.events.push_back({e.neuron, e.frame, e.soma_amplitude, e.dendrite_amplitude, e.residual, e.d_error, e.reward});
  if (p.opto) truth.opto = truth_opto(s);
  return truth;
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
