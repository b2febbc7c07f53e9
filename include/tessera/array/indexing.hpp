#pragma once
/// @file
/// Indexing beyond basic slices (which are `x[{...}]` on Array): one chunk as an array,
/// integer-array indexing along an axis, boolean masks (`x[mask]`), and NumPy's assignment
/// `x[index] = value` as a function returning a new array (`setitem`).

#include <initializer_list>
#include <optional>
#include <vector>

#include "tessera/array/array.hpp"
#include "tessera/array/elementwise.hpp"

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

/// x[mask], NumPy's boolean-mask indexing (np.extract(mask, x)): the elements of x where
/// `mask` (bool, of x's shape) is true, in row-major order, as a 1-D array. shape_error for a
/// mask of another shape, dtype_error for one that is not bool.
///
/// Collective, and it computes now: the true elements of each chunk of the mask are counted
/// when the result is built (one small compute on every rank, with `options`' scheduler; only
/// the counts cross ranks), so the result's chunk sizes are known, never left unknown as Dask
/// leaves them. The mask is evaluated again when the result is computed. Each output chunk
/// packs the selected elements of one or more consecutive chunks of ravel(x), up to the size
/// of x's largest chunk, so a sparse mask does not give many tiny chunks.
Array extract(const Array& mask, const Array& x, const ComputeOptions& options = {});

/// NumPy's `x[index] = value` without changing x (arrays are immutable): a new array equal to
/// x but at the elements `index` selects (integers, slices, `newaxis`, `ellipsis`, as
/// x[{...}]), which take `value` (an Array or a C++ scalar) broadcast to the selection's shape
/// and cast to x's dtype, as NumPy's assignment casts (2.7 into an int array is 2). shape_error
/// when value does not broadcast. The result keeps x's chunks.
template <class V>
Array setitem(const Array& x, const std::vector<IndexItem>& index, const V& value);
/// setitem(x, {Slice{0, 2}, 1}, v): the index written in place.
template <class V>
Array setitem(const Array& x, std::initializer_list<IndexItem> index, const V& value) {
  return setitem(x, std::vector<IndexItem>(index), value);
}

/// x[..., indices, ...] = value along `axis`: integer indices in any order, negative ones
/// counting from the end; for a repeated index the last value wins (as NumPy's assignment).
/// value broadcasts to x's shape with len(indices) along the axis.
template <class V>
Array setitem(const Array& x, const std::vector<index_t>& indices, int axis, const V& value);

/// x[mask] = value for a bool mask of x's shape: Dask's assignment, where(mask, value, x), with
/// value a scalar or an array broadcastable to x, cast to x's dtype. (NumPy also accepts a 1-D
/// value of one element per true mask element; that form is not supported.)
template <class V>
Array setitem(const Array& x, const Array& mask, const V& value);

// --- implementation ---------------------------------------------------------------------------

namespace detail {
Array setitem(const Array& x, const std::vector<IndexItem>& index, const Operand& value);
Array setitem(const Array& x, const std::vector<index_t>& indices, int axis, const Operand& value);
Array setitem(const Array& x, const Array& mask, const Operand& value);
}  // namespace detail

template <class V>
Array setitem(const Array& x, const std::vector<IndexItem>& index, const V& value) {
  return detail::setitem(x, index, detail::operand(value));
}
template <class V>
Array setitem(const Array& x, const std::vector<index_t>& indices, int axis, const V& value) {
  return detail::setitem(x, indices, axis, detail::operand(value));
}
template <class V>
Array setitem(const Array& x, const Array& mask, const V& value) {
  return detail::setitem(x, mask, detail::operand(value));
}

}  // namespace tessera
