#pragma once
// Core of `apical extract` (docs/DESIGN.md §2): per-ROI raw fluorescence F and neuropil Fneu from
// registered frames (a sparse gather per frame), the neuropil coefficient, the baseline F0
// and dF/F. The streaming driver (reading registered.h5 / rois.h5, writing traces.h5) lives
// elsewhere and calls these in batches.
//
// Units: pixels (px) of the frame grid, pixel index y * width + x; fluorescence in the
// movie's counts; time in seconds, converted to frames with frame_rate_hz; dF/F dimensionless.
#include <cstdint>
#include <vector>

#include "io/masks.hpp"
#include "core/image.hpp"

namespace apical {

struct ExtractParams {
  // Pixels within this distance (px) of ANY ROI are left out of every ring: the PSF spreads
  // each cell's light (its transients) a little beyond its mask.
  float neuropil_roi_margin_px = 1.0f;
  // Neuropil ring: pixels farther than this (Euclidean distance to the nearest pixel of
  // the ROI, px) from the ROI; the PSF blurs each cell's light a couple of pixels outward.
  float neuropil_inner_gap_px = 2.0f;
  // The ring grows outward (nearest eligible pixels first) until it holds at least this
  // many pixels ...
  int neuropil_min_pixels = 350;
  // ... but never beyond this distance (px) from the ROI; a ring that stays smaller is
  // reported (ExtractorRoiInfo::neuropil_short).
  float neuropil_max_radius_px = 60.0f;
};

// Throws InputError naming the offending option.
void validate(const ExtractParams& params);

// What build() did for one ROI (for reports and QC).
struct ExtractorRoiInfo {
  int f_pixels = 0;           // pixels used for F (shared pixels excluded)
  int shared_pixels = 0;      // mask pixels also claimed by another ROI (excluded from F)
  bool all_shared = false;    // every pixel shared: F falls back to the whole mask
  int neuropil_pixels = 0;    // ring size
  float neuropil_radius_px = 0;  // distance of the ring's outermost pixel from the ROI
  bool neuropil_short = false;   // ring < neuropil_min_pixels (hit neuropil_max_radius_px
                                 // or the frame border)
};

// Precomputed per plane: for each ROI the pixels/weights used for F (pixels of two or more
// ROIs excluded, non-positive weights dropped, the rest normalised to sum 1) and the
// neuropil ring (unweighted mean; excludes every ROI pixel and the inner gap). Stored as
// CSR arrays with pixel indices sorted ascending, so the per-frame work is one sparse
// gather of about sum(|F| + |ring|) reads.
class TraceExtractor {
 public:
  // Throws InputError for masks that do not fit their frame (pixel index >= H*W,
  // inconsistent offsets) or bad params.
  static TraceExtractor build(const SparseMasks& masks, const ExtractParams& params);

  int rois() const { return int(info_.size()); }
  int height() const { return height_; }
  int width() const { return width_; }
  const ExtractorRoiInfo& info(int roi) const { return info_[size_t(roi)]; }
  // Pixels and weights used for F of ROI i (sorted by pixel index).
  std::vector<uint32_t> f_pixels(int roi) const;
  std::vector<float> f_weights(int roi) const;
  // Neuropil ring of ROI i (sorted by pixel index).
  std::vector<uint32_t> neuropil_pixels(int roi) const;

  // F and Fneu of every ROI for frames [batch.first_frame, + batch.count): row i of
  // out_f / out_fneu (row stride `row_stride` floats, >= batch.count; 0 means batch.count)
  // receives ROI i's values for the batch's frames. Parallel over frames (TBB); each value
  // is summed in a fixed order, so results do not depend on thread count or batch split.
  // Throws InputError when the frame size differs from the masks'.
  void extract(const FrameStack& batch, float* out_f, float* out_fneu, size_t row_stride = 0) const;

 private:
  int height_ = 0, width_ = 0;
  std::vector<uint64_t> f_offsets_{0};
  std::vector<uint32_t> f_pixels_;
  std::vector<float> f_weights_;
  std::vector<uint64_t> neu_offsets_{0};
  std::vector<uint32_t> neu_pixels_;
  std::vector<ExtractorRoiInfo> info_;
};

// ---- Baseline and dF/F ----

enum class BaselineMethod {
  maximin,     // Gaussian smoothing (sigma_s), running min then running max (window_s)
  percentile,  // Gaussian smoothing (sigma_s), running `percentile` over window_s
  constant,    // one value: the `percentile`-th percentile of the smoothed whole trace
};

struct BaselineParams {
  BaselineMethod method = BaselineMethod::maximin;
  double sigma_s = 1.0;      // Gaussian smoothing before the baseline filter, s (0 = none)
  double window_s = 60.0;    // running window (centred, truncated at the trace ends), s
  double percentile = 10.0;  // percent, for percentile and constant
  double frame_rate_hz = 0;  // required, > 0
};

// Throws InputError naming the offending option.
void validate(const BaselineParams& params);

// Baseline F0 per frame of trace f (same length; empty in, empty out).
std::vector<float> baseline(const std::vector<float>& f, const BaselineParams& params);

// Neuropil coefficient r of one ROI: F = F_cell + r * Fneu, where F_cell sits at its
// baseline most of the time and rises only in sparse positive transients. So r is the slope
// of the LOWER envelope of F against Fneu: a linear quantile regression (pinball loss at
// `quantile`) of F on Fneu, which the transients (all on the upper side) cannot pull the
// way they pull a least-squares slope. Clipped to [min_coef, max_coef]. The slope is only
// as good as the neuropil's fluctuations are large against the cell's activity: on the
// simulator, mean error ~0.17 from 50 s of data and ~0.07 from 200 s. Assumes F0 and the
// neuropil ratio are constant over the trace.
struct NeuropilCoefParams {
  float min_coef = 0.0f;
  float max_coef = 1.0f;
  double quantile = 0.05;    // fraction of frames below the fitted line
  int max_samples = 20000;   // longer traces are sampled with a fixed stride (speed)
  float fallback = 0.7f;     // used when Fneu does not vary (slope undefined)
};

struct NeuropilCoefEstimate {
  float coef = 0.7f;         // the coefficient to use (clipped)
  double slope = 0;          // fitted slope before clipping (searched within the clip
                             // range widened by 1 on each side; 0 with fallback)
  bool clipped = false;      // slope lay outside [min_coef, max_coef]
  bool fallback = false;     // Fneu (almost) constant: params.fallback used
  int frames_used = 0;       // frames in the fit
};

// f and fneu of one ROI over the same frames; InputError if their lengths differ or they
// hold non-finite values.
NeuropilCoefEstimate estimate_neuropil_coef(const std::vector<float>& f, const std::vector<float>& fneu,
                                            const NeuropilCoefParams& params = {});

struct DffResult {
  std::vector<float> corrected_f;  // F - r * Fneu, counts
  std::vector<float> f0;           // baseline of corrected_f as used (after the floor), counts
  std::vector<float> dff;          // (corrected_f - f0) / f0
  bool f0_nonpositive = false;     // the baseline fell to <= the floor somewhere: those
                                   // frames use the floor (dF/F finite but not meaningful)
};

// Floor for F0: 1% of the median |F| (the raw trace's scale), at least 1e-6 counts.
// corrected = F - r*Fneu; F0 = baseline(corrected); dF/F = (corrected - F0) / F0.
// InputError on length mismatch or non-finite input.
DffResult compute_dff(const std::vector<float>& f, const std::vector<float>& fneu, float r,
                      const BaselineParams& params);

}  // namespace apical
