#pragma once
// Where apical::plot draws. render() lays out and draws a plot once, through this interface,
// onto either an OpenCV canvas (the QC pictures and render()'s cv::Mat: Hershey fonts, ASCII
// only) or a cairo surface (the figures' PNG, PDF and SVG: real fonts through pango, so
// Δ, µ and ± print as themselves). Coordinates are canvas pixels with pixel centres at
// integer positions, as in OpenCV; colours are BGR.
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "pipeline/reporting/plot.hpp"

namespace apical::plot::detail {

class Surface {
 public:
  virtual ~Surface() = default;
  virtual cv::Size size() const = 0;

  // Text, measured and drawn in this surface's font.
  virtual int text_width(const std::string& text, Font font) const = 0;
  virtual int text_height(Font font) const = 0;  // ascent + descent, the same for every text
  virtual void text(const std::string& text, cv::Point anchor, HAlign h, VAlign v, Font font,
                    cv::Scalar colour) = 0;
  // Rotated 90 degrees counter-clockwise (reading bottom to top), centred on `centre`.
  virtual void text_vertical(const std::string& text, cv::Point centre, Font font, cv::Scalar colour) = 0;
  // Text that fits max_width, shortened with "..." when it does not.
  virtual std::string ellipsize(const std::string& text, int max_width, Font font) const;

  // Axes furniture on the pixel grid: a crisp line through pixel centres a..b (inclusive),
  // rectangles filled or outlined (1 px) on whole pixels.
  virtual void rule(cv::Point a, cv::Point b, cv::Scalar colour, int thickness) = 0;
  virtual void fill_rect(cv::Rect r, cv::Scalar colour) = 0;
  virtual void stroke_rect(cv::Rect r, cv::Scalar colour) = 0;
  // Legend swatches: an anti-aliased line and disc.
  virtual void swatch_line(cv::Point a, cv::Point b, cv::Scalar colour, int thickness) = 0;
  virtual void swatch_disc(cv::Point centre, int radius, cv::Scalar colour) = 0;

  // Data, clipped to the plot area set last (sub-pixel positions, anti-aliased).
  virtual void set_plot_area(cv::Rect area) = 0;
  virtual void data_line(cv::Point2d a, cv::Point2d b, cv::Scalar colour, int thickness) = 0;
  virtual void data_dot(cv::Point2d centre, double radius, cv::Scalar colour) = 0;
  virtual void data_box(cv::Point2d a, cv::Point2d b, cv::Scalar colour) = 0;  // filled, corners a and b
  virtual void data_polygon(const std::vector<cv::Point2d>& points, cv::Scalar colour, double alpha) = 0;
};

// The OpenCV canvas (BGR CV_8UC3): exactly the pixels apical::plot drew before surfaces.
class MatSurface : public Surface {
 public:
  explicit MatSurface(cv::Mat& canvas) : canvas_(canvas) {}
  cv::Size size() const override { return canvas_.size(); }
  int text_width(const std::string& text, Font font) const override;
  int text_height(Font font) const override;
  std::string ellipsize(const std::string& text, int max_width, Font font) const override;
  void text(const std::string& text, cv::Point anchor, HAlign h, VAlign v, Font font, cv::Scalar colour) override;
  void text_vertical(const std::string& text, cv::Point centre, Font font, cv::Scalar colour) override;
  void rule(cv::Point a, cv::Point b, cv::Scalar colour, int thickness) override;
  void fill_rect(cv::Rect r, cv::Scalar colour) override;
  void stroke_rect(cv::Rect r, cv::Scalar colour) override;
  void swatch_line(cv::Point a, cv::Point b, cv::Scalar colour, int thickness) override;
  void swatch_disc(cv::Point centre, int radius, cv::Scalar colour) override;
  void set_plot_area(cv::Rect area) override;
  void data_line(cv::Point2d a, cv::Point2d b, cv::Scalar colour, int thickness) override;
  void data_dot(cv::Point2d centre, double radius, cv::Scalar colour) override;
  void data_box(cv::Point2d a, cv::Point2d b, cv::Scalar colour) override;
  void data_polygon(const std::vector<cv::Point2d>& points, cv::Scalar colour, double alpha) override;

 private:
  cv::Mat& canvas_;
  cv::Rect area_;
};

// Layout and drawing of plots on any surface (plot.cpp); the cv::Mat functions of plot.hpp
// call these with a MatSurface.
Frame layout_frame(const Surface& surface, cv::Size size, const Theme& theme, bool has_title, bool has_x_label,
                   bool has_y_label, const AxisRange& x, const AxisRange& y, int right_extra = 0);
void draw_grid(Surface& surface, const Frame& frame);
void draw_axes(Surface& surface, const Frame& frame, const Theme& theme, const std::string& title,
               const std::string& x_label, const std::string& y_label);
// One plot filling a surface of `size` (white background included).
void draw_plot(Surface& surface, const Axes& axes, cv::Size size);

}  // namespace apical::plot::detail
