// apical plan's memory model: what sets each stage's bound.
#include <catch2/catch.hpp>

#include <map>

#include "pipeline/plan/plan.hpp"

using namespace apical;

namespace {

std::map<std::string, int64_t> bounds(const SessionShape& shape, const RunSettings& settings) {
  std::map<std::string, int64_t> out;
  for (const auto& e : estimate_stages(shape, settings)) out[e.stage] = e.mem_mb;
  return out;
}

SessionShape typical_session(int64_t frames) {
  SessionShape s;
  s.planes = 2;
  s.frames = frames;
  s.height = s.width = 512;
  s.rois_per_plane = {300, 500};
  return s;
}

}  // namespace

TEST_CASE("plan: every stage has a bound above the process floor, in pipeline order", "[plan]") {
  RunSettings r;
  r.threads = 2;
  auto stages = estimate_stages(typical_session(3000), r);
  std::vector<std::string> names;
  for (const auto& e : stages) {
    names.push_back(e.stage);
    CHECK(e.mem_mb > process_floor_mb());
    CHECK_FALSE(e.bound.empty());
  }
  CHECK(names == std::vector<std::string>{"register", "segment", "extract", "regress", "figures", "qc"});
}

TEST_CASE("plan: register and segment are bounded by the batch size, not the movie length", "[plan]") {
  RunSettings r;
  r.threads = 2;
  auto short_movie = bounds(typical_session(2000), r), hour = bounds(typical_session(108000), r);
  // Only per-frame shifts grow with T (20 B per frame and plane: ~4 MiB for an hour), and
  // segment's traces binned by 10 frames (800 ROIs x 10,600 bins x 8 B: ~65 MiB).
  CHECK(hour["register"] - short_movie["register"] <= 5);
  CHECK(hour["segment"] - short_movie["segment"] <= 66);
  RunSettings bigger = r;
  bigger.batch_size = 400;
  // Three float batches in flight plus the raw and output samples: 16 B per pixel and frame.
  CHECK(bounds(typical_session(2000), bigger)["register"] - short_movie["register"] >= 200 * 512 * 512 * 16 / (1 << 20));
}

TEST_CASE("plan: one register thread moves one batch at a time", "[plan]") {
  RunSettings one, two;
  one.threads = 1;
  two.threads = 2;
  one.reference_frames = two.reference_frames = 10;  // the streaming pass sets the bound
  CHECK(bounds(typical_session(2000), two)["register"] - bounds(typical_session(2000), one)["register"] >= 2 * 200);
}

TEST_CASE("plan: regress grows with ROIs x frames, extract barely", "[plan]") {
  RunSettings r;
  SessionShape few = typical_session(108000), many = few;
  many.rois_per_plane = {1000, 2000};
  const double extra_cells = double(3000 - 800) * 108000;
  CHECK(bounds(many, r)["regress"] - bounds(few, r)["regress"] >= int64_t(extra_cells * 8 / (1 << 20)));
  CHECK(bounds(many, r)["extract"] - bounds(few, r)["extract"] < 100);
}

TEST_CASE("plan: one thread holds fewer batches in segment and extract than two", "[plan]") {
  RunSettings one, two;
  one.threads = 1;
  two.threads = 2;
  auto single = bounds(typical_session(3000), one), pair = bounds(typical_session(3000), two);
  CHECK(pair["segment"] - single["segment"] >= 50);  // one more 50-frame batch of 1 MiB frames
  CHECK(pair["extract"] - single["extract"] >= 32);  // two more 16 MiB pieces
}
