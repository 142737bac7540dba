// Image panels (percentile contrast, colour maps, scale bars), ROI outlines and heatmaps.
#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "io/error.hpp"
#include "pipeline/reporting/plot.hpp"

namespace apical::plot {
namespace {

constexpr int kShift = 4;
constexpr double kSub = 1 << kShift;
const cv::Scalar kWhite(255, 255, 255);
const cv::Scalar kBlack(0, 0, 0);

cv::Mat as_float(const cv::Mat& image, const char* what) {
  if (image.empty()) throw InputError(std::string(what) + ": the image is empty");
  if (image.channels() != 1)
    throw InputError(std::string(what) + ": expected a single-channel image, got " +
                     std::to_string(image.channels()) + " channels");
  if (image.type() == CV_32F) return image;  // no copy: heatmaps can be hundreds of MB
  cv::Mat f;
  image.convertTo(f, CV_32F);
  return f;
}

// Blue - white - vermillion (Okabe–Ito ends), linear in each channel.
cv::Mat diverging_lut() {
  cv::Mat lut(1, 256, CV_8UC3);
  const cv::Vec3d blue(178, 114, 0), white(255, 255, 255), red(0, 94, 213);
  for (int i = 0; i < 256; ++i) {
    const double t = i / 255.0;
    const cv::Vec3d c = t < 0.5 ? blue + (white - blue) * (t / 0.5) : white + (red - white) * ((t - 0.5) / 0.5);
    lut.at<cv::Vec3b>(0, i) = cv::Vec3b(cv::saturate_cast<uchar>(c[0]), cv::saturate_cast<uchar>(c[1]),
                                        cv::saturate_cast<uchar>(c[2]));
  }
  return lut;
}

// A round length (1, 2 or 5 x 10^k) no longer than `at_most`.
double round_length_below(double at_most) {
  const double p = std::pow(10.0, std::floor(std::log10(at_most)));
  for (double m : {5.0, 2.0, 1.0})
    if (m * p <= at_most) return m * p;
  return p;
}

// White text with a dark halo, legible on any image.
void draw_halo_text(cv::Mat& canvas, const std::string& text, cv::Point anchor, detail::HAlign h,
                    detail::VAlign v, detail::Font font) {
  detail::draw_text(canvas, text, anchor, h, v, {font.scale, font.thickness + 2}, kBlack);
  detail::draw_text(canvas, text, anchor, h, v, font, kWhite);
}

void draw_scale_bar(cv::Mat& canvas, const cv::Rect& image_rect, double px_per_um, double length_um,
                    const detail::Theme& theme) {
  const int length_px = cvRound(length_um * px_per_um);
  if (length_px < 2 || length_px > image_rect.width) return;
  const int thick = std::max(3, cvRound(4 * theme.k));
  const int x1 = image_rect.x + image_rect.width - theme.pad, x0 = x1 - length_px;
  const int y1 = image_rect.y + image_rect.height - theme.pad, y0 = y1 - thick;
  cv::rectangle(canvas, cv::Rect(x0 - 1, y0 - 1, length_px + 2, thick + 2), kBlack, cv::FILLED);
  cv::rectangle(canvas, cv::Rect(x0, y0, length_px, thick), kWhite, cv::FILLED);
  char label[32];
  std::snprintf(label, sizeof label, "%g um", length_um);
  draw_halo_text(canvas, label, {(x0 + x1) / 2, y0 - theme.gap}, detail::HAlign::centre,
                 detail::VAlign::bottom, theme.tick);
}

// Resizes each axis on its own: averaging when shrinking, blocky when enlarging.
cv::Mat fit_values(const cv::Mat& values, cv::Size target) {
  cv::Mat m = values;
  if (m.cols != target.width)
    cv::resize(m, m, {target.width, m.rows}, 0, 0, m.cols > target.width ? cv::INTER_AREA : cv::INTER_NEAREST);
  if (m.rows != target.height)
    cv::resize(m, m, {m.cols, target.height}, 0, 0, m.rows > target.height ? cv::INTER_AREA : cv::INTER_NEAREST);
  return m;
}

}  // namespace

std::pair<double, double> percentile_limits(const cv::Mat& image, double lo_pct, double hi_pct) {
  if (!(lo_pct >= 0 && lo_pct < hi_pct && hi_pct <= 100))
    throw InputError("contrast percentiles must satisfy 0 <= low < high <= 100");
  const cv::Mat f = as_float(image, "percentile_limits");
  const size_t total = f.total();
  const size_t stride = std::max<size_t>(1, (total + (size_t(4) << 20) - 1) / (size_t(4) << 20));
  std::vector<float> v;
  v.reserve(total / stride + 1);
  for (size_t index = 0; index < total; index += stride) {
    const float value = f.at<float>(int(index / size_t(f.cols)), int(index % size_t(f.cols)));
    if (std::isfinite(value)) v.push_back(value);
  }
  if (v.empty()) return {0.0, 1.0};
  auto percentile = [&](double pct) {
    const double pos = pct / 100.0 * double(v.size() - 1);
    const size_t k = size_t(pos);
    std::nth_element(v.begin(), v.begin() + long(k), v.end());
    const double a = v[k];
    if (k + 1 >= v.size()) return a;
    const double b = *std::min_element(v.begin() + long(k) + 1, v.end());
    return a + (pos - double(k)) * (b - a);
  };
  const double lo = percentile(lo_pct), hi = percentile(hi_pct);
  return {lo, hi};
}

cv::Mat colourise(const cv::Mat& image, double lo, double hi, ColourMap map, cv::Scalar missing) {
  const cv::Mat f = as_float(image, "colourise");
  cv::Mat grey(f.size(), CV_8U), bad(f.size(), CV_8U, cv::Scalar(0));
  const bool flat = !(hi > lo) || !std::isfinite(hi - lo);
  const double gain = flat ? 0 : 255.0 / (hi - lo);
  for (int r = 0; r < f.rows; ++r) {
    const float* in = f.ptr<float>(r);
    uchar* out = grey.ptr<uchar>(r);
    uchar* nan = bad.ptr<uchar>(r);
    for (int c = 0; c < f.cols; ++c) {
      if (!std::isfinite(in[c])) {
        out[c] = 0;
        nan[c] = 255;
      } else {
        out[c] = flat ? 128 : cv::saturate_cast<uchar>((in[c] - lo) * gain);
      }
    }
  }
  cv::Mat bgr;
  switch (map) {
    case ColourMap::grey: cv::cvtColor(grey, bgr, cv::COLOR_GRAY2BGR); break;
    case ColourMap::viridis: cv::applyColorMap(grey, bgr, cv::COLORMAP_VIRIDIS); break;
    case ColourMap::diverging: {
      static const cv::Mat lut = diverging_lut();
      cv::cvtColor(grey, bgr, cv::COLOR_GRAY2BGR);
      cv::LUT(bgr, lut, bgr);
      break;
    }
  }
  bgr.setTo(missing, bad);
  return bgr;
}

ImagePanel image_panel(const cv::Mat& image, const std::string& title, double lo_pct, double hi_pct) {
  ImageOptions o;
  o.lo_pct = lo_pct;
  o.hi_pct = hi_pct;
  return image_panel(image, title, o);
}

ImagePanel image_panel(const cv::Mat& image, const std::string& title, const ImageOptions& options) {
  const cv::Mat f = as_float(image, "image_panel");
  const auto [lo, hi] = percentile_limits(f, options.lo_pct, options.hi_pct);
  cv::Mat bgr = colourise(f, lo, hi, options.colour_map);

  double scale = options.display_scale;
  if (!(scale > 0)) {
    scale = 480.0 / std::max(f.cols, f.rows);
    scale = scale >= 1 ? std::min(16.0, std::floor(scale)) : scale;  // whole-pixel blocks when enlarging
  }
  const cv::Size shown(std::max(1, cvRound(f.cols * scale)), std::max(1, cvRound(f.rows * scale)));
  cv::resize(bgr, bgr, shown, 0, 0, scale >= 1 ? cv::INTER_NEAREST : cv::INTER_AREA);

  const detail::Theme theme = detail::theme_for({shown.width + 24, shown.height + 60});
  const int title_h = title.empty() ? 0 : detail::text_height(theme.title) + theme.gap;
  ImagePanel p;
  p.scale = scale;
  p.offset = {theme.pad, theme.pad + title_h};
  p.canvas = cv::Mat(shown.height + title_h + 2 * theme.pad, shown.width + 2 * theme.pad, CV_8UC3, kWhite);
  const cv::Rect image_rect(p.offset, shown);
  bgr.copyTo(p.canvas(image_rect));
  if (!title.empty())
    detail::draw_text(p.canvas, detail::ellipsize(title, p.canvas.cols - 2 * theme.pad, theme.title),
                      {p.canvas.cols / 2, theme.pad}, detail::HAlign::centre, detail::VAlign::top, theme.title);
  if (options.um_per_pixel > 0 && std::isfinite(options.um_per_pixel)) {
    const double width_um = f.cols * options.um_per_pixel;
    const double length = options.scale_bar_um > 0 ? options.scale_bar_um : round_length_below(0.2 * width_um);
    draw_scale_bar(p.canvas, image_rect, scale / options.um_per_pixel, length, theme);
  }
  return p;
}

void ImagePanel::outline(const std::vector<uint32_t>& pixels, int image_width, cv::Scalar colour, int thickness) {
  draw_outline(canvas, pixels, image_width, colour, scale, offset, thickness);
}

void ImagePanel::link(cv::Point2d a, cv::Point2d b, cv::Scalar colour, int thickness) {
  auto at = [&](cv::Point2d p) {
    const cv::Point2d c = (p + cv::Point2d(0.5, 0.5)) * scale + cv::Point2d(offset);
    return cv::Point(cvRound(c.x * kSub), cvRound(c.y * kSub));
  };
  if (!std::isfinite(a.x) || !std::isfinite(a.y) || !std::isfinite(b.x) || !std::isfinite(b.y)) return;
  cv::line(canvas, at(a), at(b), colour, thickness, cv::LINE_AA, kShift);
}

void draw_outline(cv::Mat& canvas_bgr, const std::vector<uint32_t>& pixels, int image_width, cv::Scalar colour,
                  double scale, cv::Point offset, int thickness) {
  if (image_width < 1) throw InputError("draw_outline: image width must be >= 1");
  if (pixels.empty() || canvas_bgr.empty() || !(scale > 0)) return;
  uint32_t x0 = UINT32_MAX, y0 = UINT32_MAX, x1 = 0, y1 = 0;
  const uint32_t w = uint32_t(image_width);
  for (uint32_t p : pixels) {
    x0 = std::min(x0, p % w);
    x1 = std::max(x1, p % w);
    y0 = std::min(y0, p / w);
    y1 = std::max(y1, p / w);
  }
  // The mask's bounding box with a one-pixel empty border, so contours close.
  cv::Mat mask(int(y1 - y0) + 3, int(x1 - x0) + 3, CV_8U, cv::Scalar(0));
  for (uint32_t p : pixels) mask.at<uchar>(int(p / w - y0) + 1, int(p % w - x0) + 1) = 255;
  // Enlarged by whole pixels so the outline follows pixel edges rather than pixel centres.
  const int k = scale >= 1.5 ? std::min(16, int(std::lround(scale))) : 1;
  if (k > 1) cv::resize(mask, mask, {}, k, k, cv::INTER_NEAREST);
  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(mask, contours, cv::RETR_LIST, cv::CHAIN_APPROX_SIMPLE);
  const double ox = double(x0) - 1, oy = double(y0) - 1;
  std::vector<std::vector<cv::Point>> drawn;
  for (const auto& c : contours) {
    std::vector<cv::Point> d;
    for (const cv::Point& q : c) {
      const double X = ox + (q.x + 0.5) / k, Y = oy + (q.y + 0.5) / k;
      d.emplace_back(cvRound((X * scale + offset.x) * kSub), cvRound((Y * scale + offset.y) * kSub));
    }
    drawn.push_back(std::move(d));
  }
  cv::polylines(canvas_bgr, drawn, true, colour, thickness, cv::LINE_AA, kShift);
}

cv::Mat heatmap(const cv::Mat& values, const std::string& title, const std::string& x_label,
                const std::string& y_label, double x_extent, const HeatmapOptions& options) {
  using namespace detail;
  const cv::Mat f = as_float(values, "heatmap");
  if (!(x_extent > 0) || !std::isfinite(x_extent))
    throw InputError("heatmap '" + title + "': x extent must be positive");
  auto [lo, hi] = percentile_limits(f, options.lo_pct, options.hi_pct);
  if (options.colour_map == ColourMap::diverging) {
    const double m = std::max(std::abs(lo), std::abs(hi));
    lo = m > 0 ? -m : -1;
    hi = m > 0 ? m : 1;
  } else if (!(hi > lo)) {
    const double d = lo == 0 ? 1 : std::abs(lo) * 0.1;
    lo -= d;
    hi += d;
  }

  const Theme theme = theme_for(options.size);
  std::vector<double> bar_ticks;
  std::vector<std::string> bar_labels;
  double bar_step = 0;
  {
    const auto all = nice_ticks(lo, hi, 5);
    if (all.size() >= 2) bar_step = all[1] - all[0];
    for (double v : all)
      if (v >= lo - 1e-9 * (hi - lo) && v <= hi + 1e-9 * (hi - lo)) bar_ticks.push_back(v);
    for (double v : bar_ticks) bar_labels.push_back(format_tick(v, bar_step));
  }
  int bar_label_w = 0;
  for (auto& s : bar_labels) bar_label_w = std::max(bar_label_w, text_width(s, theme.tick));
  const int bar_w = cvRound(18 * theme.k), bar_gap = 3 * theme.gap;
  const int label_h = text_height(theme.label);
  const int right_extra = bar_gap + bar_w + theme.tick_len + theme.gap + bar_label_w +
                          (options.colour_label.empty() ? 0 : 2 * theme.gap + label_h);

  AxisRange x, y;
  x.low = 0;
  x.high = x_extent;
  y.low = double(f.rows);  // row 0 at the top
  y.high = 0;
  y.integer_ticks = true;
  const Frame frame = layout_frame(options.size, theme, !title.empty(), !x_label.empty(), !y_label.empty(), x, y,
                                   right_extra);
  const cv::Rect& area = frame.transform.area;
  cv::Mat canvas(options.size, CV_8UC3, kWhite);
  colourise(fit_values(f, area.size()), lo, hi, options.colour_map).copyTo(canvas(area));
  draw_axes(canvas, frame, theme, title, x_label, y_label);

  // Colour bar: the same map from hi (top) to lo (bottom), with ticks on its right.
  const cv::Rect bar(area.x + area.width + bar_gap, area.y, bar_w, area.height);
  cv::Mat ramp(bar.height, 1, CV_32F);
  for (int r = 0; r < bar.height; ++r) ramp.at<float>(r) = float(hi - (r + 0.5) / bar.height * (hi - lo));
  cv::Mat ramp_bgr = colourise(ramp, lo, hi, options.colour_map);
  cv::resize(ramp_bgr, ramp_bgr, bar.size(), 0, 0, cv::INTER_NEAREST);
  ramp_bgr.copyTo(canvas(bar));
  cv::rectangle(canvas, cv::Rect(bar.x - 1, bar.y - 1, bar.width + 2, bar.height + 2), kBlack, 1);
  for (size_t i = 0; i < bar_ticks.size(); ++i) {
    const int ty = cvRound(bar.y + (hi - bar_ticks[i]) / (hi - lo) * bar.height);
    const int tx = bar.x + bar.width;
    cv::line(canvas, {tx, ty}, {tx + theme.tick_len, ty}, kBlack, 1);
    draw_text(canvas, bar_labels[i], {tx + theme.tick_len + theme.gap / 2, ty}, HAlign::left, VAlign::middle,
              theme.tick, cv::Scalar(40, 40, 40));
  }
  if (!options.colour_label.empty()) {
    const int cx = bar.x + bar.width + theme.tick_len + theme.gap + bar_label_w + theme.gap + label_h / 2;
    draw_text_vertical(canvas, ellipsize(options.colour_label, bar.height, theme.label), {cx, bar.y + bar.height / 2},
                       theme.label);
  }
  return canvas;
}

}  // namespace apical::plot
