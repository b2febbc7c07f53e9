#pragma once
// A row-major array stored contiguously in a file from a byte offset: raw binary files, .npy
// payloads, and contiguous HDF5 datasets (whose data HDF5 places at one offset). Regions of it
// are read and written with positioned I/O, one call per contiguous run, from any thread.

#include <cstdint>

#include "io/posix_file.hpp"
#include "tessera/core/shape.hpp"

namespace tessera::detail {

struct FlatLayout {
  std::uint64_t offset = 0;  ///< byte offset of element 0
  Shape shape;
  std::size_t itemsize = 0;
  bool swapped = false;  ///< stored in the other byte order than this machine's
};

/// Reads region [start, start + count) into `out` (row-major, native byte order).
void read_region(const PosixFile& f, const FlatLayout& layout, void* out, const Shape& start,
                 const Shape& count);
/// Writes region [start, start + count) from `data` (row-major). `layout.swapped` must be false.
void write_region(const PosixFile& f, const FlatLayout& layout, const void* data,
                  const Shape& start, const Shape& count);

/// Reverses the byte order of `n` elements of `itemsize` bytes in place.
void swap_bytes(void* data, std::size_t itemsize, std::size_t n);

}  // namespace tessera::detail
