#pragma once
// truth.h5: the simulator's ground truth, written by `apical simulate` and read by
// `apical evaluate` and the tests. Layout (all per docs/DESIGN.md §3 conventions):
//   root attributes: provenance + every simulation parameter
//   /plane{k}  (attrs role, frame_rate_hz, bidi_offset_px)
//      shifts [T,2] float32 (dy,dx) px, rigid, contract convention
//      roi_pixels, roi_weights, roi_offsets, roi_kind  (as rois.h5)
//      dff [N,T] float32 clean dF/F; baseline_f0 [N]; neuropil_coef [N]
//      static_image [H,W] float32; nonrigid_basis [K,4] (ky,kx,phase_y,phase_x);
//      nonrigid_coef [K,T] px
//   /pairs/soma_plane, soma_roi, dendrite_plane, dendrite_roi int32 [P]
//   /neurons/soma_roi int32, role int8, beta_reward, beta_derr, sd_gain float32 [N]
//   /events/neuron int32, frame int64, soma_amplitude, dendrite_amplitude, residual,
//           d_error float32, reward int8  [E]
#include <string>
#include <vector>

#include <armadillo>

#include "io/bci_log.hpp"
#include "io/masks.hpp"
#include "io/provenance.hpp"
#include "core/image.hpp"

namespace apical {

struct SimulatedSession;

void write_truth(const std::string& path, const SimulatedSession& session, const Provenance& provenance);
// The simulated rig's BCI log, as bci/frames.csv, trials.csv and ensemble.csv hold it.
BciLog simulated_bci_log(const SimulatedSession& session);

struct TruthPlane {
  std::string role;
  std::vector<Shift> shifts;
  float bidi_offset_px = 0;
  SparseMasks masks;
  arma::fmat dff;                      // [N, T]
  std::vector<float> neuropil_coef;
  arma::fmat nonrigid_basis;           // [K, 4]: ky, kx, phase_y, phase_x
  arma::fmat nonrigid_coef;            // [K, T]
  // Non-rigid displacement (without the rigid part) at (y, x) of frame t, px.
  Shift nonrigid_at(int64_t t, double y, double x) const;
};

struct TruthEvent {
  int neuron;
  int64_t frame;
  float soma_amplitude, dendrite_amplitude, residual, d_error;
  int reward;
};

struct Truth {
  std::string path;
  double frame_rate_hz = 0;
  int height = 0, width = 0;
  std::vector<TruthPlane> planes;
  std::vector<int> pair_soma_roi, pair_dendrite_roi;      // plane 0 and plane 1 ROI indices
  std::vector<int> neuron_soma_roi, neuron_role;
  std::vector<float> beta_reward, beta_derr, sd_gain;
  std::vector<TruthEvent> events;
};

// InputError naming the file when it is not a truth file.
Truth read_truth(const std::string& path);

// The true masks and pairs as a rois.h5 (perfect segmentation): lets downstream stages be
// tested and validated on their own.
void write_truth_rois(const Truth& truth, const std::string& path, const Provenance& provenance);

}  // namespace apical
