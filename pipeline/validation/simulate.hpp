#pragma once
// Synthetic two-plane BCI imaging sessions with ground truth (docs/DESIGN.md §5, docs/SCIENCE_SPEC.md).
//
// simulate_session() builds everything except pixels: geometry (somata, dendrites, neuropil,
// vessels), activity, the closed-loop BCI log, the somato-dendritic truth and the motion.
// render_frames() turns it into the frames a microscope records, in memory, deterministically
// per (seed, plane, frame). No file I/O here (`apical simulate` writes the session folder).
//
// Units: pixels (px) in the frame grid, frames at frame_rate_hz, fluorescence in camera
// counts (the int16 values written to the TIFF), dF/F dimensionless, cursor/target in
// positions 0..6.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <armadillo>
#include <opencv2/core.hpp>

#include "core/image.hpp"

namespace apical {

struct SimulationParams {
  int height = 256;              // frame height, px (>= 32)
  int width = 256;               // frame width, px (>= 32)
  int64_t frames = 2000;         // imaging volumes T (frame k of every plane)
  double frame_rate_hz = 30.0;   // per plane
  double pixel_size_um = 1.0;    // µm per px; cell sizes below are in µm and scale with it
  int neurons = 30;              // paired neurons: a soma (12–16 µm) + 1–3 dendrite ROIs each
  int distractors = 8;           // unpaired ROIs: ceil(d/2) somata, floor(d/2) dendrite ROIs
  int ensemble_plus = 4;         // P+ neurons (chosen among the paired neurons)
  int ensemble_minus = 4;        // P- neurons
  double max_shift_px = 8.0;     // rigid random walk with jumps, |shift| <= this (px)
  double nonrigid_px = 0.0;      // max |non-rigid displacement| (px); 0 = rigid only
  double bidi_px = 0.0;          // scan-phase offset: odd raw lines displaced by this along x
  double photons_per_unit = 0.15;  // photons per count: noise variance = counts / this;
                                   // default gives a soma pixel noise std ~10% of baseline;
                                   // <= 0 disables shot noise
  double c_reward = 0.3;         // docs/SCIENCE_SPEC.md effect of reward on the SD residual (dF/F)
  double c_derr = -0.15;         // effect of d_error (dF/F per position)
  double residual_noise = 0.1;   // sigma_res of the SD residual (dF/F)
  double event_rate_hz = 0.3;    // mean somatic event rate at session start (Hz)
  double dendrite_event_rate_hz = 0.05;  // isolated dendritic events per dendrite ROI (Hz)
  double learning = 0.5;         // P+ rates rise by (1 + learning) x at session end,
                                 // P- rates fall to (1 - learning / 2) x (clamped >= 0.1)
  double early_hit_rate = 0.35;  // BCI threshold calibrated for this hit rate in 1st third
  uint64_t seed = 1;
  // Dense cortex as a real GCaMP recording looks (--preset dense-cortex): somata are rings
  // (bright cytosol, dark nucleus) 9-12 µm across that may touch; the field is unevenly
  // lit (a smooth gain field and vignetting towards the corners); the neuropil holds thin,
  // static processes. Density and cell size come from apply_preset.
  bool dense_cortex = false;
  // --preset irregular-somata: star-shaped somata (mean radius 4-8 µm, 3-6 lobes) with
  // off-centre nuclei, at the default density (simulate_irregular.cpp).
  bool irregular_somata = false;
  // Optogenetic experiment (--opto): on a random opto_trial_fraction of the trials, NDNF+
  // interneurons are driven from the trial's start frame to its end frame. On those frames
  // the dendrite's gain on the somatic amplitude is scaled by opto_dendrite_gain:
  //   b_k = max(0.05, opto_dendrite_gain * g_n a_k + r_k)   (stimulated events)
  // Somata, behaviour and isolated dendritic events are untouched.
  bool opto = false;
  double opto_trial_fraction = 0.5;  // fraction of trials stimulated, [0, 1]
  double opto_dendrite_gain = 0.5;   // dendritic gain factor under stimulation, [0, 2]
  // Rows blanked at the top of each stimulated frame (PMTs gated off while the LED is on);
  // -1: 21 % of the height, the paper's 7 ms gate in a ~33 ms (30 Hz) frame (108 of 512 rows).
  int blank_rows = -1;
};

// Presets by name: "default" (no change), "dense-cortex" (sets dense_cortex, and the
// paired neurons and distractors for ~230 somata per 512x512 field) or "irregular-somata"
// (sets irregular_somata). InputError otherwise.
void apply_preset(SimulationParams& params, const std::string& preset);

// Throws InputError naming the offending parameter.
void validate(const SimulationParams& params);

// One ROI of the truth. pixels are y * width + x in the frame (reference) grid.
struct RoiMask {
  std::vector<uint32_t> pixels;
  std::vector<float> weights;  // 1 for every pixel (the whole cell body incl. the nucleus)
  int kind = 0;                // 0 soma, 1 dendrite
  float cy = 0, cx = 0;        // centroid (px): mean of the pixel coordinates
};

// Non-rigid basis field k, evaluated at raw-frame position (y, x) px:
//   dy_k = sin(2π (ky·y/H + kx·x/W) + phase_y),  dx_k = sin(2π (ky·y/H + kx·x/W) + phase_x)
// ky, kx in cycles per frame height/width.
struct NonrigidBasis {
  float ky = 0, kx = 0, phase_y = 0, phase_x = 0;
};

// What the renderer needs beyond the truth (reference field with a margin so shifted frames
// never sample outside it). Internal to the simulator; not part of the truth.
struct PlaneRenderModel {
  int margin = 0;                       // px added on each side of the frame
  int ext_height = 0, ext_width = 0;    // height + 2 margin, width + 2 margin
  std::vector<float> static_field;      // [ext_h * ext_w] resting counts (cells + neuropil)
  std::vector<std::vector<float>> neuropil_patterns;  // J x [ext_h * ext_w] counts per unit
  // Per ROI, its PSF-blurred resting fluorescence: ext-field pixel indices and F0 (counts);
  // a little larger than the mask. Every footprint pixel scales with the ROI's dF/F.
  std::vector<std::vector<uint32_t>> footprint_index;
  std::vector<std::vector<float>> footprint_f0;
};

struct SimulatedPlane {
  std::string role;                  // "soma" | "dendrite"
  std::vector<RoiMask> rois;
  arma::fmat dff;                    // clean dF/F of each ROI [n_rois, T]
  std::vector<float> baseline_f0;    // resting F0 of each ROI: mask mean of its own
                                     // (PSF-blurred) fluorescence, counts, no neuropil
  std::vector<float> neuropil_coef;  // neuropil fraction inside each ROI (U(0.5, 0.9));
                                     // pixels outside ROIs carry the full neuropil
  arma::fmat neuropil_weights;       // neuropil fluctuation w_j(t) [J, T] (dimensionless)
  std::vector<Shift> shifts;         // rigid truth per frame [T] (px, docs/DESIGN.md §3 convention)
  float bidi_offset_px = 0;          // odd raw lines show content displaced by this along x
  std::vector<NonrigidBasis> nonrigid_basis;  // K fields
  arma::fmat nonrigid_coef;          // [K, T] px; field = sum_k coef(k, t) * basis_k
  cv::Mat static_image;              // [H, W] CV_32F resting fluorescence (counts), reference
  PlaneRenderModel render;
};

// Full displacement (rigid + non-rigid, px) of plane content at raw-frame position (y, x) of
// frame t: the raw frame shows reference content from (y - dy, x - dx). Excludes bidi.
Shift displacement_at(const SimulatedPlane& plane, int64_t t, double y, double x);

struct SimulatedNeuron {
  int soma_roi = -1;                 // ROI index in plane 0
  std::vector<int> dendrite_rois;    // ROI indices in plane 1; empty = unpaired distractor
  int role = 0;                      // +1 P+, -1 P-, 0 other
  float beta_reward = 0;             // true residual coefficient on reward (dF/F)
  float beta_derr = 0;               // on d_error (dF/F per position)
  float sd_gain = 0;                 // g_n: dendritic amplitude per unit somatic amplitude
  float base_rate_hz = 0;            // somatic event rate at session start
  float tau_decay_s = 0;             // somatic GCaMP decay time constant
};

// One somatic event (docs/SCIENCE_SPEC.md). Unpaired (distractor) somata have dendrite_amplitude 0
// and residual 0.
struct SimulatedEvent {
  int neuron = -1;
  int64_t frame = 0;                 // onset frame t_k (the trace peaks a few frames later)
  float soma_amplitude = 0;          // a_k, peak dF/F
  float dendrite_amplitude = 0;      // b_k = max(g a_k + r_k, 0.05), peak dF/F
  float residual = 0;                // r_k (before the clip of b_k)
  int reward = 0;                    // reward(t_k) from the BCI log
  float d_error = 0;                 // d_error(t_k) from the BCI log (positions)
  int opto = 0;                      // 1 when the onset frame was stimulated
  float opto_shift = 0;              // b_k minus the b_k it would have had unstimulated
                                     // (dF/F; 0 when not stimulated)
};

// A dendritic event with no somatic event, on one dendrite-plane ROI.
struct IsolatedDendriteEvent {
  int roi = -1;                      // plane-1 ROI index
  int64_t frame = 0;
  float amplitude = 0;               // peak dF/F
};

// Per-frame BCI log (bci/frames.csv); all vectors have length T.
struct BciFrames {
  std::vector<double> time_s;        // frame / frame_rate_hz
  std::vector<double> control;       // smoothed mean dF/F(P+) - mean dF/F(P-)
  std::vector<int> cursor;           // 0..6; parked at 0 between trials
  std::vector<int> target;           // 0..6; between trials: the next trial's target
  std::vector<int> trial;            // trial id, -1 between trials
};

struct BciTrial {
  int trial = 0;
  int64_t start_frame = 0, end_frame = 0;  // inclusive
  bool hit = false;
  int64_t reward_frame = -1;               // = end_frame for a hit, -1 for a miss
  bool stimulated = false;                 // opto: light on for this trial's frames
};

// How the simulated online BCI moved the cursor: a leaky-free integrator
//   p(t) = clamp(p(t-1) + gain * (control(t) - threshold) / frame_rate_hz, 0, 6),
//   cursor = round(p); p = 0 at trial start.
struct BciSettings {
  double threshold = 0;              // dF/F, calibrated for params.early_hit_rate
  double gain = 0;                   // positions per (dF/F · s)
  double smoothing_s = 0.2;          // exponential smoothing of control
  double timeout_s = 10.0;
  double iti_s = 2.0;
};

struct EnsembleEntry {
  int neuron = -1;
  int role = 0;                      // +1 P+, -1 P-
  float y = 0, x = 0;                // soma centroid in soma-plane px, as chosen online
};

struct SimulatedSession {
  SimulationParams params;
  std::vector<SimulatedPlane> planes;          // 0 soma, 1 dendrite
  // Paired neurons first (index n = 0..neurons-1, soma_roi = n), then unpaired somata.
  std::vector<SimulatedNeuron> neurons;
  std::vector<SimulatedEvent> events;          // sorted by (neuron, frame)
  std::vector<IsolatedDendriteEvent> isolated_dendrite_events;  // sorted by (roi, frame)
  BciFrames bci_frames;
  std::vector<BciTrial> trials;
  BciSettings bci;
  std::vector<EnsembleEntry> ensemble;
  // Per frame [T]: 1 while the opto light is on (frames of stimulated trials), else 0.
  // All 0 without --opto. The renderer reads it (blank rows on stimulated frames).
  std::vector<uint8_t> stimulated;
  // Frames recorded with none of the signal (render_frames; stimulated frames lose their
  // first blank_rows rows). [T], or empty (none).
  std::vector<uint8_t> no_signal_frames;
};

// Rows blanked on a stimulated frame: params.blank_rows, or its default (21 % of the height).
int blanked_rows(const SimulationParams& params);

// (soma_roi in plane 0, dendrite_roi in plane 1) for every paired neuron's dendrite ROI.
std::vector<std::pair<int, int>> soma_dendrite_pairs(const SimulatedSession& session);

// docs/SCIENCE_SPEC.md task variables at every frame, from the BCI log alone.
struct TaskVariables {
  std::vector<int> error;      // |target - cursor|
  std::vector<int> d_error;    // error(t) - error(max(t - w, 0)), w = round(1 s * f)
  std::vector<int> reward;     // 1 if a hit's reward_frame lies in [t - w, t + w]
};
TaskVariables task_variables(const BciFrames& frames, const std::vector<BciTrial>& trials,
                             double frame_rate_hz);

// Everything except pixels. Deterministic per params (incl. seed); fast (no rendering).
SimulatedSession simulate_session(const SimulationParams& params);

// Renders frames [first, first + count) of a plane as the microscope records them: motion
// (rigid + non-rigid; content at reference (y, x) appears in the raw frame at
// (y + dy, x + dx)), bidi offset (odd lines), neuropil, shot noise; values are the int16 the
// camera writes, stored as float (rounded, clipped to int16). Deterministic per
// (seed, plane, frame): the same pixels whatever the batch split or thread count.
// out is resized to (first, count, height, width).
void render_frames(const SimulatedSession& session, int plane, int64_t first, int count,
                   FrameStack& out);

// The same frames without motion, bidi and noise: the clean frame in reference coordinates
// (float counts, not rounded). For tests and truth.
void render_clean_frames(const SimulatedSession& session, int plane, int64_t first, int count,
                         FrameStack& out);

}  // namespace apical
