// Line/point/bar/step plots: ticks, text, layout, series drawing, legend, grids, PNG output.
// Images, outlines and heatmaps are in plot_image.cpp.
#include "pipeline/reporting/plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <set>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "io/atomic_output.hpp"
#include "io/error.hpp"
#include "pipeline/reporting/plot_surface.hpp"

namespace apical::plot {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
const cv::Scalar kWhite(255, 255, 255);
const cv::Scalar kBlack(0, 0, 0);
const cv::Scalar kGrid(232, 232, 232);
const cv::Scalar kTickText(40, 40, 40);
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
constexpr int kShift = 4;  // sub-pixel bits for OpenCV drawing
constexpr double kSub = 1 << kShift;

double pow10i(int e) { return std::pow(10.0, e); }  // exact for |e| <= 22

// i * m * 10^e computed so that e.g. 3 * 0.1 gives 0.3, not 0.30000000000000004.
double tick_value(double i, double m, int e) {
  return e >= 0 ? i * m * pow10i(e) : (i * m) / pow10i(-e);
}

// Ticks with spacing at least min_step (0 = no minimum); see nice_ticks.
std::vector<double> ticks_with_min_step(double lo, double hi, int target, double min_step,
                                        double* step_out = nullptr) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return {};
  if (lo > hi) std::swap(lo, hi);
  if (lo == hi) {
    double d = lo == 0 ? 1 : std::abs(lo) * 0.1;
    lo -= d;
    hi += d;
  }
  if (!std::isfinite(hi - lo)) return {lo, hi};
  target = std::clamp(target, 2, 50);
  double raw = (hi - lo) / (target - 1);
  int e0 = int(std::floor(std::log10(raw)));
  if (e0 < -290 || e0 > 290) return {lo, hi};
  double best_m = 1, best_score = kInf;
  int best_e = e0;
  for (int e = e0 - 1; e <= e0 + 1; ++e) {
    for (double m : {1.0, 2.0, 5.0}) {
      double step = tick_value(1, m, e);
      if (step < min_step) continue;
      // Judged by the ticks inside [lo, hi]: those are the ones an axis shows.
      const double inside = std::floor(hi / step + 1e-9) - std::ceil(lo / step - 1e-9) + 1;
      const double score = std::abs(inside - target);
      if (score <= best_score) {  // ascending steps: ties go to the larger step
        best_score = score;
        best_m = m;
        best_e = e;
      }
    }
  }
  if (best_score == kInf) {  // min_step above every candidate: use it (a power of 10 or 1)
    best_m = 1;
    best_e = int(std::ceil(std::log10(min_step)));
  }
  double step = tick_value(1, best_m, best_e);
  double first = std::floor(lo / step + 1e-9), last = std::ceil(hi / step - 1e-9);
  std::vector<double> ticks;
  for (double i = first; i <= last && ticks.size() < 1000; i += 1) {
    double v = tick_value(i, best_m, best_e);
    if (ticks.empty() || v > ticks.back()) ticks.push_back(v);
  }
  if (step_out) *step_out = step;
  return ticks;
}

uint32_t next_code_point(const std::string& s, size_t& i) {
  auto byte = [&](size_t k) { return k < s.size() ? uint8_t(s[k]) : uint8_t(0); };
  uint8_t c = byte(i);
  int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
  uint32_t cp = extra == 3 ? (c & 0x07) : extra == 2 ? (c & 0x0F) : extra == 1 ? (c & 0x1F) : c;
  ++i;
  for (int k = 0; k < extra && (byte(i) & 0xC0) == 0x80; ++k) cp = (cp << 6) | (byte(i++) & 0x3F);
  return cp;
}

const char* transliterate(uint32_t cp) {
  switch (cp) {
    case 0xB5: case 0x3BC: return "u";
    case 0x394: case 0x3B4: return "d";
    case 0xB2: return "^2";
    case 0xB3: return "^3";
    case 0xB1: return "+/-";
    case 0x3C3: return "sigma";
    case 0x3B1: return "alpha";
    case 0x3B2: return "beta";
    case 0x3C4: return "tau";
    case 0x3BB: return "lambda";
    case 0x3C7: return "chi";
    case 0xB0: return "deg";
    case 0xD7: return "x";
    case 0xB7: return ".";
    case 0x2212: case 0x2013: case 0x2014: return "-";
    case 0x2264: return "<=";
    case 0x2265: return ">=";
    case 0x2248: return "~";
    case 0x2026: return "...";
    default: return "?";
  }
}

cv::Point fixed(cv::Point2d p) { return {cvRound(p.x * kSub), cvRound(p.y * kSub)}; }

bool finite(cv::Point2d p) { return std::isfinite(p.x) && std::isfinite(p.y); }

// Liang–Barsky: clips segment a-b to the rectangle; false if nothing is left.
bool clip_segment(cv::Point2d& a, cv::Point2d& b, const cv::Rect2d& r) {
  double t0 = 0, t1 = 1;
  const cv::Point2d d = b - a;
  auto edge = [&](double p, double q) {
    if (p == 0) return q >= 0;
    double t = q / p;
    if (p < 0) {
      if (t > t1) return false;
      t0 = std::max(t0, t);
    } else {
      if (t < t0) return false;
      t1 = std::min(t1, t);
    }
    return true;
  };
  if (!edge(-d.x, a.x - r.x) || !edge(d.x, r.x + r.width - a.x) || !edge(-d.y, a.y - r.y) ||
      !edge(d.y, r.y + r.height - a.y))
    return false;
  const cv::Point2d a0 = a;
  a = a0 + t0 * d;
  b = a0 + t1 * d;
  return true;
}

// Drawing in plot-area-local pixel coordinates, clipped generously (OpenCV clips exactly).
struct Painter {
  cv::Mat roi;  // the plot area of the canvas
  cv::Point2d origin;
  cv::Rect2d clip_rect;

  Painter(cv::Mat& canvas, const cv::Rect& area)
      : roi(canvas(area)), origin(area.x, area.y),
        clip_rect(-50, -50, area.width + 100, area.height + 100) {}

  cv::Point2d local(cv::Point2d canvas_point) const { return canvas_point - origin; }

  void line(cv::Point2d a, cv::Point2d b, cv::Scalar colour, int thickness) {
    a = local(a);
    b = local(b);
    if (!finite(a) || !finite(b) || !clip_segment(a, b, clip_rect)) return;
    cv::line(roi, fixed(a), fixed(b), colour, thickness, cv::LINE_AA, kShift);
  }
  void dot(cv::Point2d p, double radius, cv::Scalar colour) {
    p = local(p);
    if (!finite(p) || !clip_rect.contains(p)) return;
    cv::circle(roi, fixed(p), cvRound(radius * kSub), colour, cv::FILLED, cv::LINE_AA, kShift);
  }
  cv::Point clamped(cv::Point2d p) const {
    p = local(p);
    auto c = [](double v) { return cvRound(std::clamp(v, -1e5, 1e5) * kSub); };
    return {c(p.x), c(p.y)};
  }
  void box(cv::Point2d a, cv::Point2d b, cv::Scalar colour) {
    if (!finite(local(a)) || !finite(local(b))) return;
    cv::rectangle(roi, clamped(a), clamped(b), colour, cv::FILLED, cv::LINE_8, kShift);
  }
  // A translucent polygon (axis-aligned vertices, so clamping far-off ones keeps its shape).
  void translucent_polygon(const std::vector<cv::Point2d>& pts, cv::Scalar colour, double alpha) {
    std::vector<cv::Point> p;
    for (auto& q : pts)
      if (finite(local(q))) p.push_back(clamped(q));
    if (p.size() < 3) return;
    cv::Mat overlay = roi.clone();
    cv::fillPoly(overlay, std::vector<std::vector<cv::Point>>{p}, colour, cv::LINE_AA, kShift);
    cv::addWeighted(overlay, alpha, roi, 1 - alpha, 0, roi);
  }
};

struct Extent {
  double lo = kInf, hi = -kInf;
  void add(double v) {
    if (!std::isfinite(v)) return;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  bool empty() const { return lo > hi; }
};

size_t point_count(const Series& s) { return std::min(s.x.size(), s.y.size()); }

bool has_error(const Series& s, size_t i) { return i < s.y_err.size() && std::isfinite(s.y_err[i]); }

bool is_area_style(const Series& s) { return s.style == Series::bars || s.style == Series::step; }

// Smallest gap between distinct finite x values; 1 when there are fewer than two.
double min_spacing(std::vector<double> xs) {
  xs.erase(std::remove_if(xs.begin(), xs.end(), [](double v) { return !std::isfinite(v); }),
           xs.end());
  std::sort(xs.begin(), xs.end());
  double best = kInf;
  for (size_t i = 1; i < xs.size(); ++i)
    if (xs[i] > xs[i - 1]) best = std::min(best, xs[i] - xs[i - 1]);
  return std::isfinite(best) ? best : 1.0;
}

// How bars of several bar series share each x slot.
struct BarGeometry {
  double spacing = 1;  // between neighbouring x values
  int series_count = 0;
  double width() const { return 0.8 * spacing / std::max(series_count, 1); }
  double offset(int k) const { return -0.4 * spacing + (k + 0.5) * width(); }
};

BarGeometry bar_geometry(const Axes& axes) {
  BarGeometry g;
  std::vector<double> xs;
  for (const auto& s : axes.series) {
    if (s.style != Series::bars) continue;
    ++g.series_count;
    xs.insert(xs.end(), s.x.begin(), s.x.begin() + point_count(s));
  }
  g.spacing = axes.x_category_labels.empty() ? min_spacing(xs) : 1.0;
  return g;
}

// Padded auto range, overridden by whichever limits are fixed; always lo < hi.
std::pair<double, double> resolve_range(Extent e, std::optional<double> fixed_lo,
                                        std::optional<double> fixed_hi, bool pad, bool keep_zero) {
  double lo = 0, hi = 1;
  if (!e.empty()) {
    lo = e.lo;
    hi = e.hi;
    if (lo == hi) {
      double d = lo == 0 ? 1 : std::abs(lo) * 0.1;
      lo -= d;
      hi += d;
    } else if (pad) {
      double p = 0.05 * (hi - lo);
      if (!(keep_zero && lo == 0)) lo -= p;
      if (!(keep_zero && hi == 0)) hi += p;
    }
  }
  bool lo_ok = fixed_lo && std::isfinite(*fixed_lo), hi_ok = fixed_hi && std::isfinite(*fixed_hi);
  if (lo_ok) lo = *fixed_lo;
  if (hi_ok) hi = *fixed_hi;
  if (lo > hi) {
    if (lo_ok && hi_ok) std::swap(lo, hi);
    else if (lo_ok) hi = lo + std::max(1.0, std::abs(lo) * 0.1);
    else lo = hi - std::max(1.0, std::abs(hi) * 0.1);
  }
  if (lo == hi) {
    double d = lo == 0 ? 1 : std::abs(lo) * 0.1;
    lo -= d;
    hi += d;
  }
  return {lo, hi};
}

struct DataRanges {
  detail::AxisRange x, y;
};

DataRanges data_ranges(const Axes& axes) {
  const BarGeometry bars = bar_geometry(axes);
  Extent ex, ey;
  bool baseline = false;
  for (const auto& s : axes.series) {
    const size_t n = point_count(s);
    const double half = s.style == Series::bars   ? 0.5 * bars.spacing
                        : s.style == Series::step ? 0.5 * min_spacing({s.x.begin(), s.x.begin() + n})
                                                  : 0.0;
    for (size_t i = 0; i < n; ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      ex.add(s.x[i] - half);
      ex.add(s.x[i] + half);
      ey.add(s.y[i]);
      if (has_error(s, i)) {
        ey.add(s.y[i] - std::abs(s.y_err[i]));
        ey.add(s.y[i] + std::abs(s.y_err[i]));
      }
    }
    if (is_area_style(s) && n > 0) {
      baseline = true;
      ey.add(0);
    }
  }
  const bool categorical = !axes.x_category_labels.empty();
  if (categorical) {
    ex.add(-0.5);
    ex.add(double(axes.x_category_labels.size()) - 0.5);
  }
  DataRanges r;
  bool pad_x = !categorical && !baseline;
  std::tie(r.x.low, r.x.high) = resolve_range(ex, axes.x_min, axes.x_max, pad_x, false);
  std::tie(r.y.low, r.y.high) = resolve_range(ey, axes.y_min, axes.y_max, true, baseline);
  r.x.categories = axes.x_category_labels;
  return r;
}

std::vector<cv::Scalar> series_colours(const Axes& axes) {
  std::set<int> taken;
  for (const auto& s : axes.series)
    if (s.colour >= 0) taken.insert(s.colour % palette_size);
  std::vector<cv::Scalar> out;
  int next = 0;
  for (const auto& s : axes.series) {
    if (s.colour >= 0) {
      out.push_back(palette(s.colour));
      continue;
    }
    if (int(taken.size()) < palette_size)
      while (taken.count(next % palette_size)) ++next;
    taken.insert(next % palette_size);
    out.push_back(palette(next++));
  }
  return out;
}

// Vertical position of the bars' baseline: y = 0, or the nearest edge if 0 is off-axis.
double baseline_value(const PlotTransform& t) {
  double lo = std::min(t.y_bottom, t.y_top), hi = std::max(t.y_bottom, t.y_top);
  return std::clamp(0.0, lo, hi);
}

// Polyline outline of a step series over bin centres: edges half-way between centres.
std::vector<cv::Point2d> step_outline(const Series& s, const PlotTransform& t) {
  std::vector<std::pair<double, double>> pts;
  for (size_t i = 0; i < point_count(s); ++i)
    if (std::isfinite(s.x[i])) pts.emplace_back(s.x[i], std::isfinite(s.y[i]) ? s.y[i] : 0.0);
  std::sort(pts.begin(), pts.end());
  std::vector<cv::Point2d> out;
  if (pts.empty()) return out;
  std::vector<double> xs;
  for (auto& p : pts) xs.push_back(p.first);
  const double half = 0.5 * min_spacing(xs), base = baseline_value(t);
  double left = pts.front().first - half;
  out.push_back(t.to_pixel(left, base));
  for (size_t i = 0; i < pts.size(); ++i) {
    const double right = i + 1 < pts.size() ? 0.5 * (pts[i].first + pts[i + 1].first) : pts[i].first + half;
    out.push_back(t.to_pixel(left, pts[i].second));
    out.push_back(t.to_pixel(right, pts[i].second));
    left = right;
  }
  out.push_back(t.to_pixel(left, base));
  return out;
}

void draw_error_bars(detail::Surface& p, const Series& s, const PlotTransform& t, cv::Scalar colour,
                     double x_offset, const detail::Theme& theme) {
  const int thick = std::max(1, cvRound(1.5 * theme.k));
  const double cap = 4 * theme.k;
  for (size_t i = 0; i < point_count(s); ++i) {
    if (!has_error(s, i) || !std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
    const double e = std::abs(s.y_err[i]);
    cv::Point2d lo = t.to_pixel(s.x[i] + x_offset, s.y[i] - e);
    cv::Point2d hi = t.to_pixel(s.x[i] + x_offset, s.y[i] + e);
    p.data_line(lo, hi, colour, thick);
    for (cv::Point2d end : {lo, hi}) p.data_line(end - cv::Point2d(cap, 0), end + cv::Point2d(cap, 0), colour, thick);
  }
}

// Runs of consecutive finite points in canvas pixels. Within a run, consecutive points
// falling in the same pixel column are reduced to the first, lowest, highest and last of
// them (in their original order): the drawn line looks the same, and a 100k-point trace
// costs a few thousand segments.
std::vector<std::vector<cv::Point2d>> finite_runs(const Series& s, const PlotTransform& t) {
  std::vector<std::vector<cv::Point2d>> runs(1);
  std::vector<cv::Point2d> column;  // points of the current column
  auto flush = [&] {
    if (column.size() <= 4) {
      runs.back().insert(runs.back().end(), column.begin(), column.end());
    } else {
      auto [lo, hi] = std::minmax_element(column.begin(), column.end(),
                                          [](auto& a, auto& b) { return a.y < b.y; });
      std::vector<size_t> keep = {0, size_t(lo - column.begin()), size_t(hi - column.begin()), column.size() - 1};
      std::sort(keep.begin(), keep.end());
      keep.erase(std::unique(keep.begin(), keep.end()), keep.end());
      for (size_t k : keep) runs.back().push_back(column[k]);
    }
    column.clear();
  };
  for (size_t i = 0; i < point_count(s); ++i) {
    const cv::Point2d p = t.to_pixel(s.x[i], s.y[i]);
    if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i]) || !finite(p)) {
      flush();
      if (!runs.back().empty()) runs.emplace_back();
      continue;
    }
    if (!column.empty() && std::floor(column.back().x) != std::floor(p.x)) flush();
    column.push_back(p);
  }
  flush();
  return runs;
}

void draw_series(detail::Surface& painter, const Axes& axes, const PlotTransform& t, const detail::Theme& theme) {
  painter.set_plot_area(t.area);
  const auto colours = series_colours(axes);
  const BarGeometry bars = bar_geometry(axes);
  int bar_index = 0;
  for (size_t k = 0; k < axes.series.size(); ++k) {
    const Series& s = axes.series[k];
    const cv::Scalar colour = colours[k];
    const size_t n = point_count(s);
    auto at = [&](size_t i) { return t.to_pixel(s.x[i], s.y[i]); };
    auto ok = [&](size_t i) { return std::isfinite(s.x[i]) && std::isfinite(s.y[i]); };
    switch (s.style) {
      case Series::line:
      case Series::line_points:
        for (const auto& run : finite_runs(s, t))
          for (size_t i = 1; i < run.size(); ++i) painter.data_line(run[i - 1], run[i], colour, theme.line_width);
        if (s.style == Series::line_points)
          for (size_t i = 0; i < n; ++i)
            if (ok(i)) painter.data_dot(at(i), theme.marker_radius, colour);
        draw_error_bars(painter, s, t, colour, 0, theme);
        break;
      case Series::points:
        draw_error_bars(painter, s, t, colour, 0, theme);
        for (size_t i = 0; i < n; ++i)
          if (ok(i)) painter.data_dot(at(i), theme.marker_radius, colour);
        break;
      case Series::bars: {
        const double offset = bars.offset(bar_index++), half = 0.5 * bars.width();
        const double base = baseline_value(t);
        for (size_t i = 0; i < n; ++i)
          if (ok(i))
            painter.data_box(t.to_pixel(s.x[i] + offset - half, base),
                        t.to_pixel(s.x[i] + offset + half, s.y[i]), colour);
        draw_error_bars(painter, s, t, cv::Scalar(40, 40, 40), offset, theme);
        break;
      }
      case Series::step: {
        auto outline = step_outline(s, t);
        painter.data_polygon(outline, colour, 0.25);
        for (size_t i = 1; i < outline.size(); ++i)
          painter.data_line(outline[i - 1], outline[i], colour, theme.line_width);
        draw_error_bars(painter, s, t, colour, 0, theme);
        break;
      }
    }
  }
}

// Canvas points where a series is drawn, to keep the legend off the data.
std::vector<cv::Point2d> occupied_points(const Axes& axes, const PlotTransform& t) {
  std::vector<cv::Point2d> pts;
  const double base = baseline_value(t);
  const BarGeometry bars = bar_geometry(axes);
  int bar_index = 0;
  for (const auto& s : axes.series) {
    const size_t n = point_count(s);
    const bool dense = n > 5000;
    const double offset = s.style == Series::bars ? bars.offset(bar_index++) : 0.0;
    const double half = s.style == Series::bars ? 0.5 * bars.width() : 0.0;
    for (size_t i = 0; i < n; ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      cv::Point2d p = t.to_pixel(s.x[i], s.y[i]);
      pts.push_back(p);
      if (has_error(s, i)) {
        const double e = std::abs(s.y_err[i]);
        pts.push_back(t.to_pixel(s.x[i] + offset, s.y[i] + e));
        pts.push_back(t.to_pixel(s.x[i] + offset, s.y[i] - e));
      }
      if (is_area_style(s)) {
        for (double dx : {-half, 0.0, half})
          for (int j = 0; j <= 6; ++j)
            pts.push_back(t.to_pixel(s.x[i] + offset + dx, s.y[i] + (base - s.y[i]) * (j / 6.0)));
      } else if (s.style != Series::points && !dense && i + 1 < n && std::isfinite(s.x[i + 1]) &&
                 std::isfinite(s.y[i + 1])) {
        cv::Point2d q = t.to_pixel(s.x[i + 1], s.y[i + 1]);
        for (int j = 1; j < 8; ++j) pts.push_back(p + (q - p) * (j / 8.0));
      }
    }
  }
  return pts;
}

void draw_legend(detail::Surface& canvas, const Axes& axes, const PlotTransform& t, const detail::Theme& theme) {
  using namespace detail;
  std::vector<size_t> entries;
  for (size_t k = 0; k < axes.series.size(); ++k)
    if (!axes.series[k].label.empty()) entries.push_back(k);
  const bool show = axes.legend.value_or(entries.size() >= 2);
  if (!show || entries.empty()) return;
  const Font font{0.52 * theme.k, theme.tick.thickness};
  const int swatch = cvRound(30 * theme.k), row = canvas.text_height(font) + theme.gap;
  std::vector<std::string> labels;
  int text_w = 0;
  for (size_t k : entries) {
    labels.push_back(canvas.ellipsize(axes.series[k].label, std::max(40, t.area.width / 2), font));
    text_w = std::max(text_w, canvas.text_width(labels.back(), font));
  }
  const cv::Size box(theme.gap * 3 + swatch + text_w, int(entries.size()) * row + theme.gap);
  const int inset = theme.gap;
  const cv::Rect& a = t.area;
  std::vector<cv::Point> corners = {{a.x + a.width - box.width - inset, a.y + inset},
                                    {a.x + inset, a.y + inset},
                                    {a.x + a.width - box.width - inset, a.y + a.height - box.height - inset},
                                    {a.x + inset, a.y + a.height - box.height - inset}};
  if (!axes.note.empty()) corners.erase(corners.begin() + 1);
  const auto occupied = occupied_points(axes, t);
  cv::Point best = corners.front();
  size_t best_count = std::numeric_limits<size_t>::max();
  for (const cv::Point& c : corners) {
    const cv::Rect2d r(c.x - 4, c.y - 4, box.width + 8, box.height + 8);
    size_t count = std::count_if(occupied.begin(), occupied.end(), [&](auto& p) { return r.contains(p); });
    if (count < best_count) {
      best_count = count;
      best = c;
    }
  }
  const cv::Rect frame(best, box);
  canvas.fill_rect(frame, kWhite);
  canvas.stroke_rect(frame, cv::Scalar(190, 190, 190));
  const auto colours = series_colours(axes);
  for (size_t e = 0; e < entries.size(); ++e) {
    const Series& s = axes.series[entries[e]];
    const cv::Scalar colour = colours[entries[e]];
    const int cy = frame.y + theme.gap + int(e) * row + row / 2 - theme.gap / 2;
    const int x0 = frame.x + theme.gap, x1 = x0 + swatch;
    if (is_area_style(s)) {
      const int h = canvas.text_height(font) / 2;
      canvas.fill_rect(cv::Rect(x0, cy - h, swatch, 2 * h), colour);
    } else {
      if (s.style != Series::points) canvas.swatch_line({x0, cy}, {x1, cy}, colour, theme.line_width);
      if (s.style != Series::line) canvas.swatch_disc({(x0 + x1) / 2, cy}, cvRound(theme.marker_radius), colour);
    }
    canvas.text(labels[e], {x1 + theme.gap, cy}, HAlign::left, VAlign::middle, font, kBlack);
  }
}

void draw_note(detail::Surface& canvas, const Axes& axes, const PlotTransform& t, const detail::Theme& theme) {
  using namespace detail;
  if (axes.note.empty()) return;
  const Font font{0.52 * theme.k, theme.tick.thickness};
  const std::string text = canvas.ellipsize(axes.note, t.area.width * 2 / 3, font);
  const cv::Point at(t.area.x + theme.gap, t.area.y + theme.gap);
  canvas.fill_rect(cv::Rect(at.x - 2, at.y - 2, canvas.text_width(text, font) + 4, canvas.text_height(font) + 4),
                   kWhite);
  canvas.text(text, at, HAlign::left, VAlign::top, font, kBlack);
}

void draw_zero_line(detail::Surface& canvas, const PlotTransform& t) {
  if (std::min(t.y_bottom, t.y_top) > 0 || std::max(t.y_bottom, t.y_top) < 0) return;
  const int y = cvRound(t.to_pixel(0, 0).y);
  canvas.rule({t.area.x, y}, {t.area.x + t.area.width - 1, y}, cv::Scalar(110, 110, 110), 1);
}

detail::Frame frame_for(const Axes& axes, const detail::Surface& text, cv::Size size, const detail::Theme& theme) {
  const DataRanges r = data_ranges(axes);
  return detail::layout_frame(text, size, theme, !axes.title.empty(), !axes.x_label.empty(),
                              !axes.y_label.empty(), r.x, r.y);
}

cv::Mat to_bgr8(const cv::Mat& image) {
  cv::Mat m = image;
  if (m.depth() != CV_8U) m.convertTo(m, CV_8U);
  if (m.channels() == 1) cv::cvtColor(m, m, cv::COLOR_GRAY2BGR);
  else if (m.channels() == 4) cv::cvtColor(m, m, cv::COLOR_BGRA2BGR);
  return m;
}

cv::Mat stack(const std::vector<cv::Mat>& images, bool horizontal) {
  std::vector<cv::Mat> parts;
  int across = 0;
  for (const auto& m : images) {
    if (m.empty()) continue;
    parts.push_back(to_bgr8(m));
    across = std::max(across, horizontal ? m.rows : m.cols);
  }
  if (parts.empty()) return {};
  for (auto& m : parts) {
    int missing = across - (horizontal ? m.rows : m.cols);
    if (missing > 0)
      cv::copyMakeBorder(m, m, 0, horizontal ? missing : 0, 0, horizontal ? 0 : missing,
                         cv::BORDER_CONSTANT, kWhite);
  }
  cv::Mat out;
  if (horizontal) cv::hconcat(parts, out);
  else cv::vconcat(parts, out);
  return out;
}

}  // namespace

// ------------------------------------------------------------------ public API

cv::Mat render_raster(const Axes& axes, cv::Size size);
cv::Mat render_grid_raster(const std::vector<Axes>& panels, int columns, cv::Size panel);

cv::Scalar palette(int index) {
  static const cv::Scalar colours[palette_size] = {
      {178, 114, 0},    // blue
      {0, 94, 213},     // vermillion
      {115, 158, 0},    // bluish green
      {0, 159, 230},    // orange
      {167, 121, 204},  // reddish purple
      {233, 180, 86},   // sky blue
      {0, 0, 0},        // black
      {66, 228, 240},   // yellow
  };
  int i = index % palette_size;
  return colours[i < 0 ? i + palette_size : i];
}

Series make_series(std::string label, std::vector<double> x, std::vector<double> y, Series::Style style,
                   int colour) {
  Series s;
  s.label = std::move(label);
  s.x = std::move(x);
  s.y = std::move(y);
  s.style = style;
  s.colour = colour;
  return s;
}

std::vector<double> nice_ticks(double lo, double hi, int target_count) {
  return ticks_with_min_step(lo, hi, target_count, 0);
}

std::string format_tick(double value, double step) {
  if (!std::isfinite(value)) return "";
  step = std::abs(step);
  if (step > 0 && std::abs(value) < step * 1e-6) value = 0;
  char buf[64];
  const double magnitude = std::max(std::abs(value), step);
  if (magnitude >= 1e6 || (step > 0 && step < 1e-4)) {
    std::snprintf(buf, sizeof buf, "%.4g", value);
  } else {
    int decimals = step > 0 ? std::max(0, int(-std::floor(std::log10(step) + 1e-9))) : 3;
    std::snprintf(buf, sizeof buf, "%.*f", std::min(decimals, 10), value);
  }
  std::string s = buf;
  if (s.find_first_not_of("-0.") == std::string::npos && s[0] == '-') s.erase(0, 1);  // no "-0"
  return s;
}

cv::Point2d PlotTransform::to_pixel(double x, double y) const {
  return {area.x + (x - x_left) / (x_right - x_left) * area.width,
          area.y + (y_top - y) / (y_top - y_bottom) * area.height};
}

PlotTransform plot_transform(const Axes& axes, cv::Size size) {
  cv::Mat none;
  return frame_for(axes, detail::MatSurface(none), size, detail::theme_for(size)).transform;
}

cv::Mat render_raster(const Axes& axes, cv::Size size) {
  if (size.width < 1 || size.height < 1) throw InputError("plot: canvas size must be positive");
  cv::Mat canvas(size, CV_8UC3, kWhite);
  detail::MatSurface surface(canvas);
  detail::draw_plot(surface, axes, size);
  return canvas;
}

Picture render(const Axes& axes, cv::Size size) { return Picture({axes}, 1, size, render_raster(axes, size)); }

Picture render_grid(const std::vector<Axes>& panels, int columns, cv::Size panel) {
  if (columns < 1) throw InputError("plot: a grid needs at least one column");
  return Picture(panels, columns, panel, render_grid_raster(panels, columns, panel));
}

cv::Mat render_grid_raster(const std::vector<Axes>& panels, int columns, cv::Size panel) {
  if (panels.empty()) return cv::Mat(panel, CV_8UC3, kWhite);
  const int cols = std::min<int>(columns, int(panels.size()));
  const int rows = (int(panels.size()) + cols - 1) / cols;
  cv::Mat canvas(panel.height * rows, panel.width * cols, CV_8UC3, kWhite);
  for (size_t i = 0; i < panels.size(); ++i) {
    const cv::Rect where(int(i) % cols * panel.width, int(i) / cols * panel.height, panel.width, panel.height);
    render_raster(panels[i], panel).copyTo(canvas(where));
  }
  return canvas;
}

Series histogram(const std::string& label, const std::vector<double>& values, int bins, double lo,
                 double hi, bool density, Series::Style style) {
  if (bins < 1) throw InputError("histogram '" + label + "': bins must be >= 1");
  if (!std::isfinite(lo) || !std::isfinite(hi) || !(lo < hi))
    throw InputError("histogram '" + label + "': range must be finite with lo < hi");
  std::vector<double> counts(size_t(bins), 0.0);
  double counted = 0;
  const double width = (hi - lo) / bins;
  for (double v : values) {
    if (!(v >= lo && v <= hi)) continue;  // also drops NaN
    const int b = std::min(bins - 1, int((v - lo) / width));
    counts[size_t(b)] += 1;
    counted += 1;
  }
  Series s;
  s.label = label;
  s.style = style;
  for (int b = 0; b < bins; ++b) {
    s.x.push_back(lo + (b + 0.5) * width);
    s.y.push_back(density ? (counted > 0 ? counts[size_t(b)] / (counted * width) : 0.0) : counts[size_t(b)]);
  }
  return s;
}

cv::Mat hstack(const std::vector<cv::Mat>& images) { return stack(images, true); }
cv::Mat vstack(const std::vector<cv::Mat>& images) { return stack(images, false); }

void write_png(const std::string& path, const cv::Mat& image) {
  if (image.empty()) throw file_error(path, "cannot write PNG: the image is empty");
  std::vector<uchar> bytes;
  try {
    cv::imencode(".png", to_bgr8(image), bytes);
  } catch (const cv::Exception& e) {
    throw file_error(path, std::string("cannot encode PNG: ") + e.what());
  }
  try {
    AtomicOutput out(path, true);
    out.write(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    out.commit();
  } catch (const InputError& e) {
    const std::string what = e.what();
    if (what.find(path) != std::string::npos) throw;
    throw file_error(path, "cannot write PNG: " + what);
  }
}

// ------------------------------------------------------------------ building blocks

namespace detail {

Theme theme_for(cv::Size size) {
  Theme t;
  t.k = std::clamp(std::sqrt(double(size.width) * size.height / (900.0 * 600.0)), 0.8, 3.0);
  t.title = {0.72 * t.k, std::max(1, cvRound(1.6 * t.k))};
  t.label = {0.6 * t.k, std::max(1, cvRound(1.2 * t.k))};
  t.tick = {0.5 * t.k, std::max(1, cvRound(1.0 * t.k))};
  t.pad = cvRound(12 * t.k);
  t.gap = cvRound(6 * t.k);
  t.tick_len = cvRound(6 * t.k);
  t.line_width = std::max(1, cvRound(2 * t.k));
  t.marker_radius = 3.5 * t.k;
  return t;
}

std::string ascii(const std::string& utf8) {
  std::string out;
  for (size_t i = 0; i < utf8.size();) {
    const uint8_t c = uint8_t(utf8[i]);
    if (c < 0x80) {
      out += (c < 0x20 || c == 0x7F) ? ' ' : char(c);
      ++i;
    } else {
      out += transliterate(next_code_point(utf8, i));
    }
  }
  return out;
}

int text_width(const std::string& text, Font font) {
  int baseline = 0;
  return cv::getTextSize(ascii(text), kFont, font.scale, font.thickness, &baseline).width;
}

int text_height(Font font) {
  int baseline = 0;
  const cv::Size s = cv::getTextSize("Ag", kFont, font.scale, font.thickness, &baseline);
  return s.height + baseline;
}

std::string ellipsize(const std::string& text, int max_width, Font font) {
  std::string s = ascii(text);
  if (text_width(s, font) <= max_width) return s;
  while (!s.empty() && text_width(s + "...", font) > max_width) s.pop_back();
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s + "...";
}

void draw_text(cv::Mat& canvas, const std::string& text, cv::Point anchor, HAlign h, VAlign v,
               Font font, cv::Scalar colour) {
  const std::string s = ascii(text);
  if (s.empty()) return;
  int baseline = 0;
  const cv::Size size = cv::getTextSize(s, kFont, font.scale, font.thickness, &baseline);
  int x = h == HAlign::left ? anchor.x : h == HAlign::centre ? anchor.x - size.width / 2 : anchor.x - size.width;
  // Baseline position; "middle" centres the capitals (digits), which is what ticks need.
  int y = v == VAlign::top ? anchor.y + size.height : v == VAlign::middle ? anchor.y + size.height / 2
                                                                          : anchor.y - baseline;
  cv::putText(canvas, s, {x, y}, kFont, font.scale, colour, font.thickness, cv::LINE_AA);
}

void draw_text_vertical(cv::Mat& canvas, const std::string& text, cv::Point centre, Font font,
                        cv::Scalar colour) {
  const std::string s = ascii(text);
  if (s.empty()) return;
  int baseline = 0;
  const cv::Size size = cv::getTextSize(s, kFont, font.scale, font.thickness, &baseline);
  cv::Mat strip(size.height + baseline + 4, size.width + 4, CV_8UC3, kWhite);
  cv::putText(strip, s, {2, 2 + size.height}, kFont, font.scale, colour, font.thickness, cv::LINE_AA);
  cv::Mat rotated;
  cv::rotate(strip, rotated, cv::ROTATE_90_COUNTERCLOCKWISE);
  if (canvas.type() != CV_8UC3) return;
  const cv::Rect target(centre.x - rotated.cols / 2, centre.y - rotated.rows / 2, rotated.cols, rotated.rows);
  const cv::Rect visible = target & cv::Rect(0, 0, canvas.cols, canvas.rows);
  if (visible.empty()) return;
  cv::Mat dst = canvas(visible);
  cv::Mat src = rotated(cv::Rect(visible.tl() - target.tl(), visible.size()));
  cv::min(dst, src, dst);  // dark text over whatever is there
}

namespace {

struct Ticks {
  std::vector<double> values;
  std::vector<std::string> labels;
  double step = 1;
};

Ticks axis_ticks(const AxisRange& r, int target) {
  Ticks t;
  const double lo = std::min(r.low, r.high), hi = std::max(r.low, r.high);
  const double eps = 1e-9 * (hi - lo);
  if (!r.categories.empty()) {
    for (size_t i = 0; i < r.categories.size(); ++i)
      if (double(i) >= lo - eps && double(i) <= hi + eps) {
        t.values.push_back(double(i));
        t.labels.push_back(r.categories[i]);
      }
    return t;
  }
  for (double v : ticks_with_min_step(lo, hi, target, r.integer_ticks ? 1.0 : 0.0, &t.step))
    if (v >= lo - eps && v <= hi + eps) t.values.push_back(v);
  for (double v : t.values) t.labels.push_back(format_tick(v, t.step));
  return t;
}

int widest(const Surface& text, const std::vector<std::string>& labels, Font font) {
  int w = 0;
  for (auto& s : labels) w = std::max(w, text.text_width(s, font));
  return w;
}

}  // namespace

Frame layout_frame(cv::Size size, const Theme& theme, bool has_title, bool has_x_label,
                   bool has_y_label, const AxisRange& x, const AxisRange& y, int right_extra) {
  cv::Mat none;
  return layout_frame(MatSurface(none), size, theme, has_title, has_x_label, has_y_label, x, y, right_extra);
}

Frame layout_frame(const Surface& text, cv::Size size, const Theme& theme, bool has_title, bool has_x_label,
                   bool has_y_label, const AxisRange& x, const AxisRange& y, int right_extra) {
  const int tick_h = text.text_height(theme.tick), label_h = text.text_height(theme.label);
  const int top = theme.pad + (has_title ? text.text_height(theme.title) + theme.pad : tick_h / 2);
  const int bottom = theme.tick_len + theme.gap + tick_h + (has_x_label ? 2 * theme.gap + label_h : 0) + theme.pad;
  const int area_h = std::max(20, size.height - top - bottom);

  const Ticks yt = axis_ticks(y, std::clamp(int(area_h / (75 * theme.k)), 3, 8));
  const int left = theme.pad + (has_y_label ? label_h + 2 * theme.gap : 0) + widest(text, yt.labels, theme.tick) +
                   theme.gap + theme.tick_len;
  const int right = 2 * theme.pad + right_extra;
  const int area_w = std::max(20, size.width - left - right);
  const double x_span = std::abs(x.high - x.low);

  Ticks xt;
  if (!x.categories.empty()) {
    xt = axis_ticks(x, 0);
    // Ellipsise to the room per category; when even that is too tight, label every k-th.
    const double per = area_w / x_span;
    const int room = std::max(text.text_width("ab...", theme.tick), int(per) - theme.gap);
    for (auto& s : xt.labels) s = text.ellipsize(s, room, theme.tick);
    const int every = std::max(1, int(std::ceil((widest(text, xt.labels, theme.tick) + theme.gap) / per)));
    for (size_t i = 0; i < xt.labels.size(); ++i)
      if (i % size_t(every)) xt.labels[i].clear();
  } else {
    for (int target = std::clamp(int(area_w / (100 * theme.k)), 3, 10);; --target) {
      xt = axis_ticks(x, target);
      const double spacing_px = xt.step / x_span * area_w;
      if (target <= 2 || spacing_px >= widest(text, xt.labels, theme.tick) + 2 * theme.gap) break;
    }
  }

  Frame f;
  f.transform.area = cv::Rect(left, top, area_w, area_h);
  f.transform.x_left = x.low;
  f.transform.x_right = x.high;
  f.transform.y_bottom = y.low;
  f.transform.y_top = y.high;
  f.categorical_x = !x.categories.empty();
  f.x_ticks = xt.values;
  f.x_tick_labels = xt.labels;
  f.y_ticks = yt.values;
  f.y_tick_labels = yt.labels;
  return f;
}

void draw_grid(cv::Mat& canvas, const Frame& f) {
  MatSurface surface(canvas);
  draw_grid(surface, f);
}

void draw_grid(Surface& canvas, const Frame& f) {
  const PlotTransform& t = f.transform;
  const cv::Rect& a = t.area;
  for (double v : f.y_ticks) {
    const int y = cvRound(t.to_pixel(0, v).y);
    canvas.rule({a.x, y}, {a.x + a.width - 1, y}, kGrid, 1);
  }
  if (f.categorical_x) return;  // categories are not a continuous scale
  for (double v : f.x_ticks) {
    const int x = cvRound(t.to_pixel(v, 0).x);
    canvas.rule({x, a.y}, {x, a.y + a.height - 1}, kGrid, 1);
  }
}

void draw_axes(cv::Mat& canvas, const Frame& f, const Theme& theme, const std::string& title,
               const std::string& x_label, const std::string& y_label) {
  MatSurface surface(canvas);
  draw_axes(surface, f, theme, title, x_label, y_label);
}

void draw_axes(Surface& canvas, const Frame& f, const Theme& theme, const std::string& title,
               const std::string& x_label, const std::string& y_label) {
  const PlotTransform& t = f.transform;
  const cv::Rect& a = t.area;
  const int left = a.x - 1, bottom = a.y + a.height;
  canvas.rule({left, a.y}, {left, bottom}, kBlack, 1);
  canvas.rule({left, bottom}, {a.x + a.width - 1, bottom}, kBlack, 1);
  for (size_t i = 0; i < f.x_ticks.size(); ++i) {
    const int x = cvRound(t.to_pixel(f.x_ticks[i], 0).x);
    canvas.rule({x, bottom}, {x, bottom + theme.tick_len}, kBlack, 1);
    canvas.text(f.x_tick_labels[i], {x, bottom + theme.tick_len + theme.gap / 2}, HAlign::centre, VAlign::top,
                theme.tick, kTickText);
  }
  for (size_t i = 0; i < f.y_ticks.size(); ++i) {
    const int y = cvRound(t.to_pixel(0, f.y_ticks[i]).y);
    canvas.rule({left - theme.tick_len, y}, {left, y}, kBlack, 1);
    canvas.text(f.y_tick_labels[i], {left - theme.tick_len - theme.gap / 2, y}, HAlign::right, VAlign::middle,
                theme.tick, kTickText);
  }
  const int tick_h = canvas.text_height(theme.tick), label_h = canvas.text_height(theme.label);
  if (!x_label.empty())
    canvas.text(canvas.ellipsize(x_label, a.width, theme.label),
                {a.x + a.width / 2, bottom + theme.tick_len + theme.gap + tick_h + 2 * theme.gap}, HAlign::centre,
                VAlign::top, theme.label, kBlack);
  if (!y_label.empty())
    canvas.text_vertical(canvas.ellipsize(y_label, a.height, theme.label), {theme.pad + label_h / 2, a.y + a.height / 2},
                         theme.label, kBlack);
  if (!title.empty()) {
    const int width = canvas.size().width;
    const std::string s = canvas.ellipsize(title, width - 2 * theme.pad, theme.title);
    const int w = canvas.text_width(s, theme.title);
    // Centred over the plot area, shifted as needed to stay on the canvas.
    const int cx = std::clamp(a.x + a.width / 2, theme.pad + w / 2, width - theme.pad - w / 2);
    canvas.text(s, {cx, theme.pad}, HAlign::centre, VAlign::top, theme.title, kBlack);
  }
}

void draw_plot(Surface& surface, const Axes& axes, cv::Size size) {
  const Theme theme = theme_for(size);
  const Frame frame = frame_for(axes, surface, size, theme);
  surface.fill_rect(cv::Rect(cv::Point(0, 0), size), kWhite);
  draw_grid(surface, frame);
  if (axes.zero_line) draw_zero_line(surface, frame.transform);
  draw_series(surface, axes, frame.transform, theme);
  draw_legend(surface, axes, frame.transform, theme);
  draw_note(surface, axes, frame.transform, theme);
  draw_axes(surface, frame, theme, axes.title, axes.x_label, axes.y_label);
}

// ------------------------------------------------------------------ surfaces

std::string Surface::ellipsize(const std::string& text, int max_width, Font font) const {
  if (text_width(text, font) <= max_width) return text;
  std::string s = text;
  auto pop_code_point = [&] {
    while (!s.empty() && (uint8_t(s.back()) & 0xC0) == 0x80) s.pop_back();
    if (!s.empty()) s.pop_back();
  };
  while (!s.empty() && text_width(s + "...", font) > max_width) pop_code_point();
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s + "...";
}

int MatSurface::text_width(const std::string& text, Font font) const { return detail::text_width(text, font); }
int MatSurface::text_height(Font font) const { return detail::text_height(font); }
std::string MatSurface::ellipsize(const std::string& text, int max_width, Font font) const {
  return detail::ellipsize(text, max_width, font);
}
void MatSurface::text(const std::string& text, cv::Point anchor, HAlign h, VAlign v, Font font, cv::Scalar colour) {
  draw_text(canvas_, text, anchor, h, v, font, colour);
}
void MatSurface::text_vertical(const std::string& text, cv::Point centre, Font font, cv::Scalar colour) {
  draw_text_vertical(canvas_, text, centre, font, colour);
}
void MatSurface::rule(cv::Point a, cv::Point b, cv::Scalar colour, int thickness) {
  cv::line(canvas_, a, b, colour, thickness);
}
void MatSurface::fill_rect(cv::Rect r, cv::Scalar colour) { cv::rectangle(canvas_, r, colour, cv::FILLED); }
void MatSurface::stroke_rect(cv::Rect r, cv::Scalar colour) { cv::rectangle(canvas_, r, colour, 1); }
void MatSurface::swatch_line(cv::Point a, cv::Point b, cv::Scalar colour, int thickness) {
  cv::line(canvas_, a, b, colour, thickness, cv::LINE_AA);
}
void MatSurface::swatch_disc(cv::Point centre, int radius, cv::Scalar colour) {
  cv::circle(canvas_, centre, radius, colour, cv::FILLED, cv::LINE_AA);
}
void MatSurface::set_plot_area(cv::Rect area) { area_ = area; }
void MatSurface::data_line(cv::Point2d a, cv::Point2d b, cv::Scalar colour, int thickness) {
  Painter(canvas_, area_).line(a, b, colour, thickness);
}
void MatSurface::data_dot(cv::Point2d centre, double radius, cv::Scalar colour) {
  Painter(canvas_, area_).dot(centre, radius, colour);
}
void MatSurface::data_box(cv::Point2d a, cv::Point2d b, cv::Scalar colour) { Painter(canvas_, area_).box(a, b, colour); }
void MatSurface::data_polygon(const std::vector<cv::Point2d>& points, cv::Scalar colour, double alpha) {
  Painter(canvas_, area_).translucent_polygon(points, colour, alpha);
}

}  // namespace detail
}  // namespace apical::plot
