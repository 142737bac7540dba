// Blank-row and no-signal detection from each frame's row profile (see register_blank.hpp).
#include "pipeline/register/register_blank.hpp"

#include <algorithm>
#include <cmath>

#include "io/error.hpp"

namespace apical {
namespace {

struct RowStats {
  double mean = 0, std = 0;
};

RowStats row_stats(const float* row, int width) {
  double s = 0, ss = 0;
  for (int x = 0; x < width; ++x) s += row[x];
  const double mean = s / width;
  for (int x = 0; x < width; ++x) {
    const double d = row[x] - mean;
    ss += d * d;
  }
  return {mean, std::sqrt(ss / width)};
}

double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  const size_t k = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + long(k), v.end());
  return v[k];
}

// Typical row mean and spread of a frame: medians over every 4th row (a quarter of the work).
RowStats typical_row(const cv::Mat& frame) {
  std::vector<double> means, stds;
  for (int y = 0; y < frame.rows; y += 4) {
    const RowStats r = row_stats(frame.ptr<float>(y), frame.cols);
    means.push_back(r.mean);
    stds.push_back(r.std);
  }
  return {median_of(means), median_of(stds)};
}

}  // namespace

BlankRowsSetting parse_blank_rows(const std::string& text) {
  if (text == "auto") return {};
  try {
    size_t used = 0;
    const long rows = std::stol(text, &used);
    if (used == text.size() && rows >= 0 && rows <= 100000) return {rows > 0, int(rows)};
  } catch (...) {
  }
  throw InputError("--blank-rows: '" + text + "' is not auto, 0 or a number of rows");
}

namespace {

double quantile_of(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, size_t(q * double(v.size() - 1) + 0.5));
  std::nth_element(v.begin(), v.begin() + long(k), v.end());
  return v[k];
}

}  // namespace

SignalReference signal_reference(const FrameStack& sample) {
  SignalReference ref;
  if (sample.count < 1) return ref;
  const int H = sample.height, W = sample.width, n = sample.count;
  std::vector<double> typical(static_cast<size_t>(n)), means(static_cast<size_t>(n) * H), stds(static_cast<size_t>(n) * H);
  for (int t = 0; t < n; ++t) {
    const cv::Mat f(H, W, CV_32F, const_cast<float*>(sample.frame_data(t)));
    typical[size_t(t)] = typical_row(f).std;
    for (int y = 0; y < H; ++y) {
      const RowStats r = row_stats(f.ptr<float>(y), W);
      means[size_t(y) * n + t] = r.mean;
      stds[size_t(y) * n + t] = r.std;
    }
  }
  ref.typical_row_std = median_of(typical);
  ref.row_std_high.resize(size_t(H));
  ref.row_mean_median.resize(size_t(H));
  for (int y = 0; y < H; ++y) {
    const auto row = [&](const std::vector<double>& v) {
      return std::vector<double>(v.begin() + long(size_t(y) * n), v.begin() + long(size_t(y + 1) * n));
    };
    ref.row_std_high[size_t(y)] = quantile_of(row(stds), 0.9);
    ref.row_mean_median[size_t(y)] = median_of(row(means));
  }
  return ref;
}

FrameSignal detect_frame_signal(const cv::Mat& raw_frame, const SignalReference& reference,
                                const BlankRowsSetting& setting) {
  FrameSignal out;
  if (reference.row_std_high.size() != size_t(raw_frame.rows)) return out;  // no reference: nothing known
  // Fast path (almost every frame): a first row with its usual spread means the frame has
  // signal from its first row on, so it is neither blanked nor without signal.
  const RowStats first = row_stats(raw_frame.ptr<float>(0), raw_frame.cols);
  if (reference.row_std_high[0] > 0 && first.std >= kBlankStdRatio * reference.row_std_high[0]) return out;
  const RowStats typical = typical_row(raw_frame);
  if (typical.std < kBlankStdRatio * reference.typical_row_std) {
    out.no_signal = true;
    out.blank_rows = raw_frame.rows;
    return out;
  }
  if (!setting.detect) return out;
  int blank = 0;
  for (; blank < raw_frame.rows / 2; ++blank) {
    const RowStats r = row_stats(raw_frame.ptr<float>(blank), raw_frame.cols);
    const bool dark_for_row = r.std < kBlankStdRatio * reference.row_std_high[size_t(blank)] &&
                              r.mean < reference.row_mean_median[size_t(blank)];
    const bool dark_for_frame = r.std < kBlankStdRatio * typical.std && r.mean < typical.mean;
    if (!(dark_for_row && dark_for_frame))
      break;
  }
  if (blank > 0 && setting.fixed_rows > 0) blank = std::min(setting.fixed_rows, raw_frame.rows);
  out.blank_rows = blank;
  return out;
}

int blank_rows_after_shift(int blank_rows, float dy, float extra_dy_px, int height) {
  if (blank_rows <= 0) return 0;
  if (blank_rows >= height || !std::isfinite(dy)) return height;
  const double first_clean = double(blank_rows) + 1.0 - std::floor(double(dy) - double(extra_dy_px));
  return int(std::clamp(first_clean, 0.0, double(height)));
}

}  // namespace apical
