#pragma once
// Boxes of a Deflate-compressed (optionally shuffled) chunked HDF5 dataset, read by fetching
// each chunk's stored bytes (H5Dread_chunk) and inflating the chunks in parallel (libdeflate,
// TBB).
// HDF5's own H5Dread inflates chunks one after another on the calling thread; a movie stored
// with gzip then reads at a fraction of the uncompressed rate. Inflated chunks are kept in a
// cache of bounded size, so a chunk a run of batches (or a sample across the movie) touches
// again is inflated once. Results are the same bytes H5Dread gives, at any thread count.
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "io/h5.hpp"

namespace apical::h5 {

class InflatingChunkReader {
 public:
  // A reader when the dataset is chunked, 3-D, of a little-endian integer or IEEE float
  // type, and filtered by Deflate with or without Shuffle and nothing else; otherwise none
  // (the caller keeps H5Dread). `cache_bytes` bounds the inflated chunks kept.
  static std::optional<InflatingChunkReader> open(const Dataset& dataset, size_t cache_bytes);

  // The box [offset, offset+count) in stored axis order, as float32, into out.
  // Not thread-safe (one caller at a time); inflates in parallel inside.
  void read_box(const Dataset& dataset, const Dims& offset, const Dims& count, float* out);

 private:
  struct ElementType {
    bool is_float = false;
    bool is_signed = false;
    size_t bytes = 0;
  };
  // An inflated chunk; Shuffle is undone while its values are copied out (one pass less).
  struct FreeBytes {
    void operator()(unsigned char* p) const;
  };
  struct Inflated {
    std::unique_ptr<unsigned char, FreeBytes> bytes;  // chunk_bytes_, in huge pages where the kernel allows
    bool shuffled = false;
  };
  using Chunk = std::shared_ptr<Inflated>;

  InflatingChunkReader() = default;
  std::vector<Dims> chunks_touching(const Dims& offset, const Dims& count) const;
  void read_stored_chunk(const Dataset& dataset, const Dims& origin, uint32_t& filter_mask,
                         std::vector<unsigned char>& stored) const;
  void inflate(const Dataset& dataset, const std::vector<unsigned char>& stored, uint32_t filter_mask, const Dims& origin,
               Inflated& out) const;
  Chunk spare_chunk();
  std::vector<Chunk> fetch(const Dataset& dataset, const std::vector<Dims>& origins);
  void inflate_whole_if_it_fits(const Dataset& dataset);
  void scatter_shuffled_row(const unsigned char* chunk, size_t first, size_t count, float* out) const;
  void scatter(const Chunk& chunk, const Dims& origin, const Dims& offset, const Dims& count, float* out) const;
  uint64_t chunk_key(const Dims& origin) const;
  void remember(uint64_t key, Chunk chunk);

  Dims dims_, chunk_;
  ElementType element_;
  bool shuffled_ = false;
  int deflate_index_ = -1, shuffle_index_ = -1;  // positions in the filter pipeline
  float fill_value_ = 0;                         // of chunks never written
  size_t chunk_bytes_ = 0;                       // inflated size of one chunk
  // The inflated-chunk cache: least recently used first.
  size_t cache_capacity_ = 0;
  std::list<uint64_t> lru_;
  std::unordered_map<uint64_t, std::pair<Chunk, std::list<uint64_t>::iterator>> cache_;
  // Buffers of evicted chunks, reused: a fresh 10 MB buffer per chunk costs page faults.
  std::vector<Chunk> spare_;
  bool whole_tried_ = false;
  std::vector<std::vector<unsigned char>> stored_;  // compressed bytes of the chunks being read
};

}  // namespace apical::h5
