#pragma once
/// @file
/// Sorting along an axis: NumPy's `sort`, and Dask's `topk` and `argtopk`.
///
/// Order: ascending by value, with NaN after every number (NumPy's sort order); -0.0 and 0.0
/// are equal (either may come first). Every dtype sorts (bool: false before true).
///
/// - sort: a distributed sample sort along the axis that keeps the input's shape and chunks
///   and moves each element between ranks at most once. Each chunk is sorted where it lives
///   (a radix sort for 4- and 8-byte dtypes); each sorted chunk sends a small regular sample
///   to one splitter task per row of chunks along the axis; the splitter chooses, for every
///   output chunk, a value range [lo, hi] that surely holds that chunk's ranks; each sorted
///   chunk sends every output chunk only its elements in that range (and how many lie below
///   it), and the output chunk merges what it gets and keeps exactly its ranks. Exact
///   whatever the data (duplicates, all-equal lanes, NaN). Output chunk k is made where input
///   chunk k was. Along other axes than the last, every lane along the axis is sorted on its
///   own, the other axes keeping their chunks; the samples of a row of chunks are kept to
///   about 2^21 values over all its lanes, but not below 4 per lane and chunk along the axis,
///   so for chunks of very many short lanes they approach the row's data itself.
/// - topk, argtopk: a tree reduction over the chunks along the axis: each chunk keeps its |k|
///   best values and their global indices, groups of up to 8 are merged, so only |k| values
///   per lane and chunk cross ranks. The result has |k| along the axis, in one chunk; the
///   other axes keep their chunks.
///
/// Arguments are checked when the expression is built: an axis out of range raises
/// index_error, k = 0 value_error, |k| past the axis length shape_error.

#include "tessera/array/array.hpp"

namespace tessera {

/// NumPy's np.sort(x, axis): `x` sorted along `axis` (ascending, NaN last), with x's shape,
/// dtype and chunks. Not stable (equal values are indistinguishable, -0.0 and 0.0 aside).
Array sort(const Array& x, int axis = -1);

/// Dask's da.topk(x, k, axis): for k > 0 the k largest values along `axis`, largest first;
/// for k < 0 the |k| smallest, smallest first. NaN counts as larger than every number (as
/// NumPy's sort places it last): it comes first for k > 0 and is taken last for k < 0. The
/// result has x's dtype and shape with |k| along `axis` (one chunk there). Throws value_error
/// for k = 0 and shape_error when |k| exceeds the axis length ("topk: k=7 is larger than axis
/// 1 of length 5").
Array topk(const Array& x, index_t k, int axis = -1);

/// Dask's da.argtopk: the int64 indices along `axis` (0 .. length-1 over the whole axis, not
/// the chunk) of the values topk(x, k, axis) gives, in the same order. Ties: among equal
/// values (NaNs are all equal) the lower index comes first, for k > 0 and k < 0 alike, so the
/// result is deterministic. Same checks as topk.
Array argtopk(const Array& x, index_t k, int axis = -1);

}  // namespace tessera
