#pragma once
// Streaming movie readers. A movie is read in batches of frames of one plane; no reader
// ever holds the whole movie. Raw acquisitions are a sequence of pages (TIFF pages, HDF5
// frames, raw frames) interleaved channel fastest, then plane (ScanImage order), with
// optional flyback frames per volume that are skipped.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/image.hpp"

namespace apical {

// What the acquisition was: from ScanImage metadata, apical.ini or flags (never guessed).
struct Acquisition {
  int planes = 1;
  int channels = 1;
  int flyback_frames = 0;      // discarded frames per volume (fast-z flyback)
  double frame_rate_hz = 0;    // per plane (volume rate); 0 = unknown
  double zoom = 0;             // 0 = unknown
  double pixel_size_um = 0;    // 0 = unknown
  bool bidirectional = false;
  std::vector<std::string> roles;  // "soma" | "dendrite" per plane; empty = unknown
  std::string source;              // where these facts came from
};

// User-set acquisition facts; unset fields (negative / empty) leave metadata in charge.
struct AcquisitionOverrides {
  int planes = -1;
  int channels = -1;
  int flyback_frames = -1;
  double frame_rate_hz = -1;
  double pixel_size_um = -1;
  std::vector<std::string> roles;
};

// How to read the input files.
struct MovieSpec {
  std::vector<std::string> paths;  // files, a folder of TIFFs, or a glob pattern
  std::string dataset;             // HDF5: dataset path (default: the only 3-D dataset)
  std::string axes = "tyx";        // HDF5/raw: axis order of the stored array
  std::vector<int64_t> raw_shape;  // raw binary: sizes in `axes` order
  std::string raw_dtype;           // raw binary: uint16 | int16 | float32 | ...
  int channel = 0;                 // functional channel to read (0-based)
};

// A flat sequence of equally sized pages.
class PageSource {
 public:
  virtual ~PageSource() = default;
  virtual int64_t pages() const = 0;
  virtual int height() const = 0;
  virtual int width() const = 0;
  virtual std::string dtype() const = 0;
  // Reads page `index` as float32 into out[height*width]; thread-safe.
  virtual void read_page(int64_t index, float* out) const = 0;
  // Reads `count` pages starting at `first`, `stride` apart; default loops read_page.
  virtual void read_pages(int64_t first, int64_t stride, int count, float* out) const;
  // Starts reading a page in the background; read_pages prefetches a few pages ahead.
  virtual void prefetch_page(int64_t) const {}
  virtual std::vector<std::string> files() const = 0;
  // Acquisition facts found in the files themselves (ScanImage headers).
  virtual Acquisition metadata() const { return {}; }
  // InputError when a file changed since it was opened (sources that can tell).
  virtual void check_unchanged() const {}
};

// A movie with planes: what every stage reads.
class Movie {
 public:
  virtual ~Movie() = default;
  virtual int planes() const = 0;
  virtual int64_t frames() const = 0;  // per plane
  virtual int height() const = 0;
  virtual int width() const = 0;
  virtual std::string dtype() const = 0;
  virtual const Acquisition& acquisition() const = 0;
  virtual std::vector<std::string> files() const = 0;
  // Frames [first, first+count) of `plane` into out (resized to count frames).
  virtual void read(int plane, int64_t first, int count, FrameStack& out) const = 0;
  // Starts reading one frame in the background (for reads out of order, e.g. a sample).
  virtual void prefetch(int /*plane*/, int64_t /*frame*/) const {}
  // Any NaN/Inf in a batch is bad input: names the frame.
  static void check_finite(const FrameStack& batch, int plane, const std::string& source);
  // check_finite for a batch read from this movie; stages call it on each batch. Movies that
  // store integers cannot hold NaN/Inf and skip the scan.
  void require_finite(const FrameStack& batch, int plane, const std::string& source) const;
  // InputError naming the file when an input changed (truncated, rewritten) while it was
  // read. Stages call it after their last read, before they commit.
  virtual void check_unchanged() const {}
};

// Opens raw input per spec (TIFF files/folder/glob, HDF5 dataset, raw binary), applying
// overrides on top of file metadata. InputError naming the file for anything unreadable.
std::unique_ptr<Movie> open_movie(const MovieSpec& spec, const AcquisitionOverrides& overrides);
// Opens the page sequence only (for info and tests).
std::unique_ptr<PageSource> open_pages(const MovieSpec& spec);
// "T,H,W" (--raw-shape) as numbers; InputError for anything that is not a list of
// positive integers.
std::vector<int64_t> parse_raw_shape(const std::string& text);
// Expands a folder or glob into an ordered list of TIFF files (natural sort).
std::vector<std::string> expand_movie_paths(const std::vector<std::string>& paths);

}  // namespace apical
