#pragma once
// Resource plan of a session: each stage's peak memory, bounded from the movie's shape, the
// batch size, the thread count and (once segment has run) the ROI count. Schedulers use it
// to request memory per job (Snakefile -> SLURM --mem): enough that no job is killed, close
// enough that none holds a node it does not use.
//
// Every stage streams its movie, so memory is set by the batches in flight, not by the
// movie's length; only the [N, T] traces (extract's row blocks, regress's dF/F) grow with T.
#include <cstdint>
#include <string>
#include <vector>

namespace apical {

// What a session's memory depends on.
struct SessionShape {
  int planes = 1;
  int64_t frames = 0;        // per plane
  int height = 0, width = 0;
  int sample_bytes = 2;      // bytes per raw sample (int16: 2; float32: 4)
  double frame_rate_hz = 0;  // per plane; 0 when unknown
  std::vector<int64_t> rois_per_plane;  // from rois.h5, or assumed
  bool rois_measured = false;           // true when counted in rois.h5
};

// How the stages will be run (the options that set memory, never results).
struct RunSettings {
  int threads = 1;               // worker threads per job (>= 1)
  int batch_size = 200;          // frames per batch (register, extract)
  int segment_batch_size = 50;   // segment's own default unless --batch-size is given
  int reference_frames = 300;    // register's reference sample
  bool nonrigid = false;         // register: per-block shifts kept for every frame
};

struct StageEstimate {
  std::string stage;   // register, segment, extract, regress, figures, qc
  int64_t mem_mb = 0;  // peak resident memory bound, MiB (SLURM's "MB")
  int threads = 1;     // threads the job should get
  std::string bound;   // what sets the bound, in words
};

// The resident floor of any apical process doing work (libraries, HDF5, TBB), MiB.
int64_t process_floor_mb();

// Per-stage bounds, in pipeline order.
std::vector<StageEstimate> estimate_stages(const SessionShape& shape, const RunSettings& settings);

// ROIs per plane as stored in rois.h5 (/plane{k}/roi_kind); InputError naming the file if
// it is not a readable rois.h5.
std::vector<int64_t> count_rois(const std::string& rois_path, int planes);

}  // namespace apical
