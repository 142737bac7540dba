#pragma once
// Soma detection from anatomy: the mean image scored by a learned, radially symmetric cell
// template, and the typical soma diameter estimated from the summary images.
//
// Why a template: on real GCaMP recordings most cell bodies are inactive in any given few
// minutes and show only as rings (bright cytosol around a dark nucleus) or filled discs in
// the mean image, under uneven illumination. The score at a pixel is a linear function of
// the mean of the locally contrast-normalised mean image over concentric rings around it
// (radii in units of the soma diameter), of its local contrast, of the correlation image
// over the centre, and of the local brightness. The weights were fitted by logistic
// regression to manual soma labels of a real recording (scripts/train_soma_model.py, the
// neurofinder development rows; see docs/segment.md). Being radial and scaled by the
// diameter, the template applies to cells of any size and orientation.
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "pipeline/segment/segment.hpp"

namespace apical {

// (mean - local mean) / local RMS, both Gaussian-weighted with this sigma (px): vignetting
// and uneven expression divide out. CV_32F.
cv::Mat local_contrast_normalise(const cv::Mat& image, float sigma);

// Per-pixel template features at soma diameter `diameter_px` (CV_32F each; see the file
// comment). `correlation` may be empty (treated as zero activity).
std::vector<cv::Mat> soma_template_features(const cv::Mat& mean, const cv::Mat& correlation, float diameter_px);

// Log-odds that a soma is centred at each pixel (CV_32F), by `model` (empty: the built-in one).
// InputError when the model's feature count is not the template's.
cv::Mat soma_template_score(const cv::Mat& mean, const cv::Mat& correlation, float diameter_px,
                            const SomaModel& model = {});

// How many features the template computes (what a SomaModel must hold).
int soma_template_feature_count();

struct DiameterEstimate {
  float diameter_px = 0;
  // "correlation": scale of the strongest blobs of the correlation image (active cells);
  // "mean image": scale of the strongest blobs of the mean image.
  std::string method;
};

// Smallest and largest diameter the estimate considers, px.
inline constexpr float kMinSomaDiameterPx = 4.0f;
inline constexpr float kMaxSomaDiameterPx = 30.0f;

// Typical soma diameter by scale-space: the scale at which the scale-normalised Laplacian
// of Gaussian of the strongest blobs peaks, over a log-spaced grid (refined between grid
// points). From the correlation image when it holds clearly active cells, else from the
// mean image. Deterministic.
DiameterEstimate estimate_soma_diameter(const cv::Mat& mean, const cv::Mat& correlation);

// Pixel noise sigma of an image: the robust spread of each pixel minus the mean of its 4
// neighbours, divided by sqrt(1.25) (what that difference does to white noise). Structure
// adds a little, so this errs high.
float pixel_noise_sigma(const cv::Mat& image);

// How far a cell at (y, x) stands out of the noise: the larger of |centre - cytoplasm|
// (discs r < d/4 and d/4 <= r < d/2) and |cell - surround| (r < d/2 and d/2 <= r < d),
// each over its standard error under pixel noise `noise_sigma`.
float soma_contrast_z(const cv::Mat& image, int y, int x, float diameter_px, float noise_sigma);

struct SomaCandidate {
  int y = 0, x = 0;
  float score = 0;  // template log-odds at the peak
};

// Local maxima of the score within a disc of `radius` px, with score >= floor, strongest
// first (ties by raster order).
std::vector<SomaCandidate> score_peaks(const cv::Mat& score, int radius, float floor, int border);

}  // namespace apical
