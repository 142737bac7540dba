// Figures as PDF and SVG (issue 14 §6): the cairo drawing of apical::plot, with real fonts.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "io/error.hpp"
#include "pipeline/reporting/plot.hpp"
#include "tests/test_support.hpp"

using namespace apical;
using namespace apical::plot;
using apical::test::run_shell;
using apical::test::TempDir;
namespace fs = std::filesystem;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool have(const std::string& tool) { return run_shell("command -v " + tool + " >/dev/null").exit_code == 0; }

Axes labelled_axes() {
  Axes a;
  a.title = "Residual ΔF/F ± SEM";
  a.x_label = "distance (µm)";
  a.y_label = "ΔF/F";
  a.note = "r = 0.42 ± 0.05";
  a.series.push_back(make_series("P+ (µ ± σ)", {0, 1, 2, 3}, {0.1, 0.4, 0.2, 0.5}, Series::line_points));
  a.series.push_back(make_series("P−", {0, 1, 2, 3}, {0.3, 0.1, 0.0, -0.2}, Series::points));
  a.series.back().y_err = {0.05, 0.05, 0.1, 0.1};
  return a;
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

// Checks one written figure: PNG of the raster's size, a PDF with one page, an SVG that is
// XML with glyphs drawn; returns the PDF's text (pdftotext) when the tool is present.
std::string check_figure(const FigureFiles& f, cv::Size size) {
  const std::string png = slurp(f.png), pdf = slurp(f.pdf), svg = slurp(f.svg);
  REQUIRE(png.size() > 8);
  CHECK(png.compare(1, 3, "PNG") == 0);
  CHECK(pdf.rfind("%PDF-", 0) == 0);
  CHECK(count(pdf, "/Type /Page\n") + count(pdf, "/Type /Page ") + count(pdf, "/Type /Page/") >= 1);
  CHECK(svg.rfind("<?xml", 0) == 0);
  CHECK(svg.find("<svg") != std::string::npos);
  CHECK(count(svg, "<use xlink:href=\"#glyph") >= 10);  // text drawn as glyph outlines
  if (have("/usr/bin/python3")) {
    auto r = run_shell("/usr/bin/python3 -c 'import sys, xml.dom.minidom as m; m.parse(sys.argv[1])' " + f.svg);
    INFO(r.output);
    CHECK(r.exit_code == 0);
  }
  if (have("pdfinfo")) {
    auto r = run_shell("pdfinfo " + f.pdf);
    INFO(r.output);
    CHECK(std::regex_search(r.output, std::regex("Pages: +1\\n")));
    std::ostringstream page;
    page << "Page size: +" << size.width * 0.75 << " x " << size.height * 0.75 << " pts";
    CHECK(std::regex_search(r.output, std::regex(page.str())));
  }
  if (!have("pdftotext")) {
    WARN("pdftotext (poppler-utils) not installed: the PDF's text is not checked");
    return {};
  }
  return run_shell("pdftotext " + f.pdf + " -").output;
}

}  // namespace

TEST_CASE("write_figure writes PNG, PDF and SVG of one plot, and Δ, µ, ± survive as text", "[plot][vector]") {
  TempDir dir;
  const Picture picture = render(labelled_axes());
  const FigureFiles f = write_figure((dir / "panel").string(), picture);
  CHECK(f.pdf == (dir / "panel.pdf").string());
  const std::string text = check_figure(f, {900, 600});
  if (!text.empty()) {
    INFO(text);
    for (const char* label : {"Residual ΔF/F ± SEM", "distance (µm)", "P+ (µ ± σ)", "r = 0.42 ± 0.05", "ΔF/F"})
      CHECK(text.find(label) != std::string::npos);
    CHECK(text.find("dF/F") == std::string::npos);  // not transliterated as in the raster
  }
  // The cairo PNG has the raster's size.
  const cv::Mat raster = picture;
  CHECK(raster.cols == 900);
  const std::string png = slurp(f.png);
  const auto be32 = [&](size_t at) {
    return (uint32_t(uint8_t(png[at])) << 24) | (uint32_t(uint8_t(png[at + 1])) << 16) |
           (uint32_t(uint8_t(png[at + 2])) << 8) | uint32_t(uint8_t(png[at + 3]));
  };
  CHECK(be32(16) == 900);
  CHECK(be32(20) == 600);
}

TEST_CASE("a grid of plots is one page of the whole grid", "[plot][vector]") {
  TempDir dir;
  std::vector<Axes> panels(3, labelled_axes());
  panels[1].title = "P− neurons";
  const FigureFiles f = write_figure((dir / "grid").string(), render_grid(panels, 2, {400, 300}));
  const std::string text = check_figure(f, {800, 600});
  if (!text.empty()) CHECK(count(text, "Residual ΔF/F ± SEM") == 2);
}

TEST_CASE("the same picture gives the same PNG bytes, and the same PDF under SOURCE_DATE_EPOCH", "[plot][vector]") {
  TempDir dir;
  const Picture picture = render(labelled_axes());
  ::setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
  const FigureFiles a = write_figure((dir / "a").string(), picture);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // a clock-dated PDF would differ
  const FigureFiles b = write_figure((dir / "b").string(), picture);
  ::unsetenv("SOURCE_DATE_EPOCH");
  CHECK(slurp(a.pdf) == slurp(b.pdf));
  CHECK(slurp(a.png) == slurp(b.png));
  // cairo numbers SVG glyph ids per process: the SVG is the same from run to run (checked
  // below with two runs of apical figures), not from call to call.
  if (have("pdfinfo")) CHECK(run_shell("pdfinfo " + a.pdf).output.find("2023") != std::string::npos);
}

TEST_CASE("a label no installed font can draw is an error naming the file", "[plot][vector]") {
  TempDir dir;
  Axes a = labelled_axes();
  a.title = "private use \xEE\x80\x80";  // U+E000: no font has a glyph for it
  try {
    write_figure((dir / "bad").string(), render(a));
    FAIL("no error");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()).find("bad.png") != std::string::npos);
  }
  CHECK_FALSE(fs::exists(dir / "bad.png"));
}

TEST_CASE("apical figures writes a PDF and an SVG beside every panel's PNG", "[plot][vector][pipeline]") {
  TempDir dir;
  const std::string session = (dir / "s").string();
  auto sim = test::run_apical("simulate " + session + " --quiet --height 128 --width 128 --frames 1800 --neurons 12 --seed 3");
  REQUIRE(sim.exit_code == 0);
  auto run = test::run_apical("run " + session + " --quiet");
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  int panels = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(session) / "apical" / "figures")) {
    if (entry.path().extension() != ".png") continue;
    ++panels;
    fs::path stem = entry.path();
    stem.replace_extension();
    INFO(stem);
    CHECK(fs::file_size(stem.string() + ".pdf") > 1000);
    CHECK(fs::file_size(stem.string() + ".svg") > 1000);
    CHECK(slurp(stem.string() + ".pdf").rfind("%PDF-", 0) == 0);
    CHECK(slurp(stem.string() + ".svg").find("<svg") != std::string::npos);
  }
  CHECK(panels >= 7);

  // Two runs give the same bytes in every format (the PDF dated by SOURCE_DATE_EPOCH).
  for (const std::string out : {"f1", "f2"}) {
    auto r = run_shell("SOURCE_DATE_EPOCH=1700000000 " + std::string(APICAL_BINARY) + " figures " + session +
                       " --quiet -o " + (dir / out).string());
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
  }
  for (const auto& entry : fs::directory_iterator(dir / "f1")) {
    INFO(entry.path());
    CHECK(slurp(entry.path().string()) == slurp((dir / "f2" / entry.path().filename()).string()));
  }
}
