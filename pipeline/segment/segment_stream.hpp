#pragma once
// Streaming segmentation of a registered movie into rois.h5 (docs/DESIGN.md §3 contract).
//
// Per plane, two streaming passes over /plane{k}/movie:
//   1. SummaryImageAccumulator: mean, max (of the binned movie) and local correlation image
//      -> detect_rois by the plane's role (soma | dendrite);
//   2. RoiTraceAccumulator: binned, neuropil-corrected ROI traces -> refine_rois (dendrite
//      pieces merged; SNR, skewness, quality).
// Then each dendrite plane is paired with the (first) soma plane by pair_dendrites, or by
// a user table (--pairs CSV `soma_roi,dendrite_roi`) that replaces the automatic pairing.
//
// Memory bound (independent of the movie length T, except for the binned traces):
//   reading:      2 batches in flight x batch_size x H x W x 4 B
//                 (default 50 frames: 2 x 50 MB = 100 MB at 512x512);
//   summary pass: ~80 B per pixel (7 double + 6 float accumulators): 21 MB at 512x512;
//   trace pass:   n_rois x T / temporal_bin x 4 B (e.g. 1000 ROIs x 1 h at 30 Hz, bin 10:
//                 43 MB), plus the ROI pixel lists;
//   detection:    a few H x W float images.
// So a 1-hour 512x512 session stays under ~250 MB; the movie is never held in memory.
// Output is bit-identical at any TBB thread count and for any batch size.
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <armadillo>
#include <opencv2/core.hpp>

#include "io/movie.hpp"
#include "io/provenance.hpp"
#include "io/rois_file.hpp"
#include "pipeline/segment/segment.hpp"

namespace apical {

struct SegmentOptions {
  // Role per plane ("soma" | "dendrite"); empty = the roles stored in registered.h5.
  std::vector<std::string> roles;
  // Frames per bin for summary images and traces; 0 = about frame_rate / 3 Hz (10 when the
  // rate is unknown), reduced so that short movies still give at least 100 bins.
  int temporal_bin = 0;
  SummaryParams summary;   // temporal_bin is set from the above; baseline shortened for short movies
  SegmentParams soma;      // role forced to "soma"; soma_diameter_px 0 = estimate per plane
  // When > 0: the soma diameter in µm, converted with the movie's pixel size (InputError
  // when it is unknown). Overrides soma.soma_diameter_px.
  float soma_diameter_um = 0;
  SegmentParams dendrite;  // role forced to "dendrite"
  TraceParams traces;
  PairParams pairing;
  int batch_size = 50;
  // User pairs (soma ROI, dendrite ROI) between the first soma and first dendrite plane;
  // when set they replace the automatic pairing.
  bool manual_pairs = false;
  std::vector<std::pair<int, int>> pairs;
};

struct PlaneSegmentation {
  int plane = 0;
  std::string role;
  cv::Mat mean, max, correlation;  // CV_32F summary images
  std::vector<Roi> rois;
  arma::fmat traces;               // [n_accepted, n_bins] binned traces of the accepted ROIs (not written)
  std::vector<uint8_t> shared;     // H*W: 1 where two or more ROIs own the pixel
  // Soma planes: the diameter used (px), how it was found ("given", "correlation",
  // "mean image"), and the soma template's log-odds image at that diameter.
  float soma_diameter_px = 0;
  std::string diameter_method;
  cv::Mat template_score;
};

struct Segmentation {
  int64_t frames = 0;
  int height = 0, width = 0;
  int temporal_bin = 0;
  std::vector<PlaneSegmentation> planes;
  std::vector<RoiPair> pairs;
  std::string pairing = "automatic";  // or "manual" (--pairs)
  std::vector<std::string> notes;  // things the user should know (e.g. an assumed role)
};

// progress(done, total) in frames read, over both passes of every plane.
using SegmentProgress = std::function<void(int64_t, int64_t)>;

// Plane roles: options.roles if given, else the file's; a plane with no known role is
// taken as soma (and a note says so). InputError for a count mismatch or a bad role.
std::vector<std::string> resolve_roles(const Movie& movie, const std::vector<std::string>& given,
                                       std::vector<std::string>& notes);

// Parses --soma-diameter: "auto", a number of px ("9", "9px") or of µm ("12um", "12µm"),
// into options.soma (px) or options.soma_diameter_um. InputError for anything else.
void set_soma_diameter(SegmentOptions& options, const std::string& text);

// Runs both passes on every plane and the pairing. InputError for bad input.
Segmentation segment_movie(const Movie& movie, const SegmentOptions& options,
                           const SegmentProgress& progress = {});

// The contract file: masks, kinds, /plane{k}/stats/<name> (centroid_y, centroid_x, area,
// compactness, eccentricity, snr, skewness, quality), /plane{k}/shared_pixels uint8 [H,W],
// /plane{k}/{mean,max,correlation}_image, /pairs/*.
RoiFile to_roi_file(const Segmentation& segmentation);
void write_segmentation(const std::string& path, const Segmentation& segmentation, const Provenance& provenance);

// A CSV of user pairs with header `soma_roi,dendrite_roi` (0-based ROI indices).
// InputError naming the file and line for anything malformed.
std::vector<std::pair<int, int>> read_pairs_csv(const std::string& path);

}  // namespace apical
