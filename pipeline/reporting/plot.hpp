#pragma once
// apical::plot — a small plotting library on OpenCV core/imgproc/imgcodecs only, for the
// PNGs of `apical figures` and the QC report. Figures are meant to be read by scientists:
// white background, left/bottom axes with round tick values, axis labels, a title, a legend
// when there are several labelled series, Okabe–Ito colour-blind-safe colours, anti-aliased
// FONT_HERSHEY_SIMPLEX text sized for the canvas (default 900x600 px).
//
// Robustness: NaN/Inf values are skipped (a line breaks at them); empty, single-point and
// constant series still get a sensible axis range; over-long titles, labels and tick labels
// are ellipsised to fit. Hershey fonts are ASCII-only, so common symbols are transliterated
// (µ -> u, Δ -> d, ² -> ^2, ± -> +/-, σ -> sigma, ...), anything else becomes '?'.
// Rendering is single-threaded and deterministic: the same input gives the same pixels.
//
// Typical use:
//   plot::Axes a{.title = "dF/F", .x_label = "time (s)", .y_label = "dF/F"};
//   a.series.push_back(plot::make_series("soma", t, f));
//   plot::write_png("fig.png", plot::render(a));
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace apical::plot {

// Okabe–Ito palette in BGR, ordered for contrast on white (blue, vermillion, bluish green,
// orange, reddish purple, sky blue, black, yellow). The index wraps around.
cv::Scalar palette(int index);
constexpr int palette_size = 8;

struct Series {
  enum Style { line, points, line_points, bars, step };
  std::string label;            // shown in the legend; empty = not in the legend
  std::vector<double> x, y;     // same length (extra elements of the longer one are ignored)
  Style style = line;           // bars/step: x are bar/bin centres, bars rise from y = 0
  int colour = -1;              // palette index; -1 = the next unused palette colour
  std::vector<double> y_err;    // optional symmetric error bars (same length as y), drawn ±y_err
};

// Shorthand that avoids -Wmissing-field-initializers on aggregate initialisation.
Series make_series(std::string label, std::vector<double> x, std::vector<double> y,
                   Series::Style style = Series::line, int colour = -1);

struct Axes {
  std::string title, x_label, y_label;  // put units in the labels: "time (s)"
  std::optional<double> x_min, x_max, y_min, y_max;  // fixed limits; unset = from the data
  bool zero_line = false;               // grey horizontal line at y = 0
  std::vector<Series> series;
  // Bar charts by category: category i sits at x = i and is labelled x_category_labels[i].
  std::vector<std::string> x_category_labels;
  std::optional<bool> legend;           // unset = shown when >= 2 series have labels
  std::string note;                     // short text in the top-left corner ("r = 0.42")
};

// Where data lands on the canvas: the plot area and the data values at its edges.
// render() draws through exactly this transform (pixel centres at integer coordinates).
struct PlotTransform {
  cv::Rect area;                 // plot area in canvas pixels
  double x_left = 0, x_right = 1;   // data x at area.x and at area.x + area.width
  double y_bottom = 0, y_top = 1;   // data y at the bottom and top edges (may be flipped)
  cv::Point2d to_pixel(double x, double y) const;
};

// The layout render() uses for these axes on a canvas of this size.
PlotTransform plot_transform(const Axes& axes, cv::Size size = {900, 600});

// A rendered plot, or grid of plots, that keeps what it shows: it converts to its raster (a
// white BGR CV_8UC3 cv::Mat, OpenCV's Hershey fonts) and write_figure() draws it again
// through cairo as PNG, PDF and SVG with real fonts.
class Picture {
 public:
  Picture(std::vector<Axes> panels, int columns, cv::Size panel, cv::Mat raster)
      : panels_(std::move(panels)), columns_(columns), panel_(panel), raster_(std::move(raster)) {}
  operator const cv::Mat&() const { return raster_; }
  const cv::Mat& raster() const { return raster_; }
  const std::vector<Axes>& panels() const { return panels_; }
  int columns() const { return columns_; }
  cv::Size panel_size() const { return panel_; }

 private:
  std::vector<Axes> panels_;
  int columns_ = 1;
  cv::Size panel_;
  cv::Mat raster_;
};

// One plot on a white canvas of `size` px.
Picture render(const Axes& axes, cv::Size size = {900, 600});

// Several plots in a grid, row-major, `columns` per row; each panel rendered at `panel` size.
// Throws InputError if columns < 1.
Picture render_grid(const std::vector<Axes>& panels, int columns, cv::Size panel = {450, 340});

// The same drawing through cairo, with real fonts (pango; DejaVu Sans), so Unicode labels
// print as themselves: STEM.png (the raster's size), STEM.pdf and STEM.svg (vector, 1 px =
// 0.75 pt, text as text in the PDF and as glyph outlines in the SVG). Each file is written
// atomically. Throws InputError naming the file on failure, or when a label has a
// character no installed font can draw.
struct FigureFiles {
  std::string png, pdf, svg;
};
FigureFiles write_figure(const std::string& stem, const Picture& picture);

// Bins the finite values inside [lo, hi] into `bins` equal bins (a value equal to hi goes in
// the last bin; values outside are ignored). Returns bin centres as x and counts (or a density
// that integrates to 1 over the counted values) as y. Throws InputError for bins < 1 or
// a range that is not finite with lo < hi.
Series histogram(const std::string& label, const std::vector<double>& values, int bins,
                 double lo, double hi, bool density, Series::Style style = Series::bars);

// Round tick values of the form i * m * 10^k (m in {1, 2, 5}) spanning [lo, hi]: the first
// is <= lo and the last >= hi, with about target_count of them inside [lo, hi] (the ones an
// axis shows). lo > hi is swapped; lo == hi is widened; non-finite input gives an empty vector.
std::vector<double> nice_ticks(double lo, double hi, int target_count);

// Tick label text for values spaced `step` apart ("0.25", "1500", "1e+06", never "-0").
std::string format_tick(double value, double step);

// ------------------------------------------------------------------ images

// The lo_pct and hi_pct percentiles (0..100) of the finite values of a single-channel image
// (sampled with a fixed stride above 4 M values). {0, 1} when there are no finite values.
// Throws InputError unless 0 <= lo_pct < hi_pct <= 100.
std::pair<double, double> percentile_limits(const cv::Mat& image, double lo_pct, double hi_pct);

enum class ColourMap { grey, viridis, diverging /* blue - white - vermillion, for signed data */ };

// Maps a single-channel image linearly from [lo, hi] onto the colour map (clipped) as BGR 8-bit.
// Non-finite values are drawn in `missing` colour.
cv::Mat colourise(const cv::Mat& image, double lo, double hi, ColourMap map,
                  cv::Scalar missing = {200, 200, 200});

struct ImageOptions {
  double lo_pct = 1, hi_pct = 99;     // contrast limits as percentiles of the finite values
  ColourMap colour_map = ColourMap::grey;
  double display_scale = 0;           // canvas px per image px; 0 = fit about 480 px
  double um_per_pixel = 0;            // > 0: draw a scale bar
  double scale_bar_um = 0;            // its length; 0 = a round length near 1/5 of the width
};

// An image drawn on a canvas with a title above it. `scale` and `offset` place image pixel
// (x, y) (continuous coordinates, pixel i spans [i, i+1)) at canvas point
// (x * scale + offset.x, y * scale + offset.y), so outlines and links can be drawn on it.
struct ImagePanel {
  cv::Mat canvas;  // BGR CV_8UC3
  double scale = 1;
  cv::Point offset;
  // Outline of a mask given as pixel indices y * image_width + x.
  void outline(const std::vector<uint32_t>& pixels, int image_width, cv::Scalar colour,
               int thickness = 1);
  // A line between two image points in pixel-index coordinates (pixel (x, y) is centred at
  // (x, y), so a mask centroid is the mean of its pixels' indices), e.g. a soma-dendrite pair.
  void link(cv::Point2d a, cv::Point2d b, cv::Scalar colour, int thickness = 1);
};

// A float image (single channel, any depth; shown via CV_32F) with percentile contrast.
// Throws InputError for an empty or multi-channel image.
ImagePanel image_panel(const cv::Mat& image, const std::string& title, double lo_pct = 1,
                       double hi_pct = 99);
ImagePanel image_panel(const cv::Mat& image, const std::string& title, const ImageOptions& options);

// Draws the outline of a mask (pixel indices y * image_width + x) onto a BGR canvas on which
// the image is shown at `scale` with its top-left corner at `offset`. Outlines follow pixel
// edges when scale >= 1.5. Throws InputError for image_width < 1.
void draw_outline(cv::Mat& canvas_bgr, const std::vector<uint32_t>& pixels, int image_width,
                  cv::Scalar colour, double scale = 1.0, cv::Point offset = {}, int thickness = 1);

struct HeatmapOptions {
  double lo_pct = 1, hi_pct = 99;  // colour limits as percentiles of the finite values
  ColourMap colour_map = ColourMap::viridis;  // diverging: limits made symmetric about 0
  std::string colour_label;        // label of the colour bar, with units ("dF/F")
  cv::Size size = {900, 600};
};

// A rows x cols value matrix (e.g. ROIs x time) as an image filling the plot area: row 0 at the
// top, x from 0 to x_extent (e.g. seconds), y labelled by row index, with a colour bar.
// Throws InputError for an empty or multi-channel matrix or a non-positive x_extent.
cv::Mat heatmap(const cv::Mat& values, const std::string& title, const std::string& x_label,
                const std::string& y_label, double x_extent, const HeatmapOptions& options = {});

// ------------------------------------------------------------------ composition and output

// Side by side / one above the other, top/left aligned, padded with white to equal size.
// Grey images are converted to BGR; empty images are skipped.
cv::Mat hstack(const std::vector<cv::Mat>& images);
cv::Mat vstack(const std::vector<cv::Mat>& images);

// Writes a PNG atomically (temporary file renamed into place), creating the folder if needed
// and overwriting an existing file. Throws InputError naming the path on failure.
void write_png(const std::string& path, const cv::Mat& image);

// ------------------------------------------------------------------ building blocks
// Shared by the renderers (plot.cpp, plot_image.cpp); usable for custom panels.
namespace detail {

struct Font {
  double scale = 0.5;
  int thickness = 1;
};

// Sizes for a canvas, scaled from the 900x600 default (never smaller than 0.8x).
struct Theme {
  double k = 1;  // size factor
  Font title, label, tick;
  int pad = 12, gap = 6, tick_len = 6, line_width = 2;
  double marker_radius = 4;
};
Theme theme_for(cv::Size size);

enum class HAlign { left, centre, right };
enum class VAlign { top, middle, bottom };  // bottom = below the descenders

std::string ascii(const std::string& utf8);
int text_width(const std::string& text, Font font);
int text_height(Font font);  // ascent + descent, the same for every text
std::string ellipsize(const std::string& text, int max_width, Font font);
void draw_text(cv::Mat& canvas, const std::string& text, cv::Point anchor, HAlign h, VAlign v,
               Font font, cv::Scalar colour = {0, 0, 0});
// Text rotated 90 degrees counter-clockwise (reading bottom to top), centred on `centre`.
void draw_text_vertical(cv::Mat& canvas, const std::string& text, cv::Point centre, Font font,
                        cv::Scalar colour = {0, 0, 0});

// One axis: data values at the low (left/bottom) and high (right/top) ends; low > high flips it.
struct AxisRange {
  double low = 0, high = 1;
  bool integer_ticks = false;            // tick spacing at least 1
  std::vector<std::string> categories;   // ticks at 0..n-1 with these labels
};

struct Frame {
  PlotTransform transform;
  std::vector<double> x_ticks, y_ticks;
  std::vector<std::string> x_tick_labels, y_tick_labels;
  bool categorical_x = false;
};

// Plot area and ticks for a canvas, leaving `right_extra` px on the right (e.g. a colour bar).
Frame layout_frame(cv::Size size, const Theme& theme, bool has_title, bool has_x_label,
                   bool has_y_label, const AxisRange& x, const AxisRange& y, int right_extra = 0);
void draw_grid(cv::Mat& canvas, const Frame& frame);
// Spines, ticks, tick labels, axis labels and title.
void draw_axes(cv::Mat& canvas, const Frame& frame, const Theme& theme, const std::string& title,
               const std::string& x_label, const std::string& y_label);

}  // namespace detail
}  // namespace apical::plot
