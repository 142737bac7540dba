// The cairo surface of apical::plot: figures as PNG, PDF and SVG from one drawing, with text
// set by pango in a real font (DejaVu Sans), so Δ, µ and ± print as themselves.
#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <cairo.h>
#include <pango/pangocairo.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <string>
#include <memory>

#include "io/atomic_output.hpp"
#include "io/error.hpp"
#include "pipeline/reporting/plot_surface.hpp"

namespace apical::plot {
namespace {

// Owning handles: every cairo/pango object is released on every path, errors included.
struct CairoSurfaceFree {
  void operator()(cairo_surface_t* s) const { cairo_surface_destroy(s); }
};
struct CairoFree {
  void operator()(cairo_t* c) const { cairo_destroy(c); }
};
struct GObjectFree {
  void operator()(void* o) const { g_object_unref(o); }
};
struct FontFree {
  void operator()(PangoFontDescription* f) const { pango_font_description_free(f); }
};
using SurfaceHandle = std::unique_ptr<cairo_surface_t, CairoSurfaceFree>;
using ContextHandle = std::unique_ptr<cairo_t, CairoFree>;
using LayoutHandle = std::unique_ptr<PangoLayout, GObjectFree>;
using FontHandle = std::unique_ptr<PangoFontDescription, FontFree>;

// Hershey scale 1 is about 28 px of a real font's em (same cap height, so layouts match).
constexpr double kPxPerHersheyScale = 28.0;
constexpr double kPdfPointsPerPx = 0.75;  // 96 px per inch: a 900 px panel is 9.4 inches wide
const char* const kFontFamily = "DejaVu Sans, Liberation Sans, sans-serif";

void set_colour(cairo_t* cr, cv::Scalar bgr, double alpha = 1.0) {
  cairo_set_source_rgba(cr, bgr[2] / 255.0, bgr[1] / 255.0, bgr[0] / 255.0, alpha);
}

// OpenCV puts pixel centres at integers; cairo at half-integers.
double c(double v) { return std::clamp(v, -1e5, 1e5) + 0.5; }

class CairoSurface : public detail::Surface {
 public:
  CairoSurface(cairo_t* cr, cv::Size size)
      : cr_(cr), size_(size), layout_(pango_cairo_create_layout(cr)), font_(pango_font_description_from_string(kFontFamily)) {}
  int unknown_glyphs() const { return unknown_glyphs_; }

  cv::Size size() const override { return size_; }
  int text_width(const std::string& text, detail::Font font) const override { return extents(text, font).width; }
  int text_height(detail::Font font) const override { return extents("Ag", font).height; }

  void text(const std::string& text, cv::Point anchor, detail::HAlign h, detail::VAlign v, detail::Font font,
            cv::Scalar colour) override {
    if (text.empty()) return;
    const PangoRectangle r = extents(text, font);
    const double x = h == detail::HAlign::left ? anchor.x : h == detail::HAlign::centre ? anchor.x - r.width / 2.0 : anchor.x - r.width;
    const double baseline = pango_layout_get_baseline(layout_.get()) / double(PANGO_SCALE);
    const double cap = 0.73 * font_px(font);  // "middle" centres the capitals (digits), as ticks need
    const double y = v == detail::VAlign::top ? anchor.y : v == detail::VAlign::middle ? anchor.y - baseline + cap / 2 : anchor.y - r.height;
    cairo_save(cr_);
    set_colour(cr_, colour);
    cairo_move_to(cr_, x - r.x, y);
    pango_cairo_show_layout(cr_, layout_.get());
    cairo_restore(cr_);
    unknown_glyphs_ += pango_layout_get_unknown_glyphs_count(layout_.get());
  }
  void text_vertical(const std::string& text, cv::Point centre, detail::Font font, cv::Scalar colour) override {
    cairo_save(cr_);
    cairo_translate(cr_, centre.x, centre.y);
    cairo_rotate(cr_, -M_PI / 2);
    this->text(text, {0, 0}, detail::HAlign::centre, detail::VAlign::middle, font, colour);
    cairo_restore(cr_);
  }

  void rule(cv::Point a, cv::Point b, cv::Scalar colour, int thickness) override {
    stroke_line(a, b, colour, thickness, CAIRO_LINE_CAP_SQUARE);
  }
  void fill_rect(cv::Rect r, cv::Scalar colour) override {
    set_colour(cr_, colour);
    cairo_rectangle(cr_, r.x, r.y, r.width, r.height);
    cairo_fill(cr_);
  }
  void stroke_rect(cv::Rect r, cv::Scalar colour) override {
    set_colour(cr_, colour);
    cairo_set_line_width(cr_, 1);
    cairo_rectangle(cr_, r.x + 0.5, r.y + 0.5, r.width - 1, r.height - 1);
    cairo_stroke(cr_);
  }
  void swatch_line(cv::Point a, cv::Point b, cv::Scalar colour, int thickness) override {
    stroke_line(a, b, colour, thickness, CAIRO_LINE_CAP_ROUND);
  }
  void swatch_disc(cv::Point centre, int radius, cv::Scalar colour) override {
    disc(centre, radius, colour);
  }

  void set_plot_area(cv::Rect area) override { area_ = area; }
  void data_line(cv::Point2d a, cv::Point2d b, cv::Scalar colour, int thickness) override {
    if (!finite(a) || !finite(b)) return;
    Clip clip(cr_, area_);
    stroke_line(a, b, colour, thickness + 0.5, CAIRO_LINE_CAP_ROUND);  // as heavy as OpenCV's anti-aliased lines
  }
  void data_dot(cv::Point2d centre, double radius, cv::Scalar colour) override {
    if (!finite(centre)) return;
    Clip clip(cr_, area_);
    disc(centre, radius, colour);
  }
  void data_box(cv::Point2d a, cv::Point2d b, cv::Scalar colour) override {
    if (!finite(a) || !finite(b)) return;
    Clip clip(cr_, area_);
    set_colour(cr_, colour);
    const double x0 = c(std::min(a.x, b.x)) - 0.5, x1 = c(std::max(a.x, b.x)) + 0.5;
    const double y0 = c(std::min(a.y, b.y)) - 0.5, y1 = c(std::max(a.y, b.y)) + 0.5;
    cairo_rectangle(cr_, x0, y0, x1 - x0, y1 - y0);
    cairo_fill(cr_);
  }
  void data_polygon(const std::vector<cv::Point2d>& points, cv::Scalar colour, double alpha) override {
    Clip clip(cr_, area_);
    bool first = true;
    for (const cv::Point2d& p : points) {
      if (!finite(p)) continue;
      if (first) cairo_move_to(cr_, c(p.x), c(p.y));
      else cairo_line_to(cr_, c(p.x), c(p.y));
      first = false;
    }
    cairo_close_path(cr_);
    set_colour(cr_, colour, alpha);
    cairo_fill(cr_);
  }

 private:
  // Drawing clipped to a rectangle for the lifetime of the object.
  struct Clip {
    cairo_t* cr;
    Clip(cairo_t* context, cv::Rect r) : cr(context) {
      cairo_save(cr);
      cairo_rectangle(cr, r.x, r.y, r.width, r.height);
      cairo_clip(cr);
    }
    ~Clip() { cairo_restore(cr); }
  };

  static bool finite(cv::Point2d p) { return std::isfinite(p.x) && std::isfinite(p.y); }
  static double font_px(detail::Font font) { return std::max(4.0, kPxPerHersheyScale * font.scale); }

  // Sets the layout's text and font; returns its logical extents in px.
  PangoRectangle extents(const std::string& text, detail::Font font) const {
    pango_font_description_set_absolute_size(font_.get(), font_px(font) * PANGO_SCALE);
    pango_layout_set_font_description(layout_.get(), font_.get());
    pango_layout_set_text(layout_.get(), text.c_str(), int(text.size()));
    PangoRectangle logical;
    pango_layout_get_pixel_extents(layout_.get(), nullptr, &logical);
    return logical;
  }
  void stroke_line(cv::Point2d a, cv::Point2d b, cv::Scalar colour, double width, cairo_line_cap_t cap) {
    set_colour(cr_, colour);
    cairo_set_line_width(cr_, std::max(1.0, width));
    cairo_set_line_cap(cr_, cap);
    cairo_move_to(cr_, c(a.x), c(a.y));
    cairo_line_to(cr_, c(b.x), c(b.y));
    cairo_stroke(cr_);
  }
  void disc(cv::Point2d centre, double radius, cv::Scalar colour) {
    set_colour(cr_, colour);
    cairo_arc(cr_, c(centre.x), c(centre.y), std::max(0.5, radius), 0, 2 * M_PI);
    cairo_fill(cr_);
  }

  cairo_t* cr_;
  cv::Size size_;
  LayoutHandle layout_;
  FontHandle font_;
  cv::Rect area_;
  int unknown_glyphs_ = 0;
};

cv::Size canvas_size(const Picture& picture) {
  const int n = std::max<int>(1, int(picture.panels().size()));
  const int cols = std::min(picture.columns(), n), rows = (n + cols - 1) / cols;
  return {picture.panel_size().width * cols, picture.panel_size().height * rows};
}

// Draws every panel of the picture; returns the number of characters no font could draw.
int draw_picture(cairo_t* cr, const Picture& picture) {
  const cv::Size total = canvas_size(picture), panel = picture.panel_size();
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_rectangle(cr, 0, 0, total.width, total.height);
  cairo_fill(cr);
  const int cols = std::min<int>(picture.columns(), std::max<int>(1, int(picture.panels().size())));
  int unknown = 0;
  for (size_t i = 0; i < picture.panels().size(); ++i) {
    cairo_save(cr);
    cairo_translate(cr, int(i) % cols * panel.width, int(i) / cols * panel.height);
    cairo_rectangle(cr, 0, 0, panel.width, panel.height);
    cairo_clip(cr);
    CairoSurface surface(cr, panel);
    detail::draw_plot(surface, picture.panels()[i], panel);
    unknown += surface.unknown_glyphs();
    cairo_restore(cr);
  }
  return unknown;
}

cairo_status_t append_bytes(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

void write_bytes(const std::string& path, const std::string& bytes) {
  AtomicOutput out(path, true);
  out.write(bytes);
  out.commit();
}

enum class Format { png, pdf, svg };

// SOURCE_DATE_EPOCH (reproducible-builds convention) as an ISO 8601 date, for a PDF that is
// the same byte for byte whenever it is made; empty when unset (cairo then dates it now).
std::string source_date() {
  const char* epoch = std::getenv("SOURCE_DATE_EPOCH");
  if (!epoch || !*epoch) return {};
  char* end = nullptr;
  const long long seconds = std::strtoll(epoch, &end, 10);
  if (*end != '\0' || seconds < 0) return {};
  const std::time_t t = std::time_t(seconds);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

// One file of the picture in one format, drawn on a fresh cairo surface.
std::string encode(const Picture& picture, Format format, const std::string& path) {
  const cv::Size px = canvas_size(picture);
  std::string bytes;
  SurfaceHandle surface;
  const double w_pt = px.width * kPdfPointsPerPx, h_pt = px.height * kPdfPointsPerPx;
  switch (format) {
    case Format::png: surface.reset(cairo_image_surface_create(CAIRO_FORMAT_RGB24, px.width, px.height)); break;
    case Format::pdf:
      surface.reset(cairo_pdf_surface_create_for_stream(append_bytes, &bytes, w_pt, h_pt));
      cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_CREATOR, "apical");
      if (const std::string date = source_date(); !date.empty())
        cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_CREATE_DATE, date.c_str());
      break;
    case Format::svg: surface.reset(cairo_svg_surface_create_for_stream(append_bytes, &bytes, w_pt, h_pt)); break;
  }
  if (cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS)
    throw file_error(path, std::string("cannot create the drawing: ") + cairo_status_to_string(cairo_surface_status(surface.get())));
  int unknown = 0;
  {
    ContextHandle cr(cairo_create(surface.get()));
    if (format != Format::png) cairo_scale(cr.get(), kPdfPointsPerPx, kPdfPointsPerPx);
    unknown = draw_picture(cr.get(), picture);
    if (cairo_status(cr.get()) != CAIRO_STATUS_SUCCESS)
      throw file_error(path, std::string("cannot draw: ") + cairo_status_to_string(cairo_status(cr.get())));
  }
  if (unknown > 0)
    throw file_error(path, std::to_string(unknown) + " character(s) of the labels are in no installed font "
                                                     "(install fonts-dejavu-core)");
  if (format == Format::png) cairo_surface_write_to_png_stream(surface.get(), append_bytes, &bytes);
  cairo_surface_finish(surface.get());
  if (cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS)
    throw file_error(path, std::string("cannot encode: ") + cairo_status_to_string(cairo_surface_status(surface.get())));
  return bytes;
}

}  // namespace

FigureFiles write_figure(const std::string& stem, const Picture& picture) {
  if (picture.panels().empty()) throw file_error(stem + ".png", "cannot write a figure without panels");
  const FigureFiles files{stem + ".png", stem + ".pdf", stem + ".svg"};
  write_bytes(files.png, encode(picture, Format::png, files.png));
  write_bytes(files.pdf, encode(picture, Format::pdf, files.pdf));
  write_bytes(files.svg, encode(picture, Format::svg, files.svg));
  return files;
}

}  // namespace apical::plot
