#pragma once
/// @file
/// Indexing beyond basic slices (which are `x[{...}]` on Array): one chunk as an array, and
/// integer-array indexing along an axis.

#include <optional>
#include <vector>

#include "tessera/array/array.hpp"

namespace tessera {

/// Chunk `coords` of `x` (one entry per axis, negative counting from the end) as an array of
/// its own (Dask's `x.blocks[i, j]`); index_error naming the chunk grid when out of range.
Array blocks(const Array& x, const std::vector<index_t>& coords);

/// The elements at `indices` along `axis` (NumPy's `take`, `x[..., indices, ...]`): in any
/// order, with repeats, negative indices counting from the end; over the flattened array when
/// no axis is given. The result has len(indices) along the axis, in chunks the size of x's
/// largest there; each of its chunks reads, from every chunk of x it touches, only the span
/// of rows it needs. index_error naming the index, axis and size for one out of bounds.
Array take(const Array& x, const std::vector<index_t>& indices,
           std::optional<int> axis = std::nullopt);

}  // namespace tessera
