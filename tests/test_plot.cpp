// Plotting: tick choice, the data-to-pixel transform, histograms, robustness to bad values,
// images/outlines/heatmaps, and PNG output.
#include <cmath>
#include <limits>
#include <random>

#include <catch2/catch.hpp>

#include <opencv2/imgcodecs.hpp>

#include "io/error.hpp"
#include "pipeline/reporting/plot.hpp"
#include "tests/test_support.hpp"

using namespace apical;
using namespace apical::plot;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

// Largest per-channel difference between a canvas pixel and a colour.
double colour_distance(const cv::Vec3b& px, cv::Scalar c) {
  double d = 0;
  for (int i = 0; i < 3; ++i) d = std::max(d, std::abs(double(px[i]) - c[i]));
  return d;
}

// True if some pixel within `radius` of p is within `tolerance` of colour c.
bool colour_near(const cv::Mat& img, cv::Point2d p, cv::Scalar c, int radius = 2, double tolerance = 40) {
  for (int dy = -radius; dy <= radius; ++dy)
    for (int dx = -radius; dx <= radius; ++dx) {
      const int x = int(std::lround(p.x)) + dx, y = int(std::lround(p.y)) + dy;
      if (x < 0 || y < 0 || x >= img.cols || y >= img.rows) continue;
      if (colour_distance(img.at<cv::Vec3b>(y, x), c) <= tolerance) return true;
    }
  return false;
}

// The mantissa m of a spacing m * 10^k.
double mantissa(double spacing) { return spacing / std::pow(10.0, std::floor(std::log10(spacing) + 1e-12)); }

Axes two_line_axes() {
  Axes a;
  a.title = "two lines";
  a.x_label = "time (s)";
  a.y_label = "dF/F";
  const Series up = make_series("rising", std::vector<double>{0, 10}, std::vector<double>{0, 10});
  const Series down = make_series("falling", std::vector<double>{0, 10}, std::vector<double>{10, 0});
  a.series = {up, down};
  return a;
}

}  // namespace

TEST_CASE("nice_ticks gives round values covering (0, 9.3)", "[plot]") {
  const auto t = nice_ticks(0, 9.3, 6);
  CHECK(t == std::vector<double>{0, 2, 4, 6, 8, 10});
}

TEST_CASE("nice_ticks: increasing, {1,2,5}x10^k spacing, covering, for random ranges", "[plot]") {
  std::mt19937_64 rng(20240601);
  std::uniform_real_distribution<double> exponent(-6, 6), unit(-1, 1), relative_span(-5, 1);
  std::uniform_int_distribution<int> target(2, 12);
  for (int trial = 0; trial < 3000; ++trial) {
    const double magnitude = std::pow(10.0, exponent(rng));
    const double lo = unit(rng) * magnitude;
    const double span = magnitude * std::pow(10.0, relative_span(rng));
    const double hi = lo + span;
    const int n = target(rng);
    const auto t = nice_ticks(lo, hi, n);
    INFO("lo=" << lo << " hi=" << hi << " target=" << n);
    REQUIRE(t.size() >= 2);
    CHECK(t.size() <= size_t(2 * n + 2));
    const double spacing = t[1] - t[0];
    for (size_t i = 1; i < t.size(); ++i) {
      REQUIRE(t[i] > t[i - 1]);
      CHECK(std::abs((t[i] - t[i - 1]) - spacing) <= 1e-6 * spacing);
    }
    const double m = mantissa(spacing);
    CHECK((std::abs(m - 1) < 1e-6 || std::abs(m - 2) < 1e-6 || std::abs(m - 5) < 1e-6 || std::abs(m - 10) < 1e-6));
    CHECK(t.front() <= lo + spacing);
    CHECK(t.back() >= hi - spacing);
    // Every tick is a whole multiple of the exact step (t[1] - t[0] is only close to it).
    const double step = std::round(m) * std::pow(10.0, std::floor(std::log10(spacing) + 1e-12));
    for (double v : t) CHECK(std::abs(v / step - std::round(v / step)) < 1e-9 * std::max(1.0, std::abs(v / step)));
  }
}

TEST_CASE("nice_ticks handles equal, reversed and non-finite limits", "[plot]") {
  const auto same = nice_ticks(3, 3, 5);
  REQUIRE(same.size() >= 2);
  CHECK(same.front() <= 3);
  CHECK(same.back() >= 3);
  CHECK(nice_ticks(10, 0, 6) == nice_ticks(0, 10, 6));
  CHECK(nice_ticks(kNaN, 1, 5).empty());
  CHECK(nice_ticks(0, kInf, 5).empty());
}

TEST_CASE("format_tick prints round labels without -0 or float noise", "[plot]") {
  CHECK(format_tick(0.30000000000000004, 0.1) == "0.3");
  CHECK(format_tick(-1e-17, 0.5) == "0.0");
  CHECK(format_tick(1500, 500) == "1500");
  CHECK(format_tick(2, 1) == "2");
}

TEST_CASE("a line plot puts its colour at the data positions inside the plot area", "[plot]") {
  const Axes a = two_line_axes();
  const cv::Mat img = render(a);
  REQUIRE(img.size() == cv::Size(900, 600));
  REQUIRE(img.type() == CV_8UC3);
  const PlotTransform t = plot_transform(a);
  // The area is inside the canvas and leaves room for labels on the left and bottom.
  CHECK(t.area.x > 40);
  CHECK(t.area.y + t.area.height < 560);
  CHECK(t.area.x + t.area.width <= 900);
  // Points on the lines, away from the crossing and from the legend corner.
  for (double x : {1.5, 3.0, 4.0}) {
    INFO("x = " << x);
    CHECK(colour_near(img, t.to_pixel(x, x), palette(0)));
    CHECK(colour_near(img, t.to_pixel(x, 10 - x), palette(1)));
  }
  // Off the lines the plot area is background, not data colour.
  CHECK_FALSE(colour_near(img, t.to_pixel(2, 5), palette(0), 3));
  CHECK_FALSE(colour_near(img, t.to_pixel(8, 5), palette(1), 3));
}

TEST_CASE("points, bars and error bars land where the transform says", "[plot]") {
  Axes a;
  Series pts = make_series("points", std::vector<double>{1, 2, 3}, std::vector<double>{5, 1, 3}, Series::points);
  pts.y_err = {1, 1, 1};
  const Series bars = make_series("bars", std::vector<double>{1, 2, 3}, std::vector<double>{2, 4, 6}, Series::bars);
  a.series = {bars, pts};
  a.legend = false;  // keep every data point visible
  const cv::Mat img = render(a);
  const PlotTransform t = plot_transform(a);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(colour_near(img, t.to_pixel(pts.x[i], pts.y[i]), palette(1), 1));
    CHECK(colour_near(img, t.to_pixel(pts.x[i], pts.y[i] + 0.9), palette(1), 1));  // error bar
    CHECK(colour_near(img, t.to_pixel(bars.x[i] - 0.1, bars.y[i] * 0.5), palette(0), 0, 1));  // bar body
  }
  // Bars start at zero: the y range includes it and nothing is drawn below it.
  CHECK(std::min(t.y_bottom, t.y_top) <= 0);
  CHECK(t.y_bottom == 0);
}

TEST_CASE("fixed axis limits are honoured and data outside them is clipped", "[plot]") {
  Axes a;
  a.x_min = 0;
  a.x_max = 5;
  a.y_min = -1;
  a.y_max = 1;
  a.series = {make_series("wide", std::vector<double>{-100, 100}, std::vector<double>{-50, 50})};
  const PlotTransform t = plot_transform(a);
  CHECK(t.x_left == 0);
  CHECK(t.x_right == 5);
  CHECK(t.y_bottom == -1);
  CHECK(t.y_top == 1);
  const cv::Mat img = render(a);
  // Outside the plot area (margins) there is no data colour.
  cv::Mat margin = img(cv::Rect(0, 0, t.area.x - 2, img.rows));
  bool found = false;
  for (int y = 0; y < margin.rows; ++y)
    for (int x = 0; x < margin.cols; ++x) found |= colour_distance(margin.at<cv::Vec3b>(y, x), palette(0)) < 30;
  CHECK_FALSE(found);
}

TEST_CASE("render survives NaN, Inf, empty, single-point and constant series", "[plot]") {
  Axes a;
  a.title = std::string(500, 'T');  // far too long: ellipsised
  a.y_label = "a very long y label that cannot possibly fit along the axis of a small panel at all";
  a.series = {make_series("nan", std::vector<double>{0, 1, 2, 3}, std::vector<double>{1, kNaN, kInf, 2}, Series::line_points),
              make_series("empty", std::vector<double>{}, std::vector<double>{}),
              make_series("mismatched", std::vector<double>{1, 2, 3}, std::vector<double>{1}),
              make_series("single", std::vector<double>{2}, std::vector<double>{7}, Series::points)};
  REQUIRE_NOTHROW(render(a));
  const cv::Mat small = render(a, {200, 150});
  CHECK(small.size() == cv::Size(200, 150));

  Axes nothing;
  const PlotTransform t0 = plot_transform(nothing);
  CHECK(t0.x_left < t0.x_right);
  CHECK(t0.y_bottom < t0.y_top);
  REQUIRE_NOTHROW(render(nothing));

  Axes constant;
  constant.series = {make_series("flat", std::vector<double>{0, 1, 2}, std::vector<double>{3, 3, 3})};
  const PlotTransform t1 = plot_transform(constant);
  CHECK(t1.y_bottom < 3);
  CHECK(t1.y_top > 3);
  const cv::Mat img = render(constant);
  CHECK(colour_near(img, t1.to_pixel(1, 3), palette(0)));

  Axes all_nan;
  all_nan.series = {make_series("nan", std::vector<double>{kNaN, 1}, std::vector<double>{kNaN, kNaN}, Series::step)};
  REQUIRE_NOTHROW(render(all_nan));
}

TEST_CASE("histogram counts sum to n and density integrates to 1", "[plot]") {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> normal(0, 1);
  std::vector<double> v;
  for (int i = 0; i < 1000; ++i) v.push_back(std::clamp(normal(rng), -4.0, 4.0));
  const Series counts = histogram("counts", v, 20, -4, 4, false);
  REQUIRE(counts.x.size() == 20);
  double sum = 0;
  for (double c : counts.y) sum += c;
  CHECK(sum == 1000);
  CHECK(counts.x.front() == Approx(-3.8));
  CHECK(counts.x.back() == Approx(3.8));

  const Series density = histogram("density", v, 20, -4, 4, true);
  double integral = 0;
  for (double d : density.y) integral += d * 0.4;
  CHECK(integral == Approx(1.0).epsilon(1e-12));

  // The top edge belongs to the last bin; outside values and NaN are not counted.
  const Series edges = histogram("edges", {0.0, 1.0, 1.5, -0.1, kNaN}, 2, 0, 1, false);
  CHECK(edges.y == std::vector<double>{1, 1});
  CHECK_THROWS_AS(histogram("bad", v, 0, 0, 1, false), InputError);
  CHECK_THROWS_AS(histogram("bad", v, 5, 1, 1, false), InputError);
}

TEST_CASE("a histogram renders as bars or a step outline in its colour", "[plot]") {
  const Series h = histogram("h", {0.1, 0.2, 0.3, 0.6, 0.7, 0.71, 0.72}, 4, 0, 1, false, Series::step);
  Axes a;
  a.series = {h};
  const cv::Mat img = render(a);
  const PlotTransform t = plot_transform(a);
  // Top of the fullest bin (0.75..1 has 0; 0.5..0.75 has 4).
  CHECK(colour_near(img, t.to_pixel(0.625, 4), palette(0)));
  CHECK(t.y_bottom == 0);
}

TEST_CASE("categories label bar positions and series get distinct palette colours", "[plot]") {
  Axes a;
  a.x_category_labels = {"rewarded", "unrewarded", "a category label that is much too long to fit"};
  a.series = {make_series("early", std::vector<double>{0, 1, 2}, std::vector<double>{1, 2, 3}, Series::bars),
              make_series("late", std::vector<double>{0, 1, 2}, std::vector<double>{2, 1, 3}, Series::bars)};
  const PlotTransform t = plot_transform(a);
  CHECK(t.x_left == Approx(-0.5));
  CHECK(t.x_right == Approx(2.5));
  const cv::Mat img = render(a);
  CHECK(colour_near(img, t.to_pixel(-0.2, 0.5), palette(0), 0, 1));
  CHECK(colour_near(img, t.to_pixel(0.2, 0.5), palette(1), 0, 1));
  for (int i = 0; i < palette_size; ++i)
    for (int j = i + 1; j < palette_size; ++j) {
      const cv::Scalar a = palette(i), b = palette(j);
      CHECK(std::max({std::abs(a[0] - b[0]), std::abs(a[1] - b[1]), std::abs(a[2] - b[2])}) > 40);
    }
}

TEST_CASE("ellipsize keeps text within the width and ascii transliterates symbols", "[plot]") {
  const detail::Font font{0.5, 1};
  const std::string s = detail::ellipsize(std::string(300, 'x'), 100, font);
  CHECK(detail::text_width(s, font) <= 100);
  CHECK(s.substr(s.size() - 3) == "...");
  CHECK(detail::ellipsize("short", 100, font) == "short");
  CHECK(detail::ascii("\xCE\x94" "F/F (\xC2\xB5m\xC2\xB2)") == "dF/F (um^2)");
}

TEST_CASE("render_grid tiles panels and rejects zero columns", "[plot]") {
  std::vector<Axes> panels(5, two_line_axes());
  const cv::Mat g = render_grid(panels, 2, {300, 200});
  CHECK(g.size() == cv::Size(600, 600));
  CHECK_THROWS_AS(render_grid(panels, 0), InputError);
}

TEST_CASE("percentile contrast maps the 1st/99th percentiles to black/white", "[plot]") {
  cv::Mat ramp(100, 100, CV_32F);
  for (int i = 0; i < 10000; ++i) ramp.at<float>(i / 100, i % 100) = float(i);
  const auto [lo, hi] = percentile_limits(ramp, 1, 99);
  CHECK(lo == Approx(99.99).margin(0.01));
  CHECK(hi == Approx(9899.01).margin(0.01));
  const cv::Mat bgr = colourise(ramp, lo, hi, ColourMap::grey);
  CHECK(bgr.at<cv::Vec3b>(0, 0) == cv::Vec3b(0, 0, 0));
  CHECK(bgr.at<cv::Vec3b>(99, 99) == cv::Vec3b(255, 255, 255));
  CHECK(std::abs(int(bgr.at<cv::Vec3b>(50, 0)[0]) - 128) <= 2);
  ramp.at<float>(50, 50) = std::numeric_limits<float>::quiet_NaN();
  CHECK(colourise(ramp, lo, hi, ColourMap::viridis).at<cv::Vec3b>(50, 50) == cv::Vec3b(200, 200, 200));
  CHECK_THROWS_AS(percentile_limits(ramp, 50, 10), InputError);
}

TEST_CASE("outlines follow mask edges at the panel's scale and offset", "[plot]") {
  cv::Mat image(40, 60, CV_32F, cv::Scalar(0));
  std::vector<uint32_t> square;  // x 10..19, y 5..14
  for (uint32_t y = 5; y < 15; ++y)
    for (uint32_t x = 10; x < 20; ++x) square.push_back(y * 60 + x);
  ImagePanel p = image_panel(image, "mean image");
  REQUIRE(p.scale == 8);  // 480 / 60
  const cv::Scalar red = palette(1);
  p.outline(square, 60, red, 1);
  auto canvas_at = [&](double x, double y) { return cv::Point2d(x * p.scale + p.offset.x, y * p.scale + p.offset.y); };
  CHECK(colour_near(p.canvas, canvas_at(10, 10), red, 1));     // left edge
  CHECK(colour_near(p.canvas, canvas_at(20, 10), red, 1));     // right edge
  CHECK(colour_near(p.canvas, canvas_at(15, 15), red, 1));     // bottom edge
  CHECK_FALSE(colour_near(p.canvas, canvas_at(15, 10), red, 3));  // interior
  p.link({0, 0}, {59, 39}, palette(2), 1);
  CHECK(colour_near(p.canvas, canvas_at(30, 20), palette(2), 1));
  CHECK_THROWS_AS(draw_outline(p.canvas, square, 0, red), InputError);
}

TEST_CASE("heatmap fills its plot area by row and adds a colour bar", "[plot]") {
  cv::Mat v(10, 200, CV_32F);
  for (int r = 0; r < 10; ++r) v.row(r).setTo(float(r));  // row r constant at r
  HeatmapOptions o;
  o.colour_label = "dF/F";
  o.lo_pct = 0;
  o.hi_pct = 100;
  const cv::Mat img = heatmap(v, "all ROIs", "time (s)", "ROI", 60.0, o);
  CHECK(img.size() == o.size);
  // Each row's colour covers about a tenth of the plot area (rows are blocks, not blended).
  const cv::Mat lo_colour = colourise(cv::Mat(1, 1, CV_32F, cv::Scalar(0)), 0, 9, ColourMap::viridis);
  const cv::Mat hi_colour = colourise(cv::Mat(1, 1, CV_32F, cv::Scalar(9)), 0, 9, ColourMap::viridis);
  int top_hits = 0, bottom_hits = 0;
  for (int y = 0; y < img.rows; ++y)
    for (int x = 0; x < img.cols; ++x) {
      top_hits += colour_distance(img.at<cv::Vec3b>(y, x), cv::Scalar(lo_colour.at<cv::Vec3b>(0))) == 0;
      bottom_hits += colour_distance(img.at<cv::Vec3b>(y, x), cv::Scalar(hi_colour.at<cv::Vec3b>(0))) == 0;
    }
  CHECK(top_hits > 10000);  // one tenth of a ~700 x 500 area
  CHECK(bottom_hits > 10000);
  CHECK_THROWS_AS(heatmap(v, "t", "x", "y", 0.0), InputError);
  CHECK_THROWS_AS(heatmap(cv::Mat(), "t", "x", "y", 1.0), InputError);
}

TEST_CASE("hstack and vstack pad with white to a common size", "[plot]") {
  const cv::Mat a(10, 20, CV_8UC3, cv::Scalar(0, 0, 0)), b(30, 5, CV_8UC1, cv::Scalar(0));
  const cv::Mat h = hstack({a, b, cv::Mat()});
  CHECK(h.size() == cv::Size(25, 30));
  CHECK(h.at<cv::Vec3b>(29, 0) == cv::Vec3b(255, 255, 255));
  const cv::Mat v = vstack({a, b});
  CHECK(v.size() == cv::Size(20, 40));
  CHECK(v.at<cv::Vec3b>(39, 19) == cv::Vec3b(255, 255, 255));
}

TEST_CASE("write_png writes a PNG that reads back identically", "[plot]") {
  test::TempDir dir("apical_plot");
  const cv::Mat img = render(two_line_axes(), {640, 480});
  const std::string path = (dir / "sub" / "figure.png").string();
  write_png(path, img);
  const cv::Mat back = cv::imread(path, cv::IMREAD_COLOR);
  REQUIRE(back.size() == img.size());
  CHECK(cv::norm(back, img, cv::NORM_INF) == 0);
  write_png(path, img);  // overwriting is allowed
}

TEST_CASE("write_png to an unwritable path throws InputError naming it", "[plot]") {
  test::TempDir dir("apical_plot");
  const std::string blocker = (dir / "a_file").string();
  write_png(blocker, cv::Mat(2, 2, CV_8UC3, cv::Scalar(1, 2, 3)));
  const std::string path = blocker + "/figure.png";  // a folder under a regular file
  try {
    write_png(path, render(two_line_axes()));
    FAIL("no exception");
  } catch (const InputError& e) {
    CHECK_THAT(e.what(), Catch::Contains(path));
  }
  CHECK_THROWS_AS(write_png((dir / "empty.png").string(), cv::Mat()), InputError);
}

TEST_CASE("rendering is deterministic", "[plot]") {
  const cv::Mat a = render(two_line_axes()), b = render(two_line_axes());
  CHECK(cv::norm(a, b, cv::NORM_INF) == 0);
}

TEST_CASE("a 100k-point trace keeps a one-sample spike visible", "[plot]") {
  std::vector<double> x(100000), y(100000, 0.0);
  for (size_t i = 0; i < x.size(); ++i) x[i] = double(i);
  y[61234] = 10;  // one sample among many per pixel column
  Axes a;
  a.series = {make_series("trace", x, y)};
  const cv::Mat img = render(a);
  const PlotTransform t = plot_transform(a);
  CHECK(colour_near(img, t.to_pixel(61234, 10), palette(0), 2));
  CHECK(colour_near(img, t.to_pixel(61234, 5), palette(0), 2));
  CHECK_FALSE(colour_near(img, t.to_pixel(30000, 5), palette(0), 3));
}
