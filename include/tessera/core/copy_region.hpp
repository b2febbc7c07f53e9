#pragma once
/// @file
/// `copy_region`: copies an N-d strided region from one contiguous row-major array to another
/// — a chunk into an assembled array, a rectangle out of a user's buffer, a slice with negative
/// steps, a halo. The one N-d copy loop of the library: it copies whole contiguous runs with
/// memcpy, merges axes that are contiguous in both arrays, and works for any element size.

#include <cstddef>

#include "tessera/core/block.hpp"
#include "tessera/core/shape.hpp"

namespace tessera {

/// Where the copied region lies in one of the two arrays.
///
/// Along axis a the region holds the elements offset[a], offset[a] + step[a], ...,
/// offset[a] + (count[a] - 1) * step[a] (count is copy_region's). A negative step runs
/// backwards from `offset`, as a NumPy slice `offset::step` does. An empty `step` means 1 along
/// every axis.
struct RegionPosition {
  Shape offset;
  Shape step = {};
};

/// Copies `count[a]` elements along every axis a from the region `from` of `src` to the region
/// `to` of `dst`: element (k_0, ..., k_{n-1}) of the region, 0 <= k_a < count[a], goes from
/// src[from.offset + k * from.step] to dst[to.offset + k * to.step] (per axis).
///
/// `src` and `dst` are contiguous row-major arrays of `src_shape` and `dst_shape` with
/// `itemsize`-byte elements (any dtype: elements are copied as bytes); they must not overlap.
/// Both arrays, both positions and `count` have the same number of axes; a 0-d copy (every
/// list empty) copies one element. A size-0 region copies nothing.
///
/// Throws, naming the shapes, offsets, steps and counts involved:
/// - shape_error when the lengths of the shapes, offsets, steps and count differ, when a count
///   is negative, or when a region does not fit its array (along some axis its first or last
///   element lies outside [0, extent); with count 0, the offset must lie in [0, extent]);
/// - value_error when a step is 0 or `itemsize` is 0.
/// Nothing is written when it throws.
void copy_region(const void* src, const Shape& src_shape, const RegionPosition& from, void* dst,
                 const Shape& dst_shape, const RegionPosition& to, const Shape& count,
                 std::size_t itemsize);

/// copy_region between two Blocks (their shapes and element size); throws dtype_error when
/// their dtypes differ. `dst` is written in place: only blocks no task has returned yet (a
/// fresh Block, or one being assembled) may be destinations, since Blocks share buffers.
void copy_region(const Block& src, const RegionPosition& from, Block& dst, const RegionPosition& to,
                 const Shape& count);

}  // namespace tessera
