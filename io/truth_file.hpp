#pragma once
// truth.h5: the simulator's ground truth, written by `apical simulate` (pipeline/validation
// turns a simulated session into a Truth) and read by `apical evaluate` and the tests. Every
// dataset's units and description come from truth_schema() (io/schema.cpp).
//
// Layout (docs/DESIGN.md §3 conventions):
//   root attributes: provenance, frame_rate_hz, pixel_size_um, height, width, frames,
//      c_reward, c_derr, residual_noise, seed (the simulation's effect sizes and seed)
//   /timestamps [T] s
//   /plane{k}  (attrs role, frame_rate_hz, bidi_offset_px)
//      shifts [T,2] float32 (dy,dx) px, rigid, contract convention
//      roi_pixels, roi_weights, roi_offsets, roi_kind  (as rois.h5)
//      dff [N,T] float32 clean dF/F; baseline_f0 [N]; neuropil_coef [N]
//      static_image [H,W] float32; nonrigid_basis [K,4] (ky,kx,phase_y,phase_x);
//      nonrigid_coef [K,T] px
//   /pairs/soma_plane, soma_roi, dendrite_plane, dendrite_roi int32, confidence float32 [P]
//   /neurons/soma_roi int32, role int8, beta_reward, beta_derr, sd_gain float32 [N]
//   /events/neuron int32, frame int64, soma_amplitude, dendrite_amplitude, residual,
//           d_error float32, reward int8  [E]
//   /opto (simulate --opto; attrs trial_fraction, dendrite_gain): stimulated [T],
//           trial_stimulated [trials], event_opto [E] uint8; event_shift [E] float32
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <armadillo>
#include <opencv2/core.hpp>

#include "core/image.hpp"
#include "io/masks.hpp"
#include "io/provenance.hpp"

namespace apical {

struct TruthPlane {
  std::string role;
  std::vector<Shift> shifts;
  float bidi_offset_px = 0;
  SparseMasks masks;
  arma::fmat dff;                      // [N, T]
  std::vector<float> baseline_f0;      // resting F0 of each ROI, counts
  std::vector<float> neuropil_coef;
  cv::Mat static_image;                // [H, W] CV_32F, the field without activity or motion
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

// The simulation's settings a truth file records beside the tables (root attributes).
struct TruthSettings {
  int64_t frames = 0;
  double pixel_size_um = 0;
  double c_reward = 0, c_derr = 0, residual_noise = 0;  // docs/SCIENCE_SPEC.md effect sizes
  uint64_t seed = 0;
};

// simulate --opto: which frames, trials and events were stimulated, and what it did.
struct TruthOpto {
  double trial_fraction = 0, dendrite_gain = 0;
  std::vector<uint8_t> stimulated;        // per frame
  std::vector<uint8_t> trial_stimulated;  // per trial, in trials.csv order
  std::vector<uint8_t> event_opto;        // per /events row: onset frame stimulated
  std::vector<float> event_shift;         // per /events row: dendritic amplitude change, dF/F
};

struct Truth {
  std::string path;
  double frame_rate_hz = 0;
  int height = 0, width = 0;
  TruthSettings settings;
  std::vector<TruthPlane> planes;
  std::vector<int> pair_soma_roi, pair_dendrite_roi;      // plane 0 and plane 1 ROI indices
  std::vector<int> neuron_soma_roi, neuron_role;
  std::vector<float> beta_reward, beta_derr, sd_gain;
  std::vector<TruthEvent> events;
  std::optional<TruthOpto> opto;
};

// Writes truth.h5 (layout above) at `path` (the caller's temporary name).
void write_truth(const std::string& path, const Truth& truth, const Provenance& provenance);

// InputError naming the file when it is not a truth file.
Truth read_truth(const std::string& path);

}  // namespace apical
