#pragma once
// HDF5's shuffle and deflate (gzip) filters, applied by Tessera itself with libdeflate, so that
// chunks are compressed and decompressed on worker threads in parallel: the HDF5 library is
// serial here (io/hdf5_library.hpp), and compression is the expensive part of a compressed
// write or read. The bytes are exactly what HDF5's own filters produce and accept, so h5py and
// every other HDF5 reader read Tessera's chunks, and Tessera reads theirs.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "tessera/core/serialize.hpp"
#include "tessera/core/value.hpp"

namespace tessera::detail {

/// A dataset's filter pipeline, in HDF5's order: shuffle (if any) first, then deflate.
struct ChunkFilters {
  bool shuffle = false;
  int deflate_level = -1;  ///< 0-9; -1: no deflate
  bool any() const noexcept { return shuffle || deflate_level >= 0; }
};

/// One chunk after the filters: the bytes HDF5 stores for it.
struct EncodedChunk {
  std::shared_ptr<std::byte[]> bytes;
  std::size_t size = 0;
  unsigned skipped = 0;  ///< HDF5's filter mask: bit i set when filter i was not applied
  std::span<const std::byte> view() const noexcept { return {bytes.get(), size}; }
};

/// Filters `n` bytes of elements of `itemsize` bytes (a whole chunk, edge chunks padded).
EncodedChunk encode_chunk(const void* data, std::size_t n, std::size_t itemsize,
                          const ChunkFilters& filters);

/// Reverses the filters of an encoded chunk into `out` (exactly `n` bytes). `skipped` is HDF5's
/// per-chunk filter mask (bit i: filter i of the pipeline was not applied). io_error naming
/// `what` when the bytes do not decode to `n` bytes.
void decode_chunk(std::span<const std::byte> encoded, void* out, std::size_t n,
                  std::size_t itemsize, const ChunkFilters& filters, unsigned skipped,
                  const std::string& what);

}  // namespace tessera::detail

namespace tessera {

template <>
struct ValueBytes<detail::EncodedChunk> {
  static std::size_t of(const detail::EncodedChunk& c) noexcept { return c.size; }
};

/// Encoded chunks travel to the rank that writes the file as one segment, without a copy.
template <>
struct Serializer<detail::EncodedChunk> {
  static std::string name() { return "tessera.io.EncodedChunk"; }
  static void write(const detail::EncodedChunk& c, WireWriter& w) {
    w.put(c.skipped);
    w.segment(c.view());
  }
  static detail::EncodedChunk read(WireReader& r) {
    const auto skipped = r.get<unsigned>();
    Segment s = r.segment();
    return {std::shared_ptr<std::byte[]>(s.owner, s.data), s.size, skipped};
  }
};

}  // namespace tessera
