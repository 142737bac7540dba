#pragma once
// Motion-correction core of `apical register`: reference image, bidirectional scan-phase
// correction, rigid phase correlation and piecewise non-rigid correction, over float32
// cv::Mat frames and FrameStack batches. No file I/O: the streaming driver reads batches,
// calls register_batch and writes registered.h5.
//
// SHIFT CONVENTION (docs/DESIGN.md §3): Shift{dy, dx} is the displacement of the raw frame's
// content relative to the reference: content at reference (y, x) appears in the raw frame at
// (y + dy, x + dx), so aligned(y, x) = raw(y + dy, x + dx). Block shifts use the same
// convention relative to the rigidly aligned frame.
//
// Interpolation is Catmull-Rom cubic everywhere (exact at integer shifts); samples that fall
// outside the raw frame take the nearest edge value (edge replicate), so the outer
// max_shift_px band of a registered frame holds replicated edge pixels.
//
// Determinism: every function gives bit-identical results at any TBB thread count (work is
// split over frames or blocks with fixed result slots; FFTW plans use FFTW_ESTIMATE).
#include <memory>
#include <optional>
#include <vector>

#include <opencv2/core.hpp>

#include "core/image.hpp"

namespace apical {

struct RegisterParams {
  int max_shift_px = 15;             // bound on the rigid shift (|dy|, |dx|), px
  float taper_fraction = 0.05f;      // raised-cosine edge taper, fraction of each side
  float smooth_sigma_px = 1.15f;     // Gaussian smoothing of the phase-correlation surface, px
  int reference_frames = 300;        // frames sampled for the reference (used by the driver)
  int reference_iterations = 4;      // refinement passes of compute_reference
  int reference_seed_frames = 20;    // frames averaged for the initial reference
  bool nonrigid = false;
  int block_size = 128;              // px; blocks overlap by half
  int max_block_shift_px = 5;        // bound on the residual block shift after rigid, px
  float block_snr_threshold = 1.2f;  // below: the block borrows from its 3x3 neighbours
  float block_taper_fraction = 0.125f;  // edge taper of each block
  float max_bidi_offset_px = 10.0f;  // bound of the bidirectional offset search, px

  // Throws InputError naming the parameter when a value is out of range.
  void validate() const;
};

// Reference image: iteratively refined mean of the most mutually correlated frames of
// `sample` (seeded by the frames most correlated with each other, then `reference_iterations`
// passes of: register every sample frame to the current reference, keep the best-correlated
// fraction, growing from 1/(2n) to 1/2, average them, re-centre on their mean shift). On
// frames of 128x128 px and more, all passes but the last run on 2x2-binned frames (small
// frames are cheap, and binned they would leave too little to correlate).
// Correct the bidirectional offset of `sample` before calling this.
cv::Mat compute_reference(const FrameStack& sample, const RegisterParams& params);

// Bidirectional scan-phase offset, px, sub-pixel, estimated from a (mean) image: odd lines
// are displaced by `offset` px along x relative to even lines (content at x of the even-line
// grid appears at x + offset on odd lines). Searched within ±max_offset_px.
float estimate_bidi_offset(const cv::Mat& mean_image, float max_offset_px = 10.0f);
// Moves odd lines by -offset along x (sub-pixel, in place) so they line up with even lines.
void correct_bidi_offset(cv::Mat& frame, float offset);

// Rigid registration to a fixed reference by whitened (phase) correlation with an edge taper,
// a Gaussian-smoothed correlation surface, a bounded search and a sub-pixel Gaussian peak fit.
// A peak found beyond ±max_shift_px (and clearly stronger than any within it) is clamped to
// the bound, never wrapped. estimate() is safe to call concurrently.
class RigidAligner {
 public:
  RigidAligner(const cv::Mat& reference, const RegisterParams& params);
  ~RigidAligner();
  RigidAligner(RigidAligner&&) noexcept;
  RigidAligner& operator=(RigidAligner&&) noexcept;

  // Shift of `frame` relative to the reference. peak_correlation (optional) receives the
  // height of the normalised phase-correlation peak (1 = identical up to shift).
  Shift estimate(const cv::Mat& frame, float* peak_correlation = nullptr) const;
  const cv::Mat& reference() const;
  const RegisterParams& params() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// aligned(y, x) = raw(y + dy, x + dx), separable cubic interpolation, edge replicate.
void apply_rigid_shift(const cv::Mat& raw, Shift shift, cv::Mat& aligned);

// Overlapping square blocks (side block_size, step block_size/2, evenly spread to cover the
// frame), row-major: blocks[r * cols + c]. centres_y/centres_x: block centres, px.
struct BlockGrid {
  int rows = 0, cols = 0;
  std::vector<cv::Rect> blocks;
  std::vector<float> centres_y;  // [rows]
  std::vector<float> centres_x;  // [cols]
};

// Piecewise non-rigid registration of rigidly aligned frames to the reference.
class BlockAligner {
 public:
  BlockAligner(const cv::Mat& reference, const RegisterParams& params);
  ~BlockAligner();
  BlockAligner(BlockAligner&&) noexcept;
  BlockAligner& operator=(BlockAligner&&) noexcept;

  const BlockGrid& grid() const;
  // One shift per block (grid order), bounded by ±max_block_shift_px. Blocks whose
  // correlation peak SNR (peak / highest value away from it) is below block_snr_threshold
  // use the Gaussian-weighted sum of their 3x3 neighbourhood's correlation surfaces.
  std::vector<Shift> estimate(const cv::Mat& rigidly_aligned_frame) const;
  // Shift field: block shifts bilinearly interpolated between block centres (constant beyond
  // the outer centres), plus `base` everywhere. out(y, x) = frame(y + f_y, x + f_x).
  // Pass the raw frame and its rigid shift as `base` to interpolate only once.
  void apply(const cv::Mat& frame, const std::vector<Shift>& block_shifts, cv::Mat& out,
             Shift base = {}) const;
  // The per-pixel field (CV_32F, frame size) that apply() uses, without `base`.
  void shift_field(const std::vector<Shift>& block_shifts, cv::Mat& field_y,
                   cv::Mat& field_x) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct BatchRegistration {
  std::vector<Shift> shifts;                     // [count] rigid
  std::vector<std::vector<Shift>> block_shifts;  // [count][blocks], empty when rigid only
  std::vector<float> correlation;  // [count] Pearson r with the reference, interior only
};

// Registers a batch in place (in: raw, out: registered), frames in parallel (TBB):
// bidirectional correction (if bidi_offset != 0), rigid estimate (or given_shifts[t]),
// optional non-rigid (block shifts estimated on the rigidly aligned frame, or taken from
// given_block_shifts), a single cubic interpolation from the raw frame, and the correlation
// with the reference over the interior (frame minus the max_shift_px border).
// given_shifts / given_block_shifts (--shifts-from) must have one entry per frame.
BatchRegistration register_batch(FrameStack& frames, const RigidAligner& rigid,
                                 const BlockAligner* blocks, float bidi_offset,
                                 const std::optional<std::vector<Shift>>& given_shifts,
                                 const std::vector<std::vector<Shift>>* given_block_shifts =
                                     nullptr);

// Sharpness of a mean image: mean gradient magnitude of the sigma-1 px smoothed image over
// mean intensity, inside margin_px of the edges (structure, not pixel noise); higher = sharper.
double crispness(const cv::Mat& mean_image, int margin_px = 1);
// Pearson correlation of two same-size CV_32F images (0 when either is constant).
double correlation(const cv::Mat& a, const cv::Mat& b);

}  // namespace apical
