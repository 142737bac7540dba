#pragma once
// Frames that hold only part of the signal, or none (issue 14 §2). In an optogenetics rig the
// PMTs are gated off while the LED is on at the start of each stimulated frame, so that
// frame's first rows are blank: the digitiser's offset and electronic noise, no photons and
// so no structure along the row. A frame with no signal at all (shutter closed, PMT tripped)
// looks the same over its whole height.
//
// Detection compares each frame's row profile with the session's: a row is blank when its
// spread along x is below kBlankStdRatio x that row's spread in the session (the 90th
// percentile over the reference sample, so stimulated frames in the sample do not matter
// while a tenth of it is unstimulated) and below kBlankStdRatio x the frame's own typical
// row spread, and its mean is below both that row's median mean and the frame's. Blank
// rows are the leading run of such rows (at most half the frame). A frame is without signal
// when its typical row spread (median over every 4th row) is below kBlankStdRatio x the
// session's. Ordinary frames keep shot noise and structure in every row, so no row loses
// nine tenths of its usual spread: nothing is found on unstimulated sessions.
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "core/image.hpp"

namespace apical {

// Dark noise is a few counts where signal rows spread by tens to hundreds; dim real rows
// (ScanImage 3.8's settling rows) keep about a quarter of their spread, so a tenth separates.
constexpr double kBlankStdRatio = 0.1;

// --blank-rows: "auto" (detect the count per frame), N > 0 (frames detected as stimulated
// lose exactly N rows), 0 (no blank-row detection).
struct BlankRowsSetting {
  bool detect = true;  // false: --blank-rows 0
  int fixed_rows = 0;  // > 0: rows left out on each stimulated frame instead of the detected count
};
// Throws InputError for anything but auto, 0 or a positive integer.
BlankRowsSetting parse_blank_rows(const std::string& text);

// What rows look like in this session, from the reference sample (empty: unknown).
struct SignalReference {
  double typical_row_std = 0;           // median over frames of the frame's median row spread
  std::vector<double> row_std_high;     // [H] 90th percentile over frames of row y's spread
  std::vector<double> row_mean_median;  // [H] median over frames of row y's mean
};
SignalReference signal_reference(const FrameStack& sample);

// What one raw frame holds.
struct FrameSignal {
  int blank_rows = 0;      // leading rows without signal (raw frame coordinates)
  bool no_signal = false;  // the whole frame is without signal
};
FrameSignal detect_frame_signal(const cv::Mat& raw_frame, const SignalReference& reference,
                                const BlankRowsSetting& setting);

// Rows at the top of the registered frame that sample blanked raw rows, when the frame was
// shifted by dy (plus at most extra_dy_px of non-rigid displacement either way): the cubic
// interpolation reads raw rows floor(y + dy) - 1 .. floor(y + dy) + 2.
int blank_rows_after_shift(int blank_rows, float dy, float extra_dy_px, int height);

}  // namespace apical
