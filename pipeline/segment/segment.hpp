#pragma once
// ROI segmentation core: streaming summary images, soma / dendrite ROI detection,
// per-ROI traces from a second streaming pass, ROI statistics, dendrite-to-soma pairing
// and ROI matching by IoU. No file I/O: the driver feeds FrameStack batches in order.
//
// Typical use per plane (the driver streams registered.h5 twice):
//   SummaryImageAccumulator summary(H, W, SummaryParams{.temporal_bin = 10});
//   for each batch: summary.add(batch);
//   auto rois = detect_rois(summary.mean(), summary.max(), summary.correlation(), params);
//   RoiTraceAccumulator traces(rois, H, W, TraceParams{.temporal_bin = 10});
//   for each batch: traces.add(batch);
//   arma::fmat binned = traces.traces();
//   refine_rois(rois, binned, params, W);      // merges dendrite pieces, fills SNR/skewness/quality
// then, with both planes done:
//   auto pairs = pair_dendrites(somata, soma_traces, dendrites, dendrite_traces, PairParams{});
//
// Every function is deterministic: the same input gives bit-identical output at any TBB
// thread count and (for the accumulators) for any split of the movie into batches.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <armadillo>
#include <opencv2/core.hpp>

#include "core/image.hpp"
#include "core/roi_codes.hpp"
#include "io/soma_model_file.hpp"

namespace apical {

// ---------------------------------------------------------------- summary images

struct SummaryParams {
  // Frames averaged into one bin before max and correlation (e.g. ~ frame_rate / 3):
  // binning averages out shot noise while keeping calcium transients (~1 s).
  int temporal_bin = 10;
  // Time constant (in bins) of the running baseline subtracted before correlating:
  // removes slow drifts (bleaching, slow neuropil) so only transients correlate.
  float baseline_tau_bins = 30.0f;
  // Each high-passed bin also has a neuropil estimate subtracted: the bin, clipped to its
  // bulk (median +- 3 robust sigma, so cells' transients do not leak out), smoothed with
  // a Gaussian of this sigma (px; three box passes). Without it the spatially smooth
  // neuropil makes every neighbour pair correlate. 0 disables it.
  float neuropil_sigma_px = 12.0f;
};

// Accumulates the mean image, the max of the temporally binned movie and the local
// correlation image over a movie fed in consecutive batches. Memory is O(H*W), not O(T).
// Bins are aligned to the first frame fed; a trailing incomplete bin is left out of
// max() and correlation() (it is part of mean()). Results do not depend on how the
// movie is split into batches.
class SummaryImageAccumulator {
 public:
  SummaryImageAccumulator(int height, int width, const SummaryParams& params = {});
  SummaryImageAccumulator(int height, int width, int temporal_bin);

  // Batches must be consecutive frames of the same size; throws InputError otherwise.
  void add(const FrameStack& batch);

  int64_t frames() const { return frames_; }
  int64_t bins() const { return bins_; }
  // Bins that enter the correlation image: all but the first ceil(baseline_tau_bins),
  // while the running baseline settles.
  int64_t warmup_bins() const { return int64_t(std::ceil(params_.baseline_tau_bins)); }
  int64_t correlated_bins() const { return std::max<int64_t>(0, bins_ - warmup_bins()); }
  cv::Mat mean() const;  // CV_32F, mean over all frames
  cv::Mat max() const;   // CV_32F, max over complete bins (mean() if there are none)
  // CV_32F: per pixel, the mean Pearson r of its high-passed binned trace with those of
  // its (up to 8) neighbours. Zero when fewer than 3 bins were correlated.
  cv::Mat correlation() const;

 private:
  void add_frame(const float* frame);
  void close_bin();
  void subtract_neuropil();

  int height_, width_;
  SummaryParams params_;
  int64_t frames_ = 0, bins_ = 0, next_frame_ = -1;
  int frames_in_bin_ = 0;
  std::vector<double> frame_sum_;  // for mean()
  std::vector<float> bin_sum_;     // current bin, summed in frame order
  std::vector<float> bin_max_;
  std::vector<float> baseline_;    // running baseline of the binned movie
  cv::Mat highpassed_;             // scratch: the current high-passed bin
  // Sums over bins of h, h^2 and products with the right, down, down-right, down-left
  // neighbours (double: thousands of bins must not lose precision).
  std::vector<double> sum_, sum_sq_, prod_r_, prod_d_, prod_dr_, prod_dl_;
};

// ---------------------------------------------------------------- ROIs

enum RoiKind : int { kSoma = 0, kDendrite = 1 };

struct RoiStats {
  float cy = 0, cx = 0;        // centroid (unweighted), px
  float area = 0;              // pixel count
  float compactness = 0;       // area / (4 pi sqrt(det covariance)): 1 for a filled ellipse
  float eccentricity = 0;      // sqrt(1 - minor^2/major^2) of the covariance ellipse
  float snr = 0;               // trace: (99th percentile - median) / noise sigma (refine_rois)
  float skewness = 0;          // of the high-passed binned trace (refine_rois)
  float quality = 0;           // [0,1]: detection strength, later combined with SNR
};

struct Roi {
  std::vector<uint32_t> pixels;  // y*W + x, ascending
  std::vector<float> weights;    // one per pixel, in (0, 1]
  int kind = kSoma;
  RoiStats stats;
  int source = kFromActivity;
  int rejection = kAccepted;     // candidates that are not accepted are kept, flagged
  float template_score = std::numeric_limits<float>::quiet_NaN();  // log-odds; NaN off the soma plane
  bool accepted() const { return rejection == kAccepted; }
};

struct SegmentParams {
  std::string role = "soma";            // "soma" | "dendrite"
  // Typical soma diameter, px. 0 = estimate it from the summary images (segment_movie does,
  // see estimate_soma_diameter); detect_rois itself needs it resolved (> 2).
  float soma_diameter_px = 0.0f;
  float dendrite_max_length_px = 12.0f; // longest single dendrite segment
  int max_rois = 1000;
  // Seeds are local maxima of the blob-filtered correlation image whose robust z-score
  // (median / MAD over the image) is at least this.
  float threshold = 4.0f;
  // No seed closer than this to the image edge (ROIs may still grow into the band).
  int border_px = 4;
  // A pixel joins a growing ROI while its (smoothed) correlation is at least
  // background + grow_fraction * (peak - background).
  float grow_fraction = 0.5f;
  // Dendrite plane only: touching regions whose seeds are joined by a ridge of the
  // correlation image at least this fraction of the way from background to peak are one ROI.
  float ridge_fraction = 0.6f;
  // Soma plane only: keep blobs of plausible size and shape.
  float soma_min_area_factor = 0.35f;  // x pi (d/2)^2
  float soma_max_area_factor = 2.2f;
  float soma_min_compactness = 0.6f;
  float soma_max_eccentricity = 0.95f;
  // Soma plane only: cell bodies bright in the mean image (blobs at the soma scale,
  // normalised by local contrast) where the robust z-score is at least this; catches
  // inactive filled cells. 0 disables it.
  float mean_threshold = 6.0f;
  // A mean-image soma grows down to this fraction of its seed's contrast over the local
  // background: lower than grow_fraction because a cell's mean brightness falls off gently
  // towards its edge, where the correlation image drops sharply.
  float mean_grow_fraction = 0.3f;
  // Soma plane only: cell bodies are also found in the mean image by the soma template
  // (segment_anatomy.hpp), for inactive cells and short recordings. Peaks of its log-odds
  // at least template_floor become candidates; those at least template_threshold are
  // accepted (tuned on held-out folds of the real development data: F1 is flat within
  // 0.01 from -1.5 to -1.0). NaN template_threshold disables the template.
  float template_threshold = -0.5f;
  float template_floor = -3.0f;
  // A template candidate must also stand out of the mean image's pixel noise by this many
  // standard errors (soma_contrast_z): a short, noisy movie's mean image is full of
  // soma-sized noise blobs the template cannot tell from cells (measured: >= 18 for 95% of
  // the accepted candidates of a 600-frame real recording, 3-8 on noise of a 100-frame one).
  // 25 was chosen by held-out figures (scripts/heldout_rois.py: template fitted on one half of
  // the real rows, scored on the other): centroid F1 0.514 / 0.510 against 0.494 / 0.500 at 15,
  // and 1.45 instead of 1.58 accepted ROIs per label on the unseen half; simulated sessions
  // unchanged. The gate follows the recording's own noise, not the fitted weights.
  float template_min_contrast_z = 25.0f;
  // The template's weights; empty: the model built in (segment_soma_model.hpp, fitted by
  // scripts/train_soma_model.py). `apical segment --soma-model FILE` reads another one.
  SomaModel soma_model;
  // Dendrite plane only (refine_rois): pieces whose binned traces correlate at least this
  // much after correcting for noise (r / sqrt(reliability_a * reliability_b)) and whose
  // pixels come within merge_max_gap_px are one ROI, as long as the merged ROI spans at
  // most 1.5 * dendrite_max_length_px.
  float merge_min_correlation = 0.9f;
  float merge_max_gap_px = 5.0f;
};

// Detection works on the correlation image (blob filter -> seeds -> seeded region growing
// against a local background; soma holes such as the nucleus are filled). On the soma plane
// the soma template adds somata from the mean image where no correlation ROI lies (see
// template_threshold); on the dendrite plane the mean image judges ridges between pieces.
// max is checked for size only. Throws InputError for a bad role or inconsistent sizes.
// Accepted ROIs come first, sorted by quality (descending), then centroid (row-major), and
// own their pixels exclusively; rejected candidates follow in the same order (their
// pixels may overlap accepted ROIs' neighbours but never their pixels).
std::vector<Roi> detect_rois(const cv::Mat& mean, const cv::Mat& max, const cv::Mat& correlation,
                             const SegmentParams& params);

// Shape statistics of a pixel set (centroid, area, compactness, eccentricity).
RoiStats shape_stats(const std::vector<uint32_t>& pixels, int width);

// ---------------------------------------------------------------- traces (second pass)

struct TraceParams {
  int temporal_bin = 10;          // must match the summary pass to compare traces across planes
  float neuropil_factor = 0.7f;   // trace = ROI mean - factor * surround mean
  float ring_gap_px = 2.0f;       // surround starts this far beyond the ROI's radius
  float ring_width_px = 6.0f;
};

// Binned, neuropil-corrected weighted-mean traces of each ROI (pixels owned by other ROIs
// are left out of the surround). Memory: n_rois * n_bins floats.
class RoiTraceAccumulator {
 public:
  RoiTraceAccumulator(const std::vector<Roi>& rois, int height, int width,
                      const TraceParams& params = {});
  void add(const FrameStack& batch);
  // [n_rois, n_complete_bins]
  arma::fmat traces() const;

 private:
  int height_, width_;
  TraceParams params_;
  int64_t next_frame_ = -1;
  int frames_in_bin_ = 0;
  std::vector<std::vector<uint32_t>> roi_pixels_, ring_pixels_;
  std::vector<std::vector<float>> roi_weights_;
  std::vector<double> bin_acc_;               // per ROI, current bin
  std::vector<std::vector<float>> binned_;    // per ROI, completed bins
};

// Subtracts a centred moving average (window in bins) from each row: removes slow drifts
// before correlating traces or measuring noise.
arma::fmat highpass_traces(const arma::fmat& traces, int window_bins = 31);

// Dendrite plane: merges pieces (see SegmentParams) and drops the merged rows of `traces`
// (the merged trace is the area-weighted mean). Both planes: fills snr, skewness, and sets
// quality = detection quality * (1 - exp(-snr / 5)). Keeps ROI order (a merged ROI takes
// the place of its first piece).
void refine_rois(std::vector<Roi>& rois, arma::fmat& traces, const SegmentParams& params, int width);

// 1 where two or more accepted ROIs own the pixel, else 0; size height*width.
std::vector<uint8_t> shared_pixel_mask(const std::vector<Roi>& rois, int height, int width);

// ---------------------------------------------------------------- pairing

struct PairParams {
  float distance_sigma_px = 10.0f;  // Gaussian lateral-distance prior
  float max_distance_px = 25.0f;    // beyond: impossible
  float min_correlation = 0.25f;    // of high-passed binned traces
  float correlation_scale = 0.05f;  // evidence grows by e per this much correlation
  float min_confidence = 0.5f;
  int highpass_window_bins = 31;
};

struct Pair {
  int soma_roi = -1;
  int dendrite_roi = -1;
  float confidence = 0;  // [0, 1]
};

// Each dendrite ROI gets at most one soma: score(s) = exp(-d^2 / 2 sigma^2) *
// exp((r - min_correlation) / correlation_scale) for somata within max_distance_px, and
// "no soma" scores 1; confidence = best score / (sum of scores + 1). A pair is kept when
// r >= min_correlation and confidence >= min_confidence. Traces are [n_rois, n_bins] in
// the same bins for both planes (the shorter length is used). Sorted by dendrite_roi.
std::vector<Pair> pair_dendrites(const std::vector<Roi>& somata, const arma::fmat& soma_traces,
                                 const std::vector<Roi>& dendrites,
                                 const arma::fmat& dendrite_traces, const PairParams& params);

}  // namespace apical
