#include "pipeline/segment/segment_anatomy.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include <tbb/parallel_for.h>

#include "io/error.hpp"
#include "pipeline/segment/segment_filters.hpp"
#include "pipeline/segment/segment_soma_model.hpp"

namespace apical {
namespace {

// Ring edges in units of diameter / 9 (the model was fitted at a 9 px diameter).
constexpr float kRingEdges[] = {0, 1, 2, 3, 4, 5, 6, 7, 8.5f, 10, 12};
constexpr float kContrastEdges[] = {0, 3, 6, 9};
constexpr float kCorrelationEdges[] = {0, 3, 5, 8};
constexpr float kModelDiameterPx = 9.0f;
// Below this the inner rings would hold no pixel: small cells are scored at this scale.
constexpr float kMinTemplateDiameterPx = 6.0f;
constexpr int kFeatures = int(sizeof(kSomaWeights) / sizeof(kSomaWeights[0]));

using detail::mirror;

struct Offset {
  int dy, dx;
};

// Integer offsets at distance [r0, r1) from the centre.
std::vector<Offset> ring_offsets(float r0, float r1) {
  std::vector<Offset> ring;
  const int r = int(std::ceil(r1));
  for (int dy = -r; dy <= r; ++dy)
    for (int dx = -r; dx <= r; ++dx) {
      const double d = std::hypot(double(dy), double(dx));
      if (d >= r0 && d < r1) ring.push_back({dy, dx});
    }
  return ring;
}

// Mean of `image` over a ring around every pixel (mirrored border), summed in offset order.
cv::Mat ring_mean(const cv::Mat& image, float r0, float r1) {
  const std::vector<Offset> ring = ring_offsets(r0, r1);
  const int h = image.rows, w = image.cols;
  cv::Mat out(h, w, CV_32F, cv::Scalar(0));
  if (ring.empty()) return out;
  tbb::parallel_for(0, h, [&](int y) {
    std::vector<double> acc(size_t(w), 0.0);
    for (const Offset& o : ring) {
      const float* row = image.ptr<float>(mirror(y + o.dy, h));
      for (int x = 0; x < w; ++x) acc[size_t(x)] += row[mirror(x + o.dx, w)];
    }
    float* dst = out.ptr<float>(y);
    for (int x = 0; x < w; ++x) dst[x] = float(acc[size_t(x)] / double(ring.size()));
  });
  return out;
}

template <size_t N>
void add_ring_means(std::vector<cv::Mat>& features, const cv::Mat& image, const float (&edges)[N], float unit) {
  for (size_t k = 0; k + 1 < N; ++k) features.push_back(ring_mean(image, edges[k] * unit, edges[k + 1] * unit));
}

float median_of(const cv::Mat& image) {
  float median, sigma;
  detail::robust_stats(image, median, sigma);
  return median;
}

// Scale-normalised Laplacian of Gaussian, sign flipped so bright blobs are positive.
cv::Mat blob_response(const cv::Mat& image, float sigma) {
  const cv::Mat g = detail::gaussian_blur(image, sigma);
  cv::Mat out(image.size(), CV_32F);
  const int h = g.rows, w = g.cols;
  tbb::parallel_for(0, h, [&](int y) {
    const float* up = g.ptr<float>(mirror(y - 1, h));
    const float* mid = g.ptr<float>(y);
    const float* down = g.ptr<float>(mirror(y + 1, h));
    float* dst = out.ptr<float>(y);
    for (int x = 0; x < w; ++x) {
      const float lap = up[x] + down[x] + mid[mirror(x - 1, w)] + mid[mirror(x + 1, w)] - 4 * mid[x];
      dst[x] = -sigma * sigma * lap;
    }
  });
  return out;
}

// Mean of the `count` strongest local maxima (radius ~0.78 d) of a response image.
float mean_of_strongest_peaks(const cv::Mat& response, float diameter, size_t count) {
  const int radius = std::max(2, int(std::lround(0.78f * diameter)));
  const std::vector<SomaCandidate> peaks =
      score_peaks(response, radius, -std::numeric_limits<float>::infinity(), 0);
  if (peaks.empty()) return -std::numeric_limits<float>::infinity();
  const size_t n = std::min(count, peaks.size());
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += peaks[i].score;
  return float(sum / double(n));
}

// Log-spaced diameters from kMinSomaDiameterPx to what the image can hold.
std::vector<float> diameter_grid(const cv::Mat& image) {
  const float largest = std::min(kMaxSomaDiameterPx, float(std::min(image.rows, image.cols)) / 4.0f);
  std::vector<float> grid;
  for (float d = kMinSomaDiameterPx; d <= largest * 1.0001f; d *= 1.1f) grid.push_back(d);
  if (grid.empty()) grid.push_back(kMinSomaDiameterPx);
  return grid;
}

// The grid value with the largest criterion, refined by a parabola through its neighbours
// (in log diameter).
float best_scale(const std::vector<float>& grid, const std::vector<float>& criterion) {
  const size_t k = size_t(std::max_element(criterion.begin(), criterion.end()) - criterion.begin());
  if (k == 0 || k + 1 >= grid.size()) return grid[k];
  const double a = criterion[k - 1], b = criterion[k], c = criterion[k + 1];
  const double denom = a - 2 * b + c;
  const double step = denom < 0 ? std::clamp(0.5 * (a - c) / denom, -0.5, 0.5) : 0.0;
  return float(grid[k] * std::pow(1.1, step));
}

// Correlation-image blobs this strong (mean Pearson r, scale-normalised) mean active cells
// whose size can be read from the correlation image; weaker ones are noise (measured: 0.3
// to 0.6 on recordings with active cells, 0.08 on a 100-frame crop).
constexpr float kActiveBlobResponse = 0.15f;
constexpr size_t kPeaksJudged = 10;

}  // namespace

cv::Mat local_contrast_normalise(const cv::Mat& image, float sigma) {
  const cv::Mat local_mean = detail::gaussian_blur(image, sigma);
  const cv::Mat deviation = image - local_mean;
  const cv::Mat variance = detail::gaussian_blur(deviation.mul(deviation), sigma);
  cv::Mat out(image.size(), CV_32F);
  for (int y = 0; y < image.rows; ++y) {
    const float* d = deviation.ptr<float>(y);
    const float* v = variance.ptr<float>(y);
    float* o = out.ptr<float>(y);
    for (int x = 0; x < image.cols; ++x) o[x] = d[x] / std::sqrt(std::max(v[x], 1e-12f));
  }
  return out;
}

std::vector<cv::Mat> soma_template_features(const cv::Mat& mean_image, const cv::Mat& correlation,
                                            float diameter_px) {
  cv::Mat mean;
  mean_image.copyTo(mean);
  cv::patchNaNs(mean, 0);
  const float d = std::max(diameter_px, kMinTemplateDiameterPx);
  const float unit = d / kModelDiameterPx;
  std::vector<cv::Mat> features;
  const cv::Mat normalised = local_contrast_normalise(mean, 2.2f * d);
  add_ring_means(features, normalised, kRingEdges, unit);
  add_ring_means(features, normalised.mul(normalised), kContrastEdges, unit);
  cv::Mat c = correlation.empty() ? cv::Mat(mean.size(), CV_32F, cv::Scalar(0)) : correlation.clone();
  cv::patchNaNs(c, 0);
  float c_median, c_sigma;
  detail::robust_stats(c, c_median, c_sigma);
  const cv::Mat c_z = (c - c_median) / std::max(c_sigma, 1e-12f);
  add_ring_means(features, c_z, kCorrelationEdges, unit);
  // Local brightness (log, relative to the field's median): labelled cells sit where the
  // indicator is expressed; dark, unlabelled territory scores lower.
  cv::Mat brightness = cv::max(detail::gaussian_blur(mean, 3 * d), 1e-6f);
  cv::log(brightness, brightness);
  features.push_back(brightness - median_of(brightness));
  return features;
}

int soma_template_feature_count() { return kFeatures; }

cv::Mat soma_template_score(const cv::Mat& mean, const cv::Mat& correlation, float diameter_px,
                            const SomaModel& model) {
  const std::vector<cv::Mat> features = soma_template_features(mean, correlation, diameter_px);
  if (int(features.size()) != kFeatures) throw std::logic_error("soma template: feature count mismatch");
  const bool builtin = model.builtin();
  if (!builtin && (model.weights.size() != size_t(kFeatures) || model.feature_mean.size() != size_t(kFeatures) ||
                   model.feature_scale.size() != size_t(kFeatures)))
    throw InputError("soma model: " + std::to_string(model.weights.size()) + " weights, the template has " +
                     std::to_string(kFeatures) + " features");
  cv::Mat score(mean.size(), CV_32F, cv::Scalar(builtin ? kSomaBias : model.bias));
  for (int k = 0; k < kFeatures; ++k) {
    const float weight = builtin ? kSomaWeights[k] : model.weights[size_t(k)];
    const float scale = builtin ? kSomaFeatureScale[k] : model.feature_scale[size_t(k)];
    const float centre = builtin ? kSomaFeatureMean[k] : model.feature_mean[size_t(k)];
    const float a = weight / scale;
    const float b = -a * centre;
    score += features[size_t(k)] * a + b;
  }
  return score;
}

DiameterEstimate estimate_soma_diameter(const cv::Mat& mean_image, const cv::Mat& correlation) {
  const std::vector<float> grid = diameter_grid(mean_image);
  // Scale-space: a disc of diameter d gives the strongest scale-normalised LoG response at
  // sigma = d / (2 sqrt 2); judged on the strongest blobs.
  auto blob_strengths = [&](const cv::Mat& image) {
    std::vector<float> strength;
    for (float d : grid)
      strength.push_back(mean_of_strongest_peaks(blob_response(image, d / (2 * std::sqrt(2.0f))), d, kPeaksJudged));
    return strength;
  };
  if (!correlation.empty()) {
    cv::Mat c = correlation.clone();
    cv::patchNaNs(c, 0);
    const std::vector<float> strength = blob_strengths(c);
    if (*std::max_element(strength.begin(), strength.end()) >= kActiveBlobResponse)
      return {best_scale(grid, strength), "correlation"};
  }
  cv::Mat m = mean_image.clone();
  cv::patchNaNs(m, 0);
  return {best_scale(grid, blob_strengths(m)), "mean image"};
}

float pixel_noise_sigma(const cv::Mat& image) {
  if (image.rows < 3 || image.cols < 3) return 0;
  cv::Mat residual(image.rows - 2, image.cols - 2, CV_32F);
  for (int y = 1; y + 1 < image.rows; ++y)
    for (int x = 1; x + 1 < image.cols; ++x)
      residual.at<float>(y - 1, x - 1) = image.at<float>(y, x) - 0.25f * (image.at<float>(y - 1, x) + image.at<float>(y + 1, x) +
                                                                         image.at<float>(y, x - 1) + image.at<float>(y, x + 1));
  float median, sigma;
  detail::robust_stats(residual, median, sigma);
  return sigma / std::sqrt(1.25f);
}

float soma_contrast_z(const cv::Mat& image, int y, int x, float diameter_px, float noise_sigma) {
  const float d = diameter_px;
  auto disc_mean = [&](float r0, float r1, size_t& n) {
    const std::vector<Offset> ring = ring_offsets(r0, r1);
    double sum = 0;
    for (const Offset& o : ring) sum += image.at<float>(mirror(y + o.dy, image.rows), mirror(x + o.dx, image.cols));
    n = ring.size();
    return n ? sum / double(n) : 0.0;
  };
  auto z = [&](float a0, float a1, float b0, float b1) {
    size_t na = 0, nb = 0;
    const double a = disc_mean(a0, a1, na), b = disc_mean(b0, b1, nb);
    if (na == 0 || nb == 0) return 0.0;
    return std::fabs(a - b) / (std::max(noise_sigma, 1e-12f) * std::sqrt(1.0 / double(na) + 1.0 / double(nb)));
  };
  return float(std::max(z(0, d / 4, d / 4, d / 2), z(0, d / 2, d / 2, d)));
}

std::vector<SomaCandidate> score_peaks(const cv::Mat& score, int radius, float floor, int border) {
  const int h = score.rows, w = score.cols;
  std::vector<std::vector<SomaCandidate>> per_row(static_cast<size_t>(h));
  std::vector<Offset> disc = ring_offsets(0.0f, float(radius) + 0.5f);
  tbb::parallel_for(0, h, [&](int y) {
    if (y < border || y >= h - border) return;
    for (int x = border; x < w - border; ++x) {
      const float v = score.at<float>(y, x);
      if (!(v >= floor)) continue;
      bool is_max = true;
      for (const Offset& o : disc) {
        const int qy = y + o.dy, qx = x + o.dx;
        if ((o.dy == 0 && o.dx == 0) || qy < 0 || qy >= h || qx < 0 || qx >= w) continue;
        const float q = score.at<float>(qy, qx);
        if (q > v || (q == v && (o.dy < 0 || (o.dy == 0 && o.dx < 0)))) {
          is_max = false;
          break;
        }
      }
      if (is_max) per_row[size_t(y)].push_back({y, x, v});
    }
  });
  std::vector<SomaCandidate> peaks;
  for (auto& row : per_row) peaks.insert(peaks.end(), row.begin(), row.end());
  std::stable_sort(peaks.begin(), peaks.end(), [](const SomaCandidate& a, const SomaCandidate& b) { return a.score > b.score; });
  return peaks;
}

}  // namespace apical
