#pragma once
// Value types shared by the stages: frames, stacks of frames, shifts.
#include <cstdint>
#include <vector>

#include <opencv2/core.hpp>

namespace apical {

// A batch of consecutive frames of one plane, float32, frame-major [T][H][W].
// first_frame is the index of frames[0] within the whole movie.
struct FrameStack {
  int64_t first_frame = 0;
  int count = 0;
  int height = 0;
  int width = 0;
  std::vector<float> pixels;

  FrameStack() = default;
  FrameStack(int64_t first, int n, int h, int w)
      : first_frame(first), count(n), height(h), width(w), pixels(size_t(n) * h * w) {}

  // Re-dimensions in place, keeping the allocation: readers refill the same buffer batch
  // after batch instead of faulting in fresh pages (contents are overwritten by the caller).
  void reshape(int64_t first, int n, int h, int w) {
    first_frame = first;
    count = n;
    height = h;
    width = w;
    pixels.resize(size_t(n) * h * w);
  }

  size_t frame_size() const { return size_t(height) * width; }
  float* frame_data(int t) { return pixels.data() + size_t(t) * frame_size(); }
  const float* frame_data(int t) const { return pixels.data() + size_t(t) * frame_size(); }
  // A cv::Mat header over frame t (no copy); valid while the stack lives.
  cv::Mat frame(int t) { return cv::Mat(height, width, CV_32F, frame_data(t)); }
  cv::Mat frame(int t) const {
    return cv::Mat(height, width, CV_32F, const_cast<float*>(frame_data(t)));
  }
};

// Rigid displacement of a frame's content relative to the reference, in pixels:
// content at reference (y, x) appears in the raw frame at (y + dy, x + dx).
struct Shift {
  float dy = 0;
  float dx = 0;
};

}  // namespace apical
