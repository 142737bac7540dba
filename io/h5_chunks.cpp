#include "io/h5_chunks.hpp"

#include <libdeflate.h>
#include <tbb/parallel_for.h>

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "io/error.hpp"

namespace apical::h5 {

namespace {

// Index of each filter apical can undo in the dataset's pipeline; false for any other filter.
bool find_filters(hid_t plist, int& deflate_index, int& shuffle_index) {
  const int filters = H5Pget_nfilters(plist);
  if (filters < 0) return false;
  for (int i = 0; i < filters; ++i) {
    unsigned flags = 0, config = 0;
    size_t values = 0;
    const H5Z_filter_t id = H5Pget_filter2(plist, unsigned(i), &flags, &values, nullptr, 0, nullptr, &config);
    if (id == H5Z_FILTER_DEFLATE) deflate_index = i;
    else if (id == H5Z_FILTER_SHUFFLE) shuffle_index = i;
    else return false;
  }
  // Shuffle is applied before Deflate on writing, so it is undone after inflating.
  return deflate_index >= 0 && (shuffle_index < 0 || shuffle_index < deflate_index);
}

template <typename T> void convert_row(const unsigned char* src, size_t n, float* out) {
  for (size_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, src + i * sizeof(T), sizeof(T));
    out[i] = float(v);
  }
}

// Element i of a shuffled chunk of n elements: byte b of it sits at b * n + i.
template <typename T> void convert_shuffled_row(const unsigned char* chunk, size_t n, size_t first, size_t count, float* out) {
  if constexpr (sizeof(T) == 2) {  // the common case (16-bit movies), in a form the compiler vectorizes
    const unsigned char *low = chunk + first, *high = chunk + n + first;
    for (size_t i = 0; i < count; ++i) out[i] = float(T(uint16_t(low[i] | (uint16_t(high[i]) << 8))));
    return;
  }
  for (size_t i = 0; i < count; ++i) {
    unsigned char bytes[sizeof(T)];
    for (size_t b = 0; b < sizeof(T); ++b) bytes[b] = chunk[b * n + first + i];
    T v;
    std::memcpy(&v, bytes, sizeof(T));
    out[i] = float(v);
  }
}

struct DecompressorFree {
  void operator()(libdeflate_decompressor* d) const { libdeflate_free_decompressor(d); }
};

// libdeflate inflates whole buffers 2-3x faster than zlib; a decompressor is not shared
// between threads, so each thread keeps its own.
libdeflate_decompressor& thread_decompressor() {
  thread_local std::unique_ptr<libdeflate_decompressor, DecompressorFree> decompressor(libdeflate_alloc_decompressor());
  if (!decompressor) throw std::bad_alloc();
  return *decompressor;
}

// Chunk buffers are large (a chunk of a movie is often 10 MB or more) and filled once: in
// 2 MiB pages, a buffer costs a handful of page faults instead of thousands (each one a trip
// to the host on a virtual machine).
constexpr size_t kHugePage = size_t(2) << 20;

// Bytes a chunk buffer takes: small chunks are not worth a huge page each.
size_t huge_page_multiple(size_t bytes) {
  return bytes < kHugePage ? bytes : (bytes + kHugePage - 1) / kHugePage * kHugePage;
}

unsigned char* allocate_chunk_buffer(size_t bytes) {
  const size_t rounded = huge_page_multiple(bytes);
  if (rounded < kHugePage) {
    void* p = std::malloc(std::max<size_t>(rounded, 1));
    if (!p) throw std::bad_alloc();
    return static_cast<unsigned char*>(p);
  }
  void* p = std::aligned_alloc(kHugePage, rounded);
  if (!p) throw std::bad_alloc();
  madvise(p, rounded, MADV_HUGEPAGE);  // a hint: ignored where huge pages are off
  return static_cast<unsigned char*>(p);
}

}  // namespace

void InflatingChunkReader::FreeBytes::operator()(unsigned char* p) const { std::free(p); }

std::optional<InflatingChunkReader> InflatingChunkReader::open(const Dataset& dataset, size_t cache_bytes) {
  Handle plist(H5Dget_create_plist(dataset.id()), H5Pclose);
  if (!plist.valid() || H5Pget_layout(plist.id()) != H5D_CHUNKED) return std::nullopt;
  InflatingChunkReader reader;
  reader.dims_ = dataset.dims();
  reader.chunk_ = dataset.chunk_dims();
  if (reader.dims_.size() != 3 || reader.chunk_.size() != 3) return std::nullopt;
  if (!find_filters(plist.id(), reader.deflate_index_, reader.shuffle_index_)) return std::nullopt;
  Handle type(H5Dget_type(dataset.id()), H5Tclose);
  const H5T_class_t type_class = H5Tget_class(type.id());
  ElementType& element = reader.element_;
  element.bytes = H5Tget_size(type.id());
  element.is_float = type_class == H5T_FLOAT;
  element.is_signed = type_class == H5T_INTEGER && H5Tget_sign(type.id()) == H5T_SGN_2;
  const bool integer = type_class == H5T_INTEGER && (element.bytes == 1 || element.bytes == 2 || element.bytes == 4);
  const bool ieee = element.is_float && (H5Tequal(type.id(), H5T_IEEE_F32LE) > 0 || H5Tequal(type.id(), H5T_IEEE_F64LE) > 0);
  if (!(integer || ieee) || (element.bytes > 1 && H5Tget_order(type.id()) != H5T_ORDER_LE)) return std::nullopt;
  if (H5Pget_fill_value(plist.id(), H5T_NATIVE_FLOAT, &reader.fill_value_) < 0) reader.fill_value_ = 0;
  reader.shuffled_ = reader.shuffle_index_ >= 0;
  reader.chunk_bytes_ = element.bytes * reader.chunk_[0] * reader.chunk_[1] * reader.chunk_[2];
  reader.cache_capacity_ = std::max<size_t>(1, cache_bytes / huge_page_multiple(std::max<size_t>(1, reader.chunk_bytes_)));
  return reader;
}

std::vector<Dims> InflatingChunkReader::chunks_touching(const Dims& offset, const Dims& count) const {
  Dims first(3), last(3);
  for (size_t a = 0; a < 3; ++a) {
    first[a] = offset[a] / chunk_[a];
    last[a] = (offset[a] + count[a] - 1) / chunk_[a];
  }
  std::vector<Dims> origins;
  for (uint64_t i = first[0]; i <= last[0]; ++i)
    for (uint64_t j = first[1]; j <= last[1]; ++j)
      for (uint64_t k = first[2]; k <= last[2]; ++k) origins.push_back({i * chunk_[0], j * chunk_[1], k * chunk_[2]});
  return origins;
}

uint64_t InflatingChunkReader::chunk_key(const Dims& origin) const {
  const uint64_t across1 = (dims_[1] + chunk_[1] - 1) / chunk_[1], across2 = (dims_[2] + chunk_[2] - 1) / chunk_[2];
  return ((origin[0] / chunk_[0]) * across1 + origin[1] / chunk_[1]) * across2 + origin[2] / chunk_[2];
}

// The chunk's bytes as stored (still compressed); empty for a chunk never written.
void InflatingChunkReader::read_stored_chunk(const Dataset& dataset, const Dims& origin, uint32_t& filter_mask,
                                             std::vector<unsigned char>& stored) const {
  const hsize_t at[3] = {origin[0], origin[1], origin[2]};
  hsize_t stored_bytes = 0;
  stored.clear();
  if (H5Dget_chunk_storage_size(dataset.id(), at, &stored_bytes) < 0 || stored_bytes == 0) return;
  stored.resize(stored_bytes);
  filter_mask = 0;
  if (H5Dread_chunk(dataset.id(), H5P_DEFAULT, at, &filter_mask, stored.data()) < 0)
    throw file_error(dataset.file(), "dataset " + dataset.path() + ": cannot read the chunk at frame " +
                                         std::to_string(origin[0]) + " (truncated or corrupt file?)");
}

void InflatingChunkReader::inflate(const Dataset& dataset, const std::vector<unsigned char>& stored,
                                   uint32_t filter_mask, const Dims& origin, Inflated& out) const {
  if (!out.bytes) out.bytes.reset(allocate_chunk_buffer(chunk_bytes_));
  out.shuffled = false;
  if (stored.empty()) {  // never written: the fill value, as H5Dread gives
    for (size_t i = 0; i < chunk_bytes_ / element_.bytes; ++i) {
      unsigned char* p = out.bytes.get() + i * element_.bytes;
      if (element_.is_float && element_.bytes == 4) std::memcpy(p, &fill_value_, 4);
      else if (element_.is_float) { const double v = fill_value_; std::memcpy(p, &v, 8); }
      else { const int64_t v = int64_t(fill_value_); std::memcpy(p, &v, element_.bytes); }
    }
    return;
  }
  const std::string where = "dataset " + dataset.path() + ": the compressed chunk at frame " + std::to_string(origin[0]);
  if (!(filter_mask & (1u << deflate_index_))) {
    size_t inflated_bytes = 0;
    const libdeflate_result status = libdeflate_zlib_decompress(&thread_decompressor(), stored.data(), stored.size(),
                                                                out.bytes.get(), chunk_bytes_, &inflated_bytes);
    if (status != LIBDEFLATE_SUCCESS || inflated_bytes != chunk_bytes_)
      throw file_error(dataset.file(), where + " is corrupt (" +
                                           (status == LIBDEFLATE_SUCCESS ? "short chunk"
                                            : status == LIBDEFLATE_BAD_DATA ? "not valid Deflate data"
                                                                            : "larger than the chunk") + ")");
  } else if (stored.size() == chunk_bytes_) {
    std::memcpy(out.bytes.get(), stored.data(), chunk_bytes_);
  } else {
    throw file_error(dataset.file(), where + " holds " + std::to_string(stored.size()) + " bytes, not " +
                                         std::to_string(chunk_bytes_));
  }
  out.shuffled = shuffled_ && !(filter_mask & (1u << shuffle_index_)) && element_.bytes > 1;
}

// Copies the part of one inflated chunk inside the box into out (box in stored order).
void InflatingChunkReader::scatter(const Chunk& chunk, const Dims& origin, const Dims& offset, const Dims& count,
                                   float* out) const {
  Dims lo(3), hi(3);
  for (size_t a = 0; a < 3; ++a) {
    lo[a] = std::max(origin[a], offset[a]);
    hi[a] = std::min({origin[a] + chunk_[a], offset[a] + count[a], dims_[a]});
  }
  const size_t n = size_t(hi[2] - lo[2]);
  for (uint64_t i = lo[0]; i < hi[0]; ++i)
    for (uint64_t j = lo[1]; j < hi[1]; ++j) {
      const size_t from = (((i - origin[0]) * chunk_[1] + (j - origin[1])) * chunk_[2] + (lo[2] - origin[2])) * element_.bytes;
      float* row = out + ((i - offset[0]) * count[1] + (j - offset[1])) * count[2] + (lo[2] - offset[2]);
      const unsigned char* src = chunk->bytes.get() + from;
      if (chunk->shuffled) {
        scatter_shuffled_row(chunk->bytes.get(), from / element_.bytes, n, row);
      } else if (element_.is_float) {
        if (element_.bytes == 4) convert_row<float>(src, n, row);
        else convert_row<double>(src, n, row);
      } else if (element_.bytes == 1) {
        if (element_.is_signed) convert_row<int8_t>(src, n, row); else convert_row<uint8_t>(src, n, row);
      } else if (element_.bytes == 2) {
        if (element_.is_signed) convert_row<int16_t>(src, n, row); else convert_row<uint16_t>(src, n, row);
      } else {
        if (element_.is_signed) convert_row<int32_t>(src, n, row); else convert_row<uint32_t>(src, n, row);
      }
    }
}

void InflatingChunkReader::scatter_shuffled_row(const unsigned char* chunk, size_t first, size_t count, float* out) const {
  const size_t n = chunk_bytes_ / element_.bytes;
  if (element_.is_float) {
    if (element_.bytes == 4) convert_shuffled_row<float>(chunk, n, first, count, out);
    else convert_shuffled_row<double>(chunk, n, first, count, out);
  } else if (element_.bytes == 2) {
    if (element_.is_signed) convert_shuffled_row<int16_t>(chunk, n, first, count, out);
    else convert_shuffled_row<uint16_t>(chunk, n, first, count, out);
  } else {
    if (element_.is_signed) convert_shuffled_row<int32_t>(chunk, n, first, count, out);
    else convert_shuffled_row<uint32_t>(chunk, n, first, count, out);
  }
}

void InflatingChunkReader::remember(uint64_t key, Chunk chunk) {
  if (cache_.count(key)) return;
  lru_.push_back(key);
  cache_.emplace(key, std::make_pair(std::move(chunk), std::prev(lru_.end())));
  while (cache_.size() > cache_capacity_) {
    const auto evicted = cache_.find(lru_.front());
    if (evicted->second.first.use_count() == 1) spare_.push_back(std::move(evicted->second.first));
    cache_.erase(evicted);
    lru_.pop_front();
  }
}

InflatingChunkReader::Chunk InflatingChunkReader::spare_chunk() {
  if (spare_.empty()) return std::make_shared<Inflated>();
  Chunk chunk = std::move(spare_.back());
  spare_.pop_back();
  return chunk;
}

// The chunks at `origins`, from the cache or read and inflated in parallel (and remembered).
std::vector<InflatingChunkReader::Chunk> InflatingChunkReader::fetch(const Dataset& dataset,
                                                                     const std::vector<Dims>& origins) {
  std::vector<Chunk> chunks(origins.size());
  std::vector<std::vector<unsigned char>>& stored = stored_;  // reused: their pages stay mapped
  if (stored.size() < origins.size()) stored.resize(origins.size());
  std::vector<uint32_t> masks(origins.size(), 0);
  std::vector<char> fresh(origins.size(), 0);
  for (size_t c = 0; c < origins.size(); ++c) {  // HDF5 calls stay on this thread
    const auto hit = cache_.find(chunk_key(origins[c]));
    if (hit != cache_.end()) {
      chunks[c] = hit->second.first;
      lru_.splice(lru_.end(), lru_, hit->second.second);  // most recently used
    } else {
      read_stored_chunk(dataset, origins[c], masks[c], stored[c]);
      chunks[c] = spare_chunk();
      fresh[c] = 1;
    }
  }
  tbb::parallel_for(size_t(0), origins.size(), [&](size_t c) {
    if (fresh[c]) inflate(dataset, stored[c], masks[c], origins[c], *chunks[c]);
  });
  for (size_t c = 0; c < origins.size(); ++c)
    if (fresh[c]) remember(chunk_key(origins[c]), chunks[c]);
  return chunks;
}

// A movie whose inflated chunks all fit the cache is inflated whole, in parallel, at its first
// read: registration's reference sample reads single frames across the movie, and would
// otherwise inflate one chunk at a time on one thread.
void InflatingChunkReader::inflate_whole_if_it_fits(const Dataset& dataset) {
  if (whole_tried_) return;
  whole_tried_ = true;
  const std::vector<Dims> all = chunks_touching({0, 0, 0}, dims_);
  if (all.size() > cache_capacity_) return;
  constexpr size_t group = 4;  // bounds the compressed bytes held at once (enough to keep the cores busy)
  for (size_t first = 0; first < all.size(); first += group)
    fetch(dataset, std::vector<Dims>(all.begin() + ptrdiff_t(first), all.begin() + ptrdiff_t(std::min(all.size(), first + group))));
}

void InflatingChunkReader::read_box(const Dataset& dataset, const Dims& offset, const Dims& count, float* out) {
  for (size_t a = 0; a < 3; ++a)
    if (count[a] == 0) return;
  inflate_whole_if_it_fits(dataset);
  const std::vector<Dims> origins = chunks_touching(offset, count);
  const std::vector<Chunk> chunks = fetch(dataset, origins);
  tbb::parallel_for(size_t(0), origins.size(), [&](size_t c) {
    scatter(chunks[c], origins[c], offset, count, out);  // chunks fill disjoint parts of out
  });
}

}  // namespace apical::h5
